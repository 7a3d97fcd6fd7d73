"""docs/primitives.md: the primitive table as a reader sees it.

Takes the table's entries (`rules.all_entries`) and gives the page's text,
one row per entry with its spellings; `tests/test_docs.py` fails when the
page in docs/ differs from it (see `REGENERATE`).
"""

import gast

from .rules import MARKERS, MODULE_FUNCTIONS, NOT_DIFFERENTIABLE, STATIC, all_entries

REGENERATE = (
    "python -c \"from astgrad.primitives_doc import markdown; print(markdown(), end='')\" > docs/primitives.md"
)

INTRODUCTION = [
    "Each row is one mathematical function and the ways a user may spell it: after the first",
    "spelling, `np.sin(x)` is the same function as `math.sin(x)`, `x.sum(...)` as `np.sum(x, ...)`.",
    "In the templates, " + ", ".join(f"`{name}`" for name in sorted(MODULE_FUNCTIONS)) + " name the function",
    "of the module the user called: the partial `cos(x)` is `math.cos(x)` for `math.sin(x)` and",
    "`np.cos(x)` for `np.sin(x)`; for an operator or a builtin (`x ** y`, `abs`) it is `math`'s in",
    "scalar code and NumPy's in code that uses arrays. `math` has no `sign`: there it is written",
    "`float(x > 0) - float(x < 0)`.",
    "",
    "Elementwise entries give the partial derivative `∂y/∂x` of the output with respect to",
    "each input; the reverse stage turns it into the adjoint line `d_x = d_y * ∂y/∂x`",
    "(adding to `d_x` when `x` is used more than once, and summing over broadcast axes",
    "when `x` was broadcast). The other entries give the adjoint contribution `d_x = ...`",
    "itself, in terms of the output's adjoint `d_y`; `i` is the position of an input in a",
    "list of inputs. Parts that depend only on constant arguments (`axis`, `keepdims`)",
    "are decided when the template is instantiated: generated code shows one branch.",
    "Two shorthands keep reductions short: `expand(v)` is `v` with the reduced axes put",
    "back with length 1 (`np.expand_dims(v, axis)`, or `v` itself when `axis` is None or",
    "`keepdims` is true), and `keep_dims(np.f(v))` is `np.f(v, axis=axis, keepdims=True)`",
    "(or `np.f(v)` when `axis` is None), whose result broadcasts against `x`; `reduced(np.f(v))`",
    "is the entry's own reduction applied to `v`, `np.f(v, axis=axis, keepdims=keepdims)`.",
    "",
    "`ZERO`: the derivative is zero wherever it exists (the value is piecewise constant).",
    "`NOT_DIFFERENTIABLE`: an integer argument (a shape, an index); a gradient flowing into it is an error.",
    "`STATIC`: the same, and the argument must be a constant written in the call (`axis=0`).",
    "",
    "The tangent column is forward mode: `d_v` there is the tangent of `v`, and the output's",
    "tangent is linear in the inputs' tangents. For elementwise entries it is built from the",
    "partials; the others give it as a sum of terms, and the forward stage leaves out the terms",
    "whose tangents are zero (an input that does not depend on a differentiated parameter).",
]

CONVENTIONS = [
    "Conventions at kinks and ties: `abs` and `fabs` have derivative 0 at 0 (the sign",
    "function); `max`/`min` of equal values (of two or more arguments), and `np.max`/`np.min`",
    "over tied elements, share the gradient equally; `np.clip` passes the gradient to `x` where",
    "`x` lies within the bounds, the bounds included, and otherwise to the bound that is the",
    "result (`hi` wherever `lo > hi`, as NumPy returns `hi` there). `np.sort` is a permutation:",
    "tied elements keep their order (a stable sort), and each gets the gradient of the position",
    "it is sorted to, as in JAX. `np.sinc` has derivative 0 at 0, its limit. `np.nansum` and",
    "`np.nanmean` pass no gradient to NaN elements. `np.linalg.cholesky` reads its input as",
    "symmetric: its adjoint is symmetric, and its tangent is right for symmetric directions.",
    "`np.linalg.norm(x, 2)` of a matrix is its largest singular value, with the adjoint `u v^T`",
    "of the singular vectors `np.linalg.svd` gives (where that value is repeated the norm has no",
    "derivative); it has no second derivative.",
    "`np.prod` and `np.cumprod` divide by `x`, so an input with exact zeros",
    "gets `nan`/`inf` entries; `np.std` and `np.linalg.norm` divide by the result, so their",
    "gradient at zero spread or at the zero vector is `nan`; `np.linalg.det`, `slogdet`, `inv`",
    "and `solve` need an invertible matrix.",
    "",
    "Tuple results: `np.split`, `np.array_split` and `np.linalg.slogdet` give",
    "a tuple of arrays of one shape, unpacked into names (`q, p = np.split(x, 2)`) or indexed;",
    "their adjoint `d_y` is the pieces' adjoints stacked into one array, so `np.array_split` into",
    "pieces of different lengths has no derivative (an error says so when the gradient runs).",
]


REGISTERED = [
    "Rules given with `astgrad.derivative` and `astgrad.adjoint`, in the order they were registered;",
    "they replace the table's rules for the same functions.",
]
SCIPY = [
    "## SciPy",
    "",
    "From `astgrad/primitives_scipy.py`, when SciPy is installed (`pip install astgrad[scipy]`);",
    "astgrad loads these entries, and SciPy, only when differentiated code calls SciPy. The",
    "distributions' methods are called as SciPy documents them: shape parameters first, then",
    "`loc` and `scale` by position or keyword (`norm.logpdf(x, mu, sigma)`,",
    "`gamma.cdf(x, a, scale=s)`), through any alias (`from scipy.stats import norm`,",
    "`Phi = stats.norm.cdf`). Their partials are written with `z = (x - loc) / scale`",
    "spelled out, in the special functions and NumPy, so that their own derivatives come",
    "from the table. The multivariate normal takes a variance, the diagonal of a covariance",
    "or a covariance matrix (its adjoint is the symmetric one); it has no second derivative.",
]
HEADER = ["| primitive | derivative | tangent | test domain |", "| --- | --- | --- | --- |"]


def markdown():
    """docs/primitives.md: the table as a reader sees it (see REGENERATE)."""
    lines = ["# Primitives", "", f"Generated from `astgrad/primitives.py` by `{REGENERATE}`;",
             "a test fails when this page is stale.", "", *INTRODUCTION, "", *HEADER]  # fmt: skip
    entries = all_entries()
    lines += _rows(e for e in entries if not e.registered and not is_scipy_entry(e))
    lines += ["", *CONVENTIONS, ""]
    scipy = [e for e in entries if not e.registered and is_scipy_entry(e)]
    if scipy:
        lines += [*SCIPY, "", *HEADER, *_rows(scipy), ""]
    registered = [e for e in entries if e.registered]
    if registered:  # rules this program added with astgrad.derivative and astgrad.adjoint
        lines += ["## Registered by this program", "", *REGISTERED, "", *HEADER, *_rows(registered), ""]
    return "\n".join(lines)


def _rows(entries):
    return [
        f"| {' | '.join([_spellings(e), _templates(e), _escaped(tangent_text(e)), _domains(e)])} |" for e in entries
    ]


def is_scipy_entry(entry):
    """Whether `entry` is one of SciPy's, shown in a group of their own."""
    return entry.rules[0].expression.startswith("scipy.")


def _spellings(entry):
    first, *others = entry.rules
    return "<br>".join([f"`{first.signature}`"] + [f"`{rule.expression}`" for rule in others])


def _templates(entry):
    rule = entry.rules[0]
    return "<br>".join(_template_text(entry, rule.output, p) for p in rule.params)


def _domains(entry):
    rule = entry.rules[0]
    return ", ".join(
        f"{p} ∈ [{rule.domain[p][0]:g}, {rule.domain[p][1]:g}]"
        for p in rule.params
        if entry.texts[p] not in (NOT_DIFFERENTIABLE, STATIC) and entry.form == "partial"
    )


def tangent_text(entry):
    """The output's tangent as a line of Python (``d_y = cos(x) * d_x``), or "—" if it has none."""
    output = entry.rules[0].output
    if entry.form == "adjoint":
        return f"`d_{output} = {entry.tangent_text}`" if entry.tangent_text else "—"
    terms = []
    for param in entry.rules[0].params:
        partial = entry.texts[param]
        if partial in MARKERS:
            continue
        top = gast.parse(partial).body[0].value
        if isinstance(top, (gast.Compare, gast.IfExp)) or (
            isinstance(top, gast.BinOp) and isinstance(top.op, (gast.Add, gast.Sub))
        ):
            partial = f"({partial})"
        terms.append({"1": f"d_{param}", "-1": f"-d_{param}"}.get(partial, f"{partial} * d_{param}"))
    if not terms:
        return "—"
    text = terms[0] + "".join(f" - {t[1:]}" if t.startswith("-") else f" + {t}" for t in terms[1:])
    return f"`d_{output} = {text}`"


def _template_text(entry, output, param):
    template = entry.texts[param]
    text = template if template in MARKERS else _escaped(f"`{template}`")
    if entry.form == "partial":
        return f"∂{output}/∂{param} = {text}"
    return f"d_{param} = {text}" if template not in MARKERS else f"{param}: {text}"


def _escaped(text):
    return text.replace("|", "\\|")
