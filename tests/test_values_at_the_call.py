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


# Containers: their structure is known only at the call, so each error about one is raised there,
# located at the line that reads the container (or at the parameter, for what it holds).


def nested_loss(params):
    W = params["W"]
    return np.sum(W[0] * W[1])


def reads_a_missing_key(params):
    return np.sum(params["W"] * params["V"])


def unpacks_two(params):
    W, b = params
    return np.sum(W * b)


def passes_a_container_on(params):
    return np.sum(params) * params[0]


def indexes_by_a_variable(params, i):
    return params[0] * params[i]


def unpacks_four(state):
    t1, t2, w1, w2 = state
    return t1 * w1 + t2 * w2


def line_of(fn, text):
    lines, start = __import__("inspect").getsourcelines(fn)
    for offset, line in enumerate(lines):
        if text in line:
            return start + offset, line.index(text)
    raise AssertionError(text)


def assert_located(error, fn, text):
    lineno, column = line_of(fn, text)
    assert (error.lineno, error.col_offset) == (lineno, column)
    assert error.filename == __file__
    caret_line = str(error).splitlines()[2]
    assert caret_line == "    " + " " * column + "^"


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    "leaf, described",
    [("text", "a str ('text')"), (None, "None"), (np.array(["a"]), "an array of dtype <U1")],
)
def test_a_differentiated_container_holding_what_has_no_gradient_is_refused_naming_its_path(mode, leaf, described):
    params = {"W": [np.ones(2), leaf]}
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.grad(nested_loss, mode=mode)(params)
    assert error.value.reason == (
        f'the differentiated argument `params["W"][1]` is {described}, which has no gradient'
    )
    assert "pass other values as a separate parameter that wrt does not name" in error.value.hint
    assert_located(error.value, nested_loss, "params):")
    assert isinstance(error.value, TypeError)


def test_a_key_the_code_reads_that_the_container_lacks_is_refused_naming_it():
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.grad(reads_a_missing_key)({"W": np.ones(2), "b": np.ones(2)})
    assert error.value.reason == (
        '`params["V"]` is read, but `params` at this call has no such key: its keys are \'W\', \'b\''
    )
    assert error.value.hint == "pass a container with that entry, or read one it has"
    assert_located(error.value, reads_a_missing_key, 'params["V"]')


def test_an_index_past_the_end_of_a_list_is_refused_naming_it():
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.grad(nested_loss)({"W": [np.ones(2)]})
    assert error.value.reason == '`params["W"][1]` is read, but `params["W"]` at this call has no such index: its length is 1'
    assert_located(error.value, nested_loss, "W[1]")


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_unpacking_a_container_of_another_length_is_refused(mode):
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.grad(unpacks_two, mode=mode)([np.ones(2), np.ones(2), np.ones(2)])
    assert error.value.reason == "`params` has 3 entries at this call, but is unpacked into 2 names"
    assert_located(error.value, unpacks_two, "params\n")


def test_unpacking_a_dict_is_refused():
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.grad(unpacks_two)({"W": np.ones(2), "b": np.ones(2)})
    assert error.value.reason == "`params` is a dict at this call and cannot be unpacked"
    assert 'read its entries by key (params["W"])' in error.value.hint


def test_unpacking_an_array_of_another_length_is_refused():
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.grad(unpacks_four)(np.ones(3))
    assert error.value.reason == "`state` is an array of length 3 at this call, but is unpacked into 4 targets"
    assert_located(error.value, unpacks_four, "state\n")


def test_a_container_used_as_a_value_is_refused_saying_how_to_read_it():
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.grad(passes_a_container_on)([np.ones(2), np.ones(2)])
    assert error.value.reason == (
        "`params` is a list at this call, used here as a value; astgrad reads containers "
        "only by constant keys and indices and by unpacking"
    )
    assert_located(error.value, passes_a_container_on, "params) *")


def test_a_container_indexed_by_a_variable_is_refused():
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.grad(indexes_by_a_variable, wrt=0)([1.0, 2.0], 1)
    assert error.value.reason == "`params` is a list at this call; it can be read only by a constant key or index"
    assert_located(error.value, indexes_by_a_variable, "i]")


def test_the_hessian_of_a_container_is_refused_at_the_call():
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.hessian(nested_loss)({"W": [np.ones(2), np.ones(2)]})
    assert error.value.reason == "`params` is a container at this call, and hessian takes numbers and arrays only"
    assert_located(error.value, nested_loss, "params):")


def test_a_jvp_tangent_of_another_structure_is_refused():
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.jvp(nested_loss)({"W": [np.ones(2), np.ones(2)]}, {"W": np.ones(2)})
    assert error.value.reason == "the tangent of `params` is not a container of the same structure as `params`"


def test_hvp_and_jacobian_of_a_container_are_refused_at_the_call():
    params = {"W": [np.ones(2), np.ones(2)]}
    with pytest.raises(astgrad.ContainerError) as error:
        astgrad.hvp(nested_loss)(params, {"W": [np.ones(2), np.ones(2)]})
    assert error.value.reason == "`params` is a container at this call, and hvp takes numbers and arrays only"
    assert_located(error.value, nested_loss, "params):")
    for mode in ("reverse", "forward"):
        with pytest.raises(astgrad.ContainerError) as error:
            astgrad.jacobian(nested_loss, mode=mode)(params)
        assert error.value.reason == "`params` is a container at this call, and jacobian takes numbers and arrays only"


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
