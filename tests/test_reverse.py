"""The reverse stage: naive adjoint code, before optimize cleans it."""

from math import cos, sin

import numpy as np

import astgrad

from stages import adjoint_source


def f(x, y):
    return sin(x) * cos(y)


def test_unoptimized_adjoint_is_a_literal_instantiation_of_the_templates():
    assert adjoint_source(f, ("x", "y"), optimized=False) == (
        "def d_f(x, y, d_out=1.0):\n"
        "    sin_x = sin(x)\n"
        "    cos_y = cos(y)\n"
        "    out = sin_x * cos_y\n"
        "    d_sin_x = d_out * cos_y\n"
        "    d_cos_y = d_out * sin_x\n"
        "    d_y = d_cos_y * -sin(y)\n"
        "    d_x = d_sin_x * cos(x)\n"
        "    return d_x, d_y\n"
    )


def test_later_contributions_add_to_the_first():
    def g(x):
        return x * x + sin(x)

    text = adjoint_source(g, ("x",), optimized=False)
    assert text.endswith(
        "    d_x = d_sin_x * cos(x)\n"
        "    d_x = d_x + d_x_times_x * x\n"
        "    d_x = d_x + d_x_times_x * x\n"
        "    return d_x\n"
    )


def test_inactive_values_get_no_adjoint():
    def g(x, y):
        return sin(x) * cos(y)

    text = adjoint_source(g, ("x",))
    assert "d_y" not in text and "d_cos_y" not in text and "sin(y)" not in text


def tanh_layer(w, b, X):
    return np.sum(np.tanh(X @ w + b))


def test_the_naive_adjoint_of_numpy_code_is_the_literal_template_instances():
    assert adjoint_source(tanh_layer, ("w", "b"), optimized=False, arrays=False) == (
        "def d_tanh_layer(w, b, X, d_out=1.0):\n"
        "    X_matmul_w = X @ w\n"
        "    X_matmul_w_plus_b = X_matmul_w + b\n"
        "    tanh = np.tanh(X_matmul_w_plus_b)\n"
        "    out = np.sum(tanh)\n"
        "    d_tanh = np.broadcast_to(d_out, np.shape(tanh))\n"
        "    d_X_matmul_w_plus_b = d_tanh * (1 - tanh * tanh)\n"
        "    d_X_matmul_w = d_X_matmul_w_plus_b * 1\n"
        "    d_b = d_X_matmul_w_plus_b * 1\n"
        "    d_w = matmul_right_adjoint(d_X_matmul_w, X, w)\n"
        "    return d_w, d_b\n"
    )


def test_the_array_policy_checks_the_seed_unbroadcasts_a_broadcast_input_and_applies_the_seed_last():
    text = adjoint_source(tanh_layer, ("w", "b"), optimized=False)
    assert text.splitlines()[5:] == [
        "    d_out = checked_arguments(d_out, w, b)",  # the output is a number: any seed fits
        "    d_tanh = 1.0",  # the sum's adjoint, a number standing for its broadcast; the seed comes last
        "    d_X_matmul_w_plus_b = d_tanh * (1 - tanh * tanh)",
        "    d_X_matmul_w = d_X_matmul_w_plus_b * 1",  # the matmul's adjoint sums a broadcast back itself
        "    d_b = unbroadcast(d_X_matmul_w_plus_b * 1, b)",  # b was broadcast to the rows of X @ w
        "    d_w = matmul_right_adjoint(d_X_matmul_w, X, w)",
        "    return d_out * d_w, d_out * d_b",
    ]


def test_a_number_standing_for_a_products_adjoint_is_passed_to_the_matmul_helpers_as_it_is():
    def f(W1, W2, x):
        return np.sum(np.maximum(W1 @ x, 0.0) @ W2)

    text = adjoint_source(f, ("W1", "W2"))
    assert "broadcast_like" not in text and "@ W2" not in text  # no product computed for its shape alone
    assert "    d_maximum_W1_matmul_x = matmul_left_adjoint(d_out, maximum_W1_matmul_x, W2)\n" in text



def mean_squared_error(w, b, X, y):
    return np.mean((X @ w + b - y) ** 2)


def test_a_number_adjoint_goes_into_the_line_reading_it_and_a_sum_passes_it_on_as_a_number():
    # the mean's d_out / n and the square's 2 in one factor, and no line of their own
    assert "    d_diff = 2 * d_out / diff.size * diff\n" in adjoint_source(mean_squared_error, ("w", "b"))

    def rows(Y, Z):
        return -np.mean(np.sum(Y * Z, axis=1))

    assert adjoint_source(rows, ("Z",)).splitlines()[1:] == [
        "    sum_Y_times_Z = np.sum(Y * Z, axis=1)",  # read only for its size: on a line of its own
        "    d_out = checked_arguments(d_out, Z)",
        "    d_Z = unbroadcast(-d_out / sum_Y_times_Z.size * Y, Z)",  # neither broadcast nor expanded
        "    return d_Z",
    ]


def test_the_seed_goes_into_the_first_constant_factor_instead_of_scaling_the_gradients_last():
    def squares(gamma, x, beta):
        return np.sum((gamma * x + beta) ** 2)

    assert adjoint_source(squares, ("gamma", "beta")).splitlines()[1:] == [
        "    d_out = checked_arguments(d_out, gamma, beta)",
        "    d_total = 2 * d_out * (gamma * x + beta)",  # one array pass, as 2 * (...) would be
        "    d_beta = unbroadcast(d_total, beta)",  # and gamma * x's adjoint is not summed to its shape first
        "    d_gamma = unbroadcast(d_total * x, gamma)",
        "    return d_gamma, d_beta",  # one form per return: the seed is in already
    ]


def test_an_adjoint_passed_on_only_to_inputs_summed_back_anyway_is_not_summed_back_first():
    # X @ w + b broadcast with y: its adjoint goes to b (unbroadcast) and to X @ w (the helper sums back)
    assert adjoint_source(mean_squared_error, ("w", "b")).splitlines()[4:6] == [
        "    d_b = unbroadcast(d_diff, b)",
        "    d_w = matmul_right_adjoint(d_diff, X, w)",
    ]

    def exp_minus(x, y):
        return np.sum((np.exp(x) - y) ** 2)

    # exp's partial does not sum back to x's shape, which is exp_x's: summed to it first
    assert "    d_exp_x = unbroadcast(d_exp_x_minus_y, exp_x)\n" in adjoint_source(exp_minus, ("x",))


def test_a_means_count_is_named_from_its_inputs_own_shape():
    def row_means(x):
        return np.sum(np.mean(x, axis=1, keepdims=True) * x)

    text = adjoint_source(row_means, ("x",))
    assert "/ np.shape(x)[1]" in text and "size" not in text, text  # not np.size(mean_x) / np.size(x)


def test_a_negated_adjoint_read_once_goes_into_the_line_reading_it_and_a_parameters_keeps_its_line():
    def centred(x, w):
        return np.sum((x - np.mean(x)) * w)

    # the mean's adjoint -np.sum(...) is no line of its own: its sign joins the line adding it
    assert adjoint_source(centred, ("x",)).splitlines()[1:] == [
        "    d_out = checked_arguments(d_out, x)",
        "    d_x_minus_mean_x = unbroadcast(d_out * w, x)",
        "    d_x = d_x_minus_mean_x - np.sum(d_x_minus_mean_x) / np.size(x)",
        "    return d_x",
    ]

    def shifted(x, mu, w):
        return np.sum(np.exp(x - mu) * w)

    # mu's gradient is returned: it keeps its name and its line
    assert "    d_mu = -unbroadcast(d_x_minus_mu, mu)\n    return d_x, d_mu\n" in adjoint_source(shifted, ("x", "mu"))
    x, mu, w = np.array([0.3, -1.2, 2.0]), np.array([0.5, 0.1, -0.4]), np.array([1.5, -0.5, 2.0])
    d_x, d_mu = astgrad.grad(shifted, wrt=("x", "mu"))(x, mu, w)
    assert np.allclose(d_x, np.exp(x - mu) * w) and np.allclose(d_mu, -np.exp(x - mu) * w)
    d_centred = astgrad.grad(centred, wrt="x")(x, w)
    assert np.allclose(d_centred, w - np.mean(w))  # (I - 1/n) w


def test_a_negated_adjoint_keeps_its_line_unless_its_sign_reaches_an_addition():
    def log_softmax_dot(x, w):
        return np.sum(w * (x - np.log(np.sum(np.exp(x)))))

    # -np.sum(...) read by a division whose result is a factor: the sign would be one more token there
    assert adjoint_source(log_softmax_dot, ("x",)).splitlines()[4:7] == [
        "    d_log_sum_exp_x = -np.sum(d_diff)",
        "    d_sum_exp_x = d_log_sum_exp_x / np.sum(exp_x)",
        "    d_x = d_diff + d_sum_exp_x * exp_x",
    ]

    def log_normalizer(x, w):
        return np.sum(w * (x - np.log(np.sum(x))))

    # the division is a whole term added, so both go into that line and the sign joins the addition
    text = adjoint_source(log_normalizer, ("x",))
    assert "    d_x = d_x_minus_log_sum_x - np.sum(d_x_minus_log_sum_x) / np.sum(x)\n" in text, text
    x, w = np.array([0.3, 1.2, 2.0]), np.array([1.5, -0.5, 2.0])
    assert np.allclose(astgrad.grad(log_normalizer, wrt="x")(x, w), w - np.sum(w) / np.sum(x))
    p = np.exp(x) / np.sum(np.exp(x))
    assert np.allclose(astgrad.grad(log_softmax_dot, wrt="x")(x, w), w - np.sum(w) * p)


def test_an_adjoint_read_once_as_a_whole_term_added_goes_into_that_line():
    def softmax_dot(z, v):
        e = np.exp(z)
        return np.sum(e / np.sum(e) * v)

    # the sum's adjoint passed on to e as it is: no name of its own between the two
    assert adjoint_source(softmax_dot, ("z",)).splitlines()[5:9] == [
        "    d_e_over_sum_e = unbroadcast(d_out * v, e_over_sum_e)",
        "    d_e = d_e_over_sum_e / sum_e",
        "    d_e = d_e + np.sum(d_e_over_sum_e * (-e_over_sum_e / sum_e))",
        "    d_z = d_e * e",
    ]
    z, v = np.array([0.3, -1.2, 2.0]), np.array([1.5, -0.5, 2.0])
    p = np.exp(z) / np.sum(np.exp(z))
    assert np.allclose(astgrad.grad(softmax_dot, wrt="z")(z, v), p * (v - np.dot(p, v)))
