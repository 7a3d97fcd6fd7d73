"""Values that are not what the generated code was written for: a clear error or a correct gradient, never a wrong shape.

Code that calls no NumPy function is differentiated as code on numbers. An
array passed to it is refused at the call, naming the parameter, wherever it
would reach arithmetic whose gradient assumes numbers; a parameter only `math`
functions read needs no check, since they refuse arrays themselves.
"""

import math

import numpy as np
import pytest

import astgrad
from support import central_difference


def affine(x):
    return 3.0 * x + 1.0


def product(x, y):
    return x * y + math.sin(y)


def square(x):
    return x * x


def only_math(x, y):
    return math.sin(x) * math.cos(y)


def unused_second(x, y):
    return math.sin(x)


ARRAY = np.linspace(-2.0, 2.0, 5)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    "fn, args, parameter, shape",
    [
        (affine, (ARRAY,), "x", (5,)),
        (product, (np.array([1.0, 2.0, 3.0]), 2.0), "x", (3,)),
        (product, (2.0, np.array([1.0, 2.0])), "y", (2,)),
        (unused_second, (0.5, np.ones((2, 2))), "y", (2, 2)),
    ],
)
def test_an_array_reaching_the_arithmetic_of_scalar_code_is_refused_naming_the_parameter(mode, fn, args, parameter, shape):
    with pytest.raises(astgrad.ArrayInputError) as error:
        astgrad.grad(fn, mode=mode)(*args)
    assert str(error.value).startswith(
        f"the differentiated argument {parameter} is an array of shape {shape}, "
        "but the function calls no NumPy function, so its gradient was written for numbers"
    )
    assert "use NumPy in the function" in error.value.hint
    assert isinstance(error.value, TypeError)


def test_an_array_is_refused_by_the_hessian_and_by_value_and_grad_too():
    with pytest.raises(astgrad.ArrayInputError, match="argument x is an array of shape \\(2,\\)"):
        astgrad.hessian(square)(np.array([1.0, 2.0]))
    with pytest.raises(astgrad.ArrayInputError, match="argument x is an array of shape \\(5,\\)"):
        astgrad.value_and_grad(affine)(ARRAY)


def test_numbers_still_get_their_gradients_and_ints_give_floats():
    d_x, d_y = astgrad.grad(product)(1.5, 2.0)
    assert (d_x, d_y) == (2.0, pytest.approx(1.5 + math.cos(2.0), rel=1e-15))
    assert d_y == pytest.approx(central_difference(product, (1.5, 2.0), 1), rel=1e-7)
    for gradient in (astgrad.grad(affine)(2), astgrad.grad(affine, mode="forward")(2), astgrad.grad(square)(3)):
        assert type(gradient) is float
    assert astgrad.grad(square)(3) == 6.0
    assert astgrad.hessian(square)(3.0) == 2.0


def test_a_parameter_only_math_functions_read_is_not_checked():
    text = astgrad.source(astgrad.grad(only_math))
    assert "checked" not in text
    check = "    if type(x) is not float or type(y) is not float:\n        check_numbers(x, y)\n"
    assert astgrad.source(astgrad.grad(product)).startswith("def d_product(x, y, d_out=1.0):\n" + check)
    assert astgrad.source(astgrad.grad(product, mode="forward")).startswith("def d_product(x, y):\n" + check)
    assert astgrad.source(astgrad.grad(unused_second)).startswith(
        "def d_unused_second(x, y, d_out=1.0):\n    if type(y) is not float:\n        check_numbers(y)\n"
    )


def test_the_jvp_of_scalar_code_takes_arrays_elementwise():
    x, y = np.array([1.0, 2.0, 3.0]), 2.0
    dx, dy = np.array([0.5, -1.0, 2.0]), 0.25
    value, tangent = astgrad.jvp(product)(x, y, dx, dy)
    np.testing.assert_allclose(value, x * y + math.sin(y), rtol=1e-15)
    np.testing.assert_allclose(tangent, dx * y + x * dy + math.cos(y) * dy, rtol=1e-15)


def sum_of_squares(x):
    return np.sum(x**2)


def scaled_sum(x, y):
    return np.sum(x) * y


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_python_ints_passed_to_numpy_code_get_float_gradients(mode):
    gradient = astgrad.grad(sum_of_squares, mode=mode)(3)
    assert gradient == 6.0 and isinstance(gradient, float)
    d_x, d_y = astgrad.grad(scaled_sum, mode=mode)(2, 3)
    assert (d_x, d_y) == (3.0, 2.0)
    assert isinstance(d_x, float) and isinstance(d_y, float)


def test_numpy_code_gives_gradients_of_the_arguments_own_shapes():
    d_x, d_y = astgrad.grad(lambda x, y: np.sum(x * y))(np.array([1.0, 2.0, 3.0]), 2.0)
    np.testing.assert_array_equal(d_x, [2.0, 2.0, 2.0])
    assert d_y == 6.0 and np.ndim(d_y) == 0


def sin_of_product(x, y):
    return math.sin(x * y) + max(x / y, 0.0)


def test_a_parameter_whose_every_path_meets_a_function_refusing_arrays_is_not_checked():
    assert "check_numbers" not in astgrad.source(astgrad.grad(sin_of_product))
    with pytest.raises(TypeError) as refused:  # math.sin refuses it, as the function itself does
        sin_of_product(np.ones(3), 2.0)
    with pytest.raises(TypeError) as refused_too:
        astgrad.grad(sin_of_product)(np.ones(3), 2.0)
    assert str(refused_too.value) == str(refused.value)


def pieces_times_first(x):
    a, b = np.array_split(x, 2)
    return np.sum(a) * b[0]


def test_pieces_of_different_lengths_have_no_gradient_and_say_so_when_called():
    """``np.array_split`` into equal pieces has a gradient; into unequal ones the call refuses, naming the split."""
    gradient = astgrad.grad(pieces_times_first)
    x = np.arange(1.0, 5.0)
    np.testing.assert_allclose(gradient(x), [3.0, 3.0, 3.0, 0.0])
    with pytest.raises(astgrad.NoDerivativeError) as info:
        gradient(np.arange(1.0, 6.0))
    assert info.value.reason == (
        "the pieces of an array split into parts of different shapes ((2,), (3,)) have no derivative here"
    )
    assert info.value.hint == "split into equal parts (np.split(x, n) with n dividing the length), or slice: x[:k], x[k:]"
    value, tangent = astgrad.jvp(pieces_times_first)(np.arange(1.0, 6.0), np.ones(5))  # forward mode has no stacking
    assert value == 6.0 * 4.0 and tangent == 3.0 * 4.0 + 6.0
