"""Forward mode and higher derivatives: `jvp`, `grad(mode="forward")`, `hessian`, gradients of gradients.

Every number is checked twice: against a derivative worked out by hand and
against central differences (or reverse mode, itself tested against central
differences elsewhere). The generated forward code of one small function is
pinned, and the forward code of the corpus must read the way the reverse
code does: no unit factors, no dead statements, no `+ -`.
"""

import ast
import inspect
import math
import re
import textwrap
from math import cos, exp, sin

import numpy as np
import pytest

import astgrad
import corpus
from support import assert_close, central_difference, load_module, without_origin_comments

X0, Y0 = 0.5, 1.2


# ---- user functions ------------------------------------------------------------------------------

def sin_cos(x, y):
    return sin(x) * cos(y)


def pair(x, y):
    return x * y, sin(x) + y


def ldexp_of(x, n):
    return math.ldexp(x, n)


def sine(x):
    return sin(x)


def exponential(x):
    return exp(x)


def polynomial(x):
    return 3 * x**4 - 2 * x**3 + x - 5


def mixed_product(x, y, z):
    return exp(x * y) + sin(y) * z**2


def summed_sine(x):
    return np.sum(np.sin(x) * x**2)


def scaled_sine(x):
    return np.sin(x) * 2.0


def layer(x, W):
    return np.tanh(W @ x)


def affine_loss(w, b, X, y):
    residual = X @ w + b - y
    return np.mean(residual**2)


def logistic_loss(w, b, X, y):
    return np.mean(np.logaddexp(0.0, -y * (X @ w + b)))


def mlp_loss(W1, b1, w2, X, y):
    hidden = np.tanh(X @ W1 + b1)
    return np.mean((hidden @ w2 - y) ** 2)


def reductions(x, v):
    return np.sum(np.max(x, axis=1) ** 2) + np.mean(x, axis=0) @ v + np.sum(np.sum(x * x, axis=0, keepdims=True) * v)


def indexing(x, idx):
    return np.sum(x[1:, 0] ** 2) + np.sum(x[idx] * x[0]) + x[-1, -1] * x[0, 1]


def joined(a, b):
    c = np.concatenate([a, b], axis=0)
    return np.sum(np.sin(c) * c[::-1])


def quadratic_form(x, A, b):
    return 0.5 * x @ A @ x + b @ x


def exp_sin(x):
    return np.sum(np.exp(x) * np.sin(x))


def cubes(M):
    return np.sum(M**3)


def stacked(a, b):
    return np.sum(np.stack([a, b]) ** 3)


def side_by_side(a, b):
    return np.sum(np.hstack([a, b]) ** 3)


def on_top(a, b):
    return np.sum(np.vstack([a, b]) ** 3)


def inner_squared(a, b):
    return np.inner(a, b) ** 2


# ---- helpers -------------------------------------------------------------------------------------

def rng(seed):
    return np.random.default_rng(seed)


def along(f, args, positions, direction):
    """The directional derivative of `f` at `args` along `direction` (one step per position), by central differences."""

    def moved(t):
        point = list(args)
        for position, step in zip(positions, direction):
            point[position] = args[position] + t * step
        return f(*point)

    h = 1e-6
    return (np.asarray(moved(h)) - np.asarray(moved(-h))) / (2 * h)


def jacobian_by_central_differences(g, x, h=1e-6):
    """d g / d x for an array-valued `g` of an array `x`, of shape g(x).shape + x.shape."""
    x = np.asarray(x, dtype=float)
    columns = []
    for position in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[position] = h
        columns.append((np.asarray(g(x + step)) - np.asarray(g(x - step))) / (2 * h))
    return np.reshape(np.stack(columns, axis=-1), np.shape(columns[0]) + x.shape)


def hessian_by_differences_of_the_gradient(fn, args, index):
    """d/d args[index] of astgrad's reverse gradient with respect to args[index], by central differences."""
    gradient = astgrad.grad(fn, wrt=index)

    def at(x):
        point = list(args)
        point[index] = x if np.ndim(args[index]) else float(x)
        return gradient(*point)

    return jacobian_by_central_differences(at, args[index])


def dead_assignments(text):
    """The names the generated function `text` assigns and never reads afterwards."""
    body = ast.parse(text).body[0].body
    dead = []
    for at, statement in enumerate(body):
        if isinstance(statement, ast.Assign):
            assigned = {n.id for target in statement.targets for n in ast.walk(target) if isinstance(n, ast.Name)}
            read = {
                n.id
                for later in body[at + 1 :]
                for n in ast.walk(later)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            }
            dead += sorted(assigned - read)
    return dead


# ---- 1. jvp ------------------------------------------------------------------------------------

def test_jvp_of_scalars_returns_the_value_and_the_directional_derivative():
    jvp_f = astgrad.jvp(sin_cos)
    assert list(inspect.signature(jvp_f).parameters) == ["x", "y", "x_dot", "y_dot"]
    for dx, dy in [(1.0, 0.0), (0.0, 1.0), (0.3, -2.0)]:
        value, tangent = jvp_f(X0, Y0, dx, dy)
        assert value == sin_cos(X0, Y0)
        expected = cos(X0) * cos(Y0) * dx - sin(X0) * sin(Y0) * dy
        assert tangent == pytest.approx(expected, rel=1e-14, abs=1e-16)
        assert tangent == pytest.approx(float(along(sin_cos, [X0, Y0], (0, 1), (dx, dy))), rel=1e-7, abs=1e-9)


def largest_of_three(a, b, c):
    return max(a, b, c) * min(a, 2.0, c, b)


def test_each_element_of_a_list_of_inputs_gets_its_partial_in_forward_mode():
    """``max(a, b, c)``: a partial per argument, ties sharing equally (b and c tie for the max)."""
    value, tangent = astgrad.jvp(largest_of_three)(1.0, 3.0, 3.0, 1.0, 2.0, 4.0)
    assert value == 3.0 * 1.0
    assert tangent == (2.0 + 4.0) / 2 * 1.0 + 3.0 * 1.0
    assert astgrad.grad(largest_of_three, wrt=(0, 1, 2))(1.0, 3.0, 3.0) == (3.0, 0.5, 0.5)


def test_jvp_is_linear_in_the_tangents():
    jvp_f = astgrad.jvp(corpus.two_variables)
    _, first = jvp_f(0.8, 1.3, 1.0, 0.0)
    _, second = jvp_f(0.8, 1.3, 0.0, 1.0)
    _, combined = jvp_f(0.8, 1.3, 2.0, -3.0)
    assert combined == pytest.approx(2.0 * first - 3.0 * second, rel=1e-12)


def test_jvp_of_an_array_function_with_a_scalar_output():
    x, v = rng(1).normal(size=5), rng(2).normal(size=5)
    value, tangent = astgrad.jvp(summed_sine)(x, v)
    assert value == summed_sine(x)
    assert np.ndim(tangent) == 0
    gradient = np.cos(x) * x**2 + 2 * x * np.sin(x)
    assert tangent == pytest.approx(gradient @ v, rel=1e-12)
    assert tangent == pytest.approx(float(along(summed_sine, [x], (0,), (v,))), rel=1e-7)


def test_jvp_of_an_elementwise_array_function_has_the_outputs_shape():
    x, v = rng(3).normal(size=(2, 3)), rng(4).normal(size=(2, 3))
    value, tangent = astgrad.jvp(scaled_sine)(x, v)
    np.testing.assert_array_equal(value, scaled_sine(x))
    assert tangent.shape == (2, 3)
    assert_close(tangent, 2.0 * np.cos(x) * v, rtol=1e-14)
    assert_close(tangent, along(scaled_sine, [x], (0,), (v,)), rtol=1e-6)


def test_jvp_of_a_vector_valued_function_in_a_random_direction():
    r = rng(5)
    x, W = r.normal(size=3), r.normal(size=(4, 3))
    dx, dW = r.normal(size=3), r.normal(size=(4, 3))
    value, tangent = astgrad.jvp(layer)(x, W, dx, dW)
    np.testing.assert_array_equal(value, layer(x, W))
    assert tangent.shape == value.shape == (4,)
    assert_close(tangent, (1 - np.tanh(W @ x) ** 2) * (dW @ x + W @ dx), rtol=1e-12)
    assert_close(tangent, along(layer, [x, W], (0, 1), (dx, dW)), rtol=1e-6)


def test_jvp_of_a_tuple_valued_function():
    value, tangent = astgrad.jvp(pair)(X0, Y0, 0.7, -0.4)
    assert value == pair(X0, Y0)
    assert isinstance(tangent, tuple) and len(tangent) == 2
    assert tangent == pytest.approx((Y0 * 0.7 + X0 * -0.4, cos(X0) * 0.7 - 0.4), rel=1e-14)
    for component in range(2):
        expected = along(lambda x, y: pair(x, y)[component], [X0, Y0], (0, 1), (0.7, -0.4))
        assert tangent[component] == pytest.approx(float(expected), rel=1e-7)


@pytest.mark.parametrize("wrt", ["y", 1, ("y",)])
def test_jvp_with_wrt_takes_fewer_tangents(wrt):
    jvp_f = astgrad.jvp(sin_cos, wrt=wrt)
    assert list(inspect.signature(jvp_f).parameters) == ["x", "y", "y_dot"]
    value, tangent = jvp_f(X0, Y0, 2.0)
    assert value == sin_cos(X0, Y0)
    assert tangent == pytest.approx(-2.0 * sin(X0) * sin(Y0), rel=1e-14)


def test_jvp_with_wrt_on_arrays_leaves_the_data_without_tangents():
    r = rng(6)
    w, b, X, y = r.normal(size=3), 0.3, r.normal(size=(8, 3)), r.normal(size=8)
    dw, db = r.normal(size=3), -0.6
    jvp_loss = astgrad.jvp(affine_loss, wrt=("w", "b"))
    assert list(inspect.signature(jvp_loss).parameters) == ["w", "b", "X", "y", "w_dot", "b_dot"]
    value, tangent = jvp_loss(w, b, X, y, dw, db)
    residual = X @ w + b - y
    assert value == affine_loss(w, b, X, y)
    assert tangent == pytest.approx(2 * np.mean(residual * (X @ dw + db)), rel=1e-12)
    assert tangent == pytest.approx(float(along(affine_loss, [w, b, X, y], (0, 1), (dw, db))), rel=1e-7)


def test_a_zero_tangent_makes_an_argument_data():
    r = rng(7)
    x, W, dx = r.normal(size=3), r.normal(size=(4, 3)), r.normal(size=3)
    _, with_zero = astgrad.jvp(layer)(x, W, dx, np.zeros((4, 3)))
    _, without = astgrad.jvp(layer, wrt="x")(x, W, dx)
    assert_close(with_zero, without, rtol=0, atol=0)
    assert_close(with_zero, (1 - np.tanh(W @ x) ** 2) * (W @ dx), rtol=1e-12)
    _, scalar_zero = astgrad.jvp(sin_cos)(X0, Y0, 1.0, 0.0)
    assert scalar_zero == pytest.approx(cos(X0) * cos(Y0), rel=1e-15)


# ---- 2. grad(mode="forward") against reverse mode -------------------------------------------------

CORPUS_FUNCTIONS = [
    value for value in vars(corpus).values() if inspect.isfunction(value) and value.__module__ == corpus.__name__
]
SMOOTH_POINTS = {  # where each function is smooth (relu's argument away from 0, logs of positive numbers)
    "sin_cos": [(0.5, 1.2), (-1.1, 0.3)],
    "sigmoid": [(0.4,), (-2.0,)],
    "relu": [(0.7,), (-0.7,)],
    "relu_sigmoid": [(0.7, 1.3, 0.2), (1.1, 0.9, -0.5)],
    "program": [(0.6, 1.4), (-0.3, 0.8)],
    "two_variables": [(0.8, 1.3), (1.7, 0.6)],
    "reuse": [(0.4,), (2.5,)],
    "reassigned": [(0.3, -1.2), (1.5, 0.7)],
}


def test_every_corpus_function_has_smooth_points():
    assert sorted(fn.__name__ for fn in CORPUS_FUNCTIONS) == sorted(SMOOTH_POINTS)
    assert set(corpus.CORPUS) <= set(CORPUS_FUNCTIONS)


@pytest.mark.parametrize("fn", CORPUS_FUNCTIONS, ids=[fn.__name__ for fn in CORPUS_FUNCTIONS])
def test_forward_gradient_of_the_corpus_equals_reverse_mode_and_central_differences(fn):
    forward = astgrad.grad(fn, mode="forward")
    reverse = astgrad.grad(fn)
    for point in SMOOTH_POINTS[fn.__name__]:
        computed, expected = forward(*point), reverse(*point)
        if len(point) == 1:
            computed, expected = (computed,), (expected,)
        assert len(computed) == len(point)
        assert computed == pytest.approx(expected, rel=1e-12, abs=1e-15)
        for index, component in enumerate(computed):
            assert component == pytest.approx(central_difference(fn, list(point), index), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("fn", CORPUS_FUNCTIONS, ids=[fn.__name__ for fn in CORPUS_FUNCTIONS])
def test_forward_value_and_grad_of_the_corpus_returns_the_functions_value(fn):
    point = SMOOTH_POINTS[fn.__name__][0]
    value, gradient = astgrad.value_and_grad(fn, mode="forward")(*point)
    assert value == fn(*point)
    assert gradient == pytest.approx(astgrad.grad(fn)(*point), rel=1e-12, abs=1e-15)


def numpy_cases():
    r = rng(8)
    X, y = r.normal(size=(12, 3)), r.normal(size=12)
    labels = np.where(r.normal(size=12) > 0, 1.0, -1.0)
    return [
        ("affine_loss", affine_loss, [r.normal(size=3), 0.3, X, y], (0, 1)),
        ("logistic_loss", logistic_loss, [r.normal(size=3), -0.2, X, labels], (0, 1)),
        ("mlp_loss", mlp_loss, [r.normal(size=(3, 4)), r.normal(size=4), r.normal(size=4), X, y], (0, 1, 2)),
        ("reductions", reductions, [r.normal(size=(3, 4)), r.normal(size=4)], (0, 1)),
        ("indexing", indexing, [r.normal(size=(3, 4)), np.array([0, 2, 2])], (0,)),
        ("joined", joined, [r.normal(size=(2, 3)), r.normal(size=(1, 3))], (0, 1)),
    ]


NUMPY_CASES = numpy_cases()


@pytest.mark.parametrize("name, fn, args, wrt", NUMPY_CASES, ids=[case[0] for case in NUMPY_CASES])
def test_forward_gradient_of_numpy_code_equals_reverse_mode_and_central_differences(name, fn, args, wrt):
    forward = astgrad.grad(fn, wrt=wrt, mode="forward")(*args)
    reverse = astgrad.grad(fn, wrt=wrt)(*args)
    assert isinstance(forward, tuple) and len(forward) == len(wrt)
    for index, computed, expected in zip(wrt, forward, reverse):
        assert np.shape(computed) == np.shape(args[index])
        if np.ndim(args[index]) == 0:
            assert isinstance(computed, float)
        assert_close(computed, expected, rtol=1e-12, atol=1e-14)
        assert_close(computed, central_difference(fn, args, index), rtol=1e-6)


def test_forward_gradient_of_the_regression_loss_matches_the_closed_form():
    w, b, X, y = NUMPY_CASES[0][2]
    d_w, d_b = astgrad.grad(affine_loss, wrt=("w", "b"), mode="forward")(w, b, X, y)
    residual = X @ w + b - y
    assert_close(d_w, 2 * X.T @ residual / len(y), rtol=1e-12)
    assert d_b == pytest.approx(2 * residual.mean(), rel=1e-12)


def test_forward_gradient_of_the_logistic_loss_matches_the_closed_form():
    w, b, X, labels = NUMPY_CASES[1][2]
    d_w, d_b = astgrad.grad(logistic_loss, wrt=(0, 1), mode="forward")(w, b, X, labels)
    weight = -labels / (1 + np.exp(labels * (X @ w + b))) / len(labels)  # d loss / d margin
    assert_close(d_w, X.T @ weight, rtol=1e-12)
    assert d_b == pytest.approx(weight.sum(), rel=1e-12)


@pytest.mark.parametrize("name, fn, args, wrt", NUMPY_CASES, ids=[case[0] for case in NUMPY_CASES])
def test_forward_value_and_grad_of_numpy_code_returns_the_functions_value(name, fn, args, wrt):
    value, gradient = astgrad.value_and_grad(fn, wrt=wrt, mode="forward")(*args)
    assert value == fn(*args)
    for computed, expected in zip(gradient, astgrad.grad(fn, wrt=wrt)(*args)):
        assert_close(computed, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "wrt, expected",
    [
        (0, cos(X0) * cos(Y0)),
        (-1, -sin(X0) * sin(Y0)),
        ("y", -sin(X0) * sin(Y0)),
        (("y",), (-sin(X0) * sin(Y0),)),
        ((1, "x"), (-sin(X0) * sin(Y0), cos(X0) * cos(Y0))),
    ],
)
def test_forward_wrt_selects_parameters_in_scalar_code(wrt, expected):
    gradient = astgrad.grad(sin_cos, wrt=wrt, mode="forward")(X0, Y0)
    assert isinstance(gradient, tuple) == isinstance(wrt, tuple)
    assert gradient == pytest.approx(expected, rel=1e-15)
    assert gradient == pytest.approx(astgrad.grad(sin_cos, wrt=wrt)(X0, Y0), rel=1e-15)
    value, same = astgrad.value_and_grad(sin_cos, wrt=wrt, mode="forward")(X0, Y0)
    assert value == sin_cos(X0, Y0) and same == gradient


@pytest.mark.parametrize("wrt", [0, "w", ("w",)])
def test_forward_wrt_selects_parameters_in_numpy_code(wrt):
    w, b, X, y = NUMPY_CASES[0][2]
    gradient = astgrad.grad(affine_loss, wrt=wrt, mode="forward")(w, b, X, y)
    assert isinstance(gradient, tuple) == isinstance(wrt, tuple)
    d_w = gradient[0] if isinstance(wrt, tuple) else gradient
    assert d_w.shape == (3,)
    assert_close(d_w, 2 * X.T @ (X @ w + b - y) / len(y), rtol=1e-12)
    d_b = astgrad.grad(affine_loss, wrt="b", mode="forward")(w, b, X, y)
    assert isinstance(d_b, float)
    assert d_b == pytest.approx(2 * np.mean(X @ w + b - y), rel=1e-12)


def test_forward_gradient_of_an_unused_parameter_is_zero():
    def g(x, y):
        return x * 3.0

    assert astgrad.grad(g, mode="forward")(2.0, 5.0) == (3.0, 0.0)
    assert astgrad.jvp(g)(2.0, 5.0, 1.0, 1.0) == (6.0, 3.0)


# ---- 3. the generated forward code -------------------------------------------------------------

def test_forward_gradient_source_has_one_tangent_pass_per_parameter():
    assert astgrad.source(astgrad.grad(sin_cos, mode="forward")) == (
        "def d_sin_cos(x, y):\n"
        "    sin_x = sin(x)\n"
        "    dsin_x_dx = cos(x)\n"
        "    cos_y = cos(y)\n"
        "    dcos_y_dy = -sin(y)\n"
        "    dout_dx = cos_y * dsin_x_dx\n"
        "    dout_dy = sin_x * dcos_y_dy\n"
        "    return dout_dx, dout_dy\n"
    )


def test_jvp_source_follows_each_primal_line_by_its_tangent_line():
    assert astgrad.source(astgrad.jvp(sin_cos)) == (
        "def jvp_sin_cos(x, y, x_dot, y_dot):\n"
        "    sin_x = sin(x)\n"
        "    sin_x_dot = cos(x) * x_dot\n"
        "    cos_y = cos(y)\n"
        "    cos_y_dot = -sin(y) * y_dot\n"
        "    out = sin_x * cos_y\n"
        "    out_dot = cos_y * sin_x_dot + sin_x * cos_y_dot\n"
        "    return out, out_dot\n"
    )


def test_forward_value_and_grad_source_keeps_the_value():
    assert astgrad.source(astgrad.value_and_grad(sin_cos, mode="forward")) == (
        "def value_and_d_sin_cos(x, y):\n"
        "    sin_x = sin(x)\n"
        "    dsin_x_dx = cos(x)\n"
        "    cos_y = cos(y)\n"
        "    dcos_y_dy = -sin(y)\n"
        "    out = sin_x * cos_y\n"
        "    dout_dx = cos_y * dsin_x_dx\n"
        "    dout_dy = sin_x * dcos_y_dy\n"
        "    return out, (dout_dx, dout_dy)\n"
    )


def test_forward_gradient_of_numpy_code_is_a_driver_of_the_jvp():
    text = astgrad.source(astgrad.grad(affine_loss, wrt=("w", "b"), mode="forward"))
    assert text == (
        "def d_affine_loss(w, b, X, y):\n"
        "    value, gradient = forward_gradient(jvp_affine_loss, (w, b, X, y), wrt=(0, 1), as_tuple=True)\n"
        "    return gradient\n"
    )


def test_forward_gradient_of_numpy_code_is_compiled_once_with_its_tangent_function(monkeypatch):
    from astgrad import compile as compile_stage

    built, build = [], compile_stage.build

    def counted(derivative, *args, **keywords):
        built.append(derivative.name)
        return build(derivative, *args, **keywords)

    monkeypatch.setattr(compile_stage, "build", counted)
    d_f = astgrad.api.transform(affine_loss, ("w", "b"), mode="forward")
    assert built == ["d_affine_loss"]
    tangent = d_f.__closure__[d_f.__code__.co_freevars.index("jvp_affine_loss")].cell_contents
    assert tangent.__code__.co_filename == d_f.__code__.co_filename  # one module, one file
    assert astgrad.source(tangent).startswith("def jvp_affine_loss(w, b, X, y, w_dot, b_dot):\n")
    w, b, X, y = NUMPY_CASES[0][2]
    residual = X @ w + b - y
    d_w, d_b = d_f(w, b, X, y)
    assert_close(d_w, 2 * X.T @ residual / len(y), rtol=1e-12)
    assert d_b == pytest.approx(2 * residual.mean(), rel=1e-12)


def test_the_tangent_function_is_renamed_where_a_parameter_has_its_name():
    def f(jvp_f):
        return np.sum(jvp_f * jvp_f)

    d_f = astgrad.grad(f, mode="forward")
    assert "forward_gradient(jvp_f_1, (jvp_f,), wrt=(0,))" in astgrad.source(d_f)
    x = np.array([1.0, -2.0, 0.5])
    assert_close(d_f(x), 2 * x, rtol=1e-14)


UNIT_FACTOR = re.compile(r"(?<![\w.])[01]\.0 \*|\* 1(\.0)?(?![\w.])|[-+] 0\.0(?![\w.])")  # 1.0 * a, a * 1, a + 0.0


def forward_sources():
    for fn in CORPUS_FUNCTIONS + [sin_cos, pair, mixed_product]:
        yield f"jvp {fn.__name__}", astgrad.source(astgrad.jvp(fn))
        if fn is not pair:
            yield f"grad {fn.__name__}", astgrad.source(astgrad.grad(fn, mode="forward"))
            yield f"value_and_grad {fn.__name__}", astgrad.source(astgrad.value_and_grad(fn, mode="forward"))


def test_forward_code_has_no_unit_factors_and_no_dead_statements():
    for label, text in forward_sources():
        assert not UNIT_FACTOR.search(text), f"{label}:\n{text}"
        assert dead_assignments(text) == [], f"{label}:\n{text}"


def test_forward_code_subtracts_rather_than_adding_a_negated_term():
    """`a + -b / c * d` should read `a - b / c * d`, as reverse code turns `a + -b * c` into `a - b * c`."""
    offending = [
        (label, line.strip()) for label, text in forward_sources() for line in text.splitlines() if "+ -" in line
    ]
    assert offending == []


# ---- 4. higher derivatives ------------------------------------------------------------------------

DERIVATIVES = [  # (function, first, second, third derivative)
    (sine, cos, lambda x: -sin(x), lambda x: -cos(x)),
    (exponential, exp, exp, exp),
    (polynomial, lambda x: 12 * x**3 - 6 * x**2 + 1, lambda x: 36 * x**2 - 12 * x, lambda x: 72 * x - 12),
]
POINTS = [-1.3, 0.0, 0.4, 2.1]


@pytest.mark.parametrize("h, first, second, third", DERIVATIVES, ids=[d[0].__name__ for d in DERIVATIVES])
def test_second_and_third_derivatives_by_transforming_generated_code(h, first, second, third):
    d_h = astgrad.grad(h)
    d2_h = astgrad.grad(d_h)
    d3_h = astgrad.grad(d2_h)
    for x in POINTS:
        assert d_h(x) == pytest.approx(first(x), rel=1e-13, abs=1e-13)
        assert d2_h(x) == pytest.approx(second(x), rel=1e-13, abs=1e-13)
        assert d3_h(x) == pytest.approx(third(x), rel=1e-13, abs=1e-13)
        assert d2_h(x) == pytest.approx(central_difference(d_h, [x], 0), rel=1e-6, abs=1e-8)
        assert d3_h(x) == pytest.approx(central_difference(d2_h, [x], 0), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("h, first, second, third", DERIVATIVES, ids=[d[0].__name__ for d in DERIVATIVES])
def test_second_derivative_by_forward_over_forward(h, first, second, third):
    d2_h = astgrad.grad(astgrad.grad(h, mode="forward"), mode="forward")
    for x in POINTS:
        assert d2_h(x) == pytest.approx(second(x), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("h, first, second, third", DERIVATIVES, ids=[d[0].__name__ for d in DERIVATIVES])
def test_second_derivative_mixing_modes(h, first, second, third):
    forward_over_reverse = astgrad.grad(astgrad.grad(h), mode="forward")
    reverse_over_forward = astgrad.grad(astgrad.grad(h, mode="forward"))
    for x in POINTS:
        assert forward_over_reverse(x) == pytest.approx(second(x), rel=1e-13, abs=1e-13)
        assert reverse_over_forward(x) == pytest.approx(second(x), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_mixed_partials_by_gradients_of_gradients(mode):
    d_dx = astgrad.grad(sin_cos, wrt="x", mode=mode)
    assert astgrad.grad(d_dx, wrt="y", mode=mode)(X0, Y0) == pytest.approx(-cos(X0) * sin(Y0), rel=1e-14)
    row = astgrad.grad(d_dx, mode=mode)(X0, Y0)  # wrt=None: the user's parameters, never a seed
    assert row == pytest.approx((-sin(X0) * cos(Y0), -cos(X0) * sin(Y0)), rel=1e-14)
    assert row[1] == pytest.approx(central_difference(d_dx, [X0, Y0], 1), rel=1e-7)


@pytest.mark.parametrize("h, first, second, third", DERIVATIVES, ids=[d[0].__name__ for d in DERIVATIVES])
def test_hessian_of_one_scalar_is_the_second_derivative(h, first, second, third):
    hessian_h = astgrad.hessian(h)
    for x in POINTS:
        assert hessian_h(x) == pytest.approx(second(x), rel=1e-13, abs=1e-13)
        assert hessian_h(x, d_out=2.0) == pytest.approx(2.0 * hessian_h(x), rel=1e-15, abs=1e-15)


def sin_cos_hessian(x, y):
    return (
        (-sin(x) * cos(y), -cos(x) * sin(y)),
        (-cos(x) * sin(y), -sin(x) * cos(y)),
    )


def mixed_product_hessian(x, y, z):
    e = exp(x * y)
    return (
        (y * y * e, (1 + x * y) * e, 0.0),
        ((1 + x * y) * e, x * x * e - sin(y) * z**2, 2 * z * cos(y)),
        (0.0, 2 * z * cos(y), 2 * sin(y)),
    )


@pytest.mark.parametrize(
    "fn, point, analytic",
    [
        (sin_cos, (X0, Y0), sin_cos_hessian),
        (sin_cos, (-1.1, 0.3), sin_cos_hessian),
        (mixed_product, (0.3, -0.8, 1.4), mixed_product_hessian),
        (corpus.two_variables, (0.8, 1.3), None),
        (corpus.relu_sigmoid, (0.7, 1.3, 0.2), None),
    ],
    ids=["sin_cos", "sin_cos_2", "mixed_product", "two_variables", "relu_sigmoid"],
)
def test_hessian_of_several_scalars(fn, point, analytic):
    H = astgrad.hessian(fn)(*point)
    n = len(point)
    assert isinstance(H, tuple) and all(isinstance(row, tuple) and len(row) == n for row in H) and len(H) == n
    if analytic is not None:
        assert_close(H, analytic(*point), rtol=1e-13, atol=1e-15)
    gradient = astgrad.grad(fn)
    for i in range(n):
        for j in range(n):
            assert H[i][j] == pytest.approx(H[j][i], rel=1e-12, abs=1e-14)
            by_differences = central_difference(lambda *args: gradient(*args)[i], list(point), j)
            assert H[i][j] == pytest.approx(by_differences, rel=1e-6, abs=1e-7)


def test_hessian_with_wrt_and_a_seed():
    assert astgrad.hessian(sin_cos, wrt="y")(X0, Y0) == pytest.approx(-sin(X0) * cos(Y0), rel=1e-14)
    H = astgrad.hessian(mixed_product, wrt=("z", "y"))(0.3, -0.8, 1.4)
    full = mixed_product_hessian(0.3, -0.8, 1.4)
    assert_close(H, ((full[2][2], full[2][1]), (full[1][2], full[1][1])), rtol=1e-13)
    doubled = astgrad.hessian(mixed_product)(0.3, -0.8, 1.4, d_out=2.0)
    assert_close(doubled, 2 * np.array(full), rtol=1e-13)


def test_hessian_of_a_quadratic_form_is_the_symmetric_part_of_its_matrix():
    r = rng(9)
    x, A, b = r.normal(size=5), r.normal(size=(5, 5)), r.normal(size=5)
    H = astgrad.hessian(quadratic_form, wrt="x")(x, A, b)
    assert H.shape == (5, 5)
    assert_close(H, (A + A.T) / 2, rtol=1e-12, atol=1e-14)
    assert_close(H, H.T, rtol=0, atol=1e-15)
    assert_close(astgrad.hessian(quadratic_form, wrt="x")(x, A, b, d_out=2.0), A + A.T, rtol=1e-12, atol=1e-14)


def test_hessian_of_a_nonlinear_function_of_a_vector():
    x = rng(10).normal(size=4)
    H = astgrad.hessian(exp_sin)(x)
    assert H.shape == (4, 4)
    assert_close(H, np.diag(2 * np.exp(x) * np.cos(x)), rtol=1e-12, atol=1e-15)
    gradient = astgrad.grad(exp_sin)
    assert_close(H, jacobian_by_central_differences(gradient, x), rtol=1e-6, atol=1e-8)
    assert_close(astgrad.hessian(exp_sin)(x, d_out=2.0), 2 * H, rtol=1e-15)


def test_hessian_of_a_matrix_argument_has_shape_x_shape_plus_x_shape():
    M = rng(11).normal(size=(2, 3))
    H = astgrad.hessian(cubes)(M)
    assert H.shape == (2, 3, 2, 3)
    expected = np.zeros((2, 3, 2, 3))
    for i, j in np.ndindex(2, 3):
        expected[i, j, i, j] = 6 * M[i, j]
    assert_close(H, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, fn, args, wrt", NUMPY_CASES, ids=[case[0] for case in NUMPY_CASES])
def test_hessian_of_numpy_code_equals_differences_of_the_gradient(name, fn, args, wrt):
    for index in wrt:
        H = astgrad.hessian(fn, wrt=index)(*args)
        assert np.shape(H) == np.shape(args[index]) * 2
        assert_close(H, hessian_by_differences_of_the_gradient(fn, args, index), rtol=1e-6, atol=1e-7)
        n = np.size(args[index])
        square = np.reshape(H, (n, n))
        assert_close(square, square.T, rtol=1e-12, atol=1e-14)


def test_hessian_through_an_inner_product():
    r = rng(12)
    a, b = r.normal(size=3), r.normal(size=3)
    H = astgrad.hessian(inner_squared, wrt="a")(a, b)
    assert H.shape == (3, 3)
    assert_close(H, np.outer(2 * b, b), rtol=1e-12, atol=1e-14)
    assert_close(H, hessian_by_differences_of_the_gradient(inner_squared, [a, b], 0), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "fn, a, b, callee",
    [
        (joined, (2, 3), (1, 3), "concatenate_part"),
        (side_by_side, (2, 1), (2, 3), "hstack_part"),
        (on_top, (3,), (2, 3), "vstack_part"),
        (stacked, (2, 2), (2, 2), "np.take"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_hessian_through_joining_arrays(fn, a, b, callee):
    """The adjoints of np.concatenate, np.hstack, np.vstack and np.stack take slices, which differentiate again."""
    r = rng(21)
    args = [r.normal(size=a), r.normal(size=b)]
    assert callee in astgrad.source(astgrad.grad(fn))
    for index in (0, 1):
        H = astgrad.hessian(fn, wrt=index)(*args)
        assert_close(H, hessian_by_differences_of_the_gradient(fn, args, index), rtol=1e-6, atol=1e-7)
    if fn is not joined:  # the sum of cubes: 6 x on the diagonal, nothing across the two arguments
        (H_aa, H_ab), (_, H_bb) = astgrad.hessian(fn, wrt=(0, 1))(*args)
        assert_close(H_aa, np.diag(6 * args[0].ravel()).reshape(a + a), rtol=1e-14)
        assert_close(H_bb, np.diag(6 * args[1].ravel()).reshape(b + b), rtol=1e-14)
        assert not np.any(H_ab)


def test_hessian_of_a_loss_in_a_vector_and_a_scalar():
    w, b, X, y = NUMPY_CASES[0][2]
    (H_ww, H_wb), (H_bw, H_bb) = astgrad.hessian(affine_loss, wrt=("w", "b"))(w, b, X, y)
    n = len(y)
    assert_close(H_ww, 2 * X.T @ X / n, rtol=1e-12)
    assert_close(H_wb, 2 * X.mean(axis=0), rtol=1e-12)
    assert_close(H_bw, 2 * X.mean(axis=0), rtol=1e-12)
    assert H_bb == pytest.approx(2.0, rel=1e-14)


# ---- 5. source and caching ---------------------------------------------------------------------

def generated_functions():
    return {
        "jvp": astgrad.jvp(sin_cos),
        "jvp of numpy code": astgrad.jvp(layer),
        "forward grad": astgrad.grad(sin_cos, mode="forward"),
        "forward grad of numpy code": astgrad.grad(affine_loss, wrt=(0, 1), mode="forward"),
        "forward value_and_grad": astgrad.value_and_grad(sin_cos, mode="forward"),
        "hessian": astgrad.hessian(sin_cos),
        "hessian of numpy code": astgrad.hessian(exp_sin),
        "grad of grad": astgrad.grad(astgrad.grad(polynomial)),
        "forward over forward": astgrad.grad(astgrad.grad(polynomial, mode="forward"), mode="forward"),
    }


@pytest.mark.parametrize("kind", list(generated_functions()))
def test_generated_functions_show_their_source(kind):
    generated = generated_functions()[kind]
    text = astgrad.source(generated)
    assert text.startswith(f"def {generated.__name__}(")
    compile(text, "<test>", "exec")
    assert without_origin_comments(textwrap.dedent(inspect.getsource(generated))) == text


def test_generated_names():
    assert astgrad.jvp(sin_cos).__name__ == "jvp_sin_cos"
    assert astgrad.grad(sin_cos, mode="forward").__name__ == "d_sin_cos"
    assert astgrad.value_and_grad(sin_cos, mode="forward").__name__ == "value_and_d_sin_cos"
    assert astgrad.hessian(sin_cos).__name__ == "hessian_sin_cos"


def test_forward_transformations_are_cached_per_function_wrt_mode_and_kind():
    assert astgrad.grad(sin_cos, mode="forward") is astgrad.grad(sin_cos, mode="forward")
    assert astgrad.grad(sin_cos, mode="forward") is not astgrad.grad(sin_cos)
    assert astgrad.grad(sin_cos, wrt="x", mode="forward") is not astgrad.grad(sin_cos, mode="forward")
    assert astgrad.value_and_grad(sin_cos, mode="forward") is not astgrad.grad(sin_cos, mode="forward")
    assert astgrad.jvp(sin_cos) is astgrad.jvp(sin_cos)
    assert astgrad.jvp(sin_cos, wrt="y") is not astgrad.jvp(sin_cos)
    assert astgrad.hessian(sin_cos) is astgrad.hessian(sin_cos)
    assert astgrad.hessian(exp_sin) is astgrad.hessian(exp_sin)
    assert astgrad.hessian(sin_cos, wrt="x") is not astgrad.hessian(sin_cos)


# ---- 6. errors -------------------------------------------------------------------------------------

def test_forward_gradient_of_an_array_output_is_refused_when_called():
    d_f = astgrad.grad(scaled_sine, mode="forward")  # the output's shape is known only when called
    with pytest.raises(astgrad.NonScalarOutputError, match=r"shape \(3,\)") as error:
        d_f(np.array([0.1, 0.2, 0.3]))
    assert isinstance(error.value, TypeError)
    assert d_f(0.3) == pytest.approx(2.0 * cos(0.3), rel=1e-14)  # a number is a scalar output
    with pytest.raises(astgrad.NonScalarOutputError):
        astgrad.value_and_grad(scaled_sine, mode="forward")(np.ones(2))


def test_the_gradient_of_a_gradient_of_two_parameters_points_to_hessian():
    with pytest.raises(astgrad.NonScalarOutputError, match="returns a tuple") as error:
        astgrad.grad(astgrad.grad(sin_cos))
    assert "astgrad.hessian(f)" in str(error.value) and "return d_x, d_y" in str(error.value)
    assert "        return d_x, d_y\n        ^\n" in str(error.value)  # the caret under `return`
    assert error.value.lineno == astgrad.source(astgrad.grad(sin_cos)).count("\n")


def test_forward_gradient_of_a_tuple_output_is_refused_when_transforming():
    with pytest.raises(astgrad.NonScalarOutputError, match="returns a tuple"):
        astgrad.grad(pair, mode="forward")


@pytest.mark.parametrize("transform", [astgrad.grad, astgrad.value_and_grad])
def test_an_unknown_mode_is_refused_naming_the_modes(transform):
    with pytest.raises(ValueError, match="sideways") as error:
        transform(sin_cos, mode="sideways")
    assert "'reverse'" in str(error.value) and "'forward'" in str(error.value)


def test_forward_mode_refuses_an_integer_array_for_a_differentiated_argument():
    w, b, X, y = NUMPY_CASES[0][2]
    d_f = astgrad.grad(affine_loss, wrt="w", mode="forward")
    with pytest.raises(astgrad.IntegerInputError, match="the differentiated argument w is an array of int") as error:
        d_f(np.arange(3), b, X, y)
    assert isinstance(error.value, TypeError)
    d_f(w, b, np.arange(36).reshape(12, 3), y)  # integer data that is not differentiated is fine
    with pytest.raises(astgrad.IntegerInputError, match="the differentiated argument x is an array of int"):
        astgrad.hessian(exp_sin)(np.arange(4))


def ldexp_line():
    return ldexp_of.__code__.co_firstlineno + 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: astgrad.grad(ldexp_of, wrt="n", mode="forward"),
        lambda: astgrad.grad(ldexp_of, mode="forward"),
        lambda: astgrad.value_and_grad(ldexp_of, wrt=1, mode="forward"),
        lambda: astgrad.jvp(ldexp_of),
        lambda: astgrad.jvp(ldexp_of, wrt="n"),
    ],
    ids=["grad wrt n", "grad", "value_and_grad wrt 1", "jvp", "jvp wrt n"],
)
def test_a_tangent_flowing_into_an_integer_argument_is_refused_when_transforming(make):
    with pytest.raises(astgrad.NoDerivativeError, match="no derivative with respect to `i`") as error:
        make()
    assert error.value.lineno == ldexp_line()
    assert error.value.filename == __file__
    assert error.value.col_offset == len("    return ")
    assert "math.ldexp(x, n)" in str(error.value)


def test_an_integer_argument_without_a_tangent_is_fine_in_forward_mode():
    assert astgrad.grad(ldexp_of, wrt="x", mode="forward")(1.5, 3) == 8.0
    value, tangent = astgrad.jvp(ldexp_of, wrt="x")(1.5, 3, 0.25)
    assert (value, tangent) == (12.0, 2.0)


def test_forward_gradient_of_numpy_code_passes_keyword_only_arguments_on(tmp_path):
    module = load_module(
        tmp_path,
        """
        import numpy as np

        def f(w, X, *, scale=2.0):
            return scale * np.sum((X @ w) ** 2)
        """,
    )
    X, w = np.arange(6.0).reshape(3, 2), np.array([0.5, -1.0])
    forward = astgrad.grad(module.f, wrt=0, mode="forward")
    assert "keywords={'scale': scale}" in astgrad.source(forward)
    assert_close(forward(w, X, scale=3.0), 6.0 * X.T @ (X @ w), rtol=1e-14)
    assert_close(forward(w, X), 4.0 * X.T @ (X @ w), rtol=1e-14)
    # a keyword-only parameter is differentiated too, found among the keywords by its name
    both = astgrad.grad(module.f, wrt=("scale", "w"), mode="forward")
    assert "wrt=('scale', 0)" in astgrad.source(both)
    d_scale, d_w = both(w, X, scale=3.0)
    assert_close(d_scale, np.sum((X @ w) ** 2), rtol=1e-14)
    assert_close(d_w, 6.0 * X.T @ (X @ w), rtol=1e-14)
    assert_close(astgrad.hessian(module.f, wrt="scale")(w, X, scale=3.0), 0.0, rtol=0)


def test_a_run_time_helper_without_a_derivative_is_refused_where_it_is_called(tmp_path):
    module = load_module(
        tmp_path,
        """
        import numpy as np
        from astgrad import runtime

        def f(x):
            return np.sum(runtime.forward_gradient(x, x, x))
        """,
    )
    with pytest.raises(astgrad.NoDerivativeError) as error:
        astgrad.grad(module.f)
    assert (error.value.lineno, error.value.col_offset) == (6, 18)
    caret = "        return np.sum(runtime.forward_gradient(x, x, x))\n" + " " * 22 + "^\n"
    assert caret in str(error.value)  # the source line, with the caret under the call
    assert "`runtime.forward_gradient` has no derivative: it is a run-time helper of astgrad's forward mode" in str(error.value)
    assert "astgrad.hessian(f)" in str(error.value)


# ---- the Hessian of NumPy code, in one batched pass ------------------------------------------------


def batched_logistic_loss(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def separable(w, b, *, scale):
    return scale * np.sum(w ** 3) + b  # the gradient in b is a constant: no tangent


def joined_cubes(a, b):
    return np.sum(np.concatenate([a, b]) ** 3)


W4, B4, X94, Y9 = rng(31).normal(size=4), 0.3, rng(32).normal(size=(9, 4)), (rng(33).random(9) > 0.5) * 1.0


def test_the_hessian_of_a_loss_is_one_batched_pass():
    assert astgrad.source(astgrad.hessian(batched_logistic_loss, wrt=("w", "b"))) == (
        "def hessian_batched_logistic_loss(w, b, X, y, d_out=1.0):\n"
        "    hessian = batched_jacobian(batched_jvp_d_batched_logistic_loss, (w, b, X, y, d_out), wrt=(0, 1), as_tuple=True)\n"
        "    return hessian\n"
    )


def test_batched_hessian_blocks_against_the_closed_form():
    (H_ww, H_wb), (H_bw, H_bb) = astgrad.hessian(batched_logistic_loss, wrt=("w", "b"))(W4, B4, X94, Y9)
    p = 1.0 / (1.0 + np.exp(-(X94 @ W4 + B4)))
    weights = p * (1 - p) / len(Y9)
    assert_close(H_ww, X94.T @ (X94 * weights[:, None]), rtol=1e-12)
    assert_close(H_wb, X94.T @ weights, rtol=1e-12)
    assert_close(H_bw, X94.T @ weights, rtol=1e-12)
    assert isinstance(H_bb, float) and H_bb == pytest.approx(np.sum(weights), rel=1e-12)
    assert_close(astgrad.hessian(batched_logistic_loss, wrt="w")(W4, B4, X94, Y9, d_out=3.0), 3 * H_ww, rtol=1e-12)


def test_a_block_of_a_gradient_that_does_not_depend_on_a_parameter_is_zero():
    w = rng(34).normal(size=3)
    (H_ww, H_wb), (H_bw, H_bb) = astgrad.hessian(separable, wrt=("w", "b"))(w, 0.5, scale=2.0)
    assert_close(H_ww, np.diag(12.0 * w), rtol=1e-14)
    assert_close(H_wb, np.zeros(3), rtol=0, atol=0)
    assert_close(H_bw, np.zeros(3), rtol=0, atol=0)
    assert H_bb == 0.0


def test_a_primitive_without_a_batched_tangent_falls_back_to_one_pass_per_element():
    a, b = rng(35).normal(size=(2, 3)), rng(36).normal(size=(1, 3))
    hessian = astgrad.hessian(joined_cubes, wrt=0)
    assert "forward_jacobian(jvp_d_joined_cubes" in astgrad.source(hessian)
    assert_close(hessian(a, b), np.diag(6 * a.ravel()).reshape(2, 3, 2, 3), rtol=1e-14, atol=0)
