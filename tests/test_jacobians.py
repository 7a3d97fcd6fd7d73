"""`astgrad.jacobian` and `astgrad.hvp` (jacobians.py), against analytic values and central differences."""
import math

import numpy as np
import pytest

import astgrad
from astgrad import NonScalarOutputError
from support import assert_close

MODES = ("reverse", "forward")


def numeric_jacobian(f, args, index, h=1e-6):
    """d f / d args[index] by central differences: shape ``output.shape + argument.shape`` (per output)."""
    x = np.asarray(args[index], dtype=float)

    def at(value):
        moved = list(args)
        moved[index] = value if np.ndim(args[index]) else float(value)
        return f(*moved)

    def derivative(pick):
        columns = []
        for position in np.ndindex(x.shape):
            up, down = x.copy(), x.copy()
            up[position] += h
            down[position] -= h
            columns.append((np.asarray(pick(at(up)), dtype=float) - np.asarray(pick(at(down)), dtype=float)) / (2 * h))
        out_shape = np.shape(pick(f(*args)))
        return np.moveaxis(np.array(columns), 0, -1).reshape(out_shape + x.shape)

    value = f(*args)
    if isinstance(value, tuple):
        return tuple(derivative(lambda v, i=i: v[i]) for i in range(len(value)))
    return derivative(lambda v: v)


def polar(r, theta):
    return r * math.cos(theta), r * math.sin(theta)


def doubled_sine(x):
    return np.sin(x) * 2.0


def layer(W, x):
    return np.tanh(W @ x), np.sum(x ** 2)


def quadratic(x, A):
    return 0.5 * x @ A @ x


def logistic_loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


X3 = np.array([0.1, -0.4, 0.8])
W23 = np.array([[0.5, -1.0, 0.25], [2.0, 0.3, -0.6]])


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_of_a_tuple_of_numbers_is_a_nested_tuple_outputs_first(mode):
    J = astgrad.jacobian(polar, mode=mode)(2.0, 0.5)
    c, s = math.cos(0.5), math.sin(0.5)
    assert isinstance(J, tuple) and all(isinstance(row, tuple) for row in J)
    assert_close(J, ((c, -2.0 * s), (s, 2.0 * c)), rtol=1e-15, atol=0)


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_of_one_parameter_has_shape_output_then_parameter(mode):
    J = astgrad.jacobian(doubled_sine, mode=mode)(X3)
    assert J.shape == (3, 3)
    assert_close(J, np.diag(2.0 * np.cos(X3)), rtol=1e-15, atol=0)
    x = np.arange(6.0).reshape(2, 3) / 10
    J = astgrad.jacobian(doubled_sine, mode=mode)(x)
    assert J.shape == (2, 3, 2, 3)
    assert_close(J, numeric_jacobian(doubled_sine, (x,), 0), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_of_a_tuple_output_and_several_parameters(mode):
    J = astgrad.jacobian(layer, mode=mode)(W23, X3)
    assert [[np.shape(block) for block in row] for row in J] == [[(2, 2, 3), (2, 3)], [(2, 3), (3,)]]
    numeric_W, numeric_x = numeric_jacobian(layer, (W23, X3), 0), numeric_jacobian(layer, (W23, X3), 1)
    for i in range(2):
        assert_close(J[i][0], numeric_W[i], rtol=1e-7, atol=1e-9)
        assert_close(J[i][1], numeric_x[i], rtol=1e-7, atol=1e-9)
    sech2 = 1.0 / np.cosh(W23 @ X3) ** 2
    assert_close(J[0][1], sech2[:, None] * W23, rtol=1e-14, atol=0)
    assert_close(J[1][1], 2.0 * X3, rtol=0, atol=0)


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_with_wrt_one_name_is_not_a_tuple_and_a_tuple_wrt_is(mode):
    J = astgrad.jacobian(layer, wrt="x", mode=mode)(W23, X3)
    assert isinstance(J, tuple) and [np.shape(block) for block in J] == [(2, 3), (3,)]
    (J_x,), (J_x_sum,) = astgrad.jacobian(layer, wrt=("x",), mode=mode)(W23, X3)
    assert_close(J_x_sum, 2.0 * X3, rtol=0, atol=0)


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_of_a_scalar_loss_is_its_gradient(mode):
    rng = np.random.default_rng(3)
    w, X, y = rng.standard_normal(4), rng.standard_normal((6, 4)), (rng.random(6) > 0.5) * 1.0
    J = astgrad.jacobian(logistic_loss, wrt="w", mode=mode)(w, X, y)
    assert_close(J, X.T @ (1 / (1 + np.exp(-X @ w)) - y) / 6, rtol=1e-12)


def test_forward_jacobian_is_a_generated_driver_of_the_tangent_function():
    assert astgrad.source(astgrad.jacobian(layer, mode="forward")) == (
        "def jacobian_layer(W, x):\n"
        "    value, jacobian = forward_jacobian(jvp_layer, (W, x), wrt=(0, 1), as_tuple=True)\n"
        "    return jacobian\n"
    )


def test_jacobian_refuses_a_mode_it_does_not_know():
    with pytest.raises(ValueError, match="mode must be one of"):
        astgrad.jacobian(polar, mode="backward")


def test_reverse_jacobian_refuses_what_grad_refuses_when_it_is_made():
    def nested(x):
        return (x, x), x

    with pytest.raises(NonScalarOutputError, match="returns a tuple, but a gradient needs a single"):
        astgrad.jacobian(nested)


def test_hvp_of_a_quadratic_form_is_the_symmetric_part_times_the_vector():
    A = np.array([[2.0, 1.0, 0.0], [0.5, 3.0, -1.0], [0.0, 2.0, 1.0]])
    v = np.array([1.0, -2.0, 0.5])
    hvp_f = astgrad.hvp(quadratic, wrt="x")
    assert_close(hvp_f(X3, A, v), (A + A.T) / 2 @ v, rtol=1e-15, atol=1e-15)
    assert_close(hvp_f(X3, A, v, d_out=3.0), 3.0 * (A + A.T) / 2 @ v, rtol=1e-15, atol=1e-15)


def test_hvp_of_the_logistic_loss_matches_the_hessian_and_differences_of_the_gradient():
    rng = np.random.default_rng(4)
    w, X, v = rng.standard_normal(5), rng.standard_normal((8, 5)), rng.standard_normal(5)
    y = (rng.random(8) > 0.5) * 1.0
    product = astgrad.hvp(logistic_loss, wrt="w")(w, X, y, v)
    p = 1 / (1 + np.exp(-X @ w))
    assert_close(product, X.T @ (p * (1 - p) * (X @ v)) / 8, rtol=1e-12)
    gradient = astgrad.grad(logistic_loss, wrt="w")
    h = 1e-6
    assert_close(product, (gradient(w + h * v, X, y) - gradient(w - h * v, X, y)) / (2 * h), rtol=1e-6)


def test_hvp_of_several_numbers_takes_one_vector_per_parameter():
    def f(x, y):
        return x * x * y + math.sin(y)

    hvp_f = astgrad.hvp(f)
    # H = [[2y, 2x], [2x, -sin y]]
    assert hvp_f(1.5, 0.5, 1.0, 0.0) == pytest.approx((1.0, 3.0), rel=1e-15)
    assert hvp_f(1.5, 0.5, 0.0, 1.0) == pytest.approx((3.0, -math.sin(0.5)), rel=1e-15)


def test_hvp_is_one_generated_function_without_the_hessian():
    text = astgrad.source(astgrad.hvp(quadratic, wrt="x"))
    assert text.startswith("def hvp_quadratic(x, A, x_dot, d_out=1.0):\n")
    assert "forward_jacobian" not in text and "hessian" not in text


def cubes(x, *, scale):
    return scale * np.sum(x ** 3)


def test_hvp_with_a_keyword_only_parameter_keeps_it_and_the_seed_keyword_only():
    hvp_f = astgrad.hvp(cubes)
    assert astgrad.source(hvp_f).startswith("def hvp_cubes(x, x_dot, *, scale, d_out=1.0):\n")
    v = np.array([1.0, -2.0, 0.5])
    assert_close(hvp_f(X3, v, scale=2.0), 2.0 * 6.0 * X3 * v, rtol=1e-14, atol=0)
    assert_close(hvp_f(X3, v, scale=2.0, d_out=0.5), 6.0 * X3 * v, rtol=1e-14, atol=0)


def scaled_sine(x, *, scale):
    return scale * np.sin(x)


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_passes_keyword_only_arguments_on(mode):
    J = astgrad.jacobian(scaled_sine, mode=mode)(X3, scale=3.0)
    assert_close(J, np.diag(3.0 * np.cos(X3)), rtol=1e-15, atol=0)
