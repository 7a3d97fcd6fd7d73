"""Helpers that batched tangent code calls at run time: n tangents carried at once.

A batched tangent of a value `v` has the shape ``(n,) + np.shape(v)``: the
tangents of `v` in n directions, one after the other along a leading axis.
The batched tangent function of a gradient, run once with the n unit
directions of its parameters, gives the Hessian in one pass instead of n
(`batched_jacobian`). Each helper is the batched form of a tangent template
of the primitive table: the same linear map applied to each of the n
tangents, written with NumPy's broadcasting where the shapes allow, else as a
loop over the directions calling the template's own helper.
"""

import numpy as np

from .runtime import _shape, checked_arguments, matmul_left_adjoint, matmul_right_adjoint


def batched_jacobian(jvp, primals, wrt, as_tuple=False, keywords=None):
    """The derivatives `runtime.forward_jacobian` gives, from one call of a batched tangent function `jvp`.

    ``jvp(*primals, *tangents, **keywords)`` returns the output's batched
    tangent. The tangent of each differentiated argument holds the unit
    directions of all of them (those of the others are zero), n in all; the
    derivative of an output with respect to an argument is its block of the
    output's batched tangent, arranged as ``output.shape + argument.shape``.
    """
    differentiated = [keywords[p] if isinstance(p, str) else primals[p] for p in wrt]
    checked_arguments(1.0, *differentiated)  # integer arrays have no derivative
    if len(differentiated) == 1:  # the common case: every direction is one of this argument's elements
        x = differentiated[0]
        shape = _shape(x)
        identity = np.eye(int(np.size(x)))
        directions = identity if len(shape) == 1 else np.reshape(identity, (-1,) + shape)
        tangent = jvp(*primals, directions, **(keywords or {}))
        if type(tangent) is np.ndarray and tangent.ndim == 2 and len(shape) == 1:
            return (tangent.T,) if as_tuple else tangent.T
        sizes, starts = [identity.shape[0]], [0]
    else:
        sizes = [int(np.size(x)) for x in differentiated]
        starts = [sum(sizes[:k]) for k in range(len(sizes))]
        identity = np.eye(sum(sizes))
        tangents = [
            np.reshape(identity[:, start : start + size], identity.shape[:1] + np.shape(x))
            for x, start, size in zip(differentiated, starts, sizes)
        ]  # fmt: skip
        tangent = jvp(*primals, *tangents, **(keywords or {}))

    def blocks(tangent):
        derivatives = []
        shape = np.shape(tangent)[1:]
        for x, start, size in zip(differentiated, starts, sizes):
            block = np.moveaxis(np.asarray(tangent[start : start + size]), 0, -1)
            block = np.reshape(block, shape + np.shape(x))
            derivatives.append(block if block.ndim else float(block))
        return tuple(derivatives) if as_tuple else derivatives[0]

    return tuple(blocks(t) for t in tangent) if isinstance(tangent, tuple) else blocks(tangent)


def batched_zero(value, directions):
    """The batched tangent of a value that depends on no differentiated argument: zeros."""
    return np.zeros(np.shape(directions)[:1] + np.shape(value))


def batched_lifted(tangent, like):
    """A batched tangent of a value broadcast against `like`, with axes of length 1 put after the batch axis.

    Then it broadcasts against `like` (and `like`'s batched tangent) as the
    value does: axes line up from the right, past the batch axis.
    """
    return _with_rank(tangent, _ndim(like) + 1)


def _with_rank(tangent, rank):
    """`tangent` with axes of length 1 put after the batch axis until it has `rank` axes (if it has fewer)."""
    missing = rank - _ndim(tangent)
    if missing <= 0:
        return tangent
    shape = np.shape(tangent)
    return np.reshape(tangent, shape[:1] + (1,) * missing + shape[1:])


def batched_broadcast(tangent, like):
    """The batched `runtime.broadcast_like`: each tangent broadcast to the shape of `like`."""
    tangent = batched_lifted(tangent, like)
    shape = np.shape(tangent)[:1] + np.shape(like)
    return tangent if np.shape(tangent) == shape else np.broadcast_to(tangent, shape)


def batched_unbroadcast(tangent, like):
    """The batched `runtime.unbroadcast`: each tangent summed down to the shape of `like`."""
    shape = _shape(like)
    tangent = _with_rank(tangent, len(shape) + 1)
    own = np.shape(tangent)[1:]
    if own == shape:
        return tangent
    offset = len(own) - len(shape)
    stretched = tuple(1 + offset + axis for axis, length in enumerate(shape) if length == 1 and own[offset + axis] > 1)
    if stretched:
        tangent = np.sum(tangent, axis=stretched, keepdims=True)
    if offset > 0:
        tangent = np.sum(tangent, axis=tuple(range(1, 1 + offset)))
    full = np.shape(tangent)[:1] + shape
    return tangent if np.shape(tangent) == full else np.broadcast_to(tangent, full)


def batched_reduce(function, tangent, axis=None, keepdims=False):
    """The batched tangent of ``np.sum`` or ``np.mean`` over `axis`: the same reduction, past the batch axis."""
    if axis is None:
        axes = tuple(range(1, np.ndim(tangent)))
    else:
        axes = tuple(a + 1 if a >= 0 else a for a in (axis if isinstance(axis, tuple) else (axis,)))
    return function(tangent, axis=axes, keepdims=keepdims)


def batched_summed(tangent, axis=None, keepdims=False):
    return batched_reduce(np.sum, tangent, axis, keepdims)


def batched_averaged(tangent, axis=None, keepdims=False):
    return batched_reduce(np.mean, tangent, axis, keepdims)


def batched_transposed(tangent):
    """The batched ``x.T``: each tangent's axes reversed."""
    return np.transpose(tangent, (0,) + tuple(range(np.ndim(tangent) - 1, 0, -1)))


def batched_matmul(tangent, y):
    """The batched tangent ``d_x @ y``: each direction's tangent of x times y."""
    x_ndim, y_ndim = tangent.ndim - 1, _ndim(y)
    if x_ndim == 1 and y_ndim in (1, 2):
        return tangent @ y
    if x_ndim >= 2 and y_ndim >= 1:  # y's own leading axes, if it has more, go after the batch axis
        return np.matmul(_with_rank(tangent, y_ndim + 1), y)
    return _each(lambda t: np.matmul(t, y), tangent)


def batched_rmatmul(x, tangent):
    """The batched tangent ``x @ d_y``: x times each direction's tangent of y."""
    x_ndim, y_ndim = _ndim(x), tangent.ndim - 1
    if y_ndim == 1:
        if x_ndim == 1:
            return tangent @ x
        if x_ndim == 2:
            return tangent @ x.T
    elif x_ndim == 1:
        return np.matmul(x, tangent)
    elif y_ndim >= 2 and x_ndim >= 2:
        return np.matmul(x, _with_rank(tangent, x_ndim + 1))
    return _each(lambda t: np.matmul(x, t), tangent)


def batched_dot(tangent, y):
    """The batched tangent ``np.dot(d_x, y)`` (np.dot is ``@`` for up to two axes, a product for a number)."""
    if np.ndim(y) == 0 or np.ndim(tangent) == 1:
        return batched_lifted(tangent, y) * y
    if np.ndim(tangent) <= 3 and np.ndim(y) <= 2:
        return batched_matmul(tangent, y)
    return _each(lambda t: np.dot(t, y), tangent)


def batched_rdot(x, tangent):
    """The batched tangent ``np.dot(x, d_y)``."""
    if np.ndim(x) == 0 or np.ndim(tangent) == 1:
        return x * batched_lifted(tangent, x)
    if np.ndim(x) <= 2 and np.ndim(tangent) <= 3:
        return batched_rmatmul(x, tangent)
    return _each(lambda t: np.dot(x, t), tangent)


def batched_matmul_left_adjoint(tangent, x, y):
    """The batched ``matmul_left_adjoint(d_g, x, y)``: linear in the batched `tangent` of g."""
    x_ndim, y_ndim = _ndim(x), _ndim(y)
    if x_ndim in (1, 2) and y_ndim in (1, 2) and tangent.shape[1:] == _shape_of_product(x.shape, y.shape):
        return tangent[..., None] * y if y_ndim == 1 else tangent @ y.T
    return _each(lambda t: matmul_left_adjoint(t, x, y), tangent)


def batched_matmul_left_adjoint_of_y(g, x, tangent):
    """The batched ``matmul_left_adjoint(g, x, d_y)``: linear in the batched `tangent` of y."""
    g_ndim, x_ndim, y_ndim = _ndim(g), _ndim(x), tangent.ndim - 1
    if y_ndim == 1:
        if x_ndim == 1 and g_ndim == 0:  # a number z = x @ y: g * y
            return g * tangent
        if x_ndim == 2 and g_ndim == 1 and g.shape[0] == x.shape[0]:  # the outer product of g and y
            return g[:, None] * tangent[:, None, :]
    elif y_ndim == 2 and x_ndim in (1, 2) and np.shape(g) == _shape_of_product(x.shape, tangent.shape[1:]):
        return np.matmul(g, np.swapaxes(tangent, 1, 2))
    return _each(lambda t: matmul_left_adjoint(g, x, t), tangent)


def batched_matmul_right_adjoint(tangent, x, y):
    """The batched ``matmul_right_adjoint(d_g, x, y)``: linear in the batched `tangent` of g."""
    x_ndim, y_ndim = _ndim(x), _ndim(y)
    if x_ndim in (1, 2) and y_ndim in (1, 2) and tangent.shape[1:] == _shape_of_product(x.shape, y.shape):
        if x_ndim == 2:
            return np.matmul(x.T, tangent) if y_ndim == 2 else tangent @ x
        return tangent[:, None] * x if y_ndim == 1 else x[:, None] * tangent[:, None, :]
    return _each(lambda t: matmul_right_adjoint(t, x, y), tangent)


def batched_matmul_right_adjoint_of_x(g, tangent, y):
    """The batched ``matmul_right_adjoint(g, d_x, y)``: linear in the batched `tangent` of x."""
    g_ndim, x_ndim, y_ndim = _ndim(g), tangent.ndim - 1, _ndim(y)
    if x_ndim == 1 and y_ndim == 1 and g_ndim == 0:  # a number z = x @ y: g * x
        return g * tangent
    if x_ndim in (1, 2) and y_ndim in (1, 2) and np.shape(g) == _shape_of_product(tangent.shape[1:], y.shape):
        if x_ndim == 2:
            return np.swapaxes(tangent, 1, 2) @ g if y_ndim == 2 else np.matmul(g, tangent)
        return tangent[:, :, None] * g
    return _each(lambda t: matmul_right_adjoint(g, t, y), tangent)


def _ndim(value):
    """``np.ndim(value)``, quickly for arrays and Python numbers."""
    if type(value) is np.ndarray:
        return value.ndim
    return 0 if isinstance(value, (int, float)) else np.ndim(value)


def _shape_of_product(x_shape, y_shape):
    """The shape of ``x @ y`` for arrays of one or two axes, from their shapes."""
    return x_shape[:-1] + y_shape[1:] if len(y_shape) == 2 else x_shape[:-1]


def _each(linear, tangent):
    """`linear` applied to each direction's tangent, stacked along the batch axis again."""
    return np.stack([np.asarray(linear(t), dtype=float) for t in tangent])
