"""Functions as values, end to end: a function passed to a helper, lambdas and nested defs, closures, defaults.

Each gradient is checked against its analytic value and central differences,
in reverse and forward mode; the generated code inlines the function where it
is called. The refusals (a function known only at call time) are in
test_errors.py.
"""
import functools
import math

import numpy as np
import pytest

import astgrad
from support import central_difference

MODES = ("reverse", "forward")


def rk4(f, t, y, dt):
    k1 = f(t, y)
    k2 = f(t + dt / 2, y + dt * k1 / 2)
    k3 = f(t + dt / 2, y + dt * k2 / 2)
    k4 = f(t + dt, y + dt * k3)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def decay(t, y):
    return -0.5 * y


def rk4_step(y):
    return rk4(decay, 0.0, y, 0.1)


def simpson(a, b, n, func):
    h = (b - a) / n
    return h / 3 * (func(a) + 4 * func(a + h) + func(b))


def area_of_sin(b):
    return simpson(0.0, b, 2, math.sin)


def area_of_lambda(b, k):
    return simpson(0.0, b, 2, lambda s: k * s**2)


def nested(x):
    a = 2.0 * x

    def g(t):
        return a * t + x

    h = lambda t: g(t) ** 2
    return h(x) + g(1.0)


def layer(x, W, nonlinearity=np.tanh):
    return np.sum(nonlinearity(W @ x))


def loss_of_layer(x, W):
    return layer(x, W)


def loss_of_sin_layer(x, W):
    return layer(x, W, nonlinearity=np.sin)


def gen_quartic(F):
    return lambda x: np.sum(x**4 * F - x)


QUARTIC = gen_quartic(3.0)


def calls_a_closure(x):
    return QUARTIC(x) * 2.0


def late_binding(x):
    a = x
    f = lambda t: a * t
    a = 3.0 * x
    return f(x)


def with_default_from_the_body(x):
    c = 2.0 * x
    f = lambda t, s=c: s * t
    return f(x)


def grad_both(fn, mode, **kw):
    return astgrad.grad(fn, mode=mode, **kw)


@pytest.mark.parametrize("mode", MODES)
def test_a_module_level_function_passed_to_a_helper(mode):
    y = 1.3
    dt = 0.1
    # Each stage of RK4 on y' = -y/2 multiplies y by a constant: the step is linear in y.
    c = -0.5
    factor = 1 + dt * c + (dt * c) ** 2 / 2 + (dt * c) ** 3 / 6 + (dt * c) ** 4 / 24
    d = grad_both(rk4_step, mode)(y)
    assert d == pytest.approx(factor, rel=1e-12)
    assert d == pytest.approx(central_difference(rk4_step, [y], 0), rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_a_math_function_passed_to_a_helper(mode):
    b = 0.8
    expected = (math.sin(0.0) + 4 * math.sin(b / 2) + math.sin(b)) / 6 + b / 6 * (2 * math.cos(b / 2) + math.cos(b))
    d = grad_both(area_of_sin, mode)(b)
    assert d == pytest.approx(expected, rel=1e-12)
    assert d == pytest.approx(central_difference(area_of_sin, [b], 0), rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_a_lambda_passed_to_a_helper_reads_the_callers_names(mode):
    b, k = 0.8, 1.7
    # simpson of k s^2 over [0, b] is exact: k b^3 / 3.
    db, dk = grad_both(area_of_lambda, mode)(b, k)
    assert (db, dk) == pytest.approx((k * b**2, b**3 / 3), rel=1e-12)
    assert db == pytest.approx(central_difference(area_of_lambda, [b, k], 0), rel=1e-6)
    assert dk == pytest.approx(central_difference(area_of_lambda, [b, k], 1), rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_lambdas_and_nested_defs_in_the_body(mode):
    x = 0.7
    # h(x) + g(1) = (2x^2 + x)^2 + 3x
    expected = 2 * (2 * x**2 + x) * (4 * x + 1) + 3
    d = grad_both(nested, mode)(x)
    assert d == pytest.approx(expected, rel=1e-12)
    assert d == pytest.approx(central_difference(nested, [x], 0), rel=1e-6)


def test_a_lambda_reads_its_free_names_when_called_as_python_does():
    x = 0.9
    assert late_binding(x) == pytest.approx(3 * x * x)
    assert astgrad.grad(late_binding)(x) == pytest.approx(6 * x, rel=1e-12)
    assert astgrad.grad(with_default_from_the_body)(x) == pytest.approx(4 * x, rel=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_a_default_argument_that_is_a_function(mode):
    rng = np.random.default_rng(0)
    x, W = rng.normal(size=3), rng.normal(size=(4, 3))
    for fn, derivative in ((loss_of_layer, lambda z: 1 - np.tanh(z) ** 2), (loss_of_sin_layer, np.cos)):
        dx, dW = grad_both(fn, mode, wrt=("x", "W"))(x, W)
        s = derivative(W @ x)
        np.testing.assert_allclose(dx, W.T @ s, rtol=1e-12)
        np.testing.assert_allclose(dW, np.outer(s, x), rtol=1e-12)
        np.testing.assert_allclose(dx, central_difference(fn, [x, W], 0), rtol=1e-6)
        np.testing.assert_allclose(dW, central_difference(fn, [x, W], 1), rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_a_closure_returned_by_a_factory(mode):
    x = np.array([0.3, -1.2, 0.8])
    expected = 12.0 * x**3 - 1.0
    np.testing.assert_allclose(grad_both(gen_quartic(3.0), mode)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(grad_both(calls_a_closure, mode)(x), 2 * expected, rtol=1e-12)
    np.testing.assert_allclose(grad_both(calls_a_closure, mode)(x), central_difference(calls_a_closure, [x], 0), rtol=1e-6)


def test_the_function_is_inlined_where_it_is_called():
    text = astgrad.source(astgrad.grad(area_of_sin))
    assert "math.sin(b)" in text and "math.cos(b)" in text
    assert "func" not in text and "lambda" not in astgrad.source(astgrad.grad(nested))


# ---- functools.partial: the arguments it binds are data ------------------------------------

def squared_error(w, X, y, scale=2.0):
    z = X @ w
    return scale * np.sum((z - y) ** 2)


X_DATA = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
Y_DATA = np.array([1.0, 0.0, 2.0])


@pytest.mark.parametrize("mode", MODES)
def test_a_partial_differentiates_the_parameters_it_leaves(mode):
    w = np.array([0.5, -0.25])
    bound = functools.partial(squared_error, X=X_DATA, y=Y_DATA)
    d_w, d_scale = astgrad.grad(bound, mode=mode)(w)
    residual = X_DATA @ w - Y_DATA
    np.testing.assert_allclose(d_w, 4.0 * X_DATA.T @ residual, rtol=1e-12)
    assert d_scale == pytest.approx(np.sum(residual**2), rel=1e-12)
    np.testing.assert_allclose(d_w, central_difference(bound, [w], 0), rtol=1e-6)
    assert "X" not in astgrad.source(astgrad.grad(bound)).split("\n")[0]  # data, not parameters


@pytest.mark.parametrize("mode", MODES)
def test_a_partial_binding_the_first_argument(mode):
    w = np.array([0.5, -0.25])
    bound = functools.partial(squared_error, w)
    d_X = astgrad.grad(bound, wrt="X", mode=mode)(X_DATA, Y_DATA)
    np.testing.assert_allclose(d_X, 4.0 * np.outer(X_DATA @ w - Y_DATA, w), rtol=1e-12)
    np.testing.assert_allclose(d_X, central_difference(bound, [X_DATA, Y_DATA], 0), rtol=1e-6)


def test_a_partial_binding_a_parameter_it_does_not_have_is_refused():
    with pytest.raises(astgrad.SourceError, match="binds `z`, which is not a parameter"):
        astgrad.grad(functools.partial(squared_error, z=1.0))


# ---- *sequence and **mapping in a call, their contents known when astgrad transforms -------

LINEAR_PARAMS = {"w": np.array([[1.0, 2.0], [3.0, 0.5]]), "b": np.array([0.1, -0.2])}
COEFFICIENTS = (2.0, 3.0)


def linear(x, w, b):
    return x @ w + b


def quadratic(x, a, b):
    return a * x + b * x * x


def unpacks_a_module_level_dict(x):
    return np.sum(linear(x, **LINEAR_PARAMS))


def unpacks_sequences(x, y):
    return quadratic(x, *COEFFICIENTS) + quadratic(*(y, 1.0, x))


def unpacks_a_dict_display(x, y):
    return quadratic(x, **{"a": y, "b": 2.0})


@pytest.mark.parametrize("mode", MODES)
def test_unpacked_arguments_known_when_transforming(mode):
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(astgrad.grad(unpacks_a_module_level_dict, mode=mode)(x), LINEAR_PARAMS["w"].sum(axis=1))
    a, b = 1.5, 0.5
    # 2a + 3a^2 + b + a b^2
    assert astgrad.grad(unpacks_sequences, mode=mode)(a, b) == pytest.approx((2 + 6 * a + b * b, 1 + 2 * a * b))
    assert astgrad.grad(unpacks_a_dict_display, mode=mode)(a, b) == pytest.approx((b + 4 * a, a))
    for fn in (unpacks_sequences, unpacks_a_dict_display):
        d = astgrad.grad(fn, mode=mode)(a, b)
        assert d == pytest.approx((central_difference(fn, [a, b], 0), central_difference(fn, [a, b], 1)), rel=1e-6)


def test_a_module_level_dict_is_unpacked_under_its_keys():
    text = astgrad.source(astgrad.grad(unpacks_a_module_level_dict))
    assert "x @ w" in text
