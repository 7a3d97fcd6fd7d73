"""Shape classes (astgrad/shapes.py): which names provably share a shape, and which are surely NumPy values."""

import math

import gast
import numpy as np

from astgrad import shapes
from astgrad.names import Namespace
from stages import equations_text, program_of

WEIGHTS = np.ones(3)


def classes_of(fn):
    """(equations as text, {name: sorted shape class}, sorted NumPy values) of `fn`'s program."""
    program = program_of(fn)
    classes = shapes.shape_classes(program, [equation.rule for equation in program.equations])
    return (
        equations_text(program),
        {target: sorted(shape_class) for target, shape_class in classes.items()},
        sorted(classes.numpy_values),
    )


def test_an_elementwise_result_has_the_shapes_of_its_inputs_together():
    def f(x, y, w):
        z = np.tanh(x * y) + 1.0
        return np.sum(z * w)

    equations, classes, _ = classes_of(f)
    assert equations == [
        "x_times_y = x * y", "tanh_x_times_y = np.tanh(x_times_y)", "z = tanh_x_times_y + 1.0",
        "z_times_w = z * w", "out = np.sum(z_times_w)",
    ]  # fmt: skip
    assert classes == {
        "x_times_y": ["x", "y"],
        "tanh_x_times_y": ["x", "y"],
        "z": ["x", "y"],  # a number constant changes no shape
        "z_times_w": ["w", "x", "y"],
        "out": [],  # a sum over all axes is a number
    }


def test_a_product_of_matrices_or_a_reduction_over_an_axis_starts_a_class_of_its_own():
    def f(X, w, b):
        return np.mean((X @ w + b) ** 2, axis=0)

    equations, classes, _ = classes_of(f)
    assert equations == [
        "X_matmul_w = X @ w", "X_matmul_w_plus_b = X_matmul_w + b", "power = X_matmul_w_plus_b ** 2",
        "out = np.mean(power, axis=0)",
    ]  # fmt: skip
    assert classes == {
        "X_matmul_w": ["X_matmul_w"],
        "X_matmul_w_plus_b": ["X_matmul_w", "b"],
        "power": ["X_matmul_w", "b"],
        "out": ["out"],
    }


def test_a_reduction_keeping_its_axes_adds_nothing_next_to_what_it_reduces():
    def f(x, gamma):
        mu = np.mean(x, axis=-1, keepdims=True)
        var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
        xhat = (x - mu) / np.sqrt(var + 1.0)
        return np.sum(gamma * xhat + mu + np.sum(x, axis=0))

    _, classes, _ = classes_of(f)
    assert classes["mu"] == ["mu"] and classes["var"] == ["var"]  # each reduction starts a class
    assert classes["x_minus_mu"] == ["x"]  # (n, 1) broadcast with (n, d): (n, d)
    assert classes["xhat"] == ["x"]  # var's class, a reduction of x's class, adds nothing either
    assert classes["gamma_times_xhat"] == ["gamma", "x"]  # gamma may have more axes than x
    assert classes["total_1"] == ["gamma", "x"]  # gamma * xhat + mu
    assert classes["sum_x"] == ["sum_x"]  # without keepdims: fewer axes, which may broadcast against more
    assert classes["total_1_plus_sum_x"] == ["gamma", "sum_x", "x"]


def test_slices_of_one_array_that_drop_as_many_elements_share_a_class():
    def f(x, y):
        head, tail, middle, inner = x[:-1], x[1:], x[1:-1], x[2:]
        other, stepped = y[1:], x[::2]
        return np.sum(head * tail + middle * inner + other + stepped[0])

    _, classes, _ = classes_of(f)
    assert classes["head"] == classes["tail"] == ["head"]  # x[:-1] and x[1:]: one element dropped
    assert classes["middle"] == classes["inner"] == ["middle"]  # x[1:-1] and x[2:]: two
    assert classes["other"] == ["other"]  # another array's slice
    assert classes["stepped"] == ["stepped"]  # a step: no length known from what it drops
    assert classes["head_times_tail"] == ["head"]  # so no unbroadcast between them


def test_shapes_lengths_and_indexes_of_numbers_have_no_shape_class():
    def f(x, y):
        a = x * 2.0
        n = len(x)
        return np.sum(a[0] * y) / n + x.shape[0]

    _, classes, _ = classes_of(f)
    assert classes["a"] == ["x"]
    assert classes["a_0"] == ["a_0"]  # an element or slice of an array: a shape of its own
    assert classes["n"] == classes["x_shape"] == classes["x_shape_0"] == []
    assert classes["sum_a_0_times_y"] == classes["ratio"] == classes["out"] == []


def test_a_math_function_gives_a_number_and_a_global_is_its_own_class():
    def f(x):
        s = math.sin(x)
        return np.exp(x) * s * WEIGHTS

    _, classes, _ = classes_of(f)
    assert classes == {"s": [], "exp_x": ["x"], "exp_x_times_s": ["x"], "out": ["WEIGHTS", "x"]}


def test_a_name_the_program_does_not_compute_is_its_own_class():
    assert shapes.ShapeClasses()["x"] == frozenset({"x"})


def test_numpy_values_are_what_numpy_computed_and_operators_of_them_not_the_parameters():
    def f(x, y):
        a = x * 2.0
        n = len(x)
        return np.sum(a[0] * y) / n + x.shape[0]

    _, _, numpy_values = classes_of(f)
    # x may be a Python number, so x * 2.0 and a[0] may be too; np.sum and what uses it are NumPy's.
    assert numpy_values == ["out", "ratio", "sum_a_0_times_y"]


def test_a_product_of_matrices_is_a_numpy_value_even_of_parameters():
    def f(X, w):
        return -(X @ w)

    _, _, numpy_values = classes_of(f)
    assert numpy_values == ["X_matmul_w", "out"]


def test_shape_calls_are_recognised_only_on_numpy_and_on_one_name():
    def is_numpy(module):
        return module == "np"

    def call(text):
        return gast.parse(text).body[0].value

    assert shapes.is_shape_call(call("np.shape(x)"), is_numpy)
    assert shapes.is_shape_call(call("np.size(x)"), is_numpy)
    assert not shapes.is_shape_call(call("np.shape(x + y)"), is_numpy)
    assert not shapes.is_shape_call(call("other.shape(x)"), is_numpy)
    assert not shapes.is_shape_call(call("np.sum(x)"), is_numpy)
    assert shapes.is_numpy_call(call("np.sum(x + y)"), ("sum",), is_numpy)


def test_numpy_test_knows_numpy_by_the_object_not_the_name():
    is_numpy = shapes.numpy_test(Namespace({"numpy_alias": np, "np": math}, {}))
    assert is_numpy("numpy_alias") and not is_numpy("np") and not is_numpy("undefined")


# ---- around loops and branches ------------------------------------------------------------------
def structured_classes_of(fn):
    """{name: sorted shape class} of `fn`'s program with loops and branches."""
    classes = shapes.structured_shape_classes(program_of(fn))
    return {target: sorted(shape_class) for target, shape_class in classes.items()}


def test_a_header_whose_shape_the_body_keeps_has_its_initial_value_s_class():
    def f(x, n):
        for i in range(n):
            x = x - 0.1 * np.sin(x)
        return np.sum(x)

    classes = structured_classes_of(f)
    assert classes["x"] == ["x"] and classes["x_1"] == ["x"]


def test_a_header_another_argument_may_broadcast_is_not_its_initial_value_s_class():
    def f(x, dt, n):
        for i in range(n):
            x = x + dt * np.sin(x)  # dt may be an array that x broadcasts to
        return np.sum(x)

    classes = structured_classes_of(f)
    assert classes["x"] == ["x'"]
    assert classes["x_1"] == ["dt", "x'"]


def test_a_header_of_a_number_plus_numbers_stays_a_number_and_a_scaled_array_keeps_its_class():
    def f(x, n):
        total = 0.0
        for i in range(n):
            x = 0.5 * np.tanh(x)
            total = total + np.sum(x)
        return total

    classes = structured_classes_of(f)
    assert classes["total"] == [] and classes["total_1"] == []
    assert classes["x"] == ["x"] and classes["x_1"] == ["x"]


def test_a_state_whose_shape_may_change_after_the_first_iteration_gets_a_class_of_its_own():
    def f(W, h, b, n):
        for i in range(n):
            h = np.tanh(W @ h + b)  # h of shape (H, 1) and b of (H, B): (H, B) from the first step on
        return np.sum(h)

    classes = structured_classes_of(f)
    assert classes["h"] == ["h'"]  # no name of the program: it shares its shape with nothing known
    assert classes["W_matmul_h"] == ["W_matmul_h"]
    assert classes["h_1"] == ["W_matmul_h", "b"]


def test_a_merged_name_has_its_branches_class_only_when_both_give_the_same():
    def f(x, y, c):
        if c > 0:
            a = 2 * x
            b = x
        else:
            a = x * 3
            b = y
        return np.sum(a * b)

    classes = structured_classes_of(f)
    assert classes["a"] == ["x"]
    assert classes["b"] == ["b'"]
