"""The primitive table: every function and operator astgrad can differentiate.

Each entry is one line: a *signature* and one *partial derivative* per input.

    derivative("y = math.sin(x)", x="math.cos(x)")

The signature is Python: the output's name, ``=``, then the call (or operator
expression) with one placeholder name per input, in call order. Evaluating the
callee (`math.sin`) gives the Python object the entry is keyed by, so
``math.sin``, ``from math import sin as s`` and ``m.sin`` all find it;
operators are keyed by their `operator` function (``x * y`` is
`operator.mul`). Each partial is a Python expression in the placeholders,
which may use the output (``y``) so that generated code reuses the primal
result (the partial of ``exp`` is ``y``, not ``math.exp(x)`` again).

A partial may also be `ZERO` (the derivative is zero where it exists: ``int``,
comparisons, ``floor``) or `NOT_DIFFERENTIABLE` (an integer argument such as
``math.ldexp``'s exponent: a located error is raised if a gradient would flow
into it). Every input must have one of the three: forgetting one is an error
when the table loads.

Only partials are stored; the reverse stage builds the adjoint
``d_x = d_y * partial`` from them (and a forward stage will build the tangent
``d_y = partial * d_x`` from the same entry, so the two modes cannot drift
apart). `domain` gives the interval the generated finite-difference test
samples each input from.

Conventions at kinks and ties (tested in tests/test_primitives.py):
``abs``/``fabs`` have derivative 0 at 0 (the sign function); ``max``/``min``
of two equal values give each input half the gradient, as JAX and autograd do.
"""

import builtins
import math
import operator
from dataclasses import dataclass

import gast
import numpy as np

from . import runtime

ZERO = "ZERO"
NOT_DIFFERENTIABLE = "NOT_DIFFERENTIABLE"

REAL = (-2.0, 2.0)
POSITIVE = (0.2, 3.0)
UNIT = (-0.9, 0.9)
ABOVE_ONE = (1.1, 3.0)

BINARY_OPERATORS = {
    gast.Add: operator.add,
    gast.Sub: operator.sub,
    gast.Mult: operator.mul,
    gast.Div: operator.truediv,
    gast.Pow: operator.pow,
    gast.MatMult: operator.matmul,
    gast.FloorDiv: operator.floordiv,
    gast.Mod: operator.mod,
}
UNARY_OPERATORS = {
    gast.USub: operator.neg,
    gast.UAdd: operator.pos,
    gast.Not: operator.not_,
    gast.Invert: operator.invert,
}
COMPARISONS = {
    gast.Lt: operator.lt,
    gast.LtE: operator.le,
    gast.Gt: operator.gt,
    gast.GtE: operator.ge,
    gast.Eq: operator.eq,
    gast.NotEq: operator.ne,
}


class TableError(Exception):
    """A malformed entry in the primitive table (a bug in the table, not in user code)."""


@dataclass(frozen=True)
class Rule:
    """One entry of the table: how to differentiate `fn` called with these inputs."""

    fn: object
    signature: str  # e.g. "y = math.sin(x)"
    output: str  # the output placeholder, e.g. "y"
    params: tuple  # the input placeholders in call order, e.g. ("x",)
    partials: dict  # placeholder -> gast expression, ZERO or NOT_DIFFERENTIABLE
    references: dict  # dotted name in a partial (e.g. "math.cos") -> the object it names
    domain: dict  # placeholder -> (low, high) for the generated test

    @property
    def expression(self):
        """The signature's right-hand side: how a user calls the primitive."""
        return self.signature.split("=", 1)[1].strip()

    @property
    def is_constant(self):
        """Whether the output never carries a derivative (comparisons, int, floor, ...)."""
        return all(self.partials[p] is ZERO for p in self.params)


RULES = {}  # the primitive's object -> {number of inputs: Rule}


def derivative(signature, domain=REAL, namespace=None, **partials):
    """Add the entry `signature` with its `partials` to the table; return its Rule."""
    namespace = namespace if namespace is not None else globals()
    rule = _make_rule(signature, domain, namespace, partials)
    by_arity = RULES.setdefault(rule.fn, {})
    if len(rule.params) in by_arity:
        raise TableError(f"{signature!r}: {by_arity[len(rule.params)].signature!r} is already in the table")
    by_arity[len(rule.params)] = rule
    return rule


def lookup(fn, arity):
    """The rule for calling `fn` with `arity` inputs, or None."""
    try:
        return RULES.get(fn, {}).get(arity)
    except TypeError:  # an unhashable object is no primitive
        return None


def arities(fn):
    """The numbers of inputs the table knows `fn` with (for error messages)."""
    try:
        return sorted(RULES.get(fn, {}))
    except TypeError:
        return []


def all_rules():
    """Every rule, in the order the table lists them."""
    return [rule for by_arity in RULES.values() for rule in by_arity.values()]


def _make_rule(signature, domain, namespace, partials):
    try:
        statement = gast.parse(signature).body[0]
        output = statement.targets[0].id
        call = statement.value
    except (SyntaxError, AttributeError, IndexError) as exc:
        raise TableError(f"{signature!r}: a signature reads like 'y = math.sin(x)' ({exc})") from None
    fn, inputs = _callee_and_inputs(signature, call, namespace)
    params = tuple(_placeholder(signature, node) for node in inputs)
    if set(partials) != set(params):
        raise TableError(
            f"{signature!r}: give exactly one partial (an expression, ZERO or NOT_DIFFERENTIABLE) "
            f"for each input {params}, got {sorted(partials)}"
        )
    placeholders = set(params) | {output}
    parsed, references = {}, {}
    for param, text in partials.items():
        if text in (ZERO, NOT_DIFFERENTIABLE):
            parsed[param] = text
            continue
        parsed[param] = gast.parse(text).body[0].value
        references.update(_free_references(signature, parsed[param], placeholders, namespace))
    if not isinstance(domain, dict):
        domain = {param: domain for param in params}
    return Rule(fn, signature, output, params, parsed, references, domain)


def _callee_and_inputs(signature, call, namespace):
    if isinstance(call, gast.Call):
        return _evaluate_reference(signature, call.func, namespace), call.args + [k.value for k in call.keywords]
    if isinstance(call, gast.BinOp):
        return BINARY_OPERATORS[type(call.op)], [call.left, call.right]
    if isinstance(call, gast.UnaryOp):
        return UNARY_OPERATORS[type(call.op)], [call.operand]
    if isinstance(call, gast.Compare) and len(call.ops) == 1:
        return COMPARISONS[type(call.ops[0])], [call.left, call.comparators[0]]
    raise TableError(f"{signature!r}: the right-hand side must be one call or one operator")


def _placeholder(signature, node):
    if not isinstance(node, gast.Name):
        raise TableError(f"{signature!r}: inputs must be placeholder names")
    return node.id


def dotted_name(node):
    """'math.cos' for the expression `math.cos`, None for anything but a name chain."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, gast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _evaluate_reference(signature, node, namespace):
    name = dotted_name(node)
    if name is None:
        raise TableError(f"{signature!r}: a callee must be a name such as math.sin")
    root, *attributes = name.split(".")
    try:
        value = namespace[root] if root in namespace else getattr(builtins, root)
        for attribute in attributes:
            value = getattr(value, attribute)
    except AttributeError:
        raise TableError(f"{signature!r}: {name} does not exist") from None
    return value


def _free_references(signature, expression, placeholders, namespace):
    """The dotted module names (math.cos) a partial uses, with the objects they name."""
    references = {}
    stack = [expression]
    while stack:
        node = stack.pop()
        name = dotted_name(node)
        if name is not None and name.split(".")[0] not in placeholders:
            if "." not in name:
                raise TableError(f"{signature!r}: {name!r} is neither an input nor a dotted module name")
            references[name] = _evaluate_reference(signature, node, namespace)
        else:
            stack.extend(gast.iter_child_nodes(node))
    return references


# fmt: off
# ---- operators ---------------------------------------------------------------------------
derivative("z = x + y",  x="1", y="1")
derivative("z = x - y",  x="1", y="-1")
derivative("z = x * y",  x="y", y="x")
derivative("z = x / y",  x="1 / y", y="-z / y", domain={"x": REAL, "y": POSITIVE})
derivative("z = x ** y", x="y * x ** (y - 1)", y="z * math.log(x)", domain={"x": POSITIVE, "y": REAL})
derivative("y = -x",     x="-1")
derivative("y = +x",     x="1")
derivative("z = x < y",  x=ZERO, y=ZERO)
derivative("z = x <= y", x=ZERO, y=ZERO)
derivative("z = x > y",  x=ZERO, y=ZERO)
derivative("z = x >= y", x=ZERO, y=ZERO)
derivative("z = x == y", x=ZERO, y=ZERO)
derivative("z = x != y", x=ZERO, y=ZERO)

# ---- math ----------------------------------------------------------------------------------
derivative("y = math.sin(x)",        x="math.cos(x)")
derivative("y = math.cos(x)",        x="-math.sin(x)")
derivative("y = math.tan(x)",        x="1 + y * y", domain=(-1.2, 1.2))
derivative("y = math.asin(x)",       x="1 / math.sqrt(1 - x * x)", domain=UNIT)
derivative("y = math.acos(x)",       x="-1 / math.sqrt(1 - x * x)", domain=UNIT)
derivative("y = math.atan(x)",       x="1 / (1 + x * x)")
derivative("z = math.atan2(y, x)",   y="x / (x * x + y * y)", x="-y / (x * x + y * y)", domain=POSITIVE)
derivative("y = math.sinh(x)",       x="math.cosh(x)")
derivative("y = math.cosh(x)",       x="math.sinh(x)")
derivative("y = math.tanh(x)",       x="1 - y * y")
derivative("y = math.asinh(x)",      x="1 / math.sqrt(x * x + 1)")
derivative("y = math.acosh(x)",      x="1 / math.sqrt(x * x - 1)", domain=ABOVE_ONE)
derivative("y = math.atanh(x)",      x="1 / (1 - x * x)", domain=UNIT)
derivative("y = math.exp(x)",        x="y")
derivative("y = math.expm1(x)",      x="y + 1")
derivative("y = math.log(x)",        x="1 / x", domain=POSITIVE)
derivative("y = math.log(x, base)",  x="1 / (x * math.log(base))", base="-y / (base * math.log(base))", domain={"x": POSITIVE, "base": ABOVE_ONE})  # noqa: E501
derivative("y = math.log2(x)",       x="1 / (x * 0.6931471805599453)", domain=POSITIVE)   # ln 2
derivative("y = math.log10(x)",      x="1 / (x * 2.302585092994046)", domain=POSITIVE)    # ln 10
derivative("y = math.log1p(x)",      x="1 / (1 + x)", domain=(-0.5, 2.0))
derivative("y = math.sqrt(x)",       x="0.5 / y", domain=POSITIVE)
derivative("z = math.pow(x, y)",     x="y * x ** (y - 1)", y="z * math.log(x)", domain={"x": POSITIVE, "y": REAL})
derivative("z = math.hypot(x, y)",   x="x / z", y="y / z")
derivative("y = math.erf(x)",        x="1.1283791670955126 * math.exp(-x * x)")           # 2 / sqrt(pi)
derivative("y = math.erfc(x)",       x="-1.1283791670955126 * math.exp(-x * x)")
derivative("y = math.fabs(x)",       x="(x > 0) - (x < 0)")                                # 0 at 0
derivative("y = math.ldexp(x, i)",   x="2.0 ** i", i=NOT_DIFFERENTIABLE)
derivative("y = math.floor(x)",      x=ZERO)
derivative("y = math.ceil(x)",       x=ZERO)
derivative("y = math.trunc(x)",      x=ZERO)

# ---- builtins ------------------------------------------------------------------------------
derivative("y = abs(x)",             x="(x > 0) - (x < 0)")                                # 0 at 0
derivative("z = pow(x, y)",          x="y * x ** (y - 1)", y="z * math.log(x)", domain={"x": POSITIVE, "y": REAL})
derivative("z = max(x, y)",          x="(x > y) + 0.5 * (x == y)", y="(y > x) + 0.5 * (x == y)")  # ties: half each
derivative("z = min(x, y)",          x="(x < y) + 0.5 * (x == y)", y="(y < x) + 0.5 * (x == y)")  # ties: half each
derivative("y = float(x)",           x="1")
derivative("y = int(x)",             x=ZERO)
derivative("y = round(x)",           x=ZERO)
derivative("y = round(x, ndigits)",  x=ZERO, ndigits=NOT_DIFFERENTIABLE)

# ---- run-time helpers of generated code ----------------------------------------------------
derivative("s = runtime.scalar_seed(y, seed)", y=ZERO, seed="1")

# ---- NumPy functions (here on scalars) -----------------------------------------------------
derivative("y = np.sin(x)",          x="np.cos(x)")
derivative("y = np.cos(x)",          x="-np.sin(x)")
derivative("y = np.tan(x)",          x="1 + y * y", domain=(-1.2, 1.2))
derivative("y = np.arcsin(x)",       x="1 / np.sqrt(1 - x * x)", domain=UNIT)
derivative("y = np.arccos(x)",       x="-1 / np.sqrt(1 - x * x)", domain=UNIT)
derivative("y = np.arctan(x)",       x="1 / (1 + x * x)")
derivative("z = np.arctan2(y, x)",   y="x / (x * x + y * y)", x="-y / (x * x + y * y)", domain=POSITIVE)
derivative("y = np.sinh(x)",         x="np.cosh(x)")
derivative("y = np.cosh(x)",         x="np.sinh(x)")
derivative("y = np.tanh(x)",         x="1 - y * y")
derivative("y = np.arcsinh(x)",      x="1 / np.sqrt(x * x + 1)")
derivative("y = np.arccosh(x)",      x="1 / np.sqrt(x * x - 1)", domain=ABOVE_ONE)
derivative("y = np.arctanh(x)",      x="1 / (1 - x * x)", domain=UNIT)
derivative("y = np.exp(x)",          x="y")
derivative("y = np.exp2(x)",         x="y * 0.6931471805599453")                           # ln 2
derivative("y = np.expm1(x)",        x="y + 1")
derivative("y = np.log(x)",          x="1 / x", domain=POSITIVE)
derivative("y = np.log2(x)",         x="1 / (x * 0.6931471805599453)", domain=POSITIVE)
derivative("y = np.log10(x)",        x="1 / (x * 2.302585092994046)", domain=POSITIVE)
derivative("y = np.log1p(x)",        x="1 / (1 + x)", domain=(-0.5, 2.0))
derivative("y = np.sqrt(x)",         x="0.5 / y", domain=POSITIVE)
derivative("y = np.cbrt(x)",         x="1 / (3 * y * y)", domain=POSITIVE)
derivative("y = np.square(x)",       x="2 * x")
derivative("y = np.reciprocal(x)",   x="-y * y", domain=POSITIVE)
derivative("y = np.negative(x)",     x="-1")
derivative("z = np.power(x, y)",     x="y * x ** (y - 1)", y="z * np.log(x)", domain={"x": POSITIVE, "y": REAL})
derivative("z = np.hypot(x, y)",     x="x / z", y="y / z")
derivative("y = np.abs(x)",          x="np.sign(x)")                                        # 0 at 0
derivative("y = np.fabs(x)",         x="np.sign(x)")                                        # 0 at 0
derivative("z = np.maximum(x, y)",   x="(x > y) + 0.5 * (x == y)", y="(y > x) + 0.5 * (x == y)")  # ties: half each
derivative("z = np.minimum(x, y)",   x="(x < y) + 0.5 * (x == y)", y="(y < x) + 0.5 * (x == y)")  # ties: half each
derivative("y = np.sign(x)",         x=ZERO)
derivative("y = np.floor(x)",        x=ZERO)
derivative("y = np.ceil(x)",         x=ZERO)
# fmt: on


REGENERATE = (
    "python -c \"from astgrad.primitives import markdown; print(markdown(), end='')\" > docs/primitives.md"
)


PYTHON_SCALAR_RESULTS = (max, min, float, int, round)  # scalar results, or an error for arrays


def returns_python_scalar(rule):
    """Whether the primitive's result is a Python number whatever its inputs (math.sin, max, ...)."""
    return getattr(rule.fn, "__module__", None) == "math" or any(rule.fn is fn for fn in PYTHON_SCALAR_RESULTS)


OPERATORS = frozenset(BINARY_OPERATORS.values()) | frozenset(UNARY_OPERATORS.values()) | frozenset(COMPARISONS.values())


def is_operator(rule):
    """Whether the primitive is a Python operator (`+`, `<`, unary `-`, ...)."""
    return rule.fn in OPERATORS


def is_numpy(rule):
    """Whether the primitive is a NumPy function."""
    return rule.expression.startswith("np.")


def markdown():
    """docs/primitives.md: the table as a reader sees it (see REGENERATE)."""
    lines = [
        "# Primitives",
        "",
        f"Generated from `astgrad/primitives.py` by `{REGENERATE}`;",
        "a test fails when this page is stale.",
        "",
        "Each entry gives the partial derivative of the output with respect to each input.",
        "The reverse stage turns a partial `p` of `y = f(x)` into the adjoint line",
        "`d_x = d_y * p` (adding to `d_x` when `x` is used more than once).",
        "`ZERO`: the derivative is zero wherever it exists (the value is piecewise constant).",
        "`NOT_DIFFERENTIABLE`: an integer argument; a gradient flowing into it is an error.",
        "",
        "| primitive | partial derivatives | test domain |",
        "| --- | --- | --- |",
    ]
    for rule in all_rules():
        partials = "<br>".join(
            f"∂{rule.output}/∂{p} = `{_partial_text(rule.partials[p])}`" for p in rule.params
        )
        domains = ", ".join(
            f"{p} ∈ [{rule.domain[p][0]:g}, {rule.domain[p][1]:g}]"
            for p in rule.params
            if rule.partials[p] is not NOT_DIFFERENTIABLE
        )
        lines.append(f"| `{rule.signature}` | {partials} | {domains} |")
    lines += [
        "",
        "Conventions at kinks and ties: `abs` and `fabs` have derivative 0 at 0 (the sign",
        "function); `max`/`min` of two equal values give each input half the gradient.",
        "",
    ]
    return "\n".join(lines)


def _partial_text(partial):
    return partial if isinstance(partial, str) else gast.unparse(gast.fix_missing_locations(partial))
