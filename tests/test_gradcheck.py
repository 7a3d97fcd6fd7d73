"""`astgrad.check_grads` (gradcheck.py): quiet when astgrad agrees with central differences, loud when not."""
import math

import numpy as np
import pytest

import astgrad
from astgrad import GradientCheckError


def sine_product(x, y):
    return math.sin(x) * y + x ** 3


def logistic_loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def doubled_sine(x):
    return np.sin(x) * 2.0


def polar(r, theta):
    return r * math.cos(theta), r * math.sin(theta)


def scaled(x, *, scale=3.0):
    return scale * x * x


def step(x, y):
    return (x > 0.0) * y + x  # a jump at 0: no derivative there


RNG = np.random.default_rng(5)
W, X, Y = RNG.standard_normal(3), RNG.standard_normal((7, 3)), (RNG.random(7) > 0.5) * 1.0


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("modes", [("reverse",), ("forward",), ("reverse", "forward")])
@pytest.mark.parametrize(
    "fn, args, wrt",
    [
        (sine_product, (0.5, 2.0), None),
        (logistic_loss, (W, X, Y), "w"),
        (logistic_loss, (W, X, Y), ("w", "X")),
        (doubled_sine, (np.array([0.1, -0.3, 0.7]),), None),
        (polar, (2.0, 0.5), None),
    ],
    ids=["numbers", "logistic-w", "logistic-w-X", "array-output", "tuple-output"],
)
def test_correct_derivatives_pass_quietly(fn, args, wrt, modes, order):
    assert astgrad.check_grads(fn, *args, wrt=wrt, modes=modes, order=order) is None


def test_keyword_arguments_are_passed_on():
    assert astgrad.check_grads(scaled, 1.5, scale=2.0) is None


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_mismatch_names_the_function_parameter_mode_and_order_with_both_numbers(mode):
    with pytest.raises(GradientCheckError) as info:
        astgrad.check_grads(step, 0.0, 2.0, modes=(mode,), order=1)
    error = info.value
    assert isinstance(error, AssertionError)
    assert (error.filename, error.lineno, error.col_offset) == (__file__, step.__code__.co_firstlineno, 0)
    what = "derivative" if mode == "forward" else "derivative (a vector-Jacobian product with a random seed)"
    assert error.reason.startswith(f"the {mode}-mode {what} of step with respect to x, along a random direction, is ")
    assert "where central differences (eps=1e-06) give " in error.reason
    assert "more than the tolerance" in error.reason
    difference = float(error.reason.split("they differ by ")[1].split(",")[0])
    assert difference > 1e4  # the jump of 2 over a step of 1e-6 along the direction
    text = str(error)
    assert text.splitlines()[1:3] == ["    def step(x, y):", "    ^"]
    assert error.hint.startswith("a point where the function is not differentiable")


def test_the_same_function_passes_where_it_is_smooth():
    assert astgrad.check_grads(step, 1.0, 2.0) is None


def test_only_the_parameters_in_wrt_are_checked():
    assert astgrad.check_grads(step, 0.0, 2.0, wrt="y") is None


def test_a_second_derivative_mismatch_says_second_derivative():
    def kinked(x):
        return (x > 0.0) * x * x  # the derivative 2x (x > 0) is continuous; its own jumps from 0 to 2 at 0

    with pytest.raises(GradientCheckError, match="the forward-mode second derivative of kinked with respect to x"):
        astgrad.check_grads(kinked, 0.0, modes=("forward",), order=2)


def test_bad_modes_and_orders_are_value_errors():
    with pytest.raises(ValueError, match="modes must be taken from"):
        astgrad.check_grads(sine_product, 0.5, 2.0, modes=("fwd",))
    with pytest.raises(ValueError, match="order must be 1 or 2, not 3"):
        astgrad.check_grads(sine_product, 0.5, 2.0, order=3)
