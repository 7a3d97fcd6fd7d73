"""The batched tangent helpers (batched.py) and templates (batching.py): each is its unbatched form per direction.

A batched tangent has a leading axis of directions; every helper must give,
for each direction, what the unbatched template gives for that direction's
tangent, whatever the shapes (the fast paths and the loop behind them).
"""
import itertools

import numpy as np
import pytest

import astgrad
from astgrad import batched, batching, rules, runtime
from support import assert_close

RNG = np.random.default_rng(7)
N = 3  # directions


def normal(shape):
    return RNG.standard_normal(shape) if shape else float(RNG.standard_normal())


def per_direction(linear, tangent):
    return np.stack([np.asarray(linear(t), dtype=float) for t in tangent])


# (x shape, y shape) pairs that `@` takes, of one to three axes
MATMUL_SHAPES = [
    ((4,), (4,)), ((4,), (4, 2)), ((3, 4), (4,)), ((3, 4), (4, 2)),
    ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,)),
]  # fmt: skip


@pytest.mark.parametrize("x_shape, y_shape", MATMUL_SHAPES)
def test_batched_matmul_is_the_product_per_direction(x_shape, y_shape):
    x, y = normal(x_shape), normal(y_shape)
    d_x, d_y = normal((N,) + x_shape), normal((N,) + y_shape)
    assert_close(batched.batched_matmul(d_x, y), per_direction(lambda t: t @ y, d_x), rtol=1e-13, atol=1e-13)
    assert_close(batched.batched_rmatmul(x, d_y), per_direction(lambda t: x @ t, d_y), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("x_shape, y_shape", [((), (4,)), ((4,), ()), ((4,), (4,)), ((3, 4), (4,)), ((3, 4), (4, 2))])
def test_batched_dot_is_np_dot_per_direction(x_shape, y_shape):
    x, y = normal(x_shape), normal(y_shape)
    d_x, d_y = normal((N,) + x_shape), normal((N,) + y_shape)
    assert_close(batched.batched_dot(d_x, y), per_direction(lambda t: np.dot(t, y), d_x), rtol=1e-13, atol=1e-13)
    assert_close(batched.batched_rdot(x, d_y), per_direction(lambda t: np.dot(x, t), d_y), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("x_shape, y_shape", MATMUL_SHAPES[:4] + [((2, 3, 4), (4, 5))])
def test_batched_matmul_adjoints_are_the_runtime_adjoints_per_direction(x_shape, y_shape):
    x, y = normal(x_shape), normal(y_shape)
    z_shape = np.shape(x @ y)
    g, d_g = normal(z_shape), normal((N,) + z_shape)
    d_x, d_y = normal((N,) + x_shape), normal((N,) + y_shape)
    left, right = runtime.matmul_left_adjoint, runtime.matmul_right_adjoint
    cases = [
        (batched.batched_matmul_left_adjoint(d_g, x, y), per_direction(lambda t: left(t, x, y), d_g)),
        (batched.batched_matmul_left_adjoint_of_y(g, x, d_y), per_direction(lambda t: left(g, x, t), d_y)),
        (batched.batched_matmul_right_adjoint(d_g, x, y), per_direction(lambda t: right(t, x, y), d_g)),
        (batched.batched_matmul_right_adjoint_of_x(g, d_x, y), per_direction(lambda t: right(g, t, y), d_x)),
    ]
    for got, expected in cases:
        assert got.shape == expected.shape
        assert_close(got, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    "shape, like", [((3,), (2, 3)), ((1, 3), (2, 3)), ((), (2, 3)), ((2, 3), (2, 3)), ((2, 1), (2, 3))]
)
def test_batched_broadcast_and_unbroadcast_are_the_runtime_helpers_per_direction(shape, like):
    value = np.zeros(like)
    tangent = normal((N,) + shape)
    broadcast = batched.batched_broadcast(tangent, value)
    assert_close(broadcast, per_direction(lambda t: runtime.broadcast_like(t, value), tangent), rtol=0, atol=0)
    small = np.zeros(shape) if shape else 0.0
    wide = normal((N,) + like)
    assert_close(
        batched.batched_unbroadcast(wide, small), per_direction(lambda t: runtime.unbroadcast(t, small), wide),
        rtol=1e-14, atol=1e-14,
    )  # fmt: skip


@pytest.mark.parametrize("axis, keepdims", list(itertools.product([None, 0, 1, -1, (0, 1)], [False, True])))
def test_batched_reductions_reduce_past_the_batch_axis(axis, keepdims):
    tangent = normal((N, 2, 3))
    for helper, reduction in [(batched.batched_summed, np.sum), (batched.batched_averaged, np.mean)]:
        expected = per_direction(lambda t: reduction(t, axis=axis, keepdims=keepdims), tangent)
        assert_close(helper(tangent, axis, keepdims), expected, rtol=1e-14, atol=1e-14)


def test_batched_transpose_reverses_the_axes_of_each_direction():
    tangent = normal((N, 2, 3, 4))
    assert_close(batched.batched_transposed(tangent), per_direction(lambda t: t.T, tangent), rtol=0, atol=0)


def test_every_batched_template_batches_a_tangent_of_the_table():
    texts = {rule.tangent_text for rule in rules.all_rules()}
    assert set(batching.BATCHED_TANGENTS) <= texts
    for rule in rules.all_rules():
        twin = batching.batched_rule(rule)
        if twin is not None:  # its template parses and names the tangents the rule's does
            assert twin.tangent is not None and twin.params == rule.params

