"""Helpers that generated code calls at run time (each is also in the primitive table, except the
multivariate normal's: `scipy.stats.multivariate_normal` has no second derivative).

Only code that uses arrays calls them: a gradient of `math`-only code is plain
arithmetic. Each helper is short enough to read next to the generated code
that calls it.
"""

import sys

import numpy as np

from .errors import ArrayInputError, IntegerInputError, NoDerivativeError, NonScalarOutputError


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
    elif type(gradient) in _FLOATS and type(like) in _FLOATS:
        return gradient  # a number for a number: each step of a loop over an array's elements
    return _summed_to(gradient, _shape(like))


_FLOATS = (float, np.float64)
_FLOAT64 = np.dtype(np.float64)


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
        return float(tangent) if not shape and isinstance(tangent, np.ndarray) and not isinstance(like, np.ndarray) else tangent
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
    An `x` that is a tuple of arrays (``np.split``'s pieces) gets its adjoint as
    one array, the pieces' adjoints stacked.
    """
    result = np.zeros(_pieces_shape(x) if isinstance(x, (tuple, list)) else np.shape(x),
                      dtype=np.result_type(gradient, float))  # fmt: skip
    np.add.at(result, index, gradient)
    return result


def add_at(whole, index, gradient):
    """``whole + unindex(gradient, whole, index)``, written into `whole`: an adjoint accumulated in a loop.

    Generated code calls it only on an adjoint array it made itself and reads
    nowhere else (see `optimize.accumulated_in_place`), so adding in place is
    safe, and a loop reading ``x[i]`` costs one element per step instead of a
    new array of x's size. An array it cannot write into (a number, a read-only
    view, a type the sum would widen) gets the sum as a new array instead.
    """
    if not (type(whole) is np.ndarray and whole.dtype == _FLOAT64 and whole.flags.writeable and _fits(gradient)):
        return whole + unindex(gradient, whole, index)
    if type(index) is int or _is_basic_index(index):  # each element at most once: the plain in-place add
        whole[index] += gradient
    else:  # repeated integer indices add up, as in unindex
        np.add.at(whole, index, gradient)
    return whole


def _fits(gradient):
    """Whether ``whole + unindex(gradient, whole, index)`` is float64, the type of `whole`: whether `gradient`
    is real, of at most 64 bits (the adjoints `zero_gradient` starts are float64)."""
    if type(gradient) in _FLOATS:
        return True
    gradient_type = getattr(gradient, "dtype", None)
    if gradient_type is None:
        return isinstance(gradient, (int, float))
    return gradient_type.kind in "biuf" and gradient_type.itemsize <= 8


def _is_basic_index(index):
    """Whether `index` selects each element at most once: integers, slices, ``None``, ``...`` (or a tuple of them)."""
    parts = index if type(index) is tuple else (index,)
    return all(isinstance(part, (int, np.integer, slice)) or part is None or part is Ellipsis for part in parts)


def _pieces_shape(pieces):
    """The shape of a tuple of arrays stacked (NoDerivativeError if they differ in shape)."""
    shapes = {np.shape(piece) for piece in pieces}
    if len(shapes) > 1:
        raise NoDerivativeError(
            f"the pieces of an array split into parts of different shapes ({', '.join(map(str, sorted(shapes)))}) "
            "have no derivative here",
            hint="split into equal parts (np.split(x, n) with n dividing the length), or slice: x[:k], x[k:]",
        )
    return (len(pieces),) + shapes.pop()


def matmul_left_adjoint(d_z, x, y):
    """The adjoint of `x` in ``z = x @ y`` (also ``np.dot`` of arrays of up to two axes).

    `d_z` may have been broadcast beyond the product's shape (``x @ y + b``
    with a larger `b`): it is summed back first, so the generated code need not
    keep the product alive only for its shape.
    """
    if _is_matrix_product(d_z, x, y):  # the common cases first: a layer's input, a matrix times a vector
        return d_z @ y.T if y.ndim == 2 else np.multiply.outer(d_z, y)
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
    if not (type(x) is np.ndarray and type(y) is np.ndarray and type(d_z) is np.ndarray and x.ndim == 2):
        return False
    if y.ndim == 1:  # compared without slicing tuples: this runs on every call of a layer's gradient
        return d_z.shape == (x.shape[0],)
    return y.ndim == 2 and d_z.shape == (x.shape[0], y.shape[1])


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


# ---- adjoints of NumPy's linear functions (each linear in its first argument, and in the table) ----
def cumsum_adjoint(gradient, like, axis=None):
    """The adjoint of ``np.cumsum(like, axis)``: `gradient` summed from the end backwards."""
    if axis is None:  # np.cumsum of the flattened array
        return np.reshape(np.flip(np.cumsum(np.flip(gradient))), np.shape(like))
    return np.flip(np.cumsum(np.flip(gradient, axis), axis=axis), axis)


def unsort(gradient, like, axis=-1):
    """The adjoint of ``np.sort(like, axis)``: `gradient` put back where each sorted element came from.

    Tied elements keep their order (a stable sort): each gets the gradient of
    the position it was sorted to.
    """
    if axis is None:  # np.sort of the flattened array
        whole = np.zeros(np.size(like))
        whole[np.argsort(like, axis=None, kind="stable")] = gradient
        return np.reshape(whole, np.shape(like))
    whole = np.zeros(np.shape(like))
    np.put_along_axis(whole, np.argsort(like, axis=axis, kind="stable"), gradient, axis)
    return whole


def sorted_like(tangent, like, axis=-1):
    """`tangent` permuted as ``np.sort(like, axis)`` permutes `like` (the tangent of a sort, and `unsort`'s adjoint)."""
    order = np.argsort(like, axis=axis, kind="stable")
    if axis is None:
        return np.ravel(tangent)[order]
    return np.take_along_axis(np.broadcast_to(tangent, np.shape(like)), order, axis)


def undiff(gradient, n, axis):
    """The adjoint of ``np.diff(x, n, axis)``: for each difference, ``-np.diff`` with zeros padded at both ends."""
    for _ in range(n):
        padding = [(0, 0)] * np.ndim(gradient)
        padding[axis] = (1, 1)
        gradient = -np.diff(np.pad(gradient, padding), axis=axis)
    return gradient


def unrepeat(gradient, like, repeats, axis=None):
    """The adjoint of ``np.repeat(like, repeats, axis)``: the copies of each element added up."""
    shape = np.shape(like)
    length = int(np.prod(shape)) if axis is None else shape[axis]
    owners = np.repeat(np.arange(length), repeats)  # the element each copy came from
    if axis is None:
        whole = np.zeros(length)
        np.add.at(whole, owners, gradient)
        return np.reshape(whole, shape)
    whole = np.zeros(shape)
    np.add.at(whole, (slice(None),) * (axis % len(shape)) + (owners,), gradient)
    return whole


def untile(gradient, like, reps):
    """The adjoint of ``np.tile(like, reps)``: the tiles added up."""
    shape = np.shape(like)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    axes = max(len(shape), len(reps))
    padded_shape = (1,) * (axes - len(shape)) + tuple(shape)
    padded_reps = (1,) * (axes - len(reps)) + reps
    interleaved = [length for pair in zip(padded_reps, padded_shape) for length in pair]
    tiles = np.reshape(gradient, interleaved)
    return _shaped_like(np.sum(tiles, axis=tuple(range(0, 2 * axes, 2))), like)


def untrace(gradient, like, offset, axis1, axis2):
    """The adjoint of ``np.trace(like, offset, axis1, axis2)``: `gradient` spread along the diagonal."""
    shape = np.shape(like)
    first, second = axis1 % len(shape), axis2 % len(shape)
    eye = np.eye(shape[first], shape[second], k=offset)
    eye_shape = [1] * len(shape)
    eye_shape[first], eye_shape[second] = shape[first], shape[second]
    eye = np.reshape(eye if first < second else eye.T, eye_shape)
    return np.expand_dims(gradient, (first, second)) * eye


def undiagonal(gradient, like, offset, axis1, axis2):
    """The adjoint of ``np.diagonal(like, offset, axis1, axis2)``: `gradient` (its last axis the diagonal's) put back."""
    whole = np.zeros(np.shape(like))
    matrices = np.moveaxis(whole, (axis1, axis2), (-2, -1))  # a view: writing to it writes `whole`
    index = np.arange(np.shape(gradient)[-1])
    matrices[..., index + max(-offset, 0), index + max(offset, 0)] = gradient
    return whole


def undiag(gradient, like, k=0):
    """The adjoint of ``np.diag(like, k)``: the diagonal of a matrix, or a matrix holding a diagonal."""
    if np.ndim(like) == 1:
        return np.diag(gradient, k)
    whole = np.zeros(np.shape(like))
    index = np.arange(len(gradient))
    whole[index + max(-k, 0), index + max(k, 0)] = gradient
    return whole


def untake_along_axis(part, like, indices, axis):
    """The adjoint of ``np.take_along_axis(like, indices, axis)``: repeated indices add up."""
    whole = np.zeros(np.shape(like))
    if axis is None:
        np.add.at(whole.reshape(-1), indices, part)
        return whole
    index = list(np.ix_(*[np.arange(length) for length in np.shape(part)]))
    index[axis % whole.ndim] = indices
    np.add.at(whole, tuple(index), part)
    return whole


def unpad(gradient, pad_width):
    """The adjoint of ``np.pad(x, pad_width)`` (constant padding): the part of `gradient` that was `x`."""
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (np.ndim(gradient), 2))
    return gradient[tuple(slice(before, length - after) for (before, after), length in zip(widths, np.shape(gradient)))]


def full_convolution(gradient, x, y, mode, correlate):
    """`gradient` (of ``np.convolve(x, y, mode)``, or of ``np.correlate``) placed in the full result, zeros elsewhere.

    The adjoint of a full convolution is a correlation of valid length; this
    undoes the cut that `mode` makes.
    """
    whole = np.zeros(len(x) + len(y) - 1)
    start = _convolution_start(x, y, mode, correlate)
    whole[start : start + len(gradient)] = gradient
    return whole


def convolution_part(full, x, y, mode, correlate):
    """The part of the full convolution (or correlation) of `x` and `y` that `mode` keeps.

    The adjoint of `full_convolution`.
    """
    shorter, longer = min(len(x), len(y)), max(len(x), len(y))
    length = {"full": len(full), "valid": longer - shorter + 1, "same": longer}[mode]
    start = _convolution_start(x, y, mode, correlate)
    return full[start : start + length]


def _convolution_start(x, y, mode, correlate):
    """Where the result of `mode` starts in the full convolution (or correlation) of `x` and `y`."""
    shorter = min(len(x), len(y))
    start = {"full": 0, "valid": shorter - 1, "same": (shorter - 1) // 2}[mode]
    if mode == "same" and correlate and len(x) < len(y):  # NumPy correlates the other way round then
        return shorter - 1 - start
    return start


def through_cast(gradient, dtype):
    """`gradient` through a cast to `dtype`: unchanged to a real type, zero to an integer type (rounding)."""
    if np.dtype(dtype).kind in "fc":
        return gradient
    return np.zeros(np.shape(gradient))


def tie_share(result, value, candidates):
    """The derivative of ``result = max(*candidates)`` (or min) by `value`, one of the candidates.

    Tied candidates share equally.
    """
    return (value == result) / sum(candidate == result for candidate in candidates)


def lower_halved(x):
    """The lower triangle of `x` (over the last two axes) with its diagonal halved (Cholesky's adjoint)."""
    return np.tril(x) - 0.5 * x * np.eye(np.shape(x)[-1])


def symmetrized(x):
    """``(x + x^T) / 2`` over the last two axes."""
    return 0.5 * (x + np.swapaxes(x, -1, -2))


def unsplit(gradient, axis=0):
    """The adjoint of ``np.split(x, sections, axis)``: the pieces' adjoints (stacked, one per row) joined again."""
    return np.concatenate(tuple(gradient), axis=axis)


def resplit(gradient, pieces, axis=0):
    """`gradient` split into equal `pieces` along `axis` and stacked: the adjoint of `unsplit`."""
    return np.stack(np.split(gradient, pieces, axis=axis))


def spectral_norm_adjoint(gradient, x, axis, keepdims):
    """The adjoint of ``np.linalg.norm(x, 2, axis, keepdims)``: `gradient` times ``u v^T`` of the largest
    singular value (over `axis`, two axes, or those of a matrix); a vector's is the 2-norm's.

    Where the largest singular value is repeated, the norm has no derivative:
    this is the one of the singular vectors ``np.linalg.svd`` gives.
    """
    if axis is None and np.ndim(x) == 1:
        return gradient * x / np.linalg.norm(x)
    axes = (-2, -1) if axis is None else axis
    u, v = _top_singular_vectors(np.moveaxis(x, axes, (-2, -1)))
    if keepdims:
        gradient = np.squeeze(gradient, axis=axes)
    return np.moveaxis(np.expand_dims(gradient, (-2, -1)) * (u[..., :, None] * v[..., None, :]), (-2, -1), axes)


def spectral_norm_tangent(tangent, x, axis, keepdims):
    """The tangent of ``np.linalg.norm(x, 2, axis, keepdims)``: ``u^T tangent v`` (see `spectral_norm_adjoint`)."""
    if axis is None and np.ndim(x) == 1:
        return np.sum(x * tangent) / np.linalg.norm(x)
    axes = (-2, -1) if axis is None else axis
    u, v = _top_singular_vectors(np.moveaxis(x, axes, (-2, -1)))
    moved = np.moveaxis(np.broadcast_to(tangent, np.shape(x)), axes, (-2, -1))
    result = np.einsum("...i,...ij,...j->...", u, moved, v)
    return np.expand_dims(result, axes) if keepdims else result


def _top_singular_vectors(matrices):
    """The singular vectors (u, v) of the largest singular value of each matrix (the last two axes)."""
    u, _, vt = np.linalg.svd(matrices)
    return u[..., :, 0], vt[..., 0, :]


def repeated(value, like):
    """``[value] * len(like)``: the adjoint of ``sum(like)`` for each element of the list `like`.

    An array is summed back to each element's shape (elements that broadcast
    in the sum: a number and arrays, rows and a matrix).
    """
    if type(value) is float:
        return [value] * len(like)
    return [unbroadcast(value, element) for element in like]


def tie_shares(gradient, result, candidates):
    """The adjoint of ``result = max(candidates)`` (or min) over a list: `gradient` shared by the tied elements."""
    return [gradient * tie_share(result, value, candidates) for value in candidates]


def tied_tangent(tangents, result, candidates):
    """The tangent of ``result = max(candidates)`` (or min) over a list, from its elements' `tangents`."""
    return sum(tangent * tie_share(result, value, candidates) for tangent, value in zip(tangents, candidates))
