"""The max subtracted before a softmax or log-softmax gets no adjoint: the output does not depend on it.

`reverse._shift_invariant` proves that adding any value to
``m = np.max(logits, axis=1, keepdims=True)`` leaves the output unchanged in
exact arithmetic, so the adjoint of `m` is zero and the generated gradient
leaves it out. Each case here checks the generated source (whether the max's
adjoint and its tie mask are there) and the gradient against central
differences, with ties in the max where the output is smooth there. The
counter-examples keep the adjoint: the output depends on `m`, or it does not
but in a form the analysis does not prove (it errs on the side of keeping).
"""

import numpy as np
import pytest

import astgrad
from support import assert_close, central_difference, load_module

RNG = np.random.default_rng(11)

FUNCTIONS = """
import numpy as np

def mlp_loss(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * log_probs) / X.shape[0]

def softmax_cross_entropy(logits, Y):
    e = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    return -np.sum(Y * np.log(p))

def method_and_last_axis(logits, Y):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.mean(Y * log_probs)

def shifted_by_the_min(logits, Y):
    e = np.exp(logits - np.amin(logits, axis=1, keepdims=True))
    return np.sum(Y * e / np.sum(e, axis=1, keepdims=True))

def probabilities_of_temperature(logits, t, Y):
    z = logits / t
    m = np.max(z, axis=1, keepdims=True)
    e = np.exp(-(m - z) - 1.0)
    return np.sum(Y * np.log(e * 2.0 / (e.sum(axis=1, keepdims=True) * 2.0)))

def two_softmaxes_and_a_second_shift(logits, Y):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    again = shifted - np.max(shifted, axis=1, keepdims=True)
    first = again - np.log(np.sum(np.exp(again), axis=1, keepdims=True))
    doubled = 2.0 * logits
    e = np.exp(doubled - np.max(doubled, axis=1, keepdims=True))
    return -np.sum(Y * first) - np.sum(Y * np.log(e / np.sum(e, axis=1, keepdims=True)))

def softmax_of_every_entry(logits, Y):
    e = np.exp(logits - np.max(logits))
    return np.sum(Y * (e / np.sum(e)))

def rows_shifted_by_the_largest_entry(logits, Y):
    e = np.exp(logits - logits.max())
    return np.sum(Y * np.log(e / e.sum(axis=1, keepdims=True)))

# ---- the output depends on the max: its adjoint must stay -----------------------------------
def shifted_reaches_the_output(logits, Y):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * log_probs) + np.sum(Y * shifted)

def sum_over_another_axis(logits, Y):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))
    return -np.sum(Y * log_probs)

def max_over_columns(logits, Y):
    shifted = logits - np.max(logits, axis=0, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * log_probs)

def shifted_with_more_axes(logits, A):
    shifted = A - np.max(logits, axis=1, keepdims=True)     # A (2, N, K), the max (N, 1)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs)

def whole_max_then_no_normalization(logits, Y):
    e = np.exp(logits - np.max(logits))
    return np.sum(Y * e) / np.sum(logits)

def squared_shift(logits, Y):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    e = np.exp(shifted * shifted)
    return np.sum(Y * np.log(e / np.sum(e, axis=1, keepdims=True)))

# ---- independent of the max, but not in a form the analysis proves: the adjoint stays -------
def max_without_keepdims(logits, Y):
    shifted = logits - np.max(logits, axis=1).reshape(-1, 1)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * log_probs)

def the_same_axis_written_differently(logits, Y):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return -np.sum(Y * log_probs)
"""

INVARIANT = [
    "softmax_cross_entropy",
    "method_and_last_axis",
    "shifted_by_the_min",
    "probabilities_of_temperature",
    "two_softmaxes_and_a_second_shift",
    "softmax_of_every_entry",
    "rows_shifted_by_the_largest_entry",
]
DEPENDENT = ["shifted_reaches_the_output", "sum_over_another_axis", "max_over_columns", "squared_shift",
             "whole_max_then_no_normalization"]
NOT_PROVED = ["max_without_keepdims", "the_same_axis_written_differently"]


@pytest.fixture(scope="module")
def functions(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("shift_invariance"), FUNCTIONS)


def one_hot(rows, columns):
    return np.eye(columns)[RNG.integers(0, columns, size=rows)]


def tied(logits):
    """`logits` with the largest (and smallest) entry of each row repeated in its neighbour."""
    logits = logits.copy()
    rows = np.arange(len(logits))
    for extreme in (np.argmax, np.argmin):
        at = extreme(logits, axis=1)
        logits[rows, (at + 1) % logits.shape[1]] = logits[rows, at]
    return logits


def check_against_central_differences(f, args, wrt):
    gradient = astgrad.grad(f, wrt=wrt)(*args)
    gradient = gradient if isinstance(gradient, tuple) else (gradient,)
    for index, computed in zip(wrt, gradient):
        assert np.shape(computed) == np.shape(args[index])
        assert_close(computed, central_difference(f, args, index), rtol=1e-6, atol=1e-8)


def has_extremum_adjoint(text):
    """Whether the generated gradient computes an adjoint of a max or min: its tie mask ``x == max_x``."""
    return " == " in text


def test_mlp_loss_has_no_adjoint_of_the_max(functions):
    text = astgrad.source(astgrad.grad(functions.mlp_loss, wrt=(0, 1, 2, 3)))
    assert not has_extremum_adjoint(text), text
    assert "np.max(logits, axis=1, keepdims=True)" in text  # the primal still subtracts it
    X, Y = RNG.normal(size=(6, 3)), one_hot(6, 4)
    W1, b1 = RNG.normal(size=(3, 5)), RNG.normal(size=5)
    W2, b2 = RNG.normal(size=(5, 4)), RNG.normal(size=4)
    check_against_central_differences(functions.mlp_loss, [W1, b1, W2, b2, X, Y], (0, 1, 2, 3))
    W2[:, 1], b2[1] = W2[:, 0], b2[0]  # the first two logits of every row are equal
    check_against_central_differences(functions.mlp_loss, [W1, b1, W2, b2, X, Y], (0, 1, 2, 3))


@pytest.mark.parametrize("function", INVARIANT)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_a_softmax_has_no_adjoint_of_its_shift(functions, function, ties):
    f = getattr(functions, function)
    logits = RNG.normal(size=(5, 4))
    logits = tied(logits) if ties else logits
    args = [logits, 1.5, one_hot(5, 4)] if function == "probabilities_of_temperature" else [logits, one_hot(5, 4)]
    wrt = (0, 1) if function == "probabilities_of_temperature" else (0,)
    text = astgrad.source(astgrad.grad(f, wrt=wrt))
    assert not has_extremum_adjoint(text), text
    check_against_central_differences(f, args, wrt)


def test_the_gradient_is_the_exact_one_and_the_hessian_still_right(functions):
    logits, Y = tied(RNG.normal(size=(3, 4))), one_hot(3, 4)
    p = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    gradient = astgrad.grad(functions.softmax_cross_entropy, wrt=0)(logits, Y)
    assert_close(gradient, p * np.sum(Y, axis=1, keepdims=True) - Y, rtol=1e-13, atol=1e-15)
    hessian = astgrad.hessian(functions.softmax_cross_entropy, wrt=0)(logits, Y)
    expected = np.zeros((3, 4, 3, 4))
    for row in range(3):
        expected[row, :, row, :] = np.diag(p[row]) - np.outer(p[row], p[row])
    assert_close(hessian, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("function", DEPENDENT + NOT_PROVED)
def test_the_adjoint_stays_unless_it_is_proved_zero(functions, function):
    f = getattr(functions, function)
    text = astgrad.source(astgrad.grad(f, wrt=0))
    assert has_extremum_adjoint(text), text
    check_against_central_differences(f, [RNG.normal(size=(5, 4)), one_hot(5, 4)], (0,))


def test_a_positive_axis_is_not_trusted_on_more_axes_than_the_max(functions):
    # The max (5, 1) broadcasts over A (2, 5, 4) as (1, 5, 1): axis 1 of A runs along the max's axis 0.
    f = functions.shifted_with_more_axes
    assert has_extremum_adjoint(astgrad.source(astgrad.grad(f, wrt=0)))
    check_against_central_differences(f, [RNG.normal(size=(5, 4)), RNG.normal(size=(2, 5, 4))], (0,))
