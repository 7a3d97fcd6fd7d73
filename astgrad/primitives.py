"""The primitive table: every function and operator astgrad can differentiate.

Each entry is one line: a *signature*, then one template per input.

    derivative("y = math.sin(x)", x="math.cos(x)")
    adjoint("y = np.sum(x, axis=None, keepdims=False)", x=f"np.broadcast_to({EXPANDED}, np.shape(x))", ...)

The signature is Python: the output's name, ``=``, then how a user calls the
primitive, with one placeholder name per input. Evaluating the callee
(`math.sin`) gives the Python object the entry is keyed by, so ``math.sin``,
``from math import sin as s`` and ``m.sin`` all find it; operators are keyed
by their `operator` function (``x * y`` is `operator.mul`, ``x[index]`` is
`operator.getitem`), methods and attributes of arrays by their name with a
dot (``x.sum(...)`` is ``".sum"``, ``x.T`` is ``".T"``). In the call:

* ``name`` is an input passed by position;
* ``name=default`` is an optional input, passed by keyword (the first one may
  also be passed by position, as ``np.sum(x, 0)`` passes ``axis``);
* ``[*xs]`` is a list or tuple of inputs (``np.concatenate([a, b])``), and
  ``*xs`` the remaining positional arguments; their templates are
  instantiated once per element, with ``i`` the element's position.

There are two kinds of entry:

`derivative`
    elementwise primitives: each template is the *partial derivative* of the
    output with respect to that input, an expression in the placeholders. The
    output may be used (the partial of ``exp`` is ``y``), so generated code
    reuses the primal result. The reverse stage builds ``d_x = d_y * partial``
    (the forward stage builds ``d_y = partial * d_x`` from the same entry).
`adjoint`
    everything else (reductions, ``@``, reshaping, indexing): each template is
    the whole contribution to the input's adjoint, written with ``d_y`` for
    the output's adjoint. ``elementwise=True`` marks an adjoint entry whose
    output has the broadcast shape of its inputs (``np.where``). Its
    ``tangent=`` is the output's tangent for forward mode, in the inputs'
    tangents ``d_x``: a sum of terms, each linear in the tangents it names
    (``d_x @ y + x @ d_y``); the forward stage keeps the terms that name an
    input carrying a tangent.

For both kinds, the reverse stage (not the template) reduces an elementwise
primitive's contribution back to the shape of a broadcast input, and the
forward stage broadcasts a tangent up to the output's shape.

A template may also be one of these markers instead of an expression:
`ZERO` (the derivative is zero where it exists: ``int``, comparisons,
``floor``), `NOT_DIFFERENTIABLE` (an integer argument such as a shape: a
located error is raised if a gradient would flow into it), or `STATIC` (like
`NOT_DIFFERENTIABLE`, and the call must pass a constant written in the source,
such as ``axis=0``: templates may then depend on its value). Every input needs
exactly one of these or a template: forgetting one is an error when the table
loads.

Templates use the placeholders, ``d_y``, ``i``, dotted module names
(``np.cos``, ``runtime.unbroadcast``), builtins (``float``) and the transform-time helpers in
`STATIC_HELPERS`. A part of a template that depends on `STATIC` inputs only is
evaluated when the template is instantiated: ``d_y if keepdims else
np.expand_dims(d_y, axis)`` becomes one of its branches, and
``einsum_adjoint_spec(spec, 0)`` becomes a string constant.

`domain` gives the interval the generated finite-difference test samples each
input from.

Conventions at kinks and ties (tested in tests/test_primitives.py):
``abs``/``fabs`` have derivative 0 at 0 (the sign function); ``max``/``min``
of two equal values, and ``np.max``/``np.min`` over tied elements, share the
gradient equally, as JAX and autograd do; ``np.clip`` passes the gradient to
``x`` where ``x`` is within the bounds, the bounds included, and otherwise to
the bound that is the result (``hi`` wherever ``lo > hi``).
"""

import ast
import builtins
import math  # noqa: F401 (named in the table's signatures and templates)
import operator
from dataclasses import dataclass, replace

import gast
import numpy as np

from . import runtime  # noqa: F401 (named in the table's templates)

ZERO = "ZERO"
NOT_DIFFERENTIABLE = "NOT_DIFFERENTIABLE"
STATIC = "STATIC"
MARKERS = (ZERO, NOT_DIFFERENTIABLE, STATIC)

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

    fn: object  # the key: the callee, an operator function, or ".name" for a method or attribute
    signature: str  # e.g. "y = math.sin(x)"
    output: str  # the output placeholder, e.g. "y"
    params: tuple  # the input placeholders, e.g. ("x",)
    positional: tuple  # the params passed by position, in order
    optional: dict  # param -> default value, for params passed by keyword
    sequence: str  # the param standing for several inputs (`[*xs]` or `*xs`), or None
    templates: dict  # param -> gast expression, ZERO, NOT_DIFFERENTIABLE or STATIC
    texts: dict  # param -> the template as written in the table
    form: str  # "partial" (from `derivative`) or "adjoint"
    elementwise: bool  # whether the output has the broadcast shape of the inputs
    references: dict  # dotted name in a template (e.g. "math.cos") -> the object it names
    domain: dict  # placeholder -> (low, high) for the generated test
    tangent: object = None  # adjoint entries: the output's tangent, a sum of terms linear in the d_<input>s
    tangent_text: str = None  # the tangent template as written in the table

    @property
    def expression(self):
        """The signature's right-hand side: how a user calls the primitive."""
        return self.signature.split("=", 1)[1].strip()

    @property
    def adjoint_name(self):
        """The placeholder adjoint templates use for the output's adjoint (``d_y``)."""
        return "d_" + self.output

    @property
    def is_constant(self):
        """Whether the output never carries a derivative (comparisons, int, floor, ...)."""
        return all(self.templates[p] in MARKERS for p in self.params)

    @property
    def is_method(self):
        """Whether the primitive is a method or attribute of an array (``x.sum()``, ``x.T``)."""
        return isinstance(self.fn, str)


RULES = {}  # the primitive's key -> its rules, in the order the table lists them


def derivative(signature, domain=REAL, namespace=None, **partials):
    """Add an elementwise entry: `signature` and the partial derivative for each input."""
    return _add(_make_rule(signature, "partial", True, domain, namespace, partials))


def adjoint(signature, tangent=None, elementwise=False, domain=REAL, namespace=None, **templates):
    """Add an entry given by the adjoint contribution (in terms of ``d_<output>``) for each input,
    and the output's `tangent` (in terms of ``d_<input>``, the inputs' tangents)."""
    rule = _make_rule(signature, "adjoint", elementwise, domain, namespace, templates)
    return _add(_with_tangent(rule, tangent, namespace))


def _add(rule):
    rules = RULES.setdefault(rule.fn, [])
    for other in rules:
        if other.params == rule.params and other.positional == rule.positional:
            raise TableError(f"{rule.signature!r}: {other.signature!r} is already in the table")
    rules.append(rule)
    return rule


def rules_for(fn):
    """The rules the table has for `fn` (empty if none)."""
    try:
        return RULES.get(fn, [])
    except TypeError:  # an unhashable object is no primitive
        return []


def lookup(fn, arity):
    """The rule for calling `fn` with `arity` positional inputs, or None (operators)."""
    return next((rule for rule in rules_for(fn) if len(rule.positional) == arity), None)


def match(fn, args, keywords):
    """(rule, {param: argument}) for a call of `fn`, or (None, reason) if no rule fits.

    `args` are the positional argument nodes, `keywords` a list of (name, node).
    A sequence parameter gets the tuple of its argument nodes (`[*xs]`: the
    elements of the list or tuple display passed for it).
    """
    reasons = []
    for rule in rules_for(fn):
        try:
            return rule, bind(rule, args, keywords)
        except TypeError as reason:
            reasons.append(str(reason))
    return None, "; ".join(reasons)


def bind(rule, args, keywords):
    """{param: argument} for calling `rule` with `args` and `keywords`; TypeError if they do not fit."""
    bound = {}
    args = list(args)
    for param in rule.positional:
        if param == rule.sequence and rule.sequence not in rule.optional and _is_star(rule):
            bound[param] = tuple(args)
            args = []
        elif args:
            argument = args.pop(0)
            bound[param] = _elements(argument) if param == rule.sequence else argument
    optional = list(rule.optional)
    if args and optional:  # the first optional input may be passed by position
        bound[optional[0]] = args.pop(0)
    if args:
        raise TypeError("too many positional arguments")
    for keyword, argument in keywords:
        if keyword not in rule.params or keyword in bound or keyword == rule.sequence:
            raise TypeError(f"the keyword `{keyword}` does not fit")
        bound[keyword] = argument
    for param, default in rule.optional.items():
        bound.setdefault(param, constant_node(default))
    missing = [param for param in rule.params if param not in bound]
    if missing:
        raise TypeError(f"`{missing[0]}` is missing")
    return bound


def _is_star(rule):
    return f"*{rule.sequence}" in rule.expression and f"[*{rule.sequence}]" not in rule.expression


def _elements(argument):
    if isinstance(argument, (gast.Tuple, gast.List)):
        return tuple(argument.elts)
    if isinstance(argument, tuple):
        return argument
    raise TypeError("a list of inputs must be written as a list or tuple display, e.g. `[a, b]`")


def all_rules():
    """Every rule, in the order the table lists them."""
    return [rule for rules in RULES.values() for rule in rules]


def constant_node(value):
    """A gast node for a constant Python value (number, None, bool, str, tuple of them)."""
    return gast.ast_to_gast(ast.parse(repr(value), mode="eval")).body


def static_value(node):
    """The Python value of a constant written in the source (`0`, `-1`, `(0, 2)`, `None`, `'ij'`).

    ValueError if `node` is not such a constant.
    """
    if isinstance(node, tuple):
        return tuple(static_value(element) for element in node)
    return ast.literal_eval(gast.gast_to_ast(gast.fix_missing_locations(node)))


def _make_rule(signature, form, elementwise, domain, namespace, templates):
    namespace = namespace if namespace is not None else globals()
    try:
        statement = gast.parse(signature).body[0]
        output = statement.targets[0].id
        call = statement.value
    except (SyntaxError, AttributeError, IndexError) as exc:
        raise TableError(f"{signature!r}: a signature reads like 'y = math.sin(x)' ({exc})") from None
    fn, positional, optional, sequence = _callee_and_inputs(signature, call, namespace)
    params = positional + tuple(optional)
    if set(templates) != set(params):
        raise TableError(
            f"{signature!r}: give exactly one template (an expression, ZERO, NOT_DIFFERENTIABLE or STATIC) "
            f"for each input {params}, got {sorted(templates)}"
        )
    placeholders = set(params) | {output}
    if form == "adjoint":
        placeholders.add("d_" + output)
    if sequence:
        placeholders.add("i")
    parsed, references = {}, {}
    for param in params:
        text = templates[param]
        if text in MARKERS:
            parsed[param] = text
            continue
        parsed[param] = _expand_macros(gast.parse(text).body[0].value)
        references.update(_free_references(signature, parsed[param], placeholders, namespace))
    if not isinstance(domain, dict):
        domain = {param: domain for param in params}
    return Rule(fn, signature, output, params, positional, optional, sequence, parsed, dict(templates), form,
                elementwise, references, domain)  # fmt: skip


def _with_tangent(rule, text, namespace):
    """`rule` with its tangent template, after checking that it names the right tangents.

    The tangent is linear in the inputs' tangents ``d_x``: a sum of terms
    (``d_x @ y + x @ d_y``), each naming one or more of them. The forward
    stage drops the terms whose tangents are all zero, so ``0 @ y`` is never
    written.
    """
    differentiable = [p for p in rule.params if rule.templates[p] not in MARKERS]
    if text is None:
        if differentiable:
            raise TableError(f"{rule.signature!r}: give the output's tangent (tangent=...) in terms of "
                             + ", ".join("d_" + p for p in differentiable))  # fmt: skip
        return rule
    tree = _expand_macros(gast.parse(text).body[0].value)
    named = {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)}
    expected = {"d_" + p for p in differentiable}
    unexpected = {"d_" + p for p in rule.params} - expected
    if not expected <= named or named & unexpected:
        raise TableError(f"{rule.signature!r}: the tangent must name exactly the tangents {sorted(expected)}")
    placeholders = set(rule.params) | {rule.output} | expected
    references = dict(rule.references)
    references.update(_free_references(rule.signature, tree, placeholders, namespace or globals()))
    return replace(rule, tangent=tree, tangent_text=text, references=references)


def tangent_terms(rule):
    """[(sign, term)]: the top-level terms of `rule`'s tangent template, +1 or -1 each."""
    def split(node, sign):
        if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub)):
            return split(node.left, sign) + split(node.right, -sign if isinstance(node.op, gast.Sub) else sign)
        return [(sign, node)]

    return split(rule.tangent, 1)


def _callee_and_inputs(signature, call, namespace):
    """(key, positional params, {optional param: default}, sequence param or None)."""
    if isinstance(call, gast.Call):
        func = call.func
        if isinstance(func, gast.Attribute) and _is_placeholder(func.value, namespace):
            fn, positional = "." + func.attr, [func.value.id]
        else:
            fn, positional = _evaluate_reference(signature, func, namespace), []
        sequence = None
        for node in call.args:
            param, is_sequence = _input(signature, node)
            positional.append(param)
            if is_sequence:
                sequence = param
        optional = {}
        for keyword in call.keywords:
            try:
                optional[keyword.arg] = static_value(keyword.value)
            except ValueError:
                raise TableError(f"{signature!r}: the default of `{keyword.arg}` must be a constant") from None
        return fn, tuple(positional), optional, sequence
    if isinstance(call, gast.BinOp):
        inputs = [call.left, call.right]
        fn = BINARY_OPERATORS[type(call.op)]
    elif isinstance(call, gast.UnaryOp):
        inputs, fn = [call.operand], UNARY_OPERATORS[type(call.op)]
    elif isinstance(call, gast.Compare) and len(call.ops) == 1:
        inputs, fn = [call.left, call.comparators[0]], COMPARISONS[type(call.ops[0])]
    elif isinstance(call, gast.Attribute) and isinstance(call.value, gast.Name):
        inputs, fn = [call.value], "." + call.attr
    elif isinstance(call, gast.Subscript):
        inputs, fn = [call.value, call.slice], operator.getitem
    else:
        raise TableError(f"{signature!r}: the right-hand side must be one call, operator, attribute or index")
    return fn, tuple(_placeholder(signature, node) for node in inputs), {}, None


def _is_placeholder(node, namespace):
    return isinstance(node, gast.Name) and node.id not in namespace and not hasattr(builtins, node.id)


def _input(signature, node):
    """(placeholder, whether it stands for several inputs) for one argument of a signature."""
    if isinstance(node, gast.Starred):
        return _placeholder(signature, node.value), True
    if isinstance(node, (gast.List, gast.Tuple)) and len(node.elts) == 1 and isinstance(node.elts[0], gast.Starred):
        return _placeholder(signature, node.elts[0].value), True
    return _placeholder(signature, node), False


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
    """The dotted module names (math.cos) a template uses, with the objects they name."""
    references = {}
    stack = [expression]
    while stack:
        node = stack.pop()
        name = dotted_name(node)
        if name is not None and name.split(".")[0] not in placeholders:
            if name in STATIC_HELPERS:
                continue
            if "." not in name and not hasattr(builtins, name):
                raise TableError(f"{signature!r}: {name!r} is neither an input nor a dotted module name")
            references[name] = _evaluate_reference(signature, node, namespace)  # `math.cos`, or a builtin
        else:
            stack.extend(gast.iter_child_nodes(node))
    return references


# ---- transform-time helpers: templates call these on STATIC inputs only -----------------------
def inverse_permutation(axes):
    """The axes that undo ``np.transpose(x, axes)``."""
    return tuple(int(i) for i in np.argsort(axes))


def einsum_adjoint_spec(spec, operand):
    """The einsum subscripts giving the adjoint of operand 0 or 1 of a two-operand `spec`.

    ``einsum_adjoint_spec("ij,jk->ik", 0)`` is ``"ik,jk->ij"``. Forms in which
    the adjoint is not itself an einsum (an index repeated within one operand,
    an index summed over one operand alone, ``...``) raise ValueError.
    """
    if "->" not in spec or "..." in spec:
        raise ValueError("write the output subscripts explicitly (`'ij,jk->ik'`) and do not use `...`")
    inputs, result = spec.replace(" ", "").split("->")
    operands = inputs.split(",")
    if len(operands) != 2:
        raise ValueError("only two-operand einsum is differentiated")
    mine, other = operands[operand], operands[1 - operand]
    if len(set(mine)) != len(mine):
        raise ValueError(f"the subscripts {mine!r} repeat an index (a diagonal)")
    missing = set(mine) - set(other) - set(result)
    if missing:
        raise ValueError(f"the index {sorted(missing)[0]!r} is summed over one operand alone")
    first, second = (result, other) if operand == 0 else (other, result)
    return f"{first},{second}->{mine}"


STATIC_HELPERS = {"inverse_permutation": inverse_permutation, "einsum_adjoint_spec": einsum_adjoint_spec}

# Shorthands for reductions, written out when the table loads (see docs/primitives.md).
MACROS = {
    # `v`, of the reduction's output shape, with the reduced axes put back with length 1
    "expand": "(v if keepdims or axis is None else np.expand_dims(v, axis))",
    # a reduction `np.f(v)` over the same axes, keeping them: its result broadcasts against x
    "keep_dims": "(v if axis is None else v_with_axis)",
    # the same reduction as the entry's own, `np.f(v)` over its axes, keeping them if it does
    "reduced": "(v if axis is None and not keepdims else v_with_axis if not keepdims else v_with_axis_keeping)",
}


def _expand_macros(template):
    """`template` with ``expand(v)`` and ``keep_dims(np.f(v))`` written out."""
    if isinstance(template, gast.Call) and isinstance(template.func, gast.Name) and template.func.id in MACROS:
        argument = _expand_macros(template.args[0])
        expansion = gast.parse(MACROS[template.func.id]).body[0].value
        replacements = {"v": argument}
        axis = gast.keyword(arg="axis", value=gast.Name("axis", gast.Load(), None, None))
        keep = gast.keyword(arg="keepdims", value=gast.Constant(True, None))
        if template.func.id == "keep_dims":
            replacements["v_with_axis"] = gast.Call(func=argument.func, args=argument.args, keywords=[axis, keep])
        elif template.func.id == "reduced":
            replacements["v_with_axis"] = gast.Call(func=argument.func, args=argument.args, keywords=[axis])
            replacements["v_with_axis_keeping"] = gast.Call(func=argument.func, args=argument.args,
                                                            keywords=[axis, keep])  # fmt: skip
        return _replace_names(expansion, replacements)
    for field, value in gast.iter_fields(template):
        if isinstance(value, list):
            setattr(template, field, [_expand_macros(v) if isinstance(v, gast.AST) else v for v in value])
        elif isinstance(value, gast.AST):
            setattr(template, field, _expand_macros(value))
    return template


def _replace_names(tree, replacements):
    class Replace(gast.NodeTransformer):
        def visit_Name(self, node):
            return replacements.get(node.id, node)

    return Replace().visit(tree)


def two_norm_axis(ord, axis):
    """`axis`, after checking that ``np.linalg.norm(x, ord, axis)`` is a 2-norm (ValueError if not)."""
    if ord is None or (ord == 2 and isinstance(axis, int)):
        return axis
    raise ValueError("only the 2-norm is differentiated: leave `ord` out (or use ord=2 with an integer axis)")


STATIC_HELPERS["two_norm_axis"] = two_norm_axis


SUM = "np.broadcast_to(expand(d_y), np.shape(x))"
MEAN = "np.broadcast_to(d_y / np.size(x) if axis is None else expand(d_y * (np.size(y) / np.size(x))), np.shape(x))"
PROD = "np.broadcast_to(expand(d_y * y), np.shape(x)) / x"
EXTREMUM = "(x == expand(y)) * expand(d_y) / keep_dims(np.sum(x == expand(y)))"
VAR = "expand(d_y) * (2 / (np.size(x) / np.size(y) - ddof)) * (x - keep_dims(np.mean(x)))"
STD = "expand(d_y / y) * (x - keep_dims(np.mean(x))) / (np.size(x) / np.size(y) - ddof)"
NORM = "(d_y / y if two_norm_axis(ord, axis) is None or keepdims else np.expand_dims(d_y / y, axis)) * x"
RESHAPED = "np.reshape(d_y, np.shape(x))"
MATMUL = {"x": "runtime.matmul_left_adjoint(d_z, x, y)", "y": "runtime.matmul_right_adjoint(d_z, x, y)"}
REDUCTION = {"axis": STATIC, "keepdims": STATIC}
TIES = "(x == expand(y))"
TANGENTS = {  # tangents of the entries above: linear in d_x, the input's tangent
    "SUM": "reduced(np.sum(d_x))",
    "MEAN": "reduced(np.mean(d_x))",
    "PROD": "y * reduced(np.sum(d_x / x))",
    "EXTREMUM": f"reduced(np.sum({TIES} * d_x)) / reduced(np.sum({TIES}))",
    "VAR": "2 * reduced(np.sum((x - keep_dims(np.mean(x))) * d_x)) / (np.size(x) / np.size(y) - ddof)",
    "STD": "reduced(np.sum((x - keep_dims(np.mean(x))) * d_x)) / ((np.size(x) / np.size(y) - ddof) * y)",
    "NORM": "reduced(np.sum(x * d_x)) / y",
    "RESHAPED": "np.reshape(d_x, np.shape(y))",
}
BOUNDS = {"x": REAL, "lo": (-2.0, -0.5), "hi": (0.5, 2.0)}

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
adjoint("z = x @ y",     tangent="d_x @ y + x @ d_y", **MATMUL)
adjoint("y = x[index]",  tangent="d_x[index]", x="runtime.unindex(d_y, x, np.s_[index])", index=NOT_DIFFERENTIABLE)

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
derivative("y = math.fabs(x)",       x="float(x > 0) - float(x < 0)")                      # 0 at 0
derivative("y = math.ldexp(x, i)",   x="2.0 ** i", i=NOT_DIFFERENTIABLE)
derivative("y = math.floor(x)",      x=ZERO)
derivative("y = math.ceil(x)",       x=ZERO)
derivative("y = math.trunc(x)",      x=ZERO)

# ---- builtins ------------------------------------------------------------------------------
derivative("y = abs(x)",             x="float(x > 0) - float(x < 0)")                      # 0 at 0
derivative("z = pow(x, y)",          x="y * x ** (y - 1)", y="z * math.log(x)", domain={"x": POSITIVE, "y": REAL})
derivative("z = max(x, y)",          x="(x > y) + 0.5 * (x == y)", y="(y > x) + 0.5 * (x == y)")  # ties: half each
derivative("z = min(x, y)",          x="(x < y) + 0.5 * (x == y)", y="(y < x) + 0.5 * (x == y)")  # ties: half each
derivative("y = float(x)",           x="1")
derivative("y = int(x)",             x=ZERO)
derivative("y = round(x)",           x=ZERO)
derivative("y = round(x, ndigits)",  x=ZERO, ndigits=NOT_DIFFERENTIABLE)
adjoint("n = len(x)",                x=ZERO)

# ---- run-time helpers of generated code (so that it can be differentiated again) -----------
adjoint("s = runtime.checked_seed(y, seed, *wrt)", y=ZERO, seed="d_s", wrt=ZERO, tangent="d_seed")  # s has seed's shape
adjoint("y = runtime.unbroadcast(x, like)",    x="runtime.broadcast_like(d_y, x)", like=ZERO, tangent="runtime.unbroadcast(d_x, like)")  # noqa: E501
adjoint("y = runtime.broadcast_like(x, like)", x="runtime.unbroadcast(d_y, x)", like=ZERO, tangent="runtime.broadcast_like(d_x, like)")  # noqa: E501
adjoint("y = runtime.zero_gradient(x)",        x=ZERO)
adjoint("y = runtime.unindex(x, like, index)", x="d_y[index]", like=ZERO, index=NOT_DIFFERENTIABLE, tangent="runtime.unindex(d_x, like, index)")  # noqa: E501
adjoint("a = runtime.matmul_left_adjoint(g, x, y)",  g="d_a @ y", x=ZERO, y="runtime.matmul_right_adjoint(g, d_a, y)",
        tangent="runtime.matmul_left_adjoint(d_g, x, y) + runtime.matmul_left_adjoint(g, x, d_y)")
adjoint("a = runtime.inner_left_adjoint(g, x, y)",  g="np.inner(d_a, y)", x=ZERO, y="runtime.inner_right_adjoint(g, d_a, y)",
        tangent="runtime.inner_left_adjoint(d_g, x, y) + runtime.inner_left_adjoint(g, x, d_y)")
adjoint("b = runtime.inner_right_adjoint(g, x, y)", g="np.inner(x, d_b)", x="runtime.inner_left_adjoint(g, x, d_b)", y=ZERO,
        tangent="runtime.inner_right_adjoint(d_g, x, y) + runtime.inner_right_adjoint(g, d_x, y)")
adjoint("b = runtime.matmul_right_adjoint(g, x, y)", g="x @ d_b", x="runtime.matmul_left_adjoint(g, x, d_b)", y=ZERO,
        tangent="runtime.matmul_right_adjoint(d_g, x, y) + runtime.matmul_right_adjoint(g, d_x, y)")
adjoint("s = runtime.checked_arguments(seed, *wrt)", seed="d_s", wrt=ZERO, tangent="d_seed")
derivative("s = runtime.sigmoid(x)", x="s * (1 - s)")
# the slices of np.concatenate, np.hstack, np.vstack and np.stack, each next to its adjoint
PARTS = {"parts": ZERO, "k": NOT_DIFFERENTIABLE}
adjoint("y = runtime.concatenate_part(g, [*parts], k, axis=0)", g="runtime.concatenate_unpart(d_y, g, parts, k, axis)", axis=NOT_DIFFERENTIABLE, tangent="runtime.concatenate_part(d_g, parts, k, axis)", **PARTS)  # noqa: E501
adjoint("y = runtime.concatenate_unpart(x, like, [*parts], k, axis=0)", x="runtime.concatenate_part(d_y, parts, k, axis)", like=ZERO, axis=NOT_DIFFERENTIABLE, tangent="runtime.concatenate_unpart(d_x, like, parts, k, axis)", **PARTS)  # noqa: E501
adjoint("y = runtime.hstack_part(g, [*parts], k)",            g="runtime.hstack_unpart(d_y, g, parts, k)", tangent="runtime.hstack_part(d_g, parts, k)", **PARTS)  # noqa: E501
adjoint("y = runtime.hstack_unpart(x, like, [*parts], k)",    x="runtime.hstack_part(d_y, parts, k)", like=ZERO, tangent="runtime.hstack_unpart(d_x, like, parts, k)", **PARTS)  # noqa: E501
adjoint("y = runtime.vstack_part(g, [*parts], k)",            g="runtime.vstack_unpart(d_y, g, parts, k)", tangent="runtime.vstack_part(d_g, parts, k)", **PARTS)  # noqa: E501
adjoint("y = runtime.vstack_unpart(x, like, [*parts], k)",    x="runtime.vstack_part(d_y, parts, k)", like=ZERO, tangent="runtime.vstack_unpart(d_x, like, parts, k)", **PARTS)  # noqa: E501
adjoint("y = runtime.untake(x, like, indices, axis=None)",   x="np.take(d_y, indices, axis=axis)", like=ZERO, indices=NOT_DIFFERENTIABLE, axis=NOT_DIFFERENTIABLE, tangent="runtime.untake(d_x, like, indices, axis)")  # noqa: E501
derivative("z = runtime.scaled(x, seed)", x="seed", seed="x")

# ---- NumPy: elementwise --------------------------------------------------------------------
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
derivative("z = np.logaddexp(x, y)", x="runtime.sigmoid(x - y)", y="runtime.sigmoid(y - x)")     # no need for z
derivative("y = np.sqrt(x)",         x="0.5 / y", domain=POSITIVE)
derivative("y = np.cbrt(x)",         x="1 / (3 * y * y)", domain=POSITIVE)
derivative("y = np.square(x)",       x="2 * x")
derivative("y = np.reciprocal(x)",   x="-y * y", domain=POSITIVE)
derivative("y = np.negative(x)",     x="-1")
derivative("z = np.add(x, y)",       x="1", y="1")
derivative("z = np.subtract(x, y)",  x="1", y="-1")
derivative("z = np.multiply(x, y)",  x="y", y="x")
derivative("z = np.divide(x, y)",    x="1 / y", y="-z / y", domain={"x": REAL, "y": POSITIVE})
derivative("z = np.power(x, y)",     x="y * x ** (y - 1)", y="z * np.log(x)", domain={"x": POSITIVE, "y": REAL})
derivative("z = np.hypot(x, y)",     x="x / z", y="y / z")
derivative("y = np.abs(x)",          x="np.sign(x)")                                        # 0 at 0
derivative("y = np.fabs(x)",         x="np.sign(x)")                                        # 0 at 0
derivative("z = np.maximum(x, y)",   x="(x > y) + 0.5 * (x == y)", y="(y > x) + 0.5 * (x == y)")  # ties: half each
derivative("z = np.minimum(x, y)",   x="(x < y) + 0.5 * (x == y)", y="(y < x) + 0.5 * (x == y)")  # ties: half each
derivative("z = np.fmax(x, y)",      x="(x > y) + 0.5 * (x == y)", y="(y > x) + 0.5 * (x == y)")  # ties: half each
derivative("z = np.fmin(x, y)",      x="(x < y) + 0.5 * (x == y)", y="(y < x) + 0.5 * (x == y)")  # ties: half each
derivative("y = np.clip(x, lo, hi)", x="y == x", lo="(y == lo) * (y != x)", hi="(y == hi) * (y != x)", domain=BOUNDS)  # noqa: E501
derivative("y = x.clip(lo, hi)",     x="y == x", lo="(y == lo) * (y != x)", hi="(y == hi) * (y != x)", domain=BOUNDS)  # noqa: E501
adjoint("y = np.where(c, a, b)",     c=ZERO, a="np.where(c, d_y, 0.0)", b="np.where(c, 0.0, d_y)", elementwise=True,
        tangent="np.where(c, d_a, 0.0) + np.where(c, 0.0, d_b)")
derivative("y = np.sign(x)",         x=ZERO)
derivative("y = np.floor(x)",        x=ZERO)
derivative("y = np.ceil(x)",         x=ZERO)
derivative("y = np.float64(x)",      x="1")

# ---- NumPy: reductions (as functions and as methods) ---------------------------------------
adjoint("y = np.sum(x, axis=None, keepdims=False)",            x=SUM, tangent=TANGENTS['SUM'], **REDUCTION)
adjoint("y = x.sum(axis=None, keepdims=False)",                x=SUM, tangent=TANGENTS['SUM'], **REDUCTION)
adjoint("y = np.mean(x, axis=None, keepdims=False)",           x=MEAN, tangent=TANGENTS['MEAN'], **REDUCTION)
adjoint("y = x.mean(axis=None, keepdims=False)",               x=MEAN, tangent=TANGENTS['MEAN'], **REDUCTION)
adjoint("y = np.prod(x, axis=None, keepdims=False)",           x=PROD, tangent=TANGENTS['PROD'], **REDUCTION)
adjoint("y = x.prod(axis=None, keepdims=False)",               x=PROD, tangent=TANGENTS['PROD'], **REDUCTION)
adjoint("y = np.max(x, axis=None, keepdims=False)",            x=EXTREMUM, tangent=TANGENTS['EXTREMUM'], **REDUCTION)            # ties share
adjoint("y = x.max(axis=None, keepdims=False)",                x=EXTREMUM, tangent=TANGENTS['EXTREMUM'], **REDUCTION)
adjoint("y = np.min(x, axis=None, keepdims=False)",            x=EXTREMUM, tangent=TANGENTS['EXTREMUM'], **REDUCTION)
adjoint("y = x.min(axis=None, keepdims=False)",                x=EXTREMUM, tangent=TANGENTS['EXTREMUM'], **REDUCTION)
adjoint("y = np.amax(x, axis=None, keepdims=False)",           x=EXTREMUM, tangent=TANGENTS['EXTREMUM'], **REDUCTION)
adjoint("y = np.amin(x, axis=None, keepdims=False)",           x=EXTREMUM, tangent=TANGENTS['EXTREMUM'], **REDUCTION)
adjoint("y = np.var(x, axis=None, ddof=0, keepdims=False)",    x=VAR, tangent=TANGENTS['VAR'], ddof=STATIC, **REDUCTION)
adjoint("y = x.var(axis=None, ddof=0, keepdims=False)",        x=VAR, tangent=TANGENTS['VAR'], ddof=STATIC, **REDUCTION)
adjoint("y = np.std(x, axis=None, ddof=0, keepdims=False)",    x=STD, tangent=TANGENTS['STD'], ddof=STATIC, **REDUCTION)
adjoint("y = x.std(axis=None, ddof=0, keepdims=False)",        x=STD, tangent=TANGENTS['STD'], ddof=STATIC, **REDUCTION)
adjoint("y = np.linalg.norm(x, ord=None, axis=None, keepdims=False)", x=NORM, tangent=TANGENTS['NORM'], ord=STATIC, **REDUCTION)

# ---- NumPy: linear algebra -----------------------------------------------------------------
adjoint("z = np.matmul(x, y)",       tangent="np.matmul(d_x, y) + np.matmul(x, d_y)", **MATMUL)
adjoint("z = np.dot(x, y)",          tangent="np.dot(d_x, y) + np.dot(x, d_y)", **MATMUL)
adjoint("z = x.dot(y)",              tangent="np.dot(d_x, y) + np.dot(x, d_y)", **MATMUL)
adjoint("z = np.outer(x, y)",        tangent="np.outer(d_x, y) + np.outer(x, d_y)", x="np.reshape(d_z @ np.ravel(y), np.shape(x))", y="np.reshape(np.ravel(x) @ d_z, np.shape(y))")  # noqa: E501
adjoint("z = np.inner(x, y)",        tangent="np.inner(d_x, y) + np.inner(x, d_y)", x="runtime.inner_left_adjoint(d_z, x, y)", y="runtime.inner_right_adjoint(d_z, x, y)")  # noqa: E501
adjoint("z = np.einsum(spec, x, y)", tangent="np.einsum(spec, d_x, y) + np.einsum(spec, x, d_y)", x="np.einsum(einsum_adjoint_spec(spec, 0), d_z, y)", y="np.einsum(einsum_adjoint_spec(spec, 1), x, d_z)", spec=STATIC)  # noqa: E501

# ---- NumPy: shapes -------------------------------------------------------------------------
adjoint("y = x.T",                          x="d_y.T", tangent="d_x.T")
adjoint("y = np.transpose(x, axes=None)",   tangent="np.transpose(d_x) if axes is None else np.transpose(d_x, axes)", x="np.transpose(d_y) if axes is None else np.transpose(d_y, inverse_permutation(axes))", axes=STATIC)  # noqa: E501
adjoint("y = np.reshape(x, shape)",         x=RESHAPED, tangent=TANGENTS["RESHAPED"], shape=NOT_DIFFERENTIABLE)
adjoint("y = x.reshape(*shape)",            x=RESHAPED, tangent=TANGENTS["RESHAPED"], shape=NOT_DIFFERENTIABLE)
adjoint("y = np.ravel(x)",                  x=RESHAPED, tangent=TANGENTS["RESHAPED"])
adjoint("y = x.ravel()",                    x=RESHAPED, tangent=TANGENTS["RESHAPED"])
adjoint("y = x.flatten()",                  x=RESHAPED, tangent=TANGENTS["RESHAPED"])
adjoint("y = np.expand_dims(x, axis)",      x=RESHAPED, tangent=TANGENTS["RESHAPED"], axis=NOT_DIFFERENTIABLE)
adjoint("y = np.squeeze(x, axis=None)",     x=RESHAPED, tangent=TANGENTS["RESHAPED"], axis=NOT_DIFFERENTIABLE)
adjoint("y = x.squeeze(axis=None)",         x=RESHAPED, tangent=TANGENTS["RESHAPED"], axis=NOT_DIFFERENTIABLE)
adjoint("y = np.concatenate([*xs], axis=0)", tangent="np.concatenate(d_xs, axis=axis)", xs="runtime.concatenate_part(d_y, xs, i, axis)", axis=NOT_DIFFERENTIABLE)  # noqa: E501
adjoint("y = np.stack([*xs], axis=0)",      tangent="np.stack(d_xs, axis=axis)", xs="np.take(d_y, i, axis=axis)", axis=NOT_DIFFERENTIABLE)
adjoint("y = np.hstack([*xs])",             tangent="np.hstack(d_xs)", xs="runtime.hstack_part(d_y, xs, i)")
adjoint("y = np.vstack([*xs])",             tangent="np.vstack(d_xs)", xs="runtime.vstack_part(d_y, xs, i)")
adjoint("y = np.array([*xs])",              tangent="np.array(d_xs)", xs="d_y[i]")
adjoint("y = np.take(x, indices, axis=None)", x="runtime.untake(d_y, x, indices, axis)", indices=NOT_DIFFERENTIABLE, axis=NOT_DIFFERENTIABLE, tangent="np.take(d_x, indices, axis=axis)")  # noqa: E501
adjoint("y = np.broadcast_to(x, shape)",     x="runtime.unbroadcast(d_y, x)", shape=NOT_DIFFERENTIABLE, tangent="np.broadcast_to(d_x, shape)")  # noqa: E501

# ---- shapes and constants: no derivative flows through them ----------------------------------
adjoint("s = x.shape",               x=ZERO)
adjoint("n = x.ndim",                x=ZERO)
adjoint("n = x.size",                x=ZERO)
adjoint("s = np.shape(x)",           x=ZERO)
adjoint("n = np.ndim(x)",            x=ZERO)
adjoint("n = np.size(x)",            x=ZERO)
adjoint("b = np.broadcast(*xs)",     xs=ZERO)                                                    # for b.shape, b.size
adjoint("y = np.zeros(shape)",       shape=ZERO)
adjoint("y = np.ones(shape)",        shape=ZERO)
adjoint("y = np.zeros_like(x)",      x=ZERO)
adjoint("y = np.ones_like(x)",       x=ZERO)
adjoint("y = np.eye(n)",             n=ZERO)
adjoint("y = np.arange(n)",          n=ZERO)
adjoint("y = np.arange(a, b)",       a=ZERO, b=ZERO)
adjoint("y = np.arange(a, b, step)", a=ZERO, b=ZERO, step=ZERO)
# fmt: on


REGENERATE = (
    "python -c \"from astgrad.primitives import markdown; print(markdown(), end='')\" > docs/primitives.md"
)

# In code that uses arrays, these scalar entries are differentiated by their NumPy twin
# (the same placeholders), whose partials also work on arrays: `x ** y` needs np.log, not
# math.log, for its exponent, and `abs` needs np.sign.
NUMPY_TWINS = {operator.pow: np.power, pow: np.power, abs: np.abs}


def array_twin(rule):
    """The rule to use for `rule` in code that handles arrays."""
    twin = NUMPY_TWINS.get(rule.fn) if not rule.is_method else None
    return lookup(twin, len(rule.positional)) if twin is not None else rule


# Primitives whose result is a Python number (or a tuple of them) whatever their inputs.
NUMBER_RESULTS = (max, min, float, int, round, len, np.shape, np.ndim, np.size, ".shape", ".ndim", ".size")


def returns_number(rule, inputs):
    """Whether this call's result is a number or a shape (math.sin, len, x.shape, np.sum(x) over all axes)."""
    if getattr(rule.fn, "__module__", None) == "math" or any(rule.fn is fn or rule.fn == fn for fn in NUMBER_RESULTS):
        return True
    if {"axis", "keepdims"} <= set(rule.optional):  # a reduction over every axis, not keeping them
        bound = dict(zip(rule.params, inputs))
        return static_value(bound["axis"]) is None and not static_value(bound["keepdims"])
    return False


OPERATORS = frozenset(BINARY_OPERATORS.values()) | frozenset(UNARY_OPERATORS.values()) | frozenset(COMPARISONS.values())


def is_operator(rule):
    """Whether the primitive is a Python operator (`+`, `<`, unary `-`, `@`, `[]` ...)."""
    return rule.fn in OPERATORS or rule.fn is operator.getitem


def is_numpy(rule):
    """Whether the primitive works on arrays: a NumPy function, a run-time helper, an array method, `@`, `x[...]`, `len`."""
    in_numpy = rule.expression.startswith(("np.", "runtime."))
    return in_numpy or rule.is_method or rule.fn in (operator.matmul, operator.getitem, len)


def markdown():
    """docs/primitives.md: the table as a reader sees it (see REGENERATE)."""
    lines = [
        "# Primitives",
        "",
        f"Generated from `astgrad/primitives.py` by `{REGENERATE}`;",
        "a test fails when this page is stale.",
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
        "",
        "| primitive | derivative | tangent | test domain |",
        "| --- | --- | --- | --- |",
    ]
    for rule in all_rules():
        cells = "<br>".join(_template_text(rule, p) for p in rule.params)
        cells += " | " + tangent_text(rule).replace("|", "\\|")
        domains = ", ".join(
            f"{p} ∈ [{rule.domain[p][0]:g}, {rule.domain[p][1]:g}]"
            for p in rule.params
            if rule.templates[p] not in (NOT_DIFFERENTIABLE, STATIC) and rule.form == "partial"
        )
        lines.append(f"| `{rule.signature}` | {cells} | {domains} |")
    lines += [
        "",
        "Conventions at kinks and ties: `abs` and `fabs` have derivative 0 at 0 (the sign",
        "function); `max`/`min` of two equal values, and `np.max`/`np.min` over tied elements,",
        "share the gradient equally; `np.clip` passes the gradient to `x` where `x` lies within",
        "the bounds, the bounds included, and otherwise to the bound that is the result (`hi`",
        "wherever `lo > hi`, as NumPy returns `hi` there). `np.prod` divides by `x`, so an input with exact zeros",
        "gets `nan`/`inf` entries; `np.std` and `np.linalg.norm` divide by the result, so their",
        "gradient at zero spread or at the zero vector is `nan`.",
        "",
    ]
    return "\n".join(lines)


def tangent_text(rule):
    """The output's tangent as a line of Python (``d_y = math.cos(x) * d_x``), or "—" if it has none."""
    if rule.form == "adjoint":
        return f"`d_{rule.output} = {rule.tangent_text}`" if rule.tangent_text else "—"
    terms = []
    for param in rule.params:
        partial = rule.texts[param]
        if partial in MARKERS:
            continue
        top = gast.parse(partial).body[0].value
        if isinstance(top, (gast.Compare, gast.IfExp)) or (isinstance(top, gast.BinOp) and isinstance(top.op, (gast.Add, gast.Sub))):
            partial = f"({partial})"
        terms.append({"1": f"d_{param}", "-1": f"-d_{param}"}.get(partial, f"{partial} * d_{param}"))
    if not terms:
        return "—"
    text = terms[0] + "".join(f" - {t[1:]}" if t.startswith("-") else f" + {t}" for t in terms[1:])
    return f"`d_{rule.output} = {text}`"


def _template_text(rule, param):
    template = rule.texts[param]
    text = template if template in MARKERS else "`" + template.replace("|", "\\|") + "`"
    if rule.form == "partial":
        return f"∂{rule.output}/∂{param} = {text}"
    return f"d_{param} = {text}" if template not in MARKERS else f"{param}: {text}"
