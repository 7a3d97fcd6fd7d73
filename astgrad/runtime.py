"""Helpers that generated code calls at run time (each is also in the primitive table, except the
multivariate normal's: `scipy.stats.multivariate_normal` has no second derivative).

Only code that uses arrays calls them: a gradient of `math`-only code is plain
arithmetic. Each helper is short enough to read next to the generated code
that calls it.
"""

import sys

import numpy as np

from .errors import ArrayInputError, IntegerInputError, NonScalarOutputError


def checked_seed(output, seed, *wrt):
    """`seed`, after checking that the gradient of `output` with respect to `wrt` is defined.

    A gradient needs a scalar output; an array output needs an output seed of
    its own shape, which makes the adjoint a vector-Jacobian product. The
    differentiated arguments must hold real numbers: an integer array has no
    gradient (a Python int is fine, as a number).
    """
    if isinstance(output, (float, np.floating)):  # the common case, a loss: any seed fits
        return checked_arguments(seed, *wrt)
    if np.ndim(output) and np.size(output) != 1 and np.shape(seed) != np.shape(output):
        raise NonScalarOutputError(
            f"a gradient needs a scalar output, but the function returned an array of shape {np.shape(output)}",
            hint="pass an output seed of that shape (d_out=...) for a vector-Jacobian product, "
            "or reduce the output to a scalar (e.g. a sum or a loss)",
        )
    return checked_arguments(seed, *wrt)


def forward_gradient(jvp, primals, wrt, as_tuple=False, keywords=None, has_aux=False):
    """``(value, gradient)`` of a function with a scalar output, by forward passes (see `forward_jacobian`).

    With `has_aux`, `jvp` returns ``((value, aux), tangent)`` and the result is ``(value, aux, gradient)``.
    """
    value, gradient = forward_jacobian(jvp, primals, wrt, as_tuple, keywords, has_aux)
    value, aux = value if has_aux else (value, None)
    if isinstance(value, tuple) or np.size(value) != 1:
        raise NonScalarOutputError(
            f"a gradient needs a scalar output, but the function returned {_described(value)}",
            hint="use astgrad.jvp for the derivative of a function with several outputs in one direction",
        )
    return (value, aux, gradient) if has_aux else (value, gradient)


def forward_jacobian(jvp, primals, wrt, as_tuple=False, keywords=None, has_aux=False):
    """``(value, derivatives)`` of the function whose forward mode is `jvp`: one forward pass per element.

    `jvp(*primals, *tangents, **keywords)` returns ``(value, tangent)``, with
    one tangent per entry of `wrt`: a position in `primals`, or the name of a
    keyword-only parameter, found in `keywords`. Each pass sets one element of one
    differentiated argument's tangent to 1 and the others to 0. The derivative
    of a value with respect to an argument has the value's shape followed by
    the argument's (a number for numbers). `as_tuple` gives one derivative per
    argument in `wrt` (otherwise `wrt` has one position); a tuple of values
    gives a tuple of those, one per value.
    """
    differentiated = [keywords[p] if isinstance(p, str) else primals[p] for p in wrt]
    checked_seed(0.0, 1.0, *differentiated)  # integer arrays have no derivative
    zeros = [zero_gradient(x) for x in differentiated]
    value, columns = None, []
    for k, x in enumerate(differentiated):
        passes = []
        for index in np.ndindex(np.shape(x)):
            unit = 1.0
            if np.ndim(x):
                unit = np.zeros(np.shape(x))
                unit[index] = 1.0
            value, tangent = jvp(*primals, *zeros[:k], unit, *zeros[k + 1 :], **(keywords or {}))
            passes.append(tangent)
        columns.append(_stacked(passes, np.shape(x)))

    def arranged(columns):
        return tuple(columns) if as_tuple else columns[0]

    if isinstance(value, tuple) and not has_aux:  # with has_aux, (value, aux): the tangent is the value's
        return value, tuple(arranged([column[i] for column in columns]) for i in range(len(value)))
    return value, arranged(columns)


def _stacked(passes, shape):
    """The tangents of the passes over the elements of an argument of `shape`, as one derivative."""
    if isinstance(passes[0], tuple):
        return tuple(_stacked([p[i] for p in passes], shape) for i in range(len(passes[0])))
    if not shape:
        return passes[0]
    stacked = np.stack([np.asarray(p, dtype=float) for p in passes], axis=-1)
    return np.reshape(stacked, np.shape(passes[0]) + shape)


def _described(value):
    return "a tuple" if isinstance(value, tuple) else f"an array of shape {np.shape(value)}"


def checked_arguments(seed, *wrt):
    """`seed`, after checking that the differentiated arguments `wrt` hold real numbers.

    The seed check of a function whose output is known to be a number (a full
    reduction such as ``np.mean(x)``): any seed fits a number, so the output
    itself need not be computed.
    """
    for value in wrt:
        if isinstance(value, np.ndarray) and value.dtype.kind not in "fc":
            name = _parameter_holding(value)
            argument = f"the differentiated argument {name}" if name else "a differentiated argument"
            raise IntegerInputError(
                f"{argument} is an array of {value.dtype}, which has no gradient",
                hint=f"pass a floating-point array, e.g. {name or 'x'}.astype(float)",
            )
    return seed


def check_numbers(*wrt):
    """Check that the differentiated arguments `wrt` are numbers, not arrays.

    The check of a gradient of code that calls no NumPy function ("scalar
    code"), whose derivative lines are written for numbers: an array reaching
    its arithmetic would give a gradient of the wrong shape. Generated code
    calls it only when an argument is not a float, so floats pay one type
    test each.
    """
    for value in wrt:
        if type(value) is not float and np.ndim(value):
            name = _parameter_holding(value)
            argument = f"the differentiated argument {name}" if name else "a differentiated argument"
            raise ArrayInputError(
                f"{argument} is an array of shape {np.shape(value)}, but the function calls no NumPy function, "
                "so its gradient was written for numbers",
                hint="pass a number, or call the gradient once per element; to differentiate array code, "
                "use NumPy in the function (e.g. `np.sum(...)` for a scalar output)",
            )


def _parameter_holding(value):
    """The name the generated function has for `value`: a parameter of the first caller holding it, or None.

    The helpers on the way (`checked_seed`, `forward_jacobian`) get the
    arguments packed in tuples, never as parameters of their own. (Looking for
    the first caller outside this module would not do where the helpers are
    copied into one module with the generated code, by ``source(..., standalone=True)``.)
    """
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        parameters = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        names = [name for name in parameters if frame.f_locals.get(name) is value]
        if names:
            return names[0]
        frame = frame.f_back
    return None


def unbroadcast(gradient, like):
    """`gradient` summed down to the shape of `like`: undoes NumPy broadcasting of `like`.

    `like` is an array or number, or an ``np.broadcast`` of several, of the shape wanted.
    """
    if type(gradient) is np.ndarray:  # the common cases first
        if type(like) is np.ndarray and gradient.shape == like.shape:
            return gradient  # nothing was broadcast
        if type(like) is float:
            return gradient.sum()  # the gradient of a number, such as a bias
    return _summed_to(gradient, _shape(like))


def _shape(x):
    """``np.shape(x)``, without its conversion to an array for arrays and Python numbers (a third of a call's time).

    An ``np.broadcast(y, z)`` stands for the shape of y and z broadcast together.
    """
    if isinstance(x, (np.ndarray, np.generic, np.broadcast)):
        return x.shape
    return () if isinstance(x, (int, float)) else np.shape(x)


def _summed_to(gradient, shape):
    """`gradient` summed over the axes where an input of `shape` was broadcast, then broadcast to `shape`.

    The broadcast at the end is for a gradient that is smaller than the
    broadcast result it stands for (``d_out * y`` for `x` in ``np.sum(x * y)``),
    along axes where `x` had its full length.
    """
    if not shape:
        return gradient.sum() if isinstance(gradient, np.ndarray) else gradient  # a number for a number
    own = _shape(gradient)
    if own == shape:
        return gradient
    offset = len(own) - len(shape)  # axes the gradient has before the first of `shape`
    stretched = tuple(
        offset + axis
        for axis, length in enumerate(shape)
        if length == 1 and offset + axis >= 0 and own[offset + axis] > 1
    )
    if stretched:  # the array methods: no np.sum wrapper to pass
        gradient = gradient.sum(axis=stretched, keepdims=True)
    if offset > 0:  # leading axes were added (a bias)
        gradient = gradient.sum(axis=tuple(range(offset)))
    return gradient if _shape(gradient) == shape else np.broadcast_to(gradient, shape)


def broadcast_like(tangent, like):
    """`tangent` broadcast to the shape of `like`: the tangent of a broadcast input, in forward mode."""
    shape = _shape(like)
    if _shape(tangent) == shape:
        return tangent
    return np.broadcast_to(tangent, shape) if shape else float(tangent)


def scaled(gradient, seed):
    """``seed * gradient``, without the pass over `gradient` when the seed is the default 1.

    A gradient computed for the seed 1 and scaled at the end (see
    docs/performance.md); `gradient` is always an array of the generated code's
    own, never one of the arguments, so it can be returned as it is.
    """
    if isinstance(seed, (int, float)) and seed == 1:
        return gradient
    return seed * gradient


def sigmoid(x):
    """``1 / (1 + np.exp(-x))``: the derivative of ``np.logaddexp``.

    ``np.logaddexp(x, y)`` has the partials ``sigmoid(x - y)`` and
    ``sigmoid(y - x)``; computing them this way does not need the (slow)
    ``np.logaddexp`` itself, so a gradient that does not return the value
    skips it. It is computed as ``e / (1 + e)`` with ``e = np.exp(x)``, which
    keeps full relative precision for negative x, down to the smallest
    numbers (``e`` underflows without a warning). Above x = 709 (88 in
    float32) ``np.exp`` would overflow (a warning, and inf / inf), so x is
    capped there, where the sigmoid is 1.0 already; capping costs less than
    ``np.errstate``.
    """
    e = np.minimum(x, _EXP_LIMITS.get(getattr(x, "dtype", None), 709.0))
    if isinstance(e, np.ndarray):
        np.exp(e, out=e)  # in place, here and below: the arrays are this function's own
        return np.divide(e, e + 1, out=e)
    e = np.exp(e)
    return e / (1 + e)


# The largest whole x whose np.exp(x) is finite, for the float types narrower than float64
# (float64's 709 also serves wider ones: their sigmoid of 709 is 1 - 1e-308).
_EXP_LIMITS = {np.dtype(np.float32): 88.0, np.dtype(np.float16): 11.0}


def zero_gradient(x):
    """The gradient of a parameter the output does not depend on: a zero of its shape."""
    return np.zeros(np.shape(x)) if np.ndim(x) else 0.0


def unindex(gradient, x, index):
    """The adjoint of ``x[index]``: `gradient` put back where it was read, zeros elsewhere.

    Repeated integer indices add up (``np.add.at``), as each use of an element does.
    """
    result = np.zeros(np.shape(x), dtype=np.result_type(gradient, float))
    np.add.at(result, index, gradient)
    return result


def matmul_left_adjoint(d_z, x, y):
    """The adjoint of `x` in ``z = x @ y`` (also ``np.dot`` of arrays of up to two axes).

    `d_z` may have been broadcast beyond the product's shape (``x @ y + b``
    with a larger `b`): it is summed back first, so the generated code need not
    keep the product alive only for its shape.
    """
    if _is_matrix_product(d_z, x, y) and y.ndim == 2:  # the common case first: a layer's input
        return d_z @ y.T
    d_z = _summed_to(d_z, _product_shape(x, y))
    if np.ndim(x) == 0 or np.ndim(y) == 0:  # np.dot of a number multiplies
        return unbroadcast(d_z * y, x)
    if np.ndim(y) == 1:
        return np.multiply.outer(d_z, y)
    if np.ndim(x) == 1:  # x acts as a row: one more axis for the product, then off again
        return unbroadcast(np.matmul(np.expand_dims(d_z, -2), np.swapaxes(y, -1, -2))[..., 0, :], x)
    return unbroadcast(np.matmul(d_z, np.swapaxes(y, -1, -2)), x)


def matmul_right_adjoint(d_z, x, y):
    """The adjoint of `y` in ``z = x @ y`` (`d_z` summed back to the product's shape first)."""
    if _is_matrix_product(d_z, x, y):  # the common cases first: a layer's or a linear model's weights
        return x.T @ d_z if y.ndim == 2 else d_z @ x
    d_z = _summed_to(d_z, _product_shape(x, y))
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return unbroadcast(d_z * x, y)
    if np.ndim(x) == 1:
        return x * d_z if np.ndim(y) == 1 else unbroadcast(x[:, None] * np.expand_dims(d_z, -2), y)
    if np.ndim(y) == 1:
        return d_z @ x if np.ndim(x) == 2 else np.tensordot(d_z, x, axes=np.ndim(d_z))
    return unbroadcast(np.matmul(np.swapaxes(x, -1, -2), d_z), y)


def _is_matrix_product(d_z, x, y):
    """Whether ``z = x @ y`` multiplies a matrix by a matrix or a vector, and `d_z` has the product's shape."""
    return (
        type(x) is np.ndarray and type(y) is np.ndarray and type(d_z) is np.ndarray
        and x.ndim == 2 and 1 <= y.ndim <= 2 and d_z.shape == x.shape[:1] + y.shape[1:]
    )  # fmt: skip


def _product_shape(x, y):
    """The shape of ``x @ y`` (of ``np.dot(x, y)`` when one of them is a number)."""
    x_shape, y_shape = np.shape(x), np.shape(y)
    if not x_shape or not y_shape:
        return np.broadcast_shapes(x_shape, y_shape)
    if len(y_shape) == 1:
        return x_shape[:-1]
    if len(x_shape) == 1:
        return y_shape[:-2] + y_shape[-1:]
    return np.broadcast_shapes(x_shape[:-2], y_shape[:-2]) + (x_shape[-2], y_shape[-1])


def inner_left_adjoint(d_z, x, y):
    """The adjoint of `x` in ``z = np.inner(x, y)`` (a sum over the last axes)."""
    other = np.ndim(y) - 1
    return np.tensordot(d_z, y, axes=(list(range(np.ndim(d_z) - other, np.ndim(d_z))), list(range(other))))


def inner_right_adjoint(d_z, x, y):
    """The adjoint of `y` in ``z = np.inner(x, y)``."""
    mine = np.ndim(x) - 1
    return np.tensordot(d_z, x, axes=(list(range(mine)), list(range(mine))))


def concatenate_part(gradient, parts, i, axis=0):
    """The slice of `gradient` (of ``np.concatenate(parts, axis)``) that came from ``parts[i]``."""
    return gradient[_part_index(parts, i, axis, np.ndim(gradient))]


def concatenate_unpart(part, like, parts, i, axis=0):
    """`part` put back where ``parts[i]`` is in `like` (``np.concatenate(parts, axis)``), zeros elsewhere.

    The adjoint of `concatenate_part`, so that a gradient through
    ``np.concatenate`` can be differentiated again.
    """
    whole = np.zeros(np.shape(like))
    whole[_part_index(parts, i, axis, whole.ndim)] = part
    return whole


def _part_index(parts, i, axis, ndim):
    """The index of ``parts[i]`` in ``np.concatenate(parts, axis)``, which has `ndim` axes."""
    sizes = [np.shape(part)[axis] for part in parts]
    start = sum(sizes[:i])
    index = [slice(None)] * ndim
    index[axis] = slice(start, start + sizes[i])
    return tuple(index)


def hstack_part(gradient, parts, i):
    """The slice of `gradient` (of ``np.hstack(parts)``) that came from ``parts[i]``."""
    joined, axis = _as_hstacked(parts)
    return _shaped_like(concatenate_part(gradient, joined, i, axis), parts[i])


def hstack_unpart(part, like, parts, i):
    """`part` put back where ``parts[i]`` is in `like` (``np.hstack(parts)``), zeros elsewhere."""
    joined, axis = _as_hstacked(parts)
    return concatenate_unpart(np.reshape(part, joined[i].shape), like, joined, i, axis)


def _as_hstacked(parts):
    """The parts as ``np.hstack`` concatenates them, and along which axis."""
    joined = [np.atleast_1d(part) for part in parts]
    return joined, 0 if joined[0].ndim == 1 else 1


def vstack_part(gradient, parts, i):
    """The slice of `gradient` (of ``np.vstack(parts)``) that came from ``parts[i]``."""
    return _shaped_like(concatenate_part(gradient, [np.atleast_2d(part) for part in parts], i), parts[i])


def vstack_unpart(part, like, parts, i):
    """`part` put back where ``parts[i]`` is in `like` (``np.vstack(parts)``), zeros elsewhere."""
    joined = [np.atleast_2d(part) for part in parts]
    return concatenate_unpart(np.reshape(part, joined[i].shape), like, joined, i)


def untake(part, like, indices, axis=None):
    """The adjoint of ``np.take(like, indices, axis)``: `part` added where it was taken, zeros elsewhere.

    Repeated indices add up, as for `unindex`.
    """
    whole = np.zeros(np.shape(like))
    if axis is None:  # np.take of the flattened array
        np.add.at(whole.reshape(-1), indices, part)
    else:
        np.add.at(whole, (slice(None),) * (axis % whole.ndim) + (indices,), part)
    return whole


def _shaped_like(gradient, x):
    """`gradient` reshaped to the shape of `x`, and a float if `x` is a number."""
    shape = np.shape(x)
    return np.reshape(gradient, shape) if shape else float(np.sum(gradient))


# ---- the multivariate normal's log-density (scipy.stats.multivariate_normal) -------------------
# `cov` is a variance, the diagonal of a covariance, or a (symmetric) covariance matrix, as SciPy takes it.
# The points are the last axis of x - mean, except in one dimension, where SciPy reads a vector as points.
def mvn_residual_adjoint(gradient, x, mean, cov):
    """The adjoint of ``x - mean`` (broadcast) given the log-densities' adjoint `gradient`."""
    adjoint = -np.expand_dims(gradient, -1) * mvn_whitened(x, mean, cov)
    return np.reshape(adjoint, np.shape(_residual(x, mean)))


def mvn_residual_tangent(tangent, x, mean, cov):
    """The log-densities' tangent along a `tangent` of ``x - mean``."""
    return -np.sum(mvn_whitened(x, mean, cov) * _with_point_axis(tangent, x, mean, cov), axis=-1)


def mvn_whitened(x, mean, cov):
    """``(x - mean) @ inverse(cov)`` for each point: the log-density's gradient in `mean`."""
    residual = _with_point_axis(_residual(x, mean), x, mean, cov)
    cov = np.asarray(cov)
    if cov.ndim < 2:
        return residual / cov
    return residual @ np.linalg.inv(cov)


def _with_point_axis(value, x, mean, cov):
    """`value` (shaped like ``x - mean``) with the points' axis, which one-dimensional points lack."""
    dimension = np.shape(mean)[-1] if np.ndim(mean) else np.shape(cov)[0] if np.ndim(cov) else 1
    if dimension == 1 and np.ndim(x) <= 1:
        return np.reshape(value, np.shape(_residual(x, mean)) + (1,))
    return np.broadcast_to(value, np.shape(_residual(x, mean)))


def _residual(x, mean):
    """``x - mean``; SciPy's default mean, None, is zero."""
    return np.subtract(x, 0.0 if mean is None else mean)


def mvn_cov_adjoint(gradient, x, mean, cov):
    """The adjoint of `cov` given the log-densities' adjoint `gradient` (symmetric for a matrix)."""
    whitened = mvn_whitened(x, mean, cov)
    weights = np.expand_dims(gradient, -1)  # one per point
    cov = np.asarray(cov)
    if cov.ndim == 2:
        rows = np.reshape(whitened, (-1, whitened.shape[-1]))
        weighted = np.reshape(weights * whitened, rows.shape)
        return 0.5 * (weighted.T @ rows - np.sum(gradient) * np.linalg.inv(cov))
    if cov.ndim == 1:
        return 0.5 * np.sum(weights * (whitened * whitened - 1 / cov), axis=tuple(range(whitened.ndim - 1)))
    return 0.5 * float(np.sum(weights * (whitened * whitened - 1 / cov)))


def mvn_cov_tangent(tangent, x, mean, cov):
    """The log-densities' tangent along the covariance's `tangent`."""
    whitened = mvn_whitened(x, mean, cov)
    cov = np.asarray(cov)
    if cov.ndim == 2:
        trace = np.sum(np.linalg.inv(cov) * np.transpose(tangent))  # of inverse(cov) @ tangent
        return 0.5 * (np.sum((whitened @ tangent) * whitened, axis=-1) - trace)
    if cov.ndim == 1:
        return 0.5 * np.sum((whitened * whitened - 1 / cov) * tangent, axis=-1)
    return 0.5 * (np.sum(whitened * whitened, axis=-1) - whitened.shape[-1] / cov) * tangent


# Helpers above without entries in the table: what differentiating generated code that calls them says.
WITHOUT_DERIVATIVE = dict.fromkeys(
    (mvn_residual_adjoint, mvn_residual_tangent, mvn_whitened, mvn_cov_adjoint, mvn_cov_tangent),
    "scipy.stats.multivariate_normal",
)
