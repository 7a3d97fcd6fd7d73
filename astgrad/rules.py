"""The rule language of the primitive table, and the table's index.

Takes the table's entries (`derivative`, `adjoint`, `no_derivative` calls in
`primitives.py`) and gives `Rule`s, one per spelling of an entry: what the
stages ask about a primitive (`rules_for`, `lookup`, `match`, `bind`), its
templates as gast expressions, and its properties.

An entry lists its spellings, then one template per input:

    derivative("y = math.sin(x) | np.sin", x="cos(x)")
    adjoint("y = np.sum(x, axis=None, keepdims=False) | x.sum", reduction="sum", x=SUM, tangent=SUM_TANGENT)

The first spelling is Python: the output's name, ``=``, then how a user calls
the primitive, with one placeholder name per input. Evaluating the callee
(`math.sin`) gives the Python object the rule is keyed by, so ``math.sin``,
``from math import sin as s`` and ``m.sin`` all find it; operators are keyed
by their `operator` function (``x * y`` is `operator.mul`, ``x[index]`` is
`operator.getitem`), methods and attributes of arrays by their name with a
dot (``x.sum(...)`` is ``".sum"``, ``x.T`` is ``".T"``). In the call:

* ``name`` is an input passed by position;
* ``name=default`` is an optional input, passed by keyword (the first one may
  also be passed by position, as ``np.sum(x, 0)`` passes ``axis``; with
  ``by_position=True`` all of them may, in order, as ``norm.logpdf(x, 0, 2)``
  passes ``loc`` and ``scale``); in a SciPy entry a ``None`` written for an
  input whose default is a number means that default, as SciPy reads it
  (``logsumexp(x, b=None)``);
* ``[*xs]`` is a list or tuple of inputs (``np.concatenate([a, b])``), and
  ``*xs`` the remaining positional arguments; their templates are
  instantiated once per element, with ``i`` the element's position.

Each further spelling after ``|`` is a callee taking the same inputs
(``np.add`` after ``z = x + y`` is ``np.add(x, y)``; ``x.sum`` after
``np.sum(x, axis=None, keepdims=False)`` is the method of the first input,
``x.sum(axis=None, keepdims=False)``), or a whole call with the same
placeholders (``x.reshape(*shape)``).

Each spelling has a module: ``math`` for ``math.`` functions, NumPy for
``np.`` functions, run-time helpers and array methods, and none for operators
and builtins (``x ** y``, ``abs``), which take the module of the code they are
in: ``math`` in scalar code, NumPy in array code (their `Rule.array_twin`).
In templates, the elementary functions in `MODULE_FUNCTIONS` name the function
of the spelling's module: the partial ``cos(x)`` is ``math.cos(x)`` for
``math.sin`` and ``np.cos(x)`` for ``np.sin``; ``sign``, which ``math`` lacks,
is written out there as ``float(v > 0) - float(v < 0)``.

There are three kinds of entry:

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
`no_derivative`
    several entries on one line, functions whose derivative is zero wherever
    it exists (comparisons, ``int``, ``floor``), or which give shapes and new
    arrays (``elementwise=False``): every input is `ZERO`.

For both of the first kinds, the reverse stage (not the template) reduces an
elementwise primitive's contribution back to the shape of a broadcast input,
and the forward stage broadcasts a tangent up to the output's shape.

A template may also be one of these markers instead of an expression:
`ZERO` (the derivative is zero where it exists: ``int``, comparisons,
``floor``), `NOT_DIFFERENTIABLE` (an integer argument such as a shape: a
located error is raised if a gradient would flow into it), or `STATIC` (like
`NOT_DIFFERENTIABLE`, and the call must pass a constant written in the source,
such as ``axis=0``: templates may then depend on its value). Every input needs
exactly one of these or a template: forgetting one is an error when the entry
is added.

Templates use the placeholders, ``d_y``, ``i``, the `MODULE_FUNCTIONS`, dotted
module names (``np.cos``, ``runtime.unbroadcast``), builtins (``float``), the
transform-time helpers in `STATIC_HELPERS` and the `MACROS`. A part of a
template that depends on `STATIC` inputs only is evaluated when the template
is instantiated: ``d_y if keepdims else np.expand_dims(d_y, axis)`` becomes
one of its branches, and ``einsum_adjoint_spec(spec, 0)`` becomes a string
constant. Templates are parsed when a rule is first used, not when the table
loads, and the table loads when the first rule is asked for.

What a stage needs to know of an entry is said by the entry, not guessed from
its text:

* ``reduction="sum"`` (or ``"mean"``, ``"max"``, ...): a reduction of the input
  ``x`` over ``axis``, keeping the axes if ``keepdims``; both are `STATIC`.
  The adjoint of a ``"sum"`` or ``"mean"`` is ``np.broadcast_to(v, np.shape(x))``
  of a smaller value ``v`` (`Rule.spreads_adjoint`).
* ``sums_back=True``: the adjoint templates sum a broadcast ``d_z`` back to
  each operand's shape themselves (the matrix products).
* ``number="max"``: the spellings whose result is a Python number whatever
  their inputs (``True`` for all); ``math`` functions always give one.
* ``array_code=True``: calling any spelling makes the code array code (``@``,
  ``x[index]``); spellings of NumPy's module always do.
* ``unpacks=True``: the result is a tuple of arrays of one shape (``np.split``,
  ``np.linalg.slogdet``), which a user unpacks into names (``q, p = np.split(x, 2)``);
  each name is an index of the result, and the result's adjoint ``d_y`` is the
  pieces' adjoints stacked into one array.

`domain` gives the interval the generated finite-difference test samples each
input from.
"""

import ast
import builtins
import math
import operator
import sys
from dataclasses import dataclass, field, replace
from functools import cached_property

import gast
import numpy as np

from . import runtime
from .names import dotted_name

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
OPERATORS = frozenset(BINARY_OPERATORS.values()) | frozenset(UNARY_OPERATORS.values()) | frozenset(COMPARISONS.values())

# The modules spellings and templates may name, by the names they use.
NAMESPACE = {"math": math, "np": np, "runtime": runtime}
MATH, NUMPY = "math", "np"
MODULE_OF_ROOT = {"math": MATH, "np": NUMPY, "runtime": NUMPY, "scipy": NUMPY}  # SciPy's functions broadcast

# Functions a template names without a module: each spelling's module's own.
MODULE_FUNCTIONS = frozenset({"sin", "cos", "sqrt", "exp", "log", "sinh", "cosh", "sign"})
WRITTEN_OUT_IN_MATH = {"sign": "float(v > 0) - float(v < 0)"}  # 0 at 0, as np.sign

REDUCTION_INPUTS = ("x", "axis", "keepdims")


class TableError(Exception):
    """A malformed entry in the primitive table (a bug in the table, not in user code)."""


@dataclass(eq=False)
class Entry:
    """One line of the table: a mathematical function, its templates and its spellings (`rules`)."""

    texts: dict  # param -> the template as written, or a marker
    tangent_text: str  # adjoint entries: the output's tangent as written, or None
    form: str  # "partial" (from `derivative`) or "adjoint"
    elementwise: bool
    namespace: dict  # what the spellings and templates name
    rules: list = field(default_factory=list)  # one per spelling, the first as written first
    registered: bool = False  # added by a program (`astgrad.derivative`, `astgrad.adjoint`), not by the table

    @property
    def signature(self):
        return self.rules[0].signature

    def parsed(self, module):
        """(templates, references, tangent) with the `MODULE_FUNCTIONS` of `module` ("math" or "np")."""
        cache = self.__dict__.setdefault("_parsed", {})
        if module not in cache:
            cache[module] = _parse_templates(self, self.rules[0], module)
        return cache[module]

    def names_module_functions(self):
        """Whether a template names a `MODULE_FUNCTIONS` function (then the spelling's module matters)."""
        texts = [t for t in self.texts.values() if t not in MARKERS] + [self.tangent_text or ""]
        trees = [gast.parse(text) for text in texts if text]
        return any(isinstance(n, gast.Name) and n.id in MODULE_FUNCTIONS for tree in trees for n in gast.walk(tree))


@dataclass(frozen=True, eq=False)
class Rule:
    """One spelling of a table entry: how to differentiate `fn` called with these inputs."""

    fn: object  # the key: the callee, an operator function, or ".name" for a method or attribute
    signature: str  # e.g. "y = math.sin(x)"
    output: str  # the output placeholder, e.g. "y"
    params: tuple  # the input placeholders, e.g. ("x",)
    positional: tuple  # the params passed by position, in order
    optional: dict  # param -> default value, for params passed by keyword
    sequence: str  # the param standing for several inputs (`[*xs]` or `*xs`), or None
    spread: bool  # whether `sequence` is `*xs` (the remaining arguments) rather than `[*xs]`
    entry: Entry
    module: str  # "math", "np", or None for operators and builtins (scalar code: math)
    domain: dict  # placeholder -> (low, high) for the generated test
    number_result: bool  # whether the result is a Python number (or tuple of them), whatever the inputs
    array_code: bool  # whether calling it makes the code array code
    reduction: str = None  # "sum", "mean", "max", ... for a reduction of x over axis (keepdims)
    by_position: bool = False  # whether every optional input may be passed by position, in order
    sums_back: bool = False  # whether the adjoint templates sum a broadcast d_<output> back themselves
    unpacks: bool = False  # whether the result is a tuple of arrays of one shape, to unpack into names
    names: str = MATH  # the module whose functions `MODULE_FUNCTIONS` name in this rule's templates

    @property
    def expression(self):
        """The signature's right-hand side: how a user calls the primitive."""
        return self.signature.split("=", 1)[1].strip()

    @property
    def form(self):
        return self.entry.form

    @property
    def elementwise(self):
        return self.entry.elementwise

    @property
    def texts(self):
        """param -> the template as written in the table (with `MODULE_FUNCTIONS` unresolved)."""
        return self.entry.texts

    @property
    def tangent_text(self):
        return self.entry.tangent_text

    @property
    def templates(self):
        """param -> gast expression, ZERO, NOT_DIFFERENTIABLE or STATIC (parsed when first asked)."""
        return self.entry.parsed(self.names)[0]

    @property
    def references(self):
        """Dotted name in a template (e.g. "math.cos") -> the object it names."""
        return self.entry.parsed(self.names)[1]

    @property
    def tangent(self):
        """Adjoint entries: the output's tangent, a sum of terms linear in the d_<input>s."""
        return self.entry.parsed(self.names)[2]

    @property
    def adjoint_name(self):
        """The placeholder adjoint templates use for the output's adjoint (``d_y``)."""
        return "d_" + self.output

    @property
    def is_constant(self):
        """Whether the output never carries a derivative (comparisons, int, floor, ...)."""
        return all(self.texts[p] in MARKERS for p in self.params)

    @property
    def is_method(self):
        """Whether the primitive is a method or attribute of an array (``x.sum()``, ``x.T``)."""
        return isinstance(self.fn, str)

    @property
    def is_operator(self):
        """Whether the primitive is a Python operator (`+`, `<`, unary `-`, `@`, `[]` ...)."""
        return self.fn in OPERATORS or self.fn is operator.getitem

    @property
    def spreads_adjoint(self):
        """Whether the adjoint is ``np.broadcast_to(v, np.shape(x))`` of a smaller `v` (a sum or a mean)."""
        return self.reduction in ("sum", "mean")

    @cached_property
    def array_twin(self):
        """The rule to use in array code: an operator's or builtin's partials with NumPy's functions."""
        if self.module is None and self.names != NUMPY and self.entry.names_module_functions():
            return replace(self, names=NUMPY)
        return self

    def reduction_inputs(self, inputs):
        """(reduced input, axis, keepdims) of a call of a reduction, from its bound `inputs`."""
        bound = dict(zip(self.params, inputs))
        return bound["x"], static_value(bound["axis"]), static_value(bound["keepdims"])


def _number_spellings(number):
    return number if isinstance(number, bool) else frozenset(number.split())


def derivative(spellings, domain=REAL, namespace=None, number="", array_code=False, by_position=False, **partials):
    """Add an elementwise entry: its spellings and the partial derivative for each input."""
    return _add(_make_entry(spellings, "partial", True, partials, None, namespace, domain=domain, number=number,
                            array_code=array_code, by_position=by_position))  # fmt: skip


def adjoint(spellings, tangent=None, elementwise=False, domain=REAL, namespace=None, number="", array_code=False,
            reduction=None, sums_back=False, by_position=False, unpacks=False, **templates):  # fmt: skip
    """Add an entry given by the adjoint contribution (in terms of ``d_<output>``) for each input,
    and the output's `tangent` (in terms of ``d_<input>``, the inputs' tangents)."""
    if reduction is not None:  # a reduction's axes are constants written in the call
        templates = {"axis": STATIC, "keepdims": STATIC, **templates}
    entry = _make_entry(spellings, "adjoint", elementwise, templates, tangent, namespace, domain=domain, number=number,
                        array_code=array_code, reduction=reduction, sums_back=sums_back,
                        by_position=by_position, unpacks=unpacks)  # fmt: skip
    if reduction is not None and not set(REDUCTION_INPUTS) <= set(entry.rules[0].params):
        raise TableError(f"{entry.signature!r}: a reduction's inputs are named {', '.join(REDUCTION_INPUTS)}")
    return _add(entry)


def no_derivative(*spellings, elementwise=True, number=""):
    """Add one entry per function in `spellings`, each of whose inputs is ZERO.

    ``"x < y"`` or ``"math.floor(x) | np.floor"``: the output is named ``y``
    (``z`` if an input is).
    """
    entries = []
    for text in spellings:
        params = _signature_parts(text, text.split("|")[0], NAMESPACE)[2]
        output = "z" if "y" in params else "y"
        entries.append(_add(_make_entry(f"{output} = {text}", "partial" if elementwise else "adjoint", elementwise,
                                        dict.fromkeys(params, ZERO), None, None, number=number)))  # fmt: skip
    return entries


# ---- the index: the stages ask it for rules ------------------------------------------------------
RULES = {}  # the primitive's key -> its rules, in the order the table lists them
ENTRIES = []  # the entries, in the order the table lists them


def _add(entry):
    for rule in entry.rules:
        for other in RULES.get(rule.fn, []):
            if other.params == rule.params and other.positional == rule.positional:
                raise TableError(f"{rule.signature!r}: {other.signature!r} is already in the table")
    for rule in entry.rules:
        RULES.setdefault(rule.fn, []).append(rule)
    ENTRIES.append(entry)
    return entry


def remove(entry):
    """Take `entry` out of the table again (for tests that add one)."""
    for rule in entry.rules:
        RULES[rule.fn].remove(rule)
        if not RULES[rule.fn]:
            del RULES[rule.fn]
    ENTRIES.remove(entry)


REGISTERED = []  # every entry programs registered, in order: its length dates the table


def register(entry):
    """Add a program's `entry`, replacing the rules the table had for its callees; the rules replaced.

    The table loads first, so that a later load cannot clash with the entry.
    An entry left without spellings leaves the table.
    """
    _table()
    replaced = [old for rule in entry.rules for old in RULES.pop(rule.fn, [])]
    for old in replaced:
        old.entry.rules.remove(old)
        if not old.entry.rules:
            ENTRIES.remove(old.entry)
    entry.registered = True
    _add(entry)
    REGISTERED.append(entry)
    return replaced


_LOADED = []  # the table module, once it has added its entries
_LOADED_SCIPY = []  # the SciPy table module, once it has added its entries


def _table():
    """The index, after the table (`primitives.py`) has added its entries: it loads on first use."""
    if not _LOADED:  # importing it adds its entries (a second thread waits for the first's import)
        from . import primitives

        _LOADED.append(primitives)
    return RULES


def _scipy_table():
    """The index with the SciPy entries (`primitives_scipy.py`), which import SciPy: loaded when first needed."""
    _table()
    if not _LOADED_SCIPY:
        from . import primitives_scipy

        _LOADED_SCIPY.append(primitives_scipy)
    return RULES


def is_scipy(fn):
    """Whether `fn` is a SciPy function or a method of a SciPy object (never importing SciPy itself)."""
    special = sys.modules.get("scipy.special")
    if special is None:  # the user's code has not imported it (scipy.stats imports it)
        return False
    owner = getattr(fn, "__self__", fn)
    module = None if isinstance(owner, np.ufunc) else getattr(owner, "__module__", None)  # ufuncs name none
    if str(module or type(owner).__module__).startswith("scipy."):
        return True
    return isinstance(fn, np.ufunc) and getattr(special, fn.__name__, None) is fn


def rules_for(fn):
    """The rules the table has for `fn` (empty if none); SciPy's entries load when a SciPy function is asked for."""
    try:
        found = _table().get(fn)
        if found is None and not _LOADED_SCIPY and is_scipy(fn):
            found = _scipy_table().get(fn)
    except TypeError:  # an unhashable object is no primitive
        return []
    return found or []


def lookup(fn, arity):
    """The rule for calling `fn` with `arity` positional inputs, or None (operators)."""
    return next((rule for rule in rules_for(fn) if len(rule.positional) == arity), None)


def all_entries():
    """Every entry, in the order the table lists them (SciPy's last, when SciPy is installed)."""
    try:
        _scipy_table()
    except ImportError:  # SciPy is an optional dependency
        _table()
    return list(ENTRIES)


def all_rules():
    """Every rule (one per spelling), in the order the table lists them."""
    return [rule for entry in all_entries() for rule in entry.rules]


def match(fn, args, keywords):
    """(rule, {param: argument}) for a call of `fn`, or (None, reason) if no rule fits.

    `args` are the positional argument nodes, `keywords` a list of (name, node).
    A sequence parameter gets the tuple of its argument nodes (`[*xs]`: the
    elements of the list or tuple display passed for it).
    """
    return _first_fitting(rules_for(fn), args, keywords)


def _first_fitting(candidates, args, keywords):
    """(the first of the rules `candidates` the call fits, {param: argument}), or (None, why none fits)."""
    reasons = []
    for rule in candidates:
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
        if param == rule.sequence and rule.sequence not in rule.optional and rule.spread:
            bound[param] = tuple(args)
            args = []
        elif args:
            argument = args.pop(0)
            bound[param] = _elements(argument) if param == rule.sequence else argument
    optional = list(rule.optional)
    for param in optional[: len(optional) if rule.by_position else 1]:  # the first may be passed by position
        if args:
            bound[param] = args.pop(0)
    if args:
        raise TypeError("too many positional arguments")
    for keyword, argument in keywords:
        if keyword not in rule.params or keyword in bound or keyword == rule.sequence:
            raise TypeError(f"the keyword `{keyword}` does not fit")
        bound[keyword] = argument
    for param, default in rule.optional.items():
        if _means_default(rule, bound.get(param), default):
            bound[param] = constant_node(default)
        bound.setdefault(param, constant_node(default))
    for param, argument in bound.items():  # `np.sum([a, b])`: a list for one array would get no gradient
        is_display = isinstance(argument, (gast.List, gast.Tuple))
        if is_display and param != rule.sequence and rule.texts[param] not in MARKERS:
            raise TypeError(f"a list or tuple display is passed for `{param}`: pass an array, e.g. np.array([...])")
    missing = [param for param in rule.params if param not in bound]
    if missing:
        raise TypeError(f"`{missing[0]}` is missing")
    return bound


def _means_default(rule, argument, default):
    """Whether `argument` is SciPy's written-out default: ``None`` for an input whose default is a number."""
    is_none = isinstance(argument, gast.Constant) and argument.value is None
    return is_none and isinstance(default, (int, float)) and rule.expression.startswith("scipy.")


def _elements(argument):
    if isinstance(argument, (gast.Tuple, gast.List)):
        return tuple(argument.elts)
    if isinstance(argument, tuple):
        return argument
    raise TypeError("a list of inputs must be written as a list or tuple display, e.g. `[a, b]`")


def returns_number(rule, inputs):
    """Whether this call's result is a number or a shape (math.sin, len, x.shape, np.sum(x) over all axes)."""
    if rule.number_result:
        return True
    if rule.reduction is not None:  # over every axis, not keeping them
        _, axis, keepdims = rule.reduction_inputs(inputs)
        return axis is None and not keepdims
    return False


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


def tangent_terms(rule):
    """[(sign, term)]: the top-level terms of `rule`'s tangent template, +1 or -1 each."""
    def split(node, sign):
        if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub)):
            return split(node.left, sign) + split(node.right, -sign if isinstance(node.op, gast.Sub) else sign)
        return [(sign, node)]

    return split(rule.tangent, 1)


# ---- reading an entry's spellings (when it is added; with `ast`, which is quick) -----------------
def _make_entry(spellings, form, elementwise, templates, tangent, namespace, domain=REAL, number="",
                array_code=False, reduction=None, sums_back=False, by_position=False, unpacks=False):  # fmt: skip
    """An `Entry` with one `Rule` per spelling, after checking that every input has one template."""
    namespace = {**NAMESPACE, **(namespace or {})}
    output, calls = _read_spellings(spellings, namespace)
    params = calls[0][1][2]
    if set(templates) != set(params):
        raise TableError(
            f"{spellings!r}: give exactly one template (an expression, ZERO, NOT_DIFFERENTIABLE or STATIC) "
            f"for each input {params}, got {sorted(templates)}"
        )
    differentiable = [p for p in params if templates[p] not in MARKERS]
    if form == "adjoint" and tangent is None and differentiable:
        raise TableError(f"{spellings!r}: give the output's tangent (tangent=...) in terms of "
                         + ", ".join("d_" + p for p in differentiable))  # fmt: skip
    entry = Entry(dict(templates), tangent, form, elementwise, namespace)
    domains = domain if isinstance(domain, dict) else {param: domain for param in params}
    numbers = _number_spellings(number)
    for text, (fn, callee, _, positional, optional, sequence, spread) in calls:
        module = _module(fn, callee)
        is_number = numbers if isinstance(numbers, bool) else _callee_text(callee) in numbers
        entry.rules.append(Rule(fn, f"{output} = {text}", output, params, positional, optional, sequence, spread,
                                entry, module, domains, number_result=module == MATH or is_number,
                                array_code=module == NUMPY or array_code, reduction=reduction, sums_back=sums_back,
                                unpacks=unpacks, names=module or MATH, by_position=by_position))  # fmt: skip
    return entry


def _read_spellings(spellings, namespace):
    """(output placeholder, [(call as text, its `_signature_parts`)]), one per spelling, the first first."""
    first, *others = [text.strip() for text in spellings.split("|")]
    try:
        output, value = (part.strip() for part in first.split("=", 1))
        if not output.isidentifier():
            raise ValueError(output)
    except ValueError:
        raise TableError(f"{spellings!r}: a signature reads like 'y = math.sin(x)'") from None
    parts = _signature_parts(spellings, value, namespace)
    _, call, params, positional, optional, sequence, spread = parts
    calls = [(value, parts)]
    for other in others:
        text = _spelled_alike(spellings, other, call, positional, optional, sequence, spread)
        parts = _signature_parts(spellings, text, namespace)
        if parts[2] != params:
            raise TableError(f"{spellings!r}: every spelling takes the inputs {params}, {text!r} takes {parts[2]}")
        calls.append((text, parts))
    return output, calls


def _signature_parts(spellings, text, namespace):
    """(key, callee node, params, positional params, {optional param: default}, sequence param, spread)."""
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise TableError(f"{spellings!r}: a signature reads like 'y = math.sin(x)' ({exc})") from None
    if isinstance(call, ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and _is_placeholder(func.value, namespace):
            fn, positional = "." + func.attr, [func.value.id]
        else:
            fn, positional = _evaluate_reference(spellings, func, namespace), []
        sequence, spread = None, False
        for node in call.args:
            param, is_sequence = _input(spellings, node)
            positional.append(param)
            if is_sequence:
                sequence, spread = param, isinstance(node, ast.Starred)
        optional = {}
        for keyword in call.keywords:
            try:
                optional[keyword.arg] = ast.literal_eval(keyword.value)
            except ValueError:
                raise TableError(f"{spellings!r}: the default of `{keyword.arg}` must be a constant") from None
        positional = tuple(positional)
        return fn, call, positional + tuple(optional), positional, optional, sequence, spread
    if isinstance(call, ast.BinOp):
        inputs, fn = [call.left, call.right], BINARY_OPERATORS[getattr(gast, type(call.op).__name__)]
    elif isinstance(call, ast.UnaryOp):
        inputs, fn = [call.operand], UNARY_OPERATORS[getattr(gast, type(call.op).__name__)]
    elif isinstance(call, ast.Compare) and len(call.ops) == 1:
        inputs, fn = [call.left, call.comparators[0]], COMPARISONS[getattr(gast, type(call.ops[0]).__name__)]
    elif isinstance(call, ast.Attribute) and isinstance(call.value, ast.Name):
        inputs, fn = [call.value], "." + call.attr
    elif isinstance(call, ast.Subscript):
        inputs, fn = [call.value, call.slice], operator.getitem
    else:
        raise TableError(f"{spellings!r}: the right-hand side must be one call, operator, attribute or index")
    params = tuple(_placeholder(spellings, node) for node in inputs)
    return fn, call, params, params, {}, None, False


def _spelled_alike(spellings, other, call, positional, optional, sequence, spread):
    """The call `other` (``np.add``, ``x.sum``) with the first spelling's inputs, as text."""
    if "(" in other or not all(part.isidentifier() for part in other.split(".")):
        return other  # a whole call
    inputs = [("*" if spread else "[*") + p + ("" if spread else "]") if p == sequence else p for p in positional]
    inputs += [f"{param}={default!r}" for param, default in optional.items()]
    root, _, method = other.partition(".")
    if root in positional and method:  # a method of the first input
        if root != positional[0]:
            raise TableError(f"{spellings!r}: {other!r} must be a method of the first input")
        return f"{root}.{method}({', '.join(inputs[1:])})"
    return f"{other}({', '.join(inputs)})"


def _module(fn, callee):
    """The module whose functions a spelling's templates name: "math", "np", or None (operators, builtins)."""
    if isinstance(fn, str):
        return NUMPY  # a method or attribute of an array
    name = dotted_name(callee.func) if isinstance(callee, ast.Call) else None
    return MODULE_OF_ROOT.get(name.split(".")[0]) if name else None


def _callee_text(callee):
    """"max", "np.shape", "x.shape", "x.sum": how `number=` names a spelling."""
    if isinstance(callee, ast.Call):
        return dotted_name(callee.func)
    return dotted_name(callee) if isinstance(callee, ast.Attribute) else None


def _is_placeholder(node, namespace):
    return isinstance(node, ast.Name) and node.id not in namespace and not hasattr(builtins, node.id)


def _input(spellings, node):
    """(placeholder, whether it stands for several inputs) for one argument of a signature."""
    if isinstance(node, ast.Starred):
        return _placeholder(spellings, node.value), True
    if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) == 1 and isinstance(node.elts[0], ast.Starred):
        return _placeholder(spellings, node.elts[0].value), True
    return _placeholder(spellings, node), False


def _placeholder(spellings, node):
    if not isinstance(node, ast.Name):
        raise TableError(f"{spellings!r}: inputs must be placeholder names")
    return node.id


def _evaluate_reference(spellings, node, namespace):
    name = dotted_name(node)
    if name is None:
        raise TableError(f"{spellings!r}: a callee must be a name such as math.sin")
    root, *attributes = name.split(".")
    try:
        value = namespace[root] if root in namespace else getattr(builtins, root)
        for attribute in attributes:
            value = getattr(value, attribute)
    except AttributeError:
        raise TableError(f"{spellings!r}: {name} does not exist") from None
    return value


# ---- parsing an entry's templates (when a rule of it is first used) -------------------------------
def _parse_templates(entry, rule, module):
    """(templates, references, tangent) of `entry`, its `MODULE_FUNCTIONS` naming those of `module`."""
    placeholders = set(rule.params) | {rule.output}
    if entry.form == "adjoint":
        placeholders.add("d_" + rule.output)
    if any(spelling.sequence for spelling in entry.rules):
        placeholders.add("i")
    templates, references = {}, {}
    for param in rule.params:
        text = entry.texts[param]
        if text in MARKERS:
            templates[param] = text
            continue
        templates[param] = _template(entry.signature, text, module, placeholders)
        references.update(_free_references(entry.signature, templates[param], placeholders, entry.namespace))
    tangent = None
    if entry.tangent_text is not None:
        differentiable = [p for p in rule.params if entry.texts[p] not in MARKERS]
        tangent = _template(entry.signature, entry.tangent_text, module, placeholders)
        named = {n.id for n in gast.walk(tangent) if isinstance(n, gast.Name)}
        expected = {"d_" + p for p in differentiable}
        unexpected = {"d_" + p for p in rule.params} - expected
        if not expected <= named or named & unexpected:
            raise TableError(f"{entry.signature!r}: the tangent must name exactly the tangents {sorted(expected)}")
        references.update(_free_references(entry.signature, tangent, placeholders | expected, entry.namespace))
    return templates, references, tangent


def _template(signature, text, module, placeholders):
    try:
        tree = gast.parse(text, mode="eval").body
    except SyntaxError:
        raise TableError(f"{signature!r}: {text!r} is not a Python expression") from None
    return _expand_macros(_with_module_functions(tree, module, placeholders))


def _with_module_functions(tree, module, placeholders):
    """`tree` with each call of a `MODULE_FUNCTIONS` function made a call of `module`'s."""

    class Resolve(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            name = node.func.id if isinstance(node.func, gast.Name) else None
            if name not in MODULE_FUNCTIONS or name in placeholders:
                return node
            if module == MATH and name in WRITTEN_OUT_IN_MATH:
                return _replace_names(gast.parse(WRITTEN_OUT_IN_MATH[name]).body[0].value, {"v": node.args[0]})
            node.func = gast.Attribute(value=gast.Name(module, gast.Load(), None, None), attr=name, ctx=gast.Load())
            return node

    return Resolve().visit(tree)


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
            if "." not in name and not hasattr(builtins, name) and name not in namespace:
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


def two_norm_axis(ord, axis):
    """`axis`, after checking that ``np.linalg.norm(x, ord, axis)`` is a 2-norm (ValueError if not).

    The Frobenius norm of a matrix is the 2-norm of its elements.
    """
    frobenius = ord == "fro" and (axis is None or isinstance(axis, tuple))
    if ord is None or (ord == 2 and isinstance(axis, int)) or frobenius:
        return axis
    raise ValueError(
        "only the 2-norm, the Frobenius norm and the largest singular value are differentiated: leave `ord` out, "
        "or write ord='fro' or ord=2"
    )


def spectral(ord, axis):
    """Whether ``np.linalg.norm(x, ord, axis)`` is the largest singular value (ord=2 over two axes, or of a matrix)."""
    return ord == 2 and not isinstance(axis, int)


def negated(shift):
    """``-shift`` of a constant shift (``np.roll``), also of a tuple of them."""
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


def only_constant_padding(mode):
    """True for ``np.pad``'s mode 'constant' (ValueError for the others)."""
    if mode != "constant":
        raise ValueError(f"only mode='constant' is differentiated, not {mode!r}: pad with zeros or a constant")
    return True


STATIC_HELPERS = {
    "inverse_permutation": inverse_permutation,
    "einsum_adjoint_spec": einsum_adjoint_spec,
    "two_norm_axis": two_norm_axis,
    "negated": negated,
    "spectral": spectral,
    "only_constant_padding": only_constant_padding,
}

# Shorthands for reductions, written out when a template is parsed (see docs/primitives.md).
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
    for field_name, value in gast.iter_fields(template):
        if isinstance(value, list):
            setattr(template, field_name, [_expand_macros(v) if isinstance(v, gast.AST) else v for v in value])
        elif isinstance(value, gast.AST):
            setattr(template, field_name, _expand_macros(value))
    return template


def _replace_names(tree, replacements):
    class Replace(gast.NodeTransformer):
        def visit_Name(self, node):
            return replacements.get(node.id, node)

    return Replace().visit(tree)


# ---- rules over lists: a list built with `append` (or from a comprehension) and what reads it -----
LIST_RULES = {}  # the callee -> its rules over lists (apart from the table: their inputs are lists, not arrays)
LIST_PARAMS = {}  # a list rule's entry -> (the params that are lists, whether its output is a list)


def list_rule(spellings, tangent, lists=("xs",), makes_list=False, **templates):
    """Add a rule one of whose inputs (`lists`) is a list built by the function, or whose output is one.

    The table's rules take arrays; these take the lists a loop appends to,
    so resolve asks for them only where such a list is passed (or made).
    """
    entry = _make_entry(spellings, "adjoint", False, templates, tangent, None)
    entry.rules[:] = [replace(rule, array_code=rule.module == NUMPY and not rule.expression.startswith("runtime."))
                      for rule in entry.rules]  # fmt: skip
    for rule in entry.rules:
        LIST_RULES.setdefault(rule.fn, []).append(rule)
    LIST_PARAMS[entry] = (tuple(lists), makes_list)
    return entry


def list_rules_for(fn):
    """The list rules of `fn` (after the table, which adds them, has loaded)."""
    _table()
    try:
        return LIST_RULES.get(fn, [])
    except TypeError:
        return []


def match_list(fn, args, keywords):
    """(rule, {param: argument}) of `fn`'s list rule for this call, or (None, reason)."""
    rule, bound = _first_fitting(list_rules_for(fn), args, keywords)
    return (rule, bound) if rule is not None else (None, bound or "no rule takes a list")


def list_inputs(rule):
    """The params of `rule` that are lists (none for a table rule)."""
    return LIST_PARAMS.get(rule.entry, ((), False))[0]


def makes_list(rule):
    """Whether `rule`'s output is a list."""
    return LIST_PARAMS.get(rule.entry, ((), False))[1]
