"""The primitive table: every function and operator astgrad can differentiate.

One entry per mathematical function: its spellings, then one template per
input (the rule language is described in `rules.py`, the table as a reader
sees it in docs/primitives.md):

    derivative("y = math.sin(x) | np.sin", x="cos(x)")

is ``math.sin(x)`` with the partial ``math.cos(x)`` and ``np.sin(x)`` with
``np.cos(x)``. Long templates are named beside their entries, so that each
entry stays one line.

Conventions at kinks and ties (tested in tests/test_primitives.py):
``abs``/``fabs`` have derivative 0 at 0 (the sign function); ``max``/``min``
of equal values (of two or more arguments), and ``np.max``/``np.min`` over
tied elements, share the gradient equally, as JAX and autograd do; ``np.clip``
passes the gradient to ``x`` where ``x`` is within the bounds, the bounds
included, and otherwise to the bound that is the result (``hi`` wherever
``lo > hi``). ``np.sort`` is a permutation: tied elements keep their order (a
stable sort) and each gets the gradient of the position it is sorted to, as
in JAX. ``np.sinc`` has its limit, 0, as derivative at 0. ``np.nansum`` and
``np.nanmean`` pass no gradient to NaN elements. ``np.linalg.cholesky`` reads
its input as symmetric: its adjoint is symmetric, and its tangent is right for
symmetric directions. ``np.linalg.norm(x, 2)`` of a matrix (the largest
singular value) takes the singular vectors ``np.linalg.svd`` gives, where that
value is repeated; it has no second derivative. ``np.cumprod``, like
``np.prod``, divides by ``x`` (no zeros); ``np.linalg.det``, ``slogdet``,
``inv`` and ``solve`` need an invertible matrix.
"""

from .rules import ABOVE_ONE, NOT_DIFFERENTIABLE, POSITIVE, REAL, STATIC, UNIT, ZERO
from .rules import adjoint, derivative, list_rule, no_derivative

POWER = {"x": "y * x ** (y - 1)", "y": "z * log(x)"}
LARGER = {"x": "(x > y) + 0.5 * (x == y)", "y": "(y > x) + 0.5 * (x == y)"}  # ties: half each
SMALLER = {"x": "(x < y) + 0.5 * (x == y)", "y": "(y < x) + 0.5 * (x == y)"}  # ties: half each
CLIPPED = {"x": "y == x", "lo": "(y == lo) * (y != x)", "hi": "(y == hi) * (y != x)"}
BOUNDS = {"x": REAL, "lo": (-2.0, -0.5), "hi": (0.5, 2.0)}
ANGLE = {"y": "x / (x * x + y * y)", "x": "-y / (x * x + y * y)"}
LOG_BASE = {"x": "1 / (x * math.log(base))", "base": "-y / (base * math.log(base))"}
SINC_SLOPE = "np.where(x == 0, 0.0, (np.cos(np.pi * x) - y) / np.where(x == 0, 1.0, x))"
WHERE = {"a": "np.where(c, d_y, 0.0)", "b": "np.where(c, 0.0, d_y)"}

# reductions of x over axis: adjoints, and tangents (linear in d_x)
SUM = "np.broadcast_to(expand(d_y), np.shape(x))"
MEAN = "np.broadcast_to(d_y / np.size(x) if axis is None else expand(d_y * (np.size(y) / np.size(x))), np.shape(x))"
PROD = "np.broadcast_to(expand(d_y * y), np.shape(x)) / x"
TIES = "(x == expand(y))"
EXTREMUM = f"{TIES} * expand(d_y) / keep_dims(np.sum({TIES}))"
COUNT = "(np.size(x) / np.size(y) - ddof)"
CENTERED = "(x - keep_dims(np.mean(x)))"
VAR = f"expand(d_y) * (2 / {COUNT}) * {CENTERED}"
STD = f"expand(d_y / y) * {CENTERED} / {COUNT}"
NORM = ("runtime.spectral_norm_adjoint(d_y, x, axis, keepdims) if spectral(ord, axis) "  # ord=2 of matrices
        "else (d_y / y if two_norm_axis(ord, axis) is None or keepdims else np.expand_dims(d_y / y, axis)) * x")
SUM_TANGENT = "reduced(np.sum(d_x))"
MEAN_TANGENT = "reduced(np.mean(d_x))"
PROD_TANGENT = "y * reduced(np.sum(d_x / x))"
EXTREMUM_TANGENT = f"reduced(np.sum({TIES} * d_x)) / reduced(np.sum({TIES}))"
VAR_TANGENT = f"2 * reduced(np.sum({CENTERED} * d_x)) / {COUNT}"
STD_TANGENT = f"reduced(np.sum({CENTERED} * d_x)) / ({COUNT} * y)"
NORM_TANGENT = ("runtime.spectral_norm_tangent(d_x, x, axis, keepdims) if spectral(ord, axis) "
                "else reduced(np.sum(x * d_x)) / y")

# products
MATMUL = {"x": "runtime.matmul_left_adjoint(d_z, x, y)", "y": "runtime.matmul_right_adjoint(d_z, x, y)"}
OUTER = {"x": "np.reshape(d_z @ np.ravel(y), np.shape(x))", "y": "np.reshape(np.ravel(x) @ d_z, np.shape(y))"}
INNER = {"x": "runtime.inner_left_adjoint(d_z, x, y)", "y": "runtime.inner_right_adjoint(d_z, x, y)"}
EINSUM = {"x": "np.einsum(einsum_adjoint_spec(spec, 0), d_z, y)",
          "y": "np.einsum(einsum_adjoint_spec(spec, 1), x, d_z)"}

# shapes
TRANSPOSED = "np.transpose(d_y) if axes is None else np.transpose(d_y, inverse_permutation(axes))"
TRANSPOSED_TANGENT = "np.transpose(d_x) if axes is None else np.transpose(d_x, axes)"
RESHAPED = "np.reshape(d_y, np.shape(x))"
RESHAPED_TANGENT = "np.reshape(d_x, np.shape(y))"
TAKE = {"x": "runtime.untake(d_y, x, indices, axis)", "indices": NOT_DIFFERENTIABLE, "axis": NOT_DIFFERENTIABLE}

# NumPy's functions on arrays
NAN_SUM = "np.where(np.isnan(x), 0.0, np.broadcast_to(expand(d_y), np.shape(x)))"
NAN_MEAN = "np.where(np.isnan(x), 0.0, expand(d_y) / keep_dims(np.sum(np.logical_not(np.isnan(x)))))"
NAN_SUM_TANGENT = "reduced(np.sum(np.where(np.isnan(x), 0.0, d_x)))"
NAN_MEAN_TANGENT = "reduced(np.sum(np.where(np.isnan(x), 0.0, d_x))) / reduced(np.sum(np.logical_not(np.isnan(x))))"
CUMPROD = "runtime.cumsum_adjoint(d_y * y, x, axis) / x"  # x without zeros, as np.prod's
SORTED = "runtime.unsort(d_y, x, axis)"  # ties keep their order: each gets its sorted position's gradient
LARGEST = {"x": "runtime.tie_share(z, x, [x, y, *xs])", "y": "runtime.tie_share(z, y, [x, y, *xs])",
           "xs": "runtime.tie_share(z, xs[i], [x, y, *xs])"}  # ties: equal shares
CROSS = {"x": "runtime.unbroadcast(np.cross(y, d_z), x)", "y": "runtime.unbroadcast(np.cross(d_z, x), y)"}
CONVOLVE = {"x": "np.correlate(runtime.full_convolution(d_z, x, y, mode, False), y, 'valid')",
            "y": "np.correlate(runtime.full_convolution(d_z, x, y, mode, False), x, 'valid')"}
CORRELATE = {"x": "np.convolve(runtime.full_convolution(d_z, x, y, mode, True), y, 'valid')",
             "y": "np.correlate(runtime.full_convolution(d_z, x, y, mode, True), x, 'valid')[::-1]"}
PAD = "runtime.unpad(d_y, pad_width) if only_constant_padding(mode) else None"  # only constant padding
CAST = "runtime.through_cast(d_y, dtype)"

# linear algebra (over the last two axes; batches of matrices broadcast)
INVERSE_T = "np.swapaxes(np.linalg.inv(x), -1, -2)"
DET = f"np.expand_dims(d_y * y, (-1, -2)) * {INVERSE_T}"
DET_TANGENT = "y * np.trace(np.linalg.solve(x, d_x), axis1=-2, axis2=-1)"
SLOGDET = f"np.expand_dims(d_y[1], (-1, -2)) * {INVERSE_T}"  # (sign, log|det|): the sign is constant
SLOGDET_TANGENT = "np.stack((np.zeros_like(y[1]), np.trace(np.linalg.solve(x, d_x), axis1=-2, axis2=-1)))"
INV = "-np.swapaxes(y, -1, -2) @ d_y @ np.swapaxes(y, -1, -2)"
SOLVED = "np.linalg.solve(np.swapaxes(a, -1, -2), d_z)"
SOLVE = {"a": f"-runtime.matmul_left_adjoint({SOLVED}, a, z)", "b": SOLVED}
SOLVE_TANGENT = "np.linalg.solve(a, d_b) - np.linalg.solve(a, d_a @ z)"
# of a symmetric x: the adjoint sym(L^-T P L^-1) with P = lower_halved(L^T d_y), and the tangent L lower_halved(L^-1 d_x L^-T),
# each L^-1 by a solve of its own (B^T solved for the one on the right: (L^-T B^T)^T = B L^-1)
LOWER_T = "np.swapaxes(y, -1, -2)"
CHOLESKY = (f"runtime.symmetrized(np.linalg.solve({LOWER_T}, np.swapaxes(np.linalg.solve({LOWER_T}, "
            f"np.swapaxes(runtime.lower_halved({LOWER_T} @ d_y), -1, -2)), -1, -2)))")
CHOLESKY_TANGENT = ("y @ runtime.lower_halved(np.linalg.solve(y, np.swapaxes(np.linalg.solve(y, "
                    "np.swapaxes(d_x, -1, -2)), -1, -2)))")

# run-time helpers of generated code (so that it can be differentiated again)
MATMUL_LEFT = {"g": "d_a @ y", "x": ZERO, "y": "runtime.matmul_right_adjoint(g, d_a, y)"}
MATMUL_LEFT_TANGENT = "runtime.matmul_left_adjoint(d_g, x, y) + runtime.matmul_left_adjoint(g, x, d_y)"
MATMUL_RIGHT = {"g": "x @ d_b", "x": "runtime.matmul_left_adjoint(g, x, d_b)", "y": ZERO}
MATMUL_RIGHT_TANGENT = "runtime.matmul_right_adjoint(d_g, x, y) + runtime.matmul_right_adjoint(g, d_x, y)"
INNER_LEFT = {"g": "np.inner(d_a, y)", "x": ZERO, "y": "runtime.inner_right_adjoint(g, d_a, y)"}
INNER_LEFT_TANGENT = "runtime.inner_left_adjoint(d_g, x, y) + runtime.inner_left_adjoint(g, x, d_y)"
INNER_RIGHT = {"g": "np.inner(x, d_b)", "x": "runtime.inner_left_adjoint(g, x, d_b)", "y": ZERO}
INNER_RIGHT_TANGENT = "runtime.inner_right_adjoint(d_g, x, y) + runtime.inner_right_adjoint(g, d_x, y)"
PARTS = {"parts": ZERO, "k": NOT_DIFFERENTIABLE}  # the slices of concatenate, hstack, vstack, each beside its adjoint
CONCATENATE_PART = "runtime.concatenate_part(d_y, parts, k, axis)"
CONCATENATE_UNPART = "runtime.concatenate_unpart(d_y, g, parts, k, axis)"

# fmt: off
# ---- operators, and the functions they are ---------------------------------------------------
derivative("z = x + y | np.add",                        x="1", y="1")
derivative("z = x - y | np.subtract",                   x="1", y="-1")
derivative("z = x * y | np.multiply",                   x="y", y="x")
derivative("z = x / y | np.divide",                     x="1 / y", y="-z / y", domain={"x": REAL, "y": POSITIVE})
derivative("z = x ** y | pow | math.pow | np.power",    **POWER, domain={"x": POSITIVE, "y": REAL})
derivative("y = -x | np.negative",                      x="-1")
derivative("y = +x",                                    x="1")
adjoint("z = x @ y",            tangent="d_x @ y + x @ d_y", sums_back=True, array_code=True, **MATMUL)
adjoint("y = x[index]",         tangent="d_x[index]", x="runtime.unindex(d_y, x, np.s_[index])",
        index=NOT_DIFFERENTIABLE, array_code=True)

# ---- elementwise functions -------------------------------------------------------------------
derivative("y = math.sin(x) | np.sin",                  x="cos(x)")
derivative("y = math.cos(x) | np.cos",                  x="-sin(x)")
derivative("y = math.tan(x) | np.tan",                  x="1 + y * y", domain=(-1.2, 1.2))
derivative("y = math.asin(x) | np.arcsin",              x="1 / sqrt(1 - x * x)", domain=UNIT)
derivative("y = math.acos(x) | np.arccos",              x="-1 / sqrt(1 - x * x)", domain=UNIT)
derivative("y = math.atan(x) | np.arctan",              x="1 / (1 + x * x)")
derivative("z = math.atan2(y, x) | np.arctan2",         **ANGLE, domain=POSITIVE)
derivative("y = math.sinh(x) | np.sinh",                x="cosh(x)")
derivative("y = math.cosh(x) | np.cosh",                x="sinh(x)")
derivative("y = math.tanh(x) | np.tanh",                x="1 - y * y")
derivative("y = math.asinh(x) | np.arcsinh",            x="1 / sqrt(x * x + 1)")
derivative("y = math.acosh(x) | np.arccosh",            x="1 / sqrt(x * x - 1)", domain=ABOVE_ONE)
derivative("y = math.atanh(x) | np.arctanh",            x="1 / (1 - x * x)", domain=UNIT)
derivative("y = math.exp(x) | np.exp",                  x="y")
derivative("y = np.exp2(x)",                            x="y * 0.6931471805599453")                 # ln 2
derivative("y = math.expm1(x) | np.expm1",              x="y + 1")
derivative("y = math.log(x) | np.log",                  x="1 / x", domain=POSITIVE)
derivative("y = math.log(x, base)",                     **LOG_BASE, domain={"x": POSITIVE, "base": ABOVE_ONE})
derivative("y = math.log2(x) | np.log2",                x="1 / (x * 0.6931471805599453)", domain=POSITIVE)  # ln 2
derivative("y = math.log10(x) | np.log10",              x="1 / (x * 2.302585092994046)", domain=POSITIVE)   # ln 10
derivative("y = math.log1p(x) | np.log1p",              x="1 / (1 + x)", domain=(-0.5, 2.0))
derivative("z = np.logaddexp(x, y)",                    x="runtime.sigmoid(x - y)", y="runtime.sigmoid(y - x)")
derivative("z = np.logaddexp2(x, y)",                   x="runtime.sigmoid((x - y) * 0.6931471805599453)",
           y="runtime.sigmoid((y - x) * 0.6931471805599453)")                                        # ln 2
derivative("y = math.sqrt(x) | np.sqrt",                x="0.5 / y", domain=POSITIVE)
derivative("y = np.cbrt(x)",                            x="1 / (3 * y * y)", domain=POSITIVE)
derivative("y = np.square(x)",                          x="2 * x")
derivative("y = np.reciprocal(x)",                      x="-y * y", domain=POSITIVE)
derivative("z = math.hypot(x, y) | np.hypot",           x="x / z", y="y / z")
derivative("y = np.sinc(x)",                            x=SINC_SLOPE)                               # 0 at 0
derivative("y = math.erf(x)",                           x="1.1283791670955126 * exp(-x * x)")       # 2 / sqrt(pi)
derivative("y = math.erfc(x)",                          x="-1.1283791670955126 * exp(-x * x)")
derivative("y = abs(x) | math.fabs | np.abs | np.fabs", x="sign(x)")                                # 0 at 0
derivative("y = math.ldexp(x, i)",                      x="2.0 ** i", i=NOT_DIFFERENTIABLE)
derivative("z = max(x, y) | np.maximum | np.fmax",      **LARGER, number="max")
derivative("z = min(x, y) | np.minimum | np.fmin",      **SMALLER, number="min")
derivative("z = max(x, y, *xs)",                        **LARGEST, number="max")
derivative("z = min(x, y, *xs)",                        **LARGEST, number="min")
derivative("y = np.clip(x, lo, hi) | x.clip",           **CLIPPED, domain=BOUNDS)
adjoint("y = np.where(c, a, b)",                        c=ZERO, **WHERE, elementwise=True,
        tangent="np.where(c, d_a, 0.0) + np.where(c, 0.0, d_b)")
derivative("y = float(x) | np.float64",                 x="1", number="float")
derivative("y = round(x, ndigits)",                     x=ZERO, ndigits=NOT_DIFFERENTIABLE, number=True)
no_derivative("x < y", "x <= y", "x > y", "x >= y", "x == y", "x != y", "int(x)", "round(x)",
              "math.floor(x) | np.floor", "math.ceil(x) | np.ceil", "math.trunc(x)", "np.sign(x)", number="int round")

# ---- reductions ------------------------------------------------------------------------------
adjoint("y = np.sum(x, axis=None, keepdims=False) | x.sum",  reduction="sum", x=SUM, tangent=SUM_TANGENT)
adjoint("y = np.mean(x, axis=None, keepdims=False) | x.mean", reduction="mean", x=MEAN, tangent=MEAN_TANGENT)
adjoint("y = np.prod(x, axis=None, keepdims=False) | x.prod", reduction="prod", x=PROD, tangent=PROD_TANGENT)
adjoint("y = np.max(x, axis=None, keepdims=False) | x.max | np.amax", reduction="max",        # ties share
        x=EXTREMUM, tangent=EXTREMUM_TANGENT)
adjoint("y = np.min(x, axis=None, keepdims=False) | x.min | np.amin", reduction="min",
        x=EXTREMUM, tangent=EXTREMUM_TANGENT)
adjoint("y = np.var(x, axis=None, ddof=0, keepdims=False) | x.var", reduction="var", ddof=STATIC,
        x=VAR, tangent=VAR_TANGENT)
adjoint("y = np.std(x, axis=None, ddof=0, keepdims=False) | x.std", reduction="std", ddof=STATIC,
        x=STD, tangent=STD_TANGENT)
adjoint("y = np.linalg.norm(x, ord=None, axis=None, keepdims=False)", reduction="norm", ord=STATIC,
        x=NORM, tangent=NORM_TANGENT)

# ---- products ---------------------------------------------------------------------------------
adjoint("z = np.matmul(x, y)",         tangent="np.matmul(d_x, y) + np.matmul(x, d_y)", sums_back=True, **MATMUL)
adjoint("z = np.dot(x, y) | x.dot",    tangent="np.dot(d_x, y) + np.dot(x, d_y)", sums_back=True, **MATMUL)
adjoint("z = np.outer(x, y)",          tangent="np.outer(d_x, y) + np.outer(x, d_y)", **OUTER)
adjoint("z = np.inner(x, y)",          tangent="np.inner(d_x, y) + np.inner(x, d_y)", **INNER)
adjoint("z = np.einsum(spec, x, y)",   tangent="np.einsum(spec, d_x, y) + np.einsum(spec, x, d_y)", **EINSUM,
        spec=STATIC)

# ---- sums, differences and orderings along an axis ---------------------------------------------
adjoint("y = np.nansum(x, axis=None, keepdims=False)", reduction="nansum", x=NAN_SUM, tangent=NAN_SUM_TANGENT)
adjoint("y = np.nanmean(x, axis=None, keepdims=False)", reduction="nanmean", x=NAN_MEAN, tangent=NAN_MEAN_TANGENT)
adjoint("y = np.cumsum(x, axis=None) | x.cumsum",     x="runtime.cumsum_adjoint(d_y, x, axis)", axis=NOT_DIFFERENTIABLE,
        tangent="np.cumsum(d_x, axis)")
adjoint("y = np.cumprod(x, axis=None) | x.cumprod",   x=CUMPROD, axis=NOT_DIFFERENTIABLE,
        tangent="y * np.cumsum(d_x / x, axis)", domain=(0.5, 1.5))
adjoint("y = np.diff(x, n=1, axis=-1)",               x="runtime.undiff(d_y, n, axis)", n=NOT_DIFFERENTIABLE,
        axis=NOT_DIFFERENTIABLE, tangent="np.diff(d_x, n, axis=axis)")
adjoint("y = np.sort(x, axis=-1)",                    x=SORTED, axis=NOT_DIFFERENTIABLE,
        tangent="runtime.sorted_like(d_x, x, axis)")
adjoint("z = np.cross(x, y)",                         **CROSS, tangent="np.cross(d_x, y) + np.cross(x, d_y)")
adjoint("z = np.convolve(x, y, mode='full')",         **CONVOLVE, mode=STATIC,
        tangent="np.convolve(d_x, y, mode) + np.convolve(x, d_y, mode)")
adjoint("z = np.correlate(x, y, mode='valid')",       **CORRELATE, mode=STATIC,
        tangent="np.correlate(d_x, y, mode) + np.correlate(x, d_y, mode)")

# ---- linear algebra ---------------------------------------------------------------------------
adjoint("y = np.linalg.det(x)",                       x=DET, tangent=DET_TANGENT)
adjoint("y = np.linalg.slogdet(x)",                   x=SLOGDET, tangent=SLOGDET_TANGENT, unpacks=True)
adjoint("y = np.linalg.inv(x)",                       x=INV, tangent="-y @ d_x @ y")
adjoint("z = np.linalg.solve(a, b)",                  **SOLVE, tangent=SOLVE_TANGENT)
adjoint("y = np.linalg.cholesky(x)",                  x=CHOLESKY, tangent=CHOLESKY_TANGENT)

# ---- shapes -----------------------------------------------------------------------------------
adjoint("y = x.T",                                    x="d_y.T", tangent="d_x.T")
adjoint("y = np.transpose(x, axes=None)",             x=TRANSPOSED, tangent=TRANSPOSED_TANGENT, axes=STATIC)
adjoint("y = np.moveaxis(x, source, destination)",    x="np.moveaxis(d_y, destination, source)",
        source=NOT_DIFFERENTIABLE, destination=NOT_DIFFERENTIABLE, tangent="np.moveaxis(d_x, source, destination)")
adjoint("y = np.reshape(x, shape) | x.reshape(*shape)", x=RESHAPED, tangent=RESHAPED_TANGENT, shape=NOT_DIFFERENTIABLE)
adjoint("y = np.ravel(x) | x.ravel | x.flatten",      x=RESHAPED, tangent=RESHAPED_TANGENT)
adjoint("y = np.expand_dims(x, axis)",                x=RESHAPED, tangent=RESHAPED_TANGENT, axis=NOT_DIFFERENTIABLE)
adjoint("y = np.squeeze(x, axis=None) | x.squeeze",   x=RESHAPED, tangent=RESHAPED_TANGENT, axis=NOT_DIFFERENTIABLE)
adjoint("y = np.concatenate([*xs], axis=0)",          xs="runtime.concatenate_part(d_y, xs, i, axis)",
        tangent="np.concatenate(d_xs, axis=axis)", axis=NOT_DIFFERENTIABLE)
adjoint("y = np.stack([*xs], axis=0)",                xs="np.take(d_y, i, axis=axis)", axis=NOT_DIFFERENTIABLE,
        tangent="np.stack(d_xs, axis=axis)")
adjoint("y = np.hstack([*xs])",                       xs="runtime.hstack_part(d_y, xs, i)", tangent="np.hstack(d_xs)")
adjoint("y = np.vstack([*xs])",                       xs="runtime.vstack_part(d_y, xs, i)", tangent="np.vstack(d_xs)")
adjoint("y = np.array([*xs]) | np.asarray",           xs="d_y[i]", tangent="np.array(d_xs)")
adjoint("y = np.take(x, indices, axis=None)",         **TAKE, tangent="np.take(d_x, indices, axis=axis)")
adjoint("y = np.broadcast_to(x, shape)",              x="runtime.unbroadcast(d_y, x)", shape=NOT_DIFFERENTIABLE,
        tangent="np.broadcast_to(d_x, shape)")
adjoint("y = np.swapaxes(x, axis1, axis2) | x.swapaxes", x="np.swapaxes(d_y, axis1, axis2)",
        axis1=NOT_DIFFERENTIABLE, axis2=NOT_DIFFERENTIABLE, tangent="np.swapaxes(d_x, axis1, axis2)")
adjoint("y = np.split(x, sections, axis=0)",          x="runtime.unsplit(d_y, axis)", sections=NOT_DIFFERENTIABLE,
        axis=NOT_DIFFERENTIABLE, tangent="np.split(d_x, sections, axis)", unpacks=True)
adjoint("y = np.array_split(x, sections, axis=0)",    x="runtime.unsplit(d_y, axis)", sections=NOT_DIFFERENTIABLE,
        axis=NOT_DIFFERENTIABLE, tangent="np.array_split(d_x, sections, axis)", unpacks=True)
adjoint("y = np.atleast_1d(x)",                       x="runtime.unbroadcast(d_y, x)", tangent="np.atleast_1d(d_x)")
adjoint("y = np.atleast_2d(x)",                       x="runtime.unbroadcast(d_y, x)", tangent="np.atleast_2d(d_x)")
adjoint("y = np.asarray(x) | np.array | np.asanyarray | np.copy | x.copy", x="d_y", tangent="d_x")
adjoint("y = np.asarray(x, dtype) | np.array | x.astype", x=CAST, dtype=NOT_DIFFERENTIABLE,
        tangent="runtime.through_cast(d_x, dtype)")
adjoint("y = np.flip(x, axis=None)",                  x="np.flip(d_y, axis)", axis=NOT_DIFFERENTIABLE,
        tangent="np.flip(d_x, axis)")
adjoint("y = np.roll(x, shift, axis=None)",           x="np.roll(d_y, negated(shift), axis)", shift=STATIC,
        axis=NOT_DIFFERENTIABLE, tangent="np.roll(d_x, shift, axis)")
adjoint("y = np.repeat(x, repeats, axis=None) | x.repeat", x="runtime.unrepeat(d_y, x, repeats, axis)",
        repeats=NOT_DIFFERENTIABLE, axis=NOT_DIFFERENTIABLE, tangent="np.repeat(d_x, repeats, axis)")
adjoint("y = np.tile(x, reps)",                       x="runtime.untile(d_y, x, reps)", reps=NOT_DIFFERENTIABLE,
        tangent="np.tile(d_x, reps)")
adjoint("y = np.triu(x, k=0)",                        x="np.triu(d_y, k)", k=NOT_DIFFERENTIABLE,
        tangent="np.triu(d_x, k)")
adjoint("y = np.tril(x, k=0)",                        x="np.tril(d_y, k)", k=NOT_DIFFERENTIABLE,
        tangent="np.tril(d_x, k)")
adjoint("y = np.diag(x, k=0)",                        x="runtime.undiag(d_y, x, k)", k=NOT_DIFFERENTIABLE,
        tangent="np.diag(d_x, k)")
adjoint("y = np.trace(x, offset=0, axis1=0, axis2=1) | x.trace", x="runtime.untrace(d_y, x, offset, axis1, axis2)",
        offset=NOT_DIFFERENTIABLE, axis1=NOT_DIFFERENTIABLE, axis2=NOT_DIFFERENTIABLE,
        tangent="np.trace(d_x, offset, axis1=axis1, axis2=axis2)")
adjoint("y = np.diagonal(x, offset=0, axis1=0, axis2=1) | x.diagonal",
        x="runtime.undiagonal(d_y, x, offset, axis1, axis2)", offset=NOT_DIFFERENTIABLE, axis1=NOT_DIFFERENTIABLE,
        axis2=NOT_DIFFERENTIABLE, tangent="np.diagonal(d_x, offset, axis1=axis1, axis2=axis2)")
adjoint("y = np.take_along_axis(x, indices, axis)",   x="runtime.untake_along_axis(d_y, x, indices, axis)",
        indices=NOT_DIFFERENTIABLE, axis=NOT_DIFFERENTIABLE, tangent="np.take_along_axis(d_x, indices, axis)")
adjoint("y = np.pad(x, pad_width, mode='constant')",  x=PAD, pad_width=NOT_DIFFERENTIABLE, mode=STATIC,
        tangent="np.pad(d_x, pad_width)")
no_derivative("x.shape | np.shape", "x.ndim | np.ndim", "x.size | np.size", "np.broadcast(*xs)",
              "np.zeros(shape)", "np.ones(shape)", "np.zeros_like(x)", "np.ones_like(x)", "np.eye(n)",
              "np.arange(n)", "np.arange(a, b)", "np.arange(a, b, step)", "np.tri(N, M=None, k=0)",
              "np.argsort(x, axis=-1)", "np.isnan(x)", "np.logical_not(x)",
              elementwise=False, number="x.shape np.shape x.ndim np.ndim x.size np.size")
adjoint("y = len(x)", x=ZERO, number="len", array_code=True)  # of an array: code that calls it takes arrays

# ---- run-time helpers of generated code (so that it can be differentiated again) -----------
adjoint("s = runtime.checked_seed(y, seed, *wrt)",     y=ZERO, seed="d_s", wrt=ZERO, tangent="d_seed")  # seed's shape
adjoint("s = runtime.checked_arguments(seed, *wrt)",   seed="d_s", wrt=ZERO, tangent="d_seed")
adjoint("y = runtime.unbroadcast(x, like)",            x="runtime.broadcast_like(d_y, x)", like=ZERO,
        tangent="runtime.unbroadcast(d_x, like)")
adjoint("y = runtime.broadcast_like(x, like)",         x="runtime.unbroadcast(d_y, x)", like=ZERO,
        tangent="runtime.broadcast_like(d_x, like)")
adjoint("y = runtime.zero_gradient(x)",                x=ZERO)
adjoint("y = runtime.unindex(x, like, index)",         x="d_y[index]", like=ZERO, index=NOT_DIFFERENTIABLE,
        tangent="runtime.unindex(d_x, like, index)")
adjoint("a = runtime.matmul_left_adjoint(g, x, y)",    **MATMUL_LEFT, tangent=MATMUL_LEFT_TANGENT)
adjoint("b = runtime.matmul_right_adjoint(g, x, y)",   **MATMUL_RIGHT, tangent=MATMUL_RIGHT_TANGENT)
adjoint("a = runtime.inner_left_adjoint(g, x, y)",     **INNER_LEFT, tangent=INNER_LEFT_TANGENT)
adjoint("b = runtime.inner_right_adjoint(g, x, y)",    **INNER_RIGHT, tangent=INNER_RIGHT_TANGENT)
derivative("s = runtime.sigmoid(x)",                   x="s * (1 - s)")
derivative("z = runtime.scaled(x, seed)",              x="seed", seed="x")
adjoint("y = runtime.concatenate_part(g, [*parts], k, axis=0)", g=CONCATENATE_UNPART, axis=NOT_DIFFERENTIABLE,
        tangent="runtime.concatenate_part(d_g, parts, k, axis)", **PARTS)
adjoint("y = runtime.concatenate_unpart(x, like, [*parts], k, axis=0)", x=CONCATENATE_PART, like=ZERO,
        axis=NOT_DIFFERENTIABLE, tangent="runtime.concatenate_unpart(d_x, like, parts, k, axis)", **PARTS)
adjoint("y = runtime.hstack_part(g, [*parts], k)",     g="runtime.hstack_unpart(d_y, g, parts, k)",
        tangent="runtime.hstack_part(d_g, parts, k)", **PARTS)
adjoint("y = runtime.hstack_unpart(x, like, [*parts], k)", x="runtime.hstack_part(d_y, parts, k)", like=ZERO,
        tangent="runtime.hstack_unpart(d_x, like, parts, k)", **PARTS)
adjoint("y = runtime.vstack_part(g, [*parts], k)",     g="runtime.vstack_unpart(d_y, g, parts, k)",
        tangent="runtime.vstack_part(d_g, parts, k)", **PARTS)
adjoint("y = runtime.vstack_unpart(x, like, [*parts], k)", x="runtime.vstack_part(d_y, parts, k)", like=ZERO,
        tangent="runtime.vstack_unpart(d_x, like, parts, k)", **PARTS)
adjoint("y = runtime.untake(x, like, indices, axis=None)", x="np.take(d_y, indices, axis=axis)", like=ZERO,
        indices=NOT_DIFFERENTIABLE, axis=NOT_DIFFERENTIABLE, tangent="runtime.untake(d_x, like, indices, axis)")
adjoint("y = runtime.unsplit(g, axis=0)",              g="runtime.resplit(d_y, len(g), axis)", axis=NOT_DIFFERENTIABLE,
        tangent="runtime.unsplit(d_g, axis)")
adjoint("y = runtime.resplit(g, pieces, axis=0)",      g="runtime.unsplit(d_y, axis)", pieces=NOT_DIFFERENTIABLE,
        axis=NOT_DIFFERENTIABLE, tangent="runtime.resplit(d_g, pieces, axis)")
adjoint("y = runtime.cumsum_adjoint(g, x, axis=None)", g="np.cumsum(d_y, axis)", x=ZERO, axis=NOT_DIFFERENTIABLE,
        tangent="runtime.cumsum_adjoint(d_g, x, axis)")
adjoint("y = runtime.unsort(g, x, axis=-1)",           g="runtime.sorted_like(d_y, x, axis)", x=ZERO,
        axis=NOT_DIFFERENTIABLE, tangent="runtime.unsort(d_g, x, axis)")
adjoint("y = runtime.sorted_like(g, x, axis=-1)",      g="runtime.unsort(d_y, x, axis)", x=ZERO,
        axis=NOT_DIFFERENTIABLE, tangent="runtime.sorted_like(d_g, x, axis)")
adjoint("y = runtime.undiff(g, n, axis)",               g="np.diff(d_y, n, axis=axis)", n=NOT_DIFFERENTIABLE,
        axis=NOT_DIFFERENTIABLE, tangent="runtime.undiff(d_g, n, axis)")
adjoint("y = runtime.unrepeat(g, x, repeats, axis=None)", g="np.repeat(d_y, repeats, axis)", x=ZERO,
        repeats=NOT_DIFFERENTIABLE, axis=NOT_DIFFERENTIABLE, tangent="runtime.unrepeat(d_g, x, repeats, axis)")
adjoint("y = runtime.untile(g, x, reps)",              g="np.tile(d_y, reps)", x=ZERO, reps=NOT_DIFFERENTIABLE,
        tangent="runtime.untile(d_g, x, reps)")
adjoint("y = runtime.untrace(g, x, offset, axis1, axis2)", g="np.trace(d_y, offset, axis1=axis1, axis2=axis2)", x=ZERO,
        offset=NOT_DIFFERENTIABLE, axis1=NOT_DIFFERENTIABLE, axis2=NOT_DIFFERENTIABLE,
        tangent="runtime.untrace(d_g, x, offset, axis1, axis2)")
adjoint("y = runtime.undiagonal(g, x, offset, axis1, axis2)", g="np.diagonal(d_y, offset, axis1=axis1, axis2=axis2)",
        x=ZERO, offset=NOT_DIFFERENTIABLE, axis1=NOT_DIFFERENTIABLE, axis2=NOT_DIFFERENTIABLE,
        tangent="runtime.undiagonal(d_g, x, offset, axis1, axis2)")
adjoint("y = runtime.undiag(g, x, k=0)",               g="np.diag(d_y, k)", x=ZERO, k=NOT_DIFFERENTIABLE,
        tangent="runtime.undiag(d_g, x, k)")
adjoint("y = runtime.untake_along_axis(g, x, indices, axis)", g="np.take_along_axis(d_y, indices, axis)", x=ZERO,
        indices=NOT_DIFFERENTIABLE, axis=NOT_DIFFERENTIABLE, tangent="runtime.untake_along_axis(d_g, x, indices, axis)")
adjoint("y = runtime.unpad(g, pad_width)",             g="np.pad(d_y, pad_width)", pad_width=NOT_DIFFERENTIABLE,
        tangent="runtime.unpad(d_g, pad_width)")
adjoint("f = runtime.full_convolution(g, x, y, mode, correlate)",
        g="runtime.convolution_part(d_f, x, y, mode, correlate)",
        x=ZERO, y=ZERO, mode=NOT_DIFFERENTIABLE, correlate=NOT_DIFFERENTIABLE,
        tangent="runtime.full_convolution(d_g, x, y, mode, correlate)")
adjoint("p = runtime.convolution_part(g, x, y, mode, correlate)",
        g="runtime.full_convolution(d_p, x, y, mode, correlate)",
        x=ZERO, y=ZERO, mode=NOT_DIFFERENTIABLE, correlate=NOT_DIFFERENTIABLE,
        tangent="runtime.convolution_part(d_g, x, y, mode, correlate)")
adjoint("y = runtime.through_cast(g, dtype)",          g="runtime.through_cast(d_y, dtype)", dtype=NOT_DIFFERENTIABLE,
        tangent="runtime.through_cast(d_g, dtype)")
adjoint("y = runtime.spectral_norm_adjoint(g, x, axis, keepdims)",
        g="runtime.spectral_norm_tangent(d_y, x, axis, keepdims)",
        x=NOT_DIFFERENTIABLE, axis=NOT_DIFFERENTIABLE, keepdims=NOT_DIFFERENTIABLE,  # no second derivative
        tangent="runtime.spectral_norm_adjoint(d_g, x, axis, keepdims)")
adjoint("t = runtime.spectral_norm_tangent(d, x, axis, keepdims)",
        d="runtime.spectral_norm_adjoint(d_t, x, axis, keepdims)",
        x=NOT_DIFFERENTIABLE, axis=NOT_DIFFERENTIABLE, keepdims=NOT_DIFFERENTIABLE,
        tangent="runtime.spectral_norm_tangent(d_d, x, axis, keepdims)")
derivative("s = runtime.tie_share(z, v, [*values])",   z=ZERO, v=ZERO, values=ZERO)
adjoint("y = runtime.lower_halved(x)",                 x="runtime.lower_halved(d_y)", tangent="runtime.lower_halved(d_x)")
adjoint("y = runtime.symmetrized(x)",                  x="runtime.symmetrized(d_y)", tangent="runtime.symmetrized(d_x)")
# Rules over lists a function builds (a loop appending, a comprehension): see docs/design.md, "Lists".
list_rule("n = len(xs)",                                xs=ZERO, tangent=None)
list_rule("y = sum(xs)",                                xs="runtime.repeated(d_y, xs)", tangent="sum(d_xs)")
list_rule("y = max(xs)",                                xs="runtime.tie_shares(d_y, y, xs)",
          tangent="runtime.tied_tangent(d_xs, y, xs)")
list_rule("y = min(xs)",                                xs="runtime.tie_shares(d_y, y, xs)",
          tangent="runtime.tied_tangent(d_xs, y, xs)")
list_rule("y = np.stack(xs)",                           xs="list(d_y)", tangent="np.stack(d_xs)")
list_rule("y = np.stack(xs, axis)",                     xs="list(np.moveaxis(d_y, axis, 0))", axis=NOT_DIFFERENTIABLE,
          tangent="np.stack(d_xs, axis=axis)")
list_rule("y = np.array(xs) | np.asarray",              xs="list(d_y)", tangent="np.array(d_xs)")
list_rule("ys = list(x)",                               x="np.array(d_ys)", tangent="list(d_x)", lists=(),
          makes_list=True)
list_rule("ys = runtime.repeated(x, xs)",               x="sum(d_ys)", xs=ZERO, tangent="runtime.repeated(d_x, xs)",
          makes_list=True)
list_rule("ys = runtime.tie_shares(g, y, xs)",          g="runtime.tied_tangent(d_ys, y, xs)", y=ZERO, xs=ZERO,
          tangent="runtime.tie_shares(d_g, y, xs)", makes_list=True)
list_rule("t = runtime.tied_tangent(ts, y, xs)",        ts="runtime.tie_shares(d_t, y, xs)", y=ZERO, xs=ZERO,
          tangent="runtime.tied_tangent(d_ts, y, xs)", lists=("ts", "xs"))
# fmt: on
