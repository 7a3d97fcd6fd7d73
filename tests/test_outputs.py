"""`has_aux=True` (outputs.py): the loss is differentiated, the auxiliary value returned beside the gradient.

As JAX's: `grad` returns ``(gradient, aux)``, `value_and_grad` returns
``((loss, aux), gradient)``; in reverse and forward mode, scalar and NumPy
code. A function that does not return a pair is refused at its return.
"""
import math

import numpy as np
import pytest

import astgrad
from astgrad import NonScalarOutputError
from cases import bad_functions, marked_line
from support import assert_close, central_difference
from test_errors import assert_located, no_user_code_runs

MODES = ("reverse", "forward")


def scaled_sine(x, y):
    loss = math.sin(x) * y
    return loss, (x * 2.0, y)


def sine_loss(x, y):
    return math.sin(x) * y


def least_squares(w, X, t):
    z = X @ w
    loss = np.sum((z - t) ** 2)
    return loss, z


def least_squares_loss(w, X, t):
    return least_squares(w, X, t)[0]


W = np.array([0.3, -0.7])
X = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.25]])
T = np.array([1.0, 0.0, -1.0])


@pytest.mark.parametrize("mode", MODES)
def test_grad_with_aux_returns_the_gradient_and_the_aux_value(mode):
    gradient, aux = astgrad.grad(scaled_sine, has_aux=True, mode=mode)(0.5, 2.0)
    assert_close(gradient, (2.0 * math.cos(0.5), math.sin(0.5)))
    assert_close(gradient, [central_difference(sine_loss, (0.5, 2.0), i) for i in (0, 1)], rtol=1e-7)
    assert aux == (1.0, 2.0)


@pytest.mark.parametrize("mode", MODES)
def test_value_and_grad_with_aux_returns_the_loss_and_aux_then_the_gradient(mode):
    (loss, aux), gradient = astgrad.value_and_grad(scaled_sine, wrt="x", has_aux=True, mode=mode)(0.5, 2.0)
    assert loss == pytest.approx(2.0 * math.sin(0.5), rel=1e-15)
    assert aux == (1.0, 2.0)
    assert gradient == pytest.approx(2.0 * math.cos(0.5), rel=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_numpy_grad_with_aux(mode):
    gradient, z = astgrad.grad(least_squares, wrt="w", has_aux=True, mode=mode)(W, X, T)
    assert_close(gradient, 2.0 * X.T @ (X @ W - T))
    assert_close(gradient, central_difference(least_squares_loss, (W, X, T), 0), rtol=1e-6)
    assert_close(z, X @ W, rtol=0, atol=0)
    (loss, z), gradient = astgrad.value_and_grad(least_squares, wrt="w", has_aux=True, mode=mode)(W, X, T)
    assert loss == pytest.approx(np.sum((X @ W - T) ** 2), rel=1e-14)
    assert_close(z, X @ W, rtol=0, atol=0)
    assert_close(gradient, 2.0 * X.T @ (X @ W - T))


def test_jvp_with_aux_returns_the_value_the_tangent_and_the_aux_value_as_jax():
    value, tangent, aux = astgrad.jvp(scaled_sine, has_aux=True)(0.5, 2.0, 1.0, -0.5)
    assert value == pytest.approx(2.0 * math.sin(0.5), rel=1e-15)
    assert tangent == pytest.approx(2.0 * math.cos(0.5) - 0.5 * math.sin(0.5), rel=1e-15)
    assert aux == (1.0, 2.0)
    direction = np.array([0.5, -1.0])
    value, tangent, z = astgrad.jvp(least_squares, wrt="w", has_aux=True)(W, X, T, direction)
    assert value == pytest.approx(np.sum((X @ W - T) ** 2), rel=1e-14)
    assert tangent == pytest.approx(2.0 * (X @ W - T) @ (X @ direction), rel=1e-12)
    h = 1e-6
    by_differences = (least_squares_loss(W + h * direction, X, T) - least_squares_loss(W - h * direction, X, T)) / 2e-6
    assert tangent == pytest.approx(by_differences, rel=1e-7)
    assert_close(z, X @ W, rtol=0, atol=0)
    assert astgrad.source(astgrad.jvp(least_squares, wrt="w", has_aux=True)).splitlines()[-1] == (
        "    return loss, loss_dot, z"
    )
    assert astgrad.jvp(has_aux=True)(scaled_sine) is astgrad.jvp(scaled_sine, has_aux=True)  # cached apart
    assert astgrad.jvp(scaled_sine, has_aux=True) is not astgrad.jvp(scaled_sine)


@pytest.mark.parametrize(
    "function, mark, words",
    [
        (bad_functions.aux_returns_one_value, "aux-single", "it returns a single value"),
        (bad_functions.aux_returns_three, "aux-three", "it returns a tuple of 3"),
    ],
)
def test_a_jvp_with_aux_of_a_function_that_does_not_return_a_pair_is_refused_at_its_return(function, mark, words):
    lineno, line = marked_line(bad_functions, mark)
    with no_user_code_runs() as calls:
        with pytest.raises(NonScalarOutputError) as info:
            astgrad.jvp(function, has_aux=True)
    assert_located(info.value, bad_functions.__file__, lineno, line.index("return"), line)
    assert info.value.reason == (
        f"{function.__name__} is differentiated with has_aux=True, so it must return a pair (loss, aux), "
        f"but {words}"
    )
    assert info.value.hint == (
        "write `return loss, aux` (aux may itself be a tuple: `return loss, (a, b)`), or leave out has_aux=True"
    )
    assert calls == []


def test_the_generated_gradient_returns_the_aux_value_it_computed():
    assert astgrad.source(astgrad.grad(scaled_sine, has_aux=True)).splitlines()[-1] == (
        "    return (d_x, d_y), (prod, y)"
    )
    assert astgrad.source(astgrad.grad(least_squares, wrt="w", has_aux=True, mode="forward")) == (
        "def d_least_squares(w, X, t):\n"
        "    value, aux, gradient = forward_gradient(jvp_least_squares, (w, X, t), wrt=(0,), has_aux=True)\n"
        "    return gradient, aux\n"
    )


def test_has_aux_is_cached_apart_from_the_plain_gradient():
    with_aux = astgrad.grad(scaled_sine, has_aux=True)
    assert astgrad.grad(scaled_sine, has_aux=True) is with_aux
    assert astgrad.grad(sine_loss) is not with_aux
    assert astgrad.grad(has_aux=True)(scaled_sine) is with_aux


def test_has_aux_must_be_a_bool():
    with pytest.raises(TypeError, match="has_aux must be True or False, not 1"):
        astgrad.grad(scaled_sine, has_aux=1)


@pytest.mark.parametrize(
    "function, mark, words",
    [
        (bad_functions.aux_returns_one_value, "aux-single", "it returns a single value"),
        (bad_functions.aux_returns_three, "aux-three", "it returns a tuple of 3"),
    ],
)
@pytest.mark.parametrize("kind", [astgrad.grad, astgrad.value_and_grad])
@pytest.mark.parametrize("mode", MODES)
def test_a_has_aux_function_that_does_not_return_a_pair_is_refused_at_its_return(function, mark, words, kind, mode):
    lineno, line = marked_line(bad_functions, mark)
    with no_user_code_runs() as calls:
        with pytest.raises(NonScalarOutputError) as info:
            kind(function, has_aux=True, mode=mode)
    assert_located(info.value, bad_functions.__file__, lineno, line.index("return"), line)
    assert info.value.reason == (
        f"{function.__name__} is differentiated with has_aux=True, so it must return a pair (loss, aux), "
        f"but {words}"
    )
    assert info.value.hint == (
        "write `return loss, aux` (aux may itself be a tuple: `return loss, (a, b)`), or leave out has_aux=True"
    )
    assert calls == []


def test_a_has_aux_loss_that_is_a_tuple_is_refused_at_the_return():
    lineno, line = marked_line(bad_functions, "aux-tuple-loss")
    with no_user_code_runs() as calls:
        with pytest.raises(NonScalarOutputError) as info:
            astgrad.grad(bad_functions.aux_loss_is_a_tuple, has_aux=True)
    assert_located(info.value, bad_functions.__file__, lineno, line.index("return"), line)
    assert "aux_loss_is_a_tuple returns a tuple, but a gradient needs a single (scalar) output" in info.value.reason
    assert calls == []
