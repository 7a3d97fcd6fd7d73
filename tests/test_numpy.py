"""NumPy code end to end: gradients of the shape of each parameter, as people write it.

Each primitive is checked on its own in test_primitives.py; here whole
functions mix them: broadcasting both ways, data that gets no gradient,
constants, `math` on scalars next to arrays, and the call-time checks.
"""

import math
import warnings

import numpy as np
import pytest

import astgrad
from support import assert_close, central_difference, load_module

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def functions(tmp_path_factory):
    return load_module(
        tmp_path_factory.mktemp("numpy_functions"),
        """
        import math
        import numpy as np

        def affine_loss(w, b, X, y):
            residual = X @ w + b - y
            return np.mean(residual ** 2)

        def broadcast_both_ways(column, row, scale):
            grid = column * row + scale       # (3, 1) with (1, 4), and a number
            return np.sum(np.sin(grid) * grid)

        def batch_bias(bias, x):
            return np.sum(np.tanh(x + bias) ** 2)  # bias (5,) broadcast over x (2, 5)

        def mixed(s, x):
            return math.exp(s) * np.sum(np.sin(x)) + math.cos(s) * np.max(x)

        def constants(x):
            weights = np.arange(1.0, 4.0) + np.ones(3) - np.zeros(3)
            return np.sum(x * weights) + np.float64(2.0) * np.sum(x @ np.eye(3))

        def unused(x, y, z):
            return np.sum(x * 2.0) + z

        def gather(x, idx):
            picked = x[idx]
            return np.sum(picked ** 2) + x[-1] * x[0]

        def slices(x):
            return np.sum(x[:2, 1] * x[1:3, 0]) + np.sum(x[..., None] * 2.0) + x[0, :].sum()

        def methods(x):
            centred = x - x.mean(axis=0, keepdims=True)
            return (centred.T @ centred).sum() / x.shape[0] + x.max(axis=1).sum() + x.std()

        def shapes(a, b):
            stacked = np.concatenate([a, b], axis=0)
            flat = stacked.reshape(-1)
            return np.sum(np.expand_dims(flat, 0) * np.squeeze(np.stack((flat, flat)))[0])

        def unpacked_shape(x):
            n, m = x.shape
            rows, columns = np.shape(x)
            return np.sum(x) / (n * m) + rows * columns * np.mean(x ** 2)

        def array_output(x):
            return np.sin(x) * 2.0

        def scalar_code(x, y):
            return x * y + x

        def cross_entropy(scores, y):
            N = scores.shape[0]
            shifted = scores - np.max(scores, axis=1, keepdims=True)
            log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
            return -np.sum(log_probs[range(N), y]) / N
        """,
    )


def check_against_central_differences(f, args, wrt, rtol=1e-6):
    gradient = astgrad.grad(f, wrt=wrt)(*args)
    gradient = gradient if isinstance(gradient, tuple) else (gradient,)
    for index, computed in zip(wrt, gradient):
        assert np.shape(computed) == np.shape(args[index])
        assert_close(computed, central_difference(f, args, index), rtol=rtol)
    return gradient


def test_regression_loss_gradient_has_each_parameters_shape(functions):
    X, y = RNG.normal(size=(20, 3)), RNG.normal(size=20)
    w, b = RNG.normal(size=3), 0.3
    d_w, d_b = check_against_central_differences(functions.affine_loss, [w, b, X, y], (0, 1))
    residual = X @ w + b - y
    assert_close(d_w, 2 * X.T @ residual / 20, rtol=1e-12)
    assert isinstance(d_b, float)
    assert d_b == pytest.approx(2 * residual.mean(), rel=1e-12)


def test_data_arguments_get_no_gradient_and_stay_unchanged(functions):
    X, y = RNG.normal(size=(5, 2)), RNG.normal(size=5)
    before = X.copy(), y.copy()
    d_w = astgrad.grad(functions.affine_loss, wrt="w")(np.ones(2), 0.0, X, y)
    assert d_w.shape == (2,)
    np.testing.assert_array_equal(X, before[0])
    np.testing.assert_array_equal(y, before[1])


def test_broadcasting_in_both_directions(functions):
    args = [RNG.normal(size=(3, 1)), RNG.normal(size=(1, 4)), 0.7]
    d_column, d_row, d_scale = check_against_central_differences(functions.broadcast_both_ways, args, (0, 1, 2))
    assert isinstance(d_scale, float)


def test_a_bias_broadcast_over_a_batch(functions):
    check_against_central_differences(functions.batch_bias, [RNG.normal(size=5), RNG.normal(size=(2, 5))], (0,))


def test_math_on_scalars_next_to_numpy_on_arrays(functions):
    check_against_central_differences(functions.mixed, [0.4, RNG.normal(size=6)], (0, 1))


def test_numpy_constants_flow_through(functions):
    d_x = check_against_central_differences(functions.constants, [RNG.normal(size=3)], (0,))[0]
    assert_close(d_x, np.array([1.0, 2.0, 3.0]) + 1.0 + 2.0, rtol=1e-12)


def test_a_parameter_the_output_ignores_gets_a_zero_of_its_shape(functions):
    d_x, d_y, d_z = astgrad.grad(functions.unused)(np.ones((2, 2)), np.ones((3, 1)), 5.0)
    np.testing.assert_array_equal(d_x, np.full((2, 2), 2.0))
    np.testing.assert_array_equal(d_y, np.zeros((3, 1)))
    assert d_z == 1.0


def test_integer_array_index_accumulates_repeats(functions):
    x, idx = RNG.normal(size=5), np.array([1, 3, 1, 1])
    d_x = check_against_central_differences(functions.gather, [x, idx], (0,))[0]
    expected = np.zeros(5)
    expected[1], expected[3] = 6 * x[1], 2 * x[3]
    expected[0] += x[-1]
    expected[-1] += x[0]
    assert_close(d_x, expected, rtol=1e-12)


def test_slices_ellipsis_and_new_axes(functions):
    check_against_central_differences(functions.slices, [RNG.normal(size=(4, 3))], (0,))


def test_methods_reductions_and_transpose(functions):
    check_against_central_differences(functions.methods, [RNG.normal(size=(4, 3))], (0,))


def test_shape_functions(functions):
    check_against_central_differences(functions.shapes, [RNG.normal(size=(2, 2)), RNG.normal(size=(1, 2))], (0, 1))


def test_a_shape_can_be_unpacked(functions):
    x = RNG.normal(size=(2, 3))
    d_x = check_against_central_differences(functions.unpacked_shape, [x], (0,))[0]
    assert_close(d_x, 1 / 6 + 2 * x, rtol=1e-12)
    assert "    n = x_shape[0]\n    m = x_shape[1]\n" in astgrad.source(astgrad.grad(functions.unpacked_shape))


def test_an_array_output_is_a_vector_jacobian_product_with_a_seed(functions):
    x, seed = RNG.normal(size=4), RNG.normal(size=4)
    d_x = astgrad.grad(functions.array_output)(x, d_out=seed)
    assert_close(d_x, seed * 2.0 * np.cos(x), rtol=1e-12)
    with pytest.raises(astgrad.NonScalarOutputError, match=r"shape \(4,\)"):
        astgrad.grad(functions.array_output)(x)


def test_an_integer_array_for_a_differentiated_parameter_is_refused_when_called(functions):
    d_f = astgrad.grad(functions.batch_bias, wrt=0)
    with pytest.raises(astgrad.IntegerInputError) as error:
        d_f(np.arange(5), np.ones((2, 5)))
    message = str(error.value)
    assert "the differentiated argument bias is an array of int" in message and "bias.astype(float)" in message
    assert isinstance(error.value, TypeError)
    d_f(np.arange(5.0), np.arange(10).reshape(2, 5))  # integer data that is not differentiated is fine
    with pytest.raises(astgrad.IntegerInputError, match="the differentiated argument x is an array of bool"):
        astgrad.value_and_grad(functions.batch_bias, wrt=1)(np.arange(5.0), np.ones((2, 5), dtype=bool))
    assert astgrad.grad(functions.mixed, wrt=0)(1, np.ones(3)) == pytest.approx(
        math.exp(1) * np.sum(np.sin(np.ones(3))) - math.sin(1) * 1.0
    )  # a Python int is a number


def test_generated_numpy_code_reads_like_numpy(functions):
    text = astgrad.source(astgrad.grad(functions.affine_loss, wrt=("w", "b")))
    assert text == (
        "def d_affine_loss(w, b, X, y, d_out=1.0):\n"
        "    residual = X @ w + b - y\n"
        "    d_out = checked_arguments(d_out, w, b)\n"
        "    d_residual = 2 * d_out / residual.size * residual\n"
        "    d_b = unbroadcast(d_residual, b)\n"
        "    d_w = matmul_right_adjoint(d_residual, X, w)\n"
        "    return d_w, d_b\n"
    )


def test_same_shaped_elementwise_code_is_not_unbroadcast(functions, tmp_path):
    module = load_module(tmp_path, "import numpy as np\ndef f(x):\n    return np.sum(np.exp(np.sin(x)) * x ** 2)\n")
    text = astgrad.source(astgrad.grad(module.f))
    assert "unbroadcast" not in text
    check_against_central_differences(module.f, [RNG.normal(size=7)], (0,))


def test_scalar_code_carries_no_array_handling(functions):
    text = astgrad.source(astgrad.grad(functions.scalar_code))
    assert "unbroadcast" not in text and "checked_seed" not in text and "np." not in text


# ---- what the generated code leaves out, and that the numbers stay right ----------------------
PRODUCTS = """
import numpy as np

def layer(W, b, X):
    return np.sum(np.tanh(X @ W + b) ** 2)

def product_used_twice(W, b, X):
    p = X @ W
    return np.sum(np.tanh(p + b)) + np.sum(p * p)

def integer_output(x):
    return np.sum(x * 2)

def logistic(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)
"""


def test_a_number_output_is_not_computed_for_its_gradient(tmp_path, functions):
    text = astgrad.source(astgrad.grad(functions.affine_loss, wrt=("w", "b")))
    assert "np.mean" not in text and "checked_arguments(d_out, w, b)" in text
    value_text = astgrad.source(astgrad.value_and_grad(functions.affine_loss, wrt=("w", "b")))
    assert "out = np.mean(residual ** 2)" in value_text and "checked_seed(out, d_out, w, b)" in value_text
    with pytest.raises(astgrad.IntegerInputError):
        astgrad.grad(functions.affine_loss, wrt=0)(np.arange(3), 0.0, np.ones((4, 3)), np.ones(4))
    module = load_module(tmp_path, PRODUCTS)
    x = RNG.normal(size=4)
    assert_close(astgrad.grad(module.integer_output)(x), np.full(4, 2.0), rtol=0)
    assert_close(astgrad.grad(module.integer_output)(x, d_out=0.5), np.full(4, 1.0), rtol=0)


def test_parts_of_one_expression_are_nested_again(tmp_path):
    module = load_module(tmp_path, PRODUCTS)
    text = astgrad.source(astgrad.grad(module.layer, wrt=(0, 1)))
    assert text == (
        "def d_layer(W, b, X, d_out=1.0):\n"
        "    tanh = np.tanh(X @ W + b)\n"
        "    d_out = checked_arguments(d_out, W, b)\n"
        "    d_tanh = 2 * d_out * tanh\n"
        "    d_X_matmul_W_plus_b = d_tanh * (1 - tanh * tanh)\n"
        "    d_b = unbroadcast(d_X_matmul_W_plus_b, b)\n"
        "    d_W = matmul_right_adjoint(d_X_matmul_W_plus_b, X, W)\n"
        "    return d_W, d_b\n"
    )
    # a user's own name is never nested away
    assert "    p = X @ W\n" in astgrad.source(astgrad.grad(module.product_used_twice, wrt=(0, 1)))


@pytest.mark.parametrize(
    "W_shape, b_shape, X_shape",
    [((3, 4), (4,), (5, 3)), ((3, 4), (2, 5, 4), (5, 3)), ((3, 4), (5, 1), (1, 3)), ((3,), (6, 2), (2, 3))],
)
def test_a_product_broadcast_by_a_larger_bias(tmp_path, W_shape, b_shape, X_shape):
    module = load_module(tmp_path, PRODUCTS)
    args = [RNG.normal(size=W_shape), RNG.normal(size=b_shape), RNG.normal(size=X_shape)]
    check_against_central_differences(module.layer, args, (0, 1, 2))
    check_against_central_differences(module.product_used_twice, args, (0, 1, 2))


def test_a_value_needed_only_for_its_shape_is_not_computed(tmp_path):
    # np.mean needs the size of `logaddexp(0, z) - y * z`: the broadcast of y and z gives it,
    # and np.logaddexp's partial (a sigmoid) does not need np.logaddexp itself.
    module = load_module(tmp_path, PRODUCTS)
    text = astgrad.source(astgrad.grad(module.logistic, wrt=(0, 1)))
    assert "np.logaddexp" not in text and "y * z" not in text
    assert "d_z = unbroadcast(-d_out / np.broadcast(y, z).size * y, z)\n" in text
    # the mean's gradient reaches np.logaddexp(0.0, z) summed over what y broadcast z to
    assert "d_z = d_z + d_out / z.size * sigmoid(z)\n" in text
    assert "np.logaddexp(0.0, z)" in astgrad.source(astgrad.value_and_grad(module.logistic, wrt=(0, 1)))


@pytest.mark.parametrize("y_shape", [(6,), (6, 1), (4, 6)])
def test_shapes_from_broadcast_names_keep_gradients_right(tmp_path, y_shape):
    module = load_module(tmp_path, PRODUCTS)
    X, y = RNG.normal(size=(6, 3)), (RNG.normal(size=y_shape) > 0).astype(float)
    check_against_central_differences(module.logistic, [RNG.normal(size=3), 0.2, X, y], (0, 1, 2))


# ---- a sum's adjoint stays a number until an array needs it -----------------------------------
UNIFORM = """
import numpy as np

def sin_exp(x):
    return np.sum(np.exp(np.sin(x)) * x ** 2)

def total(x):
    return np.sum(x)

def doubled(x):
    return np.sum(2 * x)

def broadcast_mean(x, c):
    return np.mean(x + c)

def sum_and_squares(x):
    return np.sum(x) + np.sum(x * x)

def reshaped(x):
    return np.sum(np.reshape(x, (2, 3)) * 3.0)

def centered(x):
    return np.mean((x - np.mean(x)) ** 2)

def exponentials(x):
    return np.sum(np.exp(x))

def same_class_product(x):
    y = x + 0.0
    return np.sum(y * x)

def product(x, c):
    return np.sum(x * c)

def bias_sum(x, k):
    return np.sum(x + k)
"""


def test_a_seed_that_would_multiply_whole_arrays_scales_the_gradient_at_the_end(tmp_path):
    module = load_module(tmp_path, UNIFORM)
    assert astgrad.source(astgrad.grad(module.sin_exp)) == (
        "def d_sin_exp(x, d_out=1.0):\n"
        "    exp_sin_x = np.exp(np.sin(x))\n"
        "    d_out = checked_arguments(d_out, x)\n"
        "    d_x = exp_sin_x * (2 * x)\n"
        "    d_sin_x = x ** 2 * exp_sin_x\n"
        "    d_x = d_x + d_sin_x * np.cos(x)\n"
        "    return scaled(d_x, d_out)\n"
    )
    x = RNG.normal(size=7)
    gradient = check_against_central_differences(module.sin_exp, [x], (0,))[0]
    assert_close(gradient, np.exp(np.sin(x)) * x * (x * np.cos(x) + 2), rtol=1e-14)
    assert_close(astgrad.grad(module.sin_exp)(x, d_out=-0.5), -0.5 * gradient, rtol=1e-15)
    value, gradient_too = astgrad.value_and_grad(module.sin_exp)(x)
    assert_close(value, module.sin_exp(x), rtol=0)
    assert_close(gradient_too, gradient, rtol=0)


@pytest.mark.parametrize(
    "function, shapes, expected",
    [
        ("total", [(2, 3)], lambda x: np.ones((2, 3))),
        ("doubled", [(4,)], lambda x: np.full(4, 2.0)),
        ("broadcast_mean", [(3,), (2, 3)], lambda x, c: (np.full(3, 1 / 3), np.full((2, 3), 1 / 6))),
        ("sum_and_squares", [(5,)], lambda x: 1 + 2 * x),
        ("reshaped", [(6,)], lambda x: np.full(6, 3.0)),
        ("centered", [(5,)], lambda x: 2 * (x - np.mean(x)) / 5),
        ("exponentials", [(2, 2)], lambda x: np.exp(x)),
        ("same_class_product", [(4,)], lambda x: 2 * x),
        ("product", [(2, 3), (3,)], lambda x, c: (np.broadcast_to(c, (2, 3)), x.sum(axis=0))),
        ("product", [(3,), (2, 3)], lambda x, c: (c.sum(axis=0), np.broadcast_to(x, (2, 3)))),
        ("product", [(2, 1), (3,)], lambda x, c: (np.full((2, 1), c.sum()), np.full(3, x.sum()))),
        ("broadcast_mean", [(2, 1), (3,)], lambda x, c: (np.full((2, 1), 0.5), np.full(3, 1 / 3))),
        ("bias_sum", [(2, 3), (3,)], lambda x, k: (np.ones((2, 3)), np.full(3, 2.0))),
        ("bias_sum", [(2, 3), ()], lambda x, k: (np.ones((2, 3)), 6.0)),
    ],
)
def test_uniform_adjoints_give_full_gradients(tmp_path, function, shapes, expected):
    f = getattr(load_module(tmp_path, UNIFORM), function)
    args = [RNG.normal(size=shape) for shape in shapes]
    wrt = tuple(range(len(args)))
    gradient = check_against_central_differences(f, args, wrt)
    want = expected(*args)
    for got, value in zip(gradient, want if isinstance(want, tuple) else (want,)):
        assert_close(got, value, rtol=1e-13)
    for got in gradient:  # never an argument's array, or a view of one
        assert not any(np.shares_memory(got, arg) for arg in args)
    scaled = astgrad.grad(f, wrt=wrt)(*args, d_out=3.0)
    for got, value in zip(scaled if isinstance(scaled, tuple) else (scaled,), gradient):
        assert np.shape(got) == np.shape(value)
        assert_close(got, 3.0 * value, rtol=1e-14)


def test_logaddexp_partials_keep_their_precision_and_raise_no_warning(tmp_path):
    module = load_module(tmp_path, "import numpy as np\ndef f(a, b):\n    return np.sum(np.logaddexp(a, b))\n")
    a, b = np.zeros(6), np.array([-800.0, -40.0, -1.0, 1.0, 40.0, 800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d_a, d_b = astgrad.grad(module.f, wrt=(0, 1))(a, b)
    exact_d_b = np.array([0.0, 4.248354255291589e-18, 0.2689414213699951, 0.7310585786300049, 1.0, 1.0])
    assert_close(d_b, exact_d_b, rtol=1e-15)
    assert_close(d_a, 1 - exact_d_b, rtol=1e-15)
    assert_close(d_a[4], 4.248354255291589e-18, rtol=1e-15)


def test_sigmoid_is_exact_down_to_the_smallest_numbers_and_never_warns():
    from astgrad.runtime import sigmoid

    x = np.array([-np.inf, -800.0, -740.0, -40.0, 0.0, 40.0, 709.0, 710.0, 800.0, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = sigmoid(x)
        numbers = [sigmoid(v) for v in (-40.0, np.float64(-40.0), np.array(-40.0), 2)]
    # math.exp(x) / (1 + math.exp(x)) is exact to a rounding or two for x <= 0;
    # the sigmoid of 40 and above is 1.0 in floating point.
    expected = [0.0, 0.0, math.exp(-740.0), math.exp(-40.0) / (1 + math.exp(-40.0)), 0.5] + [1.0] * 5
    assert_close(values, expected, rtol=1e-15)
    assert values[2] > 0  # a subnormal number, not 0
    assert np.isnan(sigmoid(np.array([np.nan])))[0]
    assert_close(numbers, [4.248354255291589e-18] * 3 + [1 / (1 + math.exp(-2))], rtol=1e-15)
    assert all(isinstance(n, float) for n in numbers)
    for dtype, big in ((np.float32, 100.0), (np.float16, 20.0)):  # np.exp overflows sooner in narrower floats
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            narrow = sigmoid(np.array([big, 0.0, -big / 10], dtype=dtype))
        assert narrow.dtype == dtype and narrow[0] == 1 and narrow[1] == 0.5
        assert_close(float(narrow[2]), 1 / (1 + math.exp(big / 10)), rtol=4 * np.finfo(dtype).eps)


def test_a_size_is_read_from_a_numpy_value_and_asked_of_np_size_for_anything_else(tmp_path):
    source = "import numpy as np\ndef f(x, y):\n    return np.mean(pow(x, y))\n"
    source += "def g(x, w):\n    return np.mean(np.tanh(x @ w) ** 2)\n"
    module = load_module(tmp_path, source)
    d_f = astgrad.grad(module.f, wrt=(0, 1))
    # pow of two Python numbers is a Python number, which has no .size
    assert "d_pow_x_y = d_out / np.size(pow_x_y)\n" in astgrad.source(d_f)
    assert_close(d_f(2.0, 0.5), (0.5 * 2.0 ** -0.5, 2.0**0.5 * math.log(2.0)), rtol=1e-15)
    # x @ w is NumPy's, and so is anything an operator or NumPy computes from it
    text = astgrad.source(astgrad.grad(module.g, wrt=1))
    assert "d_tanh_x_matmul_w = 2 * d_out / tanh_x_matmul_w.size * tanh_x_matmul_w\n" in text
    assert "np.size" not in text
    x, w = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    t = np.tanh(x @ w)
    expected = x.T @ (2 * t * (1 - t**2)) / 4
    assert_close(astgrad.grad(module.g, wrt=1)(x, w), expected, rtol=1e-12)


def test_a_number_parameter_of_a_broadcast_mean_gets_a_number(tmp_path):
    module = load_module(tmp_path, "import numpy as np\ndef f(x, b):\n    return np.mean(x + b)\n")
    d_x, d_b = astgrad.grad(module.f, wrt=(0, 1))(np.arange(4.0), 0.5)
    assert isinstance(d_b, float) and d_b == 1.0
    assert_close(d_x, np.full(4, 0.25), rtol=0)
    assert isinstance(astgrad.grad(module.f, wrt=1)(np.ones((2, 3)), 0.5, d_out=2.0), float)


AXIS_SUMS = """
import numpy as np

def normalized(x, W):
    e = np.exp(x)
    return np.sum(e / np.sum(e, axis=1, keepdims=True) * W)

def row_sums_times(x, r):
    return np.sum(np.sum(x, axis=1, keepdims=True) * r)

def log_sum_exp_rows(x):
    return np.sum(np.log(np.sum(np.exp(x), axis=1)))

def column_means_squared(x):
    return np.mean(np.mean(x, axis=0) ** 2)
"""


@pytest.mark.parametrize(
    "function, shapes",
    [("normalized", [(2, 3), (2, 3)]), ("row_sums_times", [(2, 3), (2, 1)]), ("row_sums_times", [(2, 3), (4, 2, 1)]),
     ("log_sum_exp_rows", [(3, 4)]), ("column_means_squared", [(5, 2)])],
)
def test_an_axis_sum_adjoint_stays_small_until_needed(tmp_path, function, shapes):
    f = getattr(load_module(tmp_path, AXIS_SUMS), function)
    args = [RNG.normal(size=shape) for shape in shapes]
    check_against_central_differences(f, args, tuple(range(len(args))))


MATERIALIZED = """
import numpy as np

def shifted_by_a_number(x, k):
    return np.sum(x + k - np.sum(x))

def shifted_by_a_row(x, y):
    return np.sum(x + y - np.sum(x))
"""


@pytest.mark.parametrize(
    "function, args, expected",
    [
        ("shifted_by_a_number", [np.array([0.5, -1.0, 2.0]), 0.7], (np.full(3, -2.0), 3.0)),
        ("shifted_by_a_row", [np.arange(6.0).reshape(2, 3), np.array([0.5, -1.0, 2.0])], (np.full((2, 3), -5.0), np.full(3, 2.0))),
    ],
)
def test_a_sum_adjoint_written_out_for_one_input_is_an_array_for_all(tmp_path, function, args, expected):
    # The subtracted np.sum(x) needs the difference's adjoint as an array: it is written out before
    # any input reads it, so that x + k does not take it for a number.
    f = getattr(load_module(tmp_path, MATERIALIZED), function)
    gradient = check_against_central_differences(f, args, (0, 1))
    for got, want in zip(gradient, expected):
        assert_close(got, want, rtol=1e-14)
    assert isinstance(gradient[1], float) == isinstance(args[1], float)


BROADCAST_LATER = """
import numpy as np

def regression(w, b, X, y):
    return np.mean((X @ w + b - y) ** 2)

def normalized(x, gamma, beta):
    mu = np.mean(x, axis=-1, keepdims=True)
    xhat = (x - mu) / np.sqrt(np.mean((x - mu) ** 2, axis=-1, keepdims=True) + 1e-5)
    return np.sum((gamma * xhat + beta) ** 2)

def gauss(mu, log_sigma, x):
    return np.sum(0.5 * ((x - mu) / np.exp(log_sigma)) ** 2 + log_sigma)
"""


@pytest.mark.parametrize("y_shape", [(5,), (5, 1), (2, 1, 5)])
def test_an_adjoint_left_of_a_broadcast_shape_is_summed_back_by_the_inputs(tmp_path, y_shape):
    # X @ w + b - y: the adjoint of X @ w + b goes on unsummed to b and to the matmul helper
    module = load_module(tmp_path, BROADCAST_LATER)
    args = [RNG.normal(size=3), RNG.normal(size=(5,)), RNG.normal(size=(5, 3)), RNG.normal(size=y_shape)]
    check_against_central_differences(module.regression, args, (0, 1))
    x = RNG.normal(size=(4, 6))
    for beta_shape in [(6,), (4, 6), (3, 4, 6), (3, 1, 1)]:  # beta may be larger than gamma * xhat
        args = [x, RNG.normal(size=(6,)), RNG.normal(size=beta_shape)]
        check_against_central_differences(module.normalized, args, (0, 1, 2))
    for x_shape in [(4,), (3, 4)]:  # x may be larger than mu
        args = [RNG.normal(size=4), RNG.normal(size=(4,)), RNG.normal(size=x_shape)]
        check_against_central_differences(module.gauss, args, (0, 1))


# ---- tuples of arrays unpacked into names -------------------------------------------------------

@pytest.fixture(scope="module")
def unpacking(tmp_path_factory):
    return load_module(
        tmp_path_factory.mktemp("unpacking"),
        """
        import numpy as np

        def hamiltonian(coords):
            q, p = np.split(coords, 2)
            return np.sum(p ** 2) / 2 + np.sum(1 - np.cos(q))

        def gaussian_log_likelihood(L, y):
            K = L @ L.T + np.eye(3)
            sign, logdet = np.linalg.slogdet(K)
            alpha = np.linalg.solve(K, y)
            return -0.5 * (y @ alpha) - 0.5 * logdet

        def halves(x):
            a, b = np.array_split(x, 2, axis=1)
            return np.sum(a * b)
        """,
    )


def test_a_split_is_unpacked_into_names(unpacking):
    coords = RNG.normal(size=6)
    gradient = astgrad.grad(unpacking.hamiltonian)(coords)
    assert_close(gradient, np.concatenate([np.sin(coords[:3]), coords[3:]]), rtol=1e-12)
    source = astgrad.source(astgrad.grad(unpacking.hamiltonian))
    assert "    q = split_coords_2[0]\n    p = split_coords_2[1]\n" in source


def test_a_log_determinant_is_unpacked_into_its_sign_and_value(unpacking):
    L, y = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    d_L, d_y = astgrad.grad(unpacking.gaussian_log_likelihood, wrt=(0, 1))(L, y)
    K = L @ L.T + np.eye(3)
    alpha = np.linalg.solve(K, y)
    d_K = 0.5 * np.outer(alpha, alpha) - 0.5 * np.linalg.inv(K)
    assert_close(d_L, (d_K + d_K.T) @ L, rtol=1e-10)
    assert_close(d_y, -alpha, rtol=1e-10)
    check_against_central_differences(unpacking.gaussian_log_likelihood, [L, y], (0, 1))
    H = astgrad.hessian(unpacking.gaussian_log_likelihood, wrt=1)(L, y)
    assert_close(H, -np.linalg.inv(K), rtol=1e-10)


def test_pieces_of_one_shape_unpack_in_both_modes(unpacking):
    x = RNG.normal(size=(2, 4))
    check_against_central_differences(unpacking.halves, [x], (0,))
    value, tangent = astgrad.jvp(unpacking.halves)(x, np.ones_like(x))
    assert_close(tangent, np.sum(x[:, :2] + x[:, 2:]), rtol=1e-12)


def test_range_as_an_integer_index_picks_one_score_per_row(functions):
    scores, y = RNG.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    for mode in ("reverse", "forward"):
        d_scores = astgrad.grad(functions.cross_entropy, wrt=0, mode=mode)(scores, y)
        probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
        expected = (probs - np.eye(4)[y]) / 5  # softmax minus the one-hot labels, averaged
        assert_close(d_scores, expected, rtol=1e-10)
        assert_close(d_scores, central_difference(functions.cross_entropy, [scores, y], 0), rtol=1e-6)
    assert "[range_N, y]" in astgrad.source(astgrad.grad(functions.cross_entropy, wrt=0))
