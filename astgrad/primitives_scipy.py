"""The SciPy part of the primitive table: `scipy.special` functions and `scipy.stats` distributions.

SciPy is an optional dependency (``pip install astgrad[scipy]``): this module
imports it, so `rules` loads it only when the user's code calls a SciPy
function (or when the whole table is listed). The entries are in the table's
language (`rules.py`), as in `primitives.py`.

The distributions' entries are elementwise: each method (``logpdf``, ``pdf``,
``cdf``, ``logcdf``, ``sf``; ``logpmf``, ``pmf`` of the discrete ones) is a
primitive keyed by the distribution's bound method, called as SciPy documents
it (``norm.logpdf(x, loc, scale)``, shape parameters first, ``loc`` and
``scale`` by position or keyword). Their partials are written with the
special functions and NumPy, so that their own derivatives (a Hessian) come
from the table. A continuous distribution is given by its standardized
log-density ``f`` in ``z = (x - loc) / scale``, its score ``df/dz``, and the
partials of ``f`` (and of the standardized cdf, where it has one) with
respect to its shape parameters; `continuous` writes out the five entries.
Shape parameters whose cdf has no closed-form derivative (``t``'s ``df``,
``gamma``'s ``a``, ``beta``'s ``a`` and ``b``, ``nbinom``'s ``n``) are
`NOT_DIFFERENTIABLE` in the cdf, logcdf and sf; counts of the discrete distributions (``k``) and
their ``loc`` always are.

`missing` words the error for a SciPy function or distribution method that
is not in the table.
"""

import ast

import scipy
import scipy.special
import scipy.stats

from .rules import NOT_DIFFERENTIABLE, POSITIVE, REAL, STATIC, UNIT, adjoint, derivative

NAMESPACE = {"scipy": scipy, "special": scipy.special}

Z = "((x - loc) / scale)"
LOG_SQRT_2PI = "0.9189385332046727"
LOCATION_SCALE = {"x": REAL, "loc": REAL, "scale": POSITIVE}
POSITIVE_SUPPORT = {"x": (1.0, 3.0), "loc": (-0.5, 0.5), "scale": (0.8, 1.5)}  # z stays above 0
UNIT_SUPPORT = {"x": (0.3, 0.7), "loc": (-0.1, 0.1), "scale": (0.9, 1.1)}  # z stays within (0, 1)
SHAPE = (1.5, 3.0)
METHODS = {"continuous": ("logpdf", "pdf", "cdf", "logcdf", "sf"), "discrete": ("logpmf", "pmf", "cdf", "logcdf", "sf")}


def continuous(name, log_density, score, shapes=(), shape_scores=None, cdf_shapes=None, domain=None):
    """The entries of `name`'s logpdf, pdf, cdf, logcdf and sf, from its standardized log-density.

    `log_density` and `score` (its derivative in ``z``) are written with
    ``{z}``; `shape_scores` and `cdf_shapes` give the partials of the
    log-density and of the cdf with respect to each shape parameter (a
    missing cdf partial is NOT_DIFFERENTIABLE).
    """
    shape_scores, cdf_shapes = shape_scores or {}, cdf_shapes or {}
    f, s = _in_z(log_density), _in_z(score)
    shape_scores = {p: _in_z(text) for p, text in shape_scores.items()}
    cdf_shapes = {p: _in_z(cdf_shapes[p]) if p in cdf_shapes else NOT_DIFFERENTIABLE for p in shapes}
    call = f"(x, {''.join(p + ', ' for p in shapes)}loc=0.0, scale=1.0)"
    if _is_negation(s):  # -{z}, -sign({z}), -1: written with the sign taken out
        product = Z if s == "-1" else f"{s[1:]} * {Z}"
        density = {"x": f"-{s[1:]} / scale", "loc": f"{s[1:]} / scale", "scale": f"({product} - 1) / scale"}
    else:
        density = {"x": f"({s}) / scale", "loc": f"-({s}) / scale", "scale": f"-(({s}) * {Z} + 1) / scale"}
    density.update(shape_scores)
    cdf = {"x": f"exp({f}) / scale", "loc": f"-exp({f}) / scale", "scale": f"-exp({f}) * {Z} / scale", **cdf_shapes}
    logcdf = {p: _times(text, "exp(-y)") for p, text in cdf.items()}
    logcdf.update(x=f"exp({f} - y) / scale", loc=f"-exp({f} - y) / scale", scale=f"-exp({f} - y) * {Z} / scale")
    partials = {
        "logpdf": density,
        "pdf": {p: _times(text, "y") for p, text in density.items()},
        "cdf": cdf,
        "logcdf": logcdf,
        "sf": {p: _negated(text) for p, text in cdf.items()},
    }
    domain = {**LOCATION_SCALE, **dict.fromkeys(shapes, SHAPE), **(domain or {})}
    for method in METHODS["continuous"]:
        derivative(f"y = scipy.stats.{name}.{method}{call}", **partials[method], domain=domain, namespace=NAMESPACE,
                   by_position=True)  # fmt: skip


def discrete(name, shapes, log_mass_partials, cdf_partials, domain):
    """The entries of `name`'s logpmf, pmf, cdf, logcdf and sf; the count ``k`` and ``loc`` are not differentiable."""
    call = f"(k, {', '.join(shapes)}, loc=0)"
    fixed = {"k": NOT_DIFFERENTIABLE, "loc": NOT_DIFFERENTIABLE}
    cdf_partials = {p: cdf_partials.get(p, NOT_DIFFERENTIABLE) for p in shapes}
    partials = {
        "logpmf": log_mass_partials,
        "pmf": {p: _times(text, "y") for p, text in log_mass_partials.items()},
        "cdf": cdf_partials,
        "logcdf": {p: _times(text, "exp(-y)") for p, text in cdf_partials.items()},
        "sf": {p: _negated(text) for p, text in cdf_partials.items()},
    }
    for method in METHODS["discrete"]:
        derivative(f"y = scipy.stats.{name}.{method}{call}", **partials[method], **fixed, domain=domain,
                   namespace=NAMESPACE, by_position=True)  # fmt: skip


def _in_z(text):
    """`text` with ``{z}`` written out, without doubled parentheses (``sign({z})``)."""
    return text.format(z=Z).replace(f"({Z})", Z)


def _times(text, factor):
    return text if text == NOT_DIFFERENTIABLE else f"{factor} * ({text})"


def _negated(text):
    if text == NOT_DIFFERENTIABLE:
        return text
    return text[1:] if _is_negation(text) else f"-({text})"


def _is_negation(text):
    """Whether `text` is ``-`` applied to one term (``-exp(a)``, not ``-a * b``)."""
    return isinstance(ast.parse(text, mode="eval").body, ast.UnaryOp) and text.startswith("-")


# the multivariate normal: the adjoints and tangent, with run-time helpers (SciPy's shapes, the covariance)
MVN = {
    "x": "runtime.unbroadcast(runtime.mvn_residual_adjoint(d_y, x, mean, cov), x)",
    "mean": "runtime.unbroadcast(-runtime.mvn_residual_adjoint(d_y, x, mean, cov), mean)",
    "cov": "runtime.mvn_cov_adjoint(d_y, x, mean, cov)",
}
MVN_TANGENT = ("runtime.mvn_residual_tangent(d_x, x, mean, cov) - runtime.mvn_residual_tangent(d_mean, x, mean, cov)"
               " + runtime.mvn_cov_tangent(d_cov, x, mean, cov)")  # fmt: skip
MVN_DENSITY = {p: text.replace("d_y", "d_y * y") for p, text in MVN.items()}
MVN_DENSITY_TANGENT = ("y * runtime.mvn_residual_tangent(d_x, x, mean, cov)"
                       " - y * runtime.mvn_residual_tangent(d_mean, x, mean, cov)"
                       " + y * runtime.mvn_cov_tangent(d_cov, x, mean, cov)")  # fmt: skip

# logsumexp and the softmaxes: with w = b * exp(x - y) the weights of x in the sum
WEIGHTS = "exp(x - expand(y))"
LOGSUMEXP = {"x": f"expand(d_y) * b * {WEIGHTS}", "b": f"runtime.unbroadcast(expand(d_y) * {WEIGHTS}, b)"}
LOGSUMEXP_TANGENT = f"reduced(np.sum(b * {WEIGHTS} * d_x)) + reduced(np.sum({WEIGHTS} * d_b))"
SOFTMAX = "y * (d_y - keep_dims(np.sum(d_y * y)))"
SOFTMAX_TANGENT = "y * (d_x - keep_dims(np.sum(y * d_x)))"
LOG_SOFTMAX = "d_y - exp(y) * keep_dims(np.sum(d_y))"
LOG_SOFTMAX_TANGENT = "d_x - keep_dims(np.sum(exp(y) * d_x))"

NORMAL_DENSITY = "0.3989422804014327 * exp(-0.5 * x * x)"  # 1 / sqrt(2 pi)
BETALN = {"a": "special.digamma(a) - special.digamma(a + b)", "b": "special.digamma(b) - special.digamma(a + b)"}
XLOGY = {"x": "log(y)", "y": "x / y"}
XLOG1PY = {"x": "np.log1p(y)", "y": "x / (1 + y)"}

# fmt: off
# ---- scipy.special ---------------------------------------------------------------------------
IN_SCIPY = dict(namespace=NAMESPACE)
derivative("y = scipy.special.gammaln(x)",          x="special.digamma(x)", domain=POSITIVE, **IN_SCIPY)
derivative("y = scipy.special.digamma(x)",          x="special.polygamma(1, x)", domain=POSITIVE, **IN_SCIPY)
derivative("y = scipy.special.polygamma(n, x)",     n=NOT_DIFFERENTIABLE, x="special.polygamma(n + 1, x)",
           domain=POSITIVE, **IN_SCIPY)
derivative("y = scipy.special.gamma(x)",            x="y * special.digamma(x)", domain=POSITIVE, **IN_SCIPY)
derivative("z = scipy.special.betaln(a, b)",        **BETALN, domain=POSITIVE, **IN_SCIPY)
derivative("y = scipy.special.erf(x)",              x="1.1283791670955126 * exp(-x * x)", **IN_SCIPY)  # 2 / sqrt(pi)
derivative("y = scipy.special.erfc(x)",             x="-1.1283791670955126 * exp(-x * x)", **IN_SCIPY)
derivative("y = scipy.special.erfinv(x)",           x="0.886226925452758 * exp(y * y)", domain=UNIT, **IN_SCIPY)
derivative("y = scipy.special.expit(x)",            x="y * (1 - y)", **IN_SCIPY)
derivative("y = scipy.special.logit(x)",            x="1 / (x * (1 - x))", domain=(0.1, 0.9), **IN_SCIPY)
derivative("y = scipy.special.log_expit(x)",        x="special.expit(-x)", **IN_SCIPY)
derivative("z = scipy.special.xlogy(x, y)",         **XLOGY, domain={"x": REAL, "y": POSITIVE}, **IN_SCIPY)
derivative("z = scipy.special.xlog1py(x, y)",       **XLOG1PY, domain={"x": REAL, "y": (-0.5, 2.0)}, **IN_SCIPY)
derivative("y = scipy.special.ndtr(x)",             x=NORMAL_DENSITY, **IN_SCIPY)
derivative("y = scipy.special.log_ndtr(x)",         x=f"exp(-0.5 * x * x - {LOG_SQRT_2PI} - y)", **IN_SCIPY)
derivative("y = scipy.special.i0(x)",               x="special.i1(x)", **IN_SCIPY)
derivative("y = scipy.special.i1(x)",               x="special.i0(x) - y / x", domain=POSITIVE, **IN_SCIPY)
adjoint("y = scipy.special.logsumexp(x, axis=None, keepdims=False, b=1.0)", reduction="logsumexp", **LOGSUMEXP,
        tangent=LOGSUMEXP_TANGENT, **IN_SCIPY)
adjoint("y = scipy.special.softmax(x, axis=None)",     axis=STATIC, x=SOFTMAX, tangent=SOFTMAX_TANGENT, **IN_SCIPY)
adjoint("y = scipy.special.log_softmax(x, axis=None)", axis=STATIC, x=LOG_SOFTMAX, tangent=LOG_SOFTMAX_TANGENT,
        **IN_SCIPY)

# ---- scipy.stats: continuous distributions, by their standardized log-density in z ---------------
continuous("norm", f"-0.5 * {{z}} ** 2 - {LOG_SQRT_2PI}", "-{z}")
continuous("t", "special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * log(df) - 0.5723649429247001"
                " - (df + 1) / 2 * np.log1p({z} ** 2 / df)",                                   # log sqrt(pi)
           "-((df + 1) * {z} / (df + {z} ** 2))", shapes=("df",),
           shape_scores={"df": "0.5 * (special.digamma((df + 1) / 2) - special.digamma(df / 2) - 1 / df"
                               " - np.log1p({z} ** 2 / df)) + (df + 1) * {z} ** 2 / (2 * df * (df + {z} ** 2))"})
continuous("gamma", "(a - 1) * log({z}) - {z} - special.gammaln(a)", "(a - 1) / {z} - 1", shapes=("a",),
           shape_scores={"a": "log({z}) - special.digamma(a)"}, domain=POSITIVE_SUPPORT)
continuous("beta", "(a - 1) * log({z}) + (b - 1) * np.log1p(-{z}) - special.betaln(a, b)",
           "(a - 1) / {z} - (b - 1) / (1 - {z})", shapes=("a", "b"),
           shape_scores={"a": "log({z}) - special.digamma(a) + special.digamma(a + b)",
                         "b": "np.log1p(-{z}) - special.digamma(b) + special.digamma(a + b)"}, domain=UNIT_SUPPORT)
continuous("expon", "-{z}", "-1", domain=POSITIVE_SUPPORT)
continuous("laplace", "-np.abs({z}) - 0.6931471805599453", "-sign({z})")                          # log 2
continuous("cauchy", "-np.log1p({z} ** 2) - 1.1447298858494002", "-(2 * {z} / (1 + {z} ** 2))")   # log pi
continuous("lognorm", f"-log(s * {{z}}) - {LOG_SQRT_2PI} - log({{z}}) ** 2 / (2 * s * s)",
           "-((1 + log({z}) / (s * s)) / {z})", shapes=("s",),
           shape_scores={"s": "(log({z}) ** 2 / (s * s) - 1) / s"},
           cdf_shapes={"s": f"-exp(-0.5 * (log({{z}}) / s) ** 2 - {LOG_SQRT_2PI}) * log({{z}}) / (s * s)"},
           domain={**POSITIVE_SUPPORT, "s": (0.3, 1.5)})

# ---- scipy.stats: discrete distributions (k counts, k - loc below is the count itself) -----------
POISSON_MASS = "exp(np.floor(k - loc) * log(mu) - mu - special.gammaln(np.floor(k - loc) + 1))"
NBINOM_TAIL = "exp((n - 1) * log(p) + np.floor(k - loc) * np.log1p(-p) - special.betaln(n, np.floor(k - loc) + 1))"
discrete("poisson", ("mu",), {"mu": "(k - loc) / mu - 1"}, {"mu": f"-{POISSON_MASS}"}, domain={"mu": POSITIVE})
discrete("nbinom", ("n", "p"), {"n": "special.digamma(k - loc + n) - special.digamma(n) + log(p)",
                                "p": "n / p - (k - loc) / (1 - p)"},
         {"p": NBINOM_TAIL}, domain={"n": (0.5, 3.0), "p": (0.2, 0.8)})

# ---- scipy.stats: the multivariate normal, in its mean and covariance (scalar, diagonal or matrix)
adjoint("y = scipy.stats.multivariate_normal.logpdf(x, mean=0.0, cov=1.0)", **MVN, tangent=MVN_TANGENT,
        by_position=True, **IN_SCIPY)
adjoint("y = scipy.stats.multivariate_normal.pdf(x, mean=0.0, cov=1.0)", **MVN_DENSITY, tangent=MVN_DENSITY_TANGENT,
        by_position=True, **IN_SCIPY)
# fmt: on

SUPPORTED = {
    "norm": METHODS["continuous"], "t": METHODS["continuous"], "gamma": METHODS["continuous"],
    "beta": METHODS["continuous"], "expon": METHODS["continuous"], "laplace": METHODS["continuous"],
    "cauchy": METHODS["continuous"], "lognorm": METHODS["continuous"], "poisson": METHODS["discrete"],
    "nbinom": METHODS["discrete"], "multivariate_normal": ("logpdf", "pdf"),
}  # fmt: skip


def missing(fn, callee):
    """(message, hint) for a SciPy function or distribution method with no entry in the table."""
    owner = getattr(fn, "__self__", None)
    method = getattr(fn, "__name__", "?")
    if "frozen" in type(owner).__name__:
        return (f"`{callee}` is a method of a frozen distribution (`norm(loc, scale)`), which astgrad does not "
                "differentiate",
                f"call the distribution's method with its parameters, e.g. `norm.{method}(x, loc, scale)`")  # fmt: skip
    if isinstance(owner, (scipy.stats.rv_continuous, scipy.stats.rv_discrete)) or type(owner).__name__.endswith("_gen"):
        name = getattr(owner, "name", None) or type(owner).__name__[: -len("_gen")]
        if method == "rvs":
            return (f"`{callee}` draws random numbers, which have no derivative and would change on every call",
                    "draw the random numbers outside the function and pass them in as a parameter")  # fmt: skip
        if name in SUPPORTED:
            return (f"`{callee}` has no derivative in astgrad: of the distribution `{name}`, astgrad differentiates "
                    + ", ".join(SUPPORTED[name]),
                    f"use `{name}.{SUPPORTED[name][0]}` or another of these methods")  # fmt: skip
        return (f"`{callee}` has no derivative in astgrad: the distribution `{name}` is not in the primitive table",
                "astgrad differentiates the distributions " + ", ".join(SUPPORTED)
                + "; or write the log-density with scipy.special and NumPy functions")  # fmt: skip
    return (f"`{callee}` has no derivative: it is a SciPy function that is not in the primitive table",
            "use a function from the primitive table (`astgrad.primitive_table()`), or write the computation "
            "with scipy.special and NumPy functions")  # fmt: skip
