"""Random straight-line programs: a seeded generator, the properties each must have, and a runner.

A program is a module written to a real file and imported, as a user's module
would be: imports (spelled `math.sin`, `m.sin` or `from math import sin`),
module constants, helper functions that astgrad inlines (some calling
others, some returning pairs, some with defaults called by keyword), and a
function `f` of 1-4 parameters and 5-60 statements (most programs short):
assignments, reassignments (of parameters too), augmented assignments, tuple
unpacking and swaps, annotated and chained assignments, helper calls and
values used many times, drawing on every elementwise entry of the primitive
table (`scalar_rules`). Sometimes `f` is a closure made by a factory, and
some local and parameter names are ones astgrad itself likes (`d_x`, `out`,
`sin_x`, `d_out`). Integer results (`int`, `floor`, comparisons) are tracked
as such and converted with `float()` before a NumPy function sees them.

Every argument of a primitive stays in the interval the generator allows it
(the table's own domain, or [-CAP, CAP] where the table says "any real"),
tracked per value by evaluating each primitive on a grid of its argument
intervals; an argument that might leave its interval is squashed into it
(``1.6 + 1.4 * math.tanh(e)``, ``2 + math.cos(e)`` for a denominator, ...).
So nothing overflows and every value is defined wherever the inputs are.

Where a derivative does not exist (`abs` at 0, the tie of `max`, a jump of
`floor`, `round`, a comparison, `hypot` at the origin) finite differences
mean nothing, so an observed copy of the program (`Probe`) records at every
such operation which smooth piece it is on; a sample point is used only if
every input can move by many finite-difference steps without changing any
piece. Programs with no such point are still checked for every other
property; a program singular at every point tried only for reproducibility.

Properties (`PROPERTIES`; for each gradient mode in `MODES`, which picks up
a forward mode once astgrad has one):

* the gradient equals central finite differences (Richardson-extrapolated,
  with a tolerance from the difference of two step sizes and the rounding
  noise of the program's largest intermediate value);
* `value_and_grad` gives exactly f(...) and exactly `grad`'s gradient;
* an output seed of -2 gives exactly -2 times the gradient;
* `astgrad.source` re-parses, re-compiles and computes the same gradient;
* transforming a fresh import of the same file gives byte-identical source.

`bad_program` turns a program into one astgrad must refuse (a loop, a
`global`, an attribute assignment, a side-effecting helper, ...), with the
error class and the line of the file it must name.

NumPy-array programs (arrays of shapes that broadcast, reductions over axes,
reshapes, matrix products) are made and checked by tests/random_array_programs.py,
which reuses this module's helpers, `run_one` and some of its properties
(`identical` compares arrays as well as numbers); `--arrays` runs them here.
To draw on more of the table in scalar programs: `scalar_rules` is where the
primitives are chosen; to add properties: append to `PROPERTIES`.

Programs with control flow (`make_flow_program`, `--control-flow`) are made
the same way with `if`/`elif`/`else` statements, conditional expressions,
conditions joined by `and`/`or`/`not` and chained comparisons, and `for`
loops over `range(...)` of a constant or of an int parameter of `f` (trip
counts 0 to 4; carried values, accumulators, the loop variable in the
arithmetic, nested loops and branches, `break` and `continue` on value
tests, `while True:` counting its iterations up to a `break`), each construct behind a switch in
`CONTROL_FLOW` that is on when astgrad differentiates it. The probe sees the
comparisons of every test, so a sample point is kept away from switch points.

Run many programs:

    python tests/random_programs.py --count 10000 --seed 0
    python tests/random_programs.py --control-flow --count 10000 --seed 0
    python tests/random_programs.py --program 0:123     # print one program and check it
    python tests/random_programs.py --arrays --count 2000 --seed 0      # array programs
    python tests/random_programs.py --arrays --program 0:17
"""

import argparse
import ast
import collections
import copy
import dataclasses
import importlib.util
import itertools
import linecache
import math
import operator
import os
import random
import sys
import tempfile
import threading
import time
import traceback
import warnings
from dataclasses import dataclass

import gast
import numpy as np

import astgrad
from astgrad import api, rules, runtime
from astgrad.rules import REAL, ZERO

MODES = api.MODES  # every gradient mode astgrad offers is checked against finite differences

# ---- the primitives programs draw on -----------------------------------------------------------

SINGULAR = {  # points off the kinks where a primitive has no derivative: input values -> bool
    math.hypot: lambda x, y: math.hypot(x, y) < 1e-6,
    np.hypot: lambda x, y: math.hypot(x, y) < 1e-6,
}
CAP = 6.0  # arguments the table allows anywhere are kept in [-CAP, CAP]
INTEGER_RANGE = (-2, 3)  # integer arguments (`ldexp`'s exponent, `round`'s digits) lie here
COMPARISONS = tuple(rules.COMPARISONS.values())
MARKERS = tuple(getattr(rules, m) for m in ("ZERO", "NOT_DIFFERENTIABLE", "STATIC") if hasattr(rules, m))
CONSTANT_ARGUMENT = tuple(m for m in MARKERS if m is not ZERO)  # integer arguments with no gradient


def partials(rule):
    """The rule's partial derivatives: param -> expression or marker."""
    return getattr(rule, "templates", None) or rule.partials


def is_scalar_rule(rule):
    """Whether scalar programs call `rule`: an elementwise entry called with positional numbers.

    Left out: run-time helpers of generated code, array methods, reductions and
    other array-only entries (`adjoint` entries), lists of inputs, keyword inputs,
    and SciPy's entries (an optional dependency: the programs a seed makes must
    not depend on whether it is installed).
    """
    return (
        getattr(rule, "form", "partial") == "partial"
        and not getattr(rule, "expression", "").startswith("scipy.")
        and not getattr(rule, "is_method", False)
        and not getattr(rule, "sequence", None)
        and not getattr(rule, "optional", None)
        and getattr(rule.fn, "__module__", None) != runtime.__name__
    )


def scalar_rules():
    """The table entries scalar programs draw on (array programs would add their own here)."""
    return [rule for rule in rules.all_rules() if is_scalar_rule(rule)]


def is_piecewise_constant(rule):
    """floor, int, round, comparisons, sign: the derivative is zero between jumps."""
    kinds = [partials(rule)[p] for p in rule.params]
    return ZERO in kinds and all(isinstance(kind, str) and kind in MARKERS for kind in kinds)


TABLE_NAMES = dict(rules.NAMESPACE)  # what names in the table's templates refer to (`np`, `math`, ...)


def kink_tests(rule):
    """The non-smooth parts of a rule's partials (`x > 0` for abs), compiled: what picks the piece."""
    tests = []
    for param in rule.params:
        partial = partials(rule)[param]
        if isinstance(partial, str):
            continue
        for node in gast.walk(partial):
            inner = None
            if isinstance(node, gast.Compare):
                inner = rules.lookup(rules.COMPARISONS[type(node.ops[0])], 2)
            elif isinstance(node, gast.Call):
                inner = rules.lookup(rule.references.get(rules.dotted_name(node.func)), len(node.args))
            if inner is not None and is_piecewise_constant(inner):
                text = gast.unparse(gast.fix_missing_locations(node))
                tests.append(compile(text, f"<kink of {rule.signature}>", "eval"))
    return tests


class Primitive:
    """A table rule as the generator uses it: how to call it, where its arguments may lie."""

    def __init__(self, rule):
        self.rule = rule
        self.template = ast.parse(rule.expression, mode="eval").body
        self.kinks = kink_tests(rule)
        self.is_comparison = rule.fn in COMPARISONS
        self.is_numpy = rule.expression.startswith("np.")
        self.is_kinked = is_piecewise_constant(rule) or bool(self.kinks) or rule.fn in SINGULAR
        self.domains = tuple(self._domain(p) for p in rule.params)
        self.weight = self._weight()

    def _domain(self, param):
        if partials(self.rule)[param] in CONSTANT_ARGUMENT:
            return INTEGER
        domain = tuple(self.rule.domain[param])
        if domain == REAL:
            wide = [(-CAP, CAP) if p == param else self._domain_in_table(p) for p in self.rule.params]
            try:
                values = [abs(float(v)) for v in grid_values(self.rule.fn, wide)]
                if all(math.isfinite(v) and v < 1e5 for v in values):
                    return (-CAP, CAP)
            except (ArithmeticError, ValueError, FloatingPointError):
                pass
        return domain

    def _domain_in_table(self, param):
        return INTEGER if partials(self.rule)[param] in CONSTANT_ARGUMENT else tuple(self.rule.domain[param])

    def _weight(self):
        fn = self.rule.fn
        if fn in (operator.add, operator.sub, operator.mul):
            return 3.0
        if fn in (operator.truediv, operator.neg):
            return 1.5
        if self.is_comparison:
            return 0.2
        if self.is_kinked:
            return 0.3
        return 0.6 if self.is_numpy else 1.0

    def call(self, arguments):
        """The expression calling this primitive on `arguments` (ast nodes, in parameter order)."""
        return substitute(self.template, dict(zip(self.rule.params, arguments)))


def substitute(template, bound):
    """A copy of the expression `template` with the names in `bound` replaced by their nodes."""
    if isinstance(template, ast.Name) and template.id in bound:
        return bound[template.id]
    new = copy.copy(template)
    for name, value in ast.iter_fields(template):
        if isinstance(value, list):
            setattr(new, name, [substitute(v, bound) if isinstance(v, ast.AST) else v for v in value])
        elif isinstance(value, ast.AST):
            setattr(new, name, substitute(value, bound))
    return new


class Ints(tuple):
    """An interval of integer values: int(), floor(), comparisons, integer constants.

    NumPy functions get them converted with float() first: NumPy computes on
    Python ints in integer arithmetic (np.reciprocal(2) is 0).
    """


INTEGER = Ints(INTEGER_RANGE)  # the domain of an integer argument


def grid_values(fn, intervals, points=None):
    """`fn` on a grid over the argument intervals (integers for an `Ints` interval)."""
    points = points or (9 if len(intervals) == 1 else 5)
    axes = []
    for interval in intervals:
        low, high = interval
        if isinstance(interval, Ints):
            step = max(1, (high - low) // (points - 1))
            axes.append(sorted(set(range(low, high + 1, step)) | {high}))
        elif high > low:
            axes.append([low + (high - low) * k / (points - 1) for k in range(points)])
        else:
            axes.append([low])
    with np.errstate(all="raise"):
        return [fn(*point) for point in itertools.product(*axes)]


def output_interval(fn, intervals):
    """An interval holding `fn`'s values for arguments in `intervals` (grid estimate, padded)."""
    raw = grid_values(fn, intervals)
    values = [float(v) for v in raw]
    low, high = min(values), max(values)
    pad = 0.05 * (high - low) + 1e-9 * max(1.0, abs(low), abs(high))
    if all(isinstance(v, (int, np.integer, np.bool_)) for v in raw):
        return Ints((math.floor(low), math.ceil(high)))
    return (low - pad, high + pad)


def inside(interval, domain):
    return domain[0] <= interval[0] and interval[1] <= domain[1]


# ---- building programs -------------------------------------------------------------------------

SQUASHES = (  # expressions in E whose values lie in [-1, 1]
    "math.tanh(E)",
    "np.tanh(E)",
    "math.sin(E)",
    "math.cos(E)",
    "math.erf(E)",
    "E / math.sqrt(1 + E * E)",
    "math.atan(E) / 1.6",
)
BOUNDED_HELPER = "def bounded(t):\n    return t / math.sqrt(1.0 + t * t)\n"
PARAMETER_NAMES = ("x", "y", "z", "w", "theta", "d_out", "rate")
LOCAL_NAMES = ("a", "b", "c", "t", "u", "v", "s", "p", "q", "r", "acc", "tmp", "sin_x", "d_x", "out", "d_out",
               "x_1", "prod", "total", "max_out", "d_a")  # fmt: skip
CONSTANT_NAMES = ("SCALE", "OFFSET", "RATE")
CONSTANTS = (0.5, 1.0, 2.0, 1.5, 0.25, 3.0, 0.1, 2.5, 2, 3, 0.75)


def constant(value):
    """A node for a number, negative ones as unary minus (so `(-1.5) ** 2` prints right)."""
    if value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-value))
    return ast.Constant(value=value)


def load(identifier):
    return ast.Name(id=identifier, ctx=ast.Load())


def store(identifier):
    return ast.Name(id=identifier, ctx=ast.Store())


@dataclass
class Helper:
    name: str
    params: tuple
    defaults: tuple  # values of the last parameters' defaults
    results: tuple  # the interval of each returned value (two for a pair)
    tree: ast.FunctionDef


@dataclass
class Program:
    """A generated module: its source, the function to differentiate and how to call it."""

    label: str  # "seed:index", which regenerates it
    source: str
    params: tuple
    wrt: object  # the `wrt` passed to astgrad
    wrt_indices: tuple  # the positions of the differentiated parameters
    as_tuple: bool  # whether the gradient is a tuple
    function_line: int  # the line of `def f`
    style: str  # how math and NumPy are imported: "plain", "alias" or "from"
    used: tuple = ()  # signatures of the primitives the program calls
    counts: tuple = ()  # (name, value) of int parameters after `params` that set trip counts
    family: str = ""  # "flow" for programs with control flow (their files get another name)


class Scope:
    """The values a body being generated can use: name -> interval, and which depend on the inputs."""

    def __init__(self, names):
        self.values = dict(names)
        self.order = list(names)  # most recently assigned last
        self.active = set(names)  # names whose value depends on a parameter

    def depends(self, *nodes):
        """Whether an expression made of `nodes` depends on a parameter."""
        return any(isinstance(n, ast.Name) and n.id in self.active for node in nodes for n in ast.walk(node))

    def assign(self, name, interval, active):
        self.values[name] = interval
        if name in self.order:
            self.order.remove(name)
        self.order.append(name)
        (self.active.add if active else self.active.discard)(name)


_primitives = {}


def primitives_for(rules):
    """The `Primitive`s of `rules` (made once: working out their domains takes a while)."""
    key = tuple(id(rule) for rule in rules)
    if key not in _primitives:
        _primitives[key] = [Primitive(rule) for rule in rules]
    return _primitives[key]


class Generator:
    """Builds one random program from `rng` (a `random.Random`)."""

    longest = 55  # statements in `f` past the first five, at most
    pair_helpers = True  # helpers may return two values

    def __init__(self, rng, rules=None):
        self.rng = rng
        self.primitives = primitives_for(tuple(rules if rules is not None else scalar_rules()))
        self.weights = [p.weight for p in self.primitives]
        self.by_fn = {(p.rule.fn, len(p.rule.params)): p for p in self.primitives}
        self.used = []
        self.helpers = []
        self.constants = {}
        self.closure_constants = {}
        self.has_bounded = False

    # ---- expressions -------------------------------------------------------------------------
    def primitive(self, fn, arity):
        return self.by_fn[(fn, arity)]

    def apply(self, primitive, arguments):
        """(node, interval) of `primitive` applied to [(node, interval), ...]."""
        if primitive.is_numpy:
            to_float = self.primitive(float, 1)
            arguments = [self.apply(to_float, [a]) if isinstance(a[1], Ints) else a for a in arguments]
        self.used.append(primitive.rule.signature)
        node = primitive.call([a[0] for a in arguments])
        intervals = [a[1] for a in arguments]
        return node, output_interval(primitive.rule.fn, intervals)

    def expression(self, scope, depth):
        """(node, interval) of a random expression over the values in `scope`."""
        if depth <= 0 or self.rng.random() < 0.2:
            return self.leaf(scope)
        primitive = self.rng.choices(self.primitives, self.weights)[0]
        if primitive.is_comparison:
            return self.comparison_factor(primitive, scope, depth)
        arguments = [self.argument(domain, scope, depth - 1) for domain in primitive.domains]
        return self.apply(primitive, arguments)

    def argument(self, domain, scope, depth):
        if isinstance(domain, Ints):
            return self.integer_argument(scope, depth)
        return self.fit(self.expression(scope, depth), domain)

    def comparison_factor(self, comparison, scope, depth):
        """``e * (a < b)``: a comparison used as a 0/1 factor, as users write it."""
        left = self.argument((-CAP, CAP), scope, depth - 1)
        right = self.argument((-CAP, CAP), scope, depth - 1)
        flag = self.apply(comparison, [left, right])
        factor = self.argument((-CAP, CAP), scope, depth - 1)
        operands = [factor, flag] if self.rng.random() < 0.7 else [flag, factor]
        return self.apply(self.primitive(operator.mul, 2), operands)

    def integer_argument(self, scope, depth):
        """An int for an integer argument (`ldexp`'s exponent): a literal or `int(...)` of a value."""
        low, high = INTEGER_RANGE
        if self.rng.random() < 0.6:
            value = self.rng.randint(low, high)
            return constant(value), Ints((value, value))
        inner = self.fit(self.expression(scope, depth), (low + 0.1, high + 0.9))
        return self.apply(self.primitive(int, 1), [inner])

    def leaf(self, scope):
        roll = self.rng.random()
        if scope.order and roll < 0.75:
            active = [n for n in scope.order if n in scope.active]
            pool = active if active and self.rng.random() < 0.8 else scope.order
            name = self.rng.choice(pool[-4:] if self.rng.random() < 0.6 else pool)
            return load(name), scope.values[name]
        if roll < 0.8 and (self.constants or self.closure_constants):
            named = dict(self.constants, **self.closure_constants)
            name = self.rng.choice(sorted(named))
            return load(name), (named[name], named[name])
        if roll < 0.83:
            return ast.Attribute(value=load("math"), attr="pi", ctx=ast.Load()), (math.pi, math.pi)
        value = self.rng.choice(CONSTANTS) if self.rng.random() < 0.6 else round(self.rng.uniform(-3, 3), 2)
        return constant(value), Ints((value, value)) if isinstance(value, int) else (value, value)

    def fit(self, argument, domain):
        """`argument` if its values stay in `domain`, else squashed into it."""
        node, interval = argument
        if inside(interval, domain):
            return node, interval
        low, high = domain
        width = high - low
        a = low + self.rng.uniform(0, 0.3) * width
        b = high - self.rng.uniform(0, 0.3) * width
        center = round((a + b) / 2, 2)
        radius = math.floor(min(center - low, high - center, (b - a) / 2) * 100) / 100
        if radius <= 0:
            center, radius = (low + high) / 2, (high - low) / 2 * 0.9
        squashed = self.squash(node)
        if radius != 1:
            squashed = ast.BinOp(left=constant(radius), op=ast.Mult(), right=squashed)
        if center != 0:
            squashed = ast.BinOp(left=constant(center), op=ast.Add(), right=squashed)
        return squashed, (center - radius, center + radius)

    def squash(self, node):
        choices = [s for s in SQUASHES if "E * E" not in s or isinstance(node, (ast.Name, ast.Constant))]
        choices += ["bounded(E)"] if self.has_bounded else []
        template = ast.parse(self.rng.choice(choices), mode="eval").body

        class Fill(ast.NodeTransformer):
            def visit_Name(self, name):
                return copy.deepcopy(node) if name.id == "E" else name

        return Fill().visit(template)

    # ---- statements --------------------------------------------------------------------------
    def body(self, scope, count, names, allow_helpers=True):
        """`count` statements assigning values in `scope` (the final return not included)."""
        statements = []
        while len(statements) < count:
            kind = self.rng.choices(
                ["assign", "reassign", "augmented", "unpack", "swap", "helper", "annotated", "chain", "pass"],
                [5, 3, 3, 1, 0.5, 1.5 if allow_helpers and self.helpers else 0, 0.4, 0.3, 0.1],
            )[0]
            statement = getattr(self, "_" + kind)(scope, names)
            if statement is not None:
                statements.append(statement)
        return statements

    def _new_name(self, scope, names):
        fresh = [n for n in names if n not in scope.values]
        return self.rng.choice(fresh) if fresh and self.rng.random() < 0.8 else self.rng.choice(names)

    def _assign(self, scope, names):
        target = self._new_name(scope, names)
        node, interval = self.expression(scope, self.rng.randint(1, 3))
        scope.assign(target, interval, scope.depends(node))
        return ast.Assign(targets=[store(target)], value=node, lineno=0)

    def _reassign(self, scope, names):
        assigned = list(scope.order)  # parameters too
        if not assigned:
            return None
        target = self.rng.choice(assigned)
        node, interval = self.expression(scope, self.rng.randint(1, 3))
        scope.assign(target, interval, scope.depends(node))
        return ast.Assign(targets=[store(target)], value=node, lineno=0)

    def _augmented(self, scope, names):
        candidates = [n for n in scope.order if inside(scope.values[n], (-CAP, CAP))]  # parameters too
        if not candidates:
            return None
        target = self.rng.choice(candidates)
        current = (load(target), scope.values[target])
        op, fn = self.rng.choice([(ast.Add(), operator.add), (ast.Sub(), operator.sub),
                                  (ast.Mult(), operator.mul), (ast.Div(), operator.truediv),
                                  (ast.Pow(), operator.pow)])  # fmt: skip
        primitive = self.primitive(fn, 2)
        if fn is operator.pow and not inside(current[1], primitive.domains[0]):
            value = self.rng.choice([2, 3])
            operand = (constant(value), Ints((value, value)))
        else:
            operand = self.argument(primitive.domains[1], scope, self.rng.randint(0, 2))
        _, interval = self.apply(primitive, [current, operand])
        scope.assign(target, interval, scope.depends(current[0], operand[0]))
        return ast.AugAssign(target=store(target), op=op, value=operand[0])

    def _unpack(self, scope, names):
        first = self._new_name(scope, names)
        second = self.rng.choice([n for n in names if n != first])
        values = [self.expression(scope, self.rng.randint(0, 2)) for _ in range(2)]
        if self.rng.random() < 0.3:  # nested: (a, b), c = (e1, e2), e3
            third = self.rng.choice([n for n in names if n not in (first, second)])
            values.append(self.expression(scope, 1))
            targets = ast.Tuple(elts=[ast.Tuple(elts=[store(first), store(second)], ctx=ast.Store()), store(third)],
                                ctx=ast.Store())  # fmt: skip
            value = ast.Tuple(elts=[ast.Tuple(elts=[values[0][0], values[1][0]], ctx=ast.Load()), values[2][0]],
                              ctx=ast.Load())  # fmt: skip
            activity = [scope.depends(node) for node, _ in values]
            for name, (_, interval), active in zip((first, second, third), values, activity):
                scope.assign(name, interval, active)
            return ast.Assign(targets=[targets], value=value, lineno=0)
        activity = [scope.depends(node) for node, _ in values]
        for name, (_, interval), active in zip((first, second), values, activity):
            scope.assign(name, interval, active)
        targets = ast.Tuple(elts=[store(first), store(second)], ctx=ast.Store())
        return ast.Assign(targets=[targets], value=ast.Tuple(elts=[v[0] for v in values], ctx=ast.Load()), lineno=0)

    def _swap(self, scope, names):
        assigned = list(scope.order)  # parameters too
        if len(assigned) < 2:
            return None
        a, b = self.rng.sample(assigned, 2)
        intervals, activity = (scope.values[a], scope.values[b]), (a in scope.active, b in scope.active)
        scope.assign(a, intervals[1], activity[1])
        scope.assign(b, intervals[0], activity[0])
        targets = ast.Tuple(elts=[store(a), store(b)], ctx=ast.Store())
        return ast.Assign(targets=[targets], value=ast.Tuple(elts=[load(b), load(a)], ctx=ast.Load()), lineno=0)

    def _helper(self, scope, names):
        helper = self.rng.choice(self.helpers)
        required = len(helper.params) - len(helper.defaults)
        count = self.rng.randint(required, len(helper.params))
        arguments = [self.argument((-CAP, CAP), scope, self.rng.randint(0, 2)) for _ in range(count)]
        by_keyword = count > required and self.rng.random() < 0.5
        positional = arguments[:-1] if by_keyword else arguments
        keywords = [ast.keyword(arg=helper.params[count - 1], value=arguments[-1][0])] if by_keyword else []
        call = ast.Call(func=load(helper.name), args=[a[0] for a in positional], keywords=keywords)
        active = scope.depends(*[a[0] for a in arguments])
        if len(helper.results) == 2:
            first = self._new_name(scope, names)
            second = self.rng.choice([n for n in names if n != first])
            scope.assign(first, helper.results[0], active)
            scope.assign(second, helper.results[1], active)
            return ast.Assign(targets=[ast.Tuple(elts=[store(first), store(second)], ctx=ast.Store())], value=call,
                              lineno=0)  # fmt: skip
        target = self._new_name(scope, names)
        scope.assign(target, helper.results[0], active)
        return ast.Assign(targets=[store(target)], value=call, lineno=0)

    def _annotated(self, scope, names):
        target = self._new_name(scope, names)
        node, interval = self.expression(scope, self.rng.randint(1, 2))
        scope.assign(target, interval, scope.depends(node))
        return ast.AnnAssign(target=store(target), annotation=load("float"), value=node, simple=1)

    def _chain(self, scope, names):
        first = self._new_name(scope, names)
        second = self.rng.choice([n for n in names if n != first])
        node, interval = self.expression(scope, self.rng.randint(1, 2))
        active = scope.depends(node)
        scope.assign(first, interval, active)
        scope.assign(second, interval, active)
        return ast.Assign(targets=[store(first), store(second)], value=node, lineno=0)

    def _pass(self, scope, names):
        return ast.Pass()

    def returned(self, scope):
        """The final return: a few of the latest values combined."""
        terms = [self.expression(scope, self.rng.randint(0, 2)) for _ in range(self.rng.randint(1, 3))]
        total = terms[0]
        for term in terms[1:]:
            total = self.apply(self.primitive(self.rng.choice([operator.add, operator.sub]), 2), [total, term])
        return ast.Return(value=total[0])

    # ---- helpers and the module --------------------------------------------------------------
    def helper(self, index):
        stem = "helper" if self.rng.random() < 0.6 else self.rng.choice(["sigmoid", "smooth", "mix", "bump", "scaled"])
        name = f"{stem}_{index}"
        params = tuple(self.rng.sample(["x", "t", "a", "k", "scale"], self.rng.randint(1, 3)))
        defaults = (round(self.rng.uniform(0.2, 2.0), 2),) if len(params) > 1 and self.rng.random() < 0.5 else ()
        scope = Scope({p: (-CAP, CAP) for p in params})
        body = self.body(scope, self.rng.randint(0, 3), list(LOCAL_NAMES[:8]), allow_helpers=True)
        if self.pair_helpers and self.rng.random() < 0.25:
            first, second = self.expression(scope, 2), self.expression(scope, 1)
            results = (first[1], second[1])
            value = ast.Tuple(elts=[first[0], second[0]], ctx=ast.Load())
        else:
            node, interval = self.expression(scope, 2)
            results, value = (interval,), node
        args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params], vararg=None, kwonlyargs=[],
                             kw_defaults=[], kwarg=None, defaults=[constant(d) for d in defaults])  # fmt: skip
        tree = ast.FunctionDef(name=name, args=args, body=body + [ast.Return(value=value)], decorator_list=[],
                               returns=None, type_comment=None, lineno=0)  # fmt: skip
        return Helper(name, params, defaults, results, tree)

    def program(self, label, statements=None):
        """A `Program` with `statements` statements in `f` (5-60 at random)."""
        rng = self.rng
        count = statements if statements is not None else 5 + int(self.longest * rng.random() ** 2)  # mostly short
        style = rng.choice(["plain", "plain", "alias", "from"])
        for name in rng.sample(CONSTANT_NAMES, rng.randint(0, 2)):
            self.constants[name] = round(rng.uniform(-2, 2), 2)
        self.has_bounded = rng.random() < 0.3
        for index in range(rng.choice([0, 0, 1, 2, 3])):
            self.helpers.append(self.helper(index))
        closure = rng.random() < 0.15
        if closure:
            self.closure_constants["k"] = round(rng.uniform(0.5, 2.0), 2)
        params = tuple(rng.sample(PARAMETER_NAMES, rng.randint(1, 4)))
        scope = Scope({p: (-2.0, 2.0) for p in params})
        locals_ = [n for n in LOCAL_NAMES if n not in params]
        body = self.body(scope, count - 1, locals_)
        if rng.random() < 0.1:
            body.insert(0, ast.Expr(value=ast.Constant(value="A generated program.")))
        body.append(self.returned(scope))
        function = ast.FunctionDef(name="f", args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params],
                                   vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]), body=body,
                                   decorator_list=[], returns=None, type_comment=None, lineno=0)  # fmt: skip
        source = self.module_source(function, style, closure)
        wrt, indices, as_tuple = self.choose_wrt(params)
        line = source.splitlines().index(next(l for l in source.splitlines() if l.lstrip().startswith("def f("))) + 1
        return Program(label, source, params, wrt, indices, as_tuple, line, style, tuple(self.used))

    def choose_wrt(self, params):
        rng, n = self.rng, len(params)
        roll = rng.random()
        if roll < 0.7:
            return None, tuple(range(n)), n != 1
        if roll < 0.8:
            index = rng.randrange(-n, n)
            return index, (index % n,), False
        if roll < 0.85:
            index = rng.randrange(n)
            return params[index], (index,), False
        indices = rng.sample(range(n), rng.randint(1, n))
        wrt = [params[i] if rng.random() < 0.5 else i for i in indices]
        return (tuple(wrt) if rng.random() < 0.7 else wrt), tuple(indices), True

    def module_source(self, function, style, closure):
        imports = ["import math", "import numpy as np"]
        tree = ast.Module(body=[h.tree for h in self.helpers] + [function], type_ignores=[])
        if style == "alias":
            imports = ["import math as m", "import numpy as npy"]
            _rename_modules(tree, {"math": "m", "np": "npy"})
        elif style == "from":
            used = sorted({node.attr for node in ast.walk(tree) if _is_module_attribute(node, "math")})
            chosen = [name for name in used if self.rng.random() < 0.6 and name != "pi"]
            if chosen:
                imports.append(f"from math import {', '.join(chosen)}")
                _unqualify(tree, "math", chosen)
        parts = ['"""A program made by tests/random_programs.py."""\n' + "\n".join(imports)]
        if self.constants:
            parts.append("\n".join(f"{name} = {value!r}" for name, value in self.constants.items()))
        if self.has_bounded:
            bounded = BOUNDED_HELPER
            if style == "alias":
                bounded = bounded.replace("math.", "m.")
            parts.append(bounded.rstrip())
        parts += [ast.unparse(ast.fix_missing_locations(helper)) for helper in tree.body[:-1]]
        text = ast.unparse(ast.fix_missing_locations(function))
        if closure:
            indented = "\n".join("    " + line for line in text.splitlines())
            text = f"def make_f(k):\n{indented}\n    return f\n\n\nf = make_f({self.closure_constants['k']!r})"
        parts.append(text)
        return "\n\n\n".join(parts) + "\n"


def _is_module_attribute(node, module):
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == module


def _rename_modules(tree, renames):
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in renames:
            node.value.id = renames[node.value.id]


def _unqualify(tree, module, names):
    class Unqualify(ast.NodeTransformer):
        def visit_Attribute(self, node):
            if _is_module_attribute(node, module) and node.attr in names:
                return load(node.attr)
            return self.generic_visit(node)

    Unqualify().visit(tree)


def make_program(seed, index, statements=None):
    """Program `index` of the run with `seed` (the same on every machine and hash seed)."""
    rng = random.Random(f"astgrad-random-programs:{seed}:{index}")
    return Generator(rng).program(f"{seed}:{index}", statements)


# ---- programs with control flow ------------------------------------------------------------------

CONTROL_FLOW = {  # construct -> whether programs with control flow use it (what astgrad differentiates)
    "if": True,  # if/else on values, and if with no else reassigning names defined before
    "elif": True,
    "conditional_expression": True,  # `a if test else b`
    "boolean_test": True,  # `and`, `or`, `not` and chained comparisons in tests
    "numpy_with_branches": True,  # NumPy calls in a function with a branch
    "for_range": True,  # `for i in range(K)`: carried values, accumulators, the loop variable in arithmetic
    "range_parameter": True,  # `for i in range(n)` with `n` an int parameter (0 to 4)
    "nested": True,  # a loop or branch inside a loop or branch
    "numpy_with_loops": True,  # array programs with loops (random_array_programs.make_flow_program)
    "pair_helper_with_loops": True,  # `a, b = helper(...)` before a loop
    "float_parameter_with_array_loops": True,  # a Python float parameter of an array program with a loop
    "generator_sum": True,  # `sum(E for k in range(K) if k != c)` (or of a list comprehension)
    "break": True,  # `if test: break` in a loop's body (sometimes two ifs deep), on values
    "continue": True,  # `if test: continue` the same way
    "while_true": True,  # a loop written `while True:` with a count and a `break`
}
LOOP_VARIABLES = ("i", "j", "k", "step")
ACCUMULATORS = ("total", "acc_sum", "energy")
COUNT_NAMES = ("n", "steps")
MAX_TRIPS = 4  # trip counts are 0 to MAX_TRIPS


def hull(*intervals):
    return (min(i[0] for i in intervals), max(i[1] for i in intervals))


class FlowGenerator(Generator):
    """Programs whose `f` also has `if`/`elif`/`else`, conditional expressions and `for` loops.

    Intervals stay right through control flow: after a branch a name holds the
    hull of what each branch gave it; a loop's carried names are kept in an
    interval `H` holding their value at entry (each iteration ends by fitting
    them into `H` again), its accumulator adds a term in [-1, 1] per iteration,
    and names first assigned in a loop or in one branch are not used after it.
    """

    longest = 20  # a branch or loop holds statements of its own

    def __init__(self, rng, switches=None):
        self.switches = dict(CONTROL_FLOW, **(switches or {}))
        rules = scalar_rules()
        if not self.switches["numpy_with_branches"]:
            rules = [p.rule for p in primitives_for(tuple(rules)) if not p.is_numpy]
        super().__init__(rng, rules)
        self.counts = []  # (name, value) of the trip-count parameters
        self.depth = 0  # how deep in control flow the statements being made are
        self.in_helper = False  # helpers stay straight-line
        self.plain = False  # no helper call (`bounded`) in what is being made

    def squash(self, node):
        choices = [s for s in SQUASHES if self.switches["numpy_with_branches"] or not s.startswith("np.")]
        choices = [s for s in choices if "E * E" not in s or isinstance(node, (ast.Name, ast.Constant))]
        choices += ["bounded(E)"] if self.has_bounded and not self.plain else []
        return substitute(ast.parse(self.rng.choice(choices), mode="eval").body, {"E": node})

    def plain_expression(self, scope, depth):
        """An expression calling no helper: astgrad refuses a helper called where it may not run
        (an arm of a conditional expression, a condition joined by `and`/`or`)."""
        self.plain = True
        try:
            return self.expression(scope, depth)
        finally:
            self.plain = False

    # ---- statements ----------------------------------------------------------------------------
    @property
    def pair_helpers(self):
        return self.switches["pair_helper_with_loops"] or not self.switches["for_range"]

    def kinds(self):
        return [k for k, on in (("if", self.switches["if"]), ("for", self.switches["for_range"]),
                                ("sum", self.switches["generator_sum"])) if on]  # fmt: skip

    def helper(self, index):
        self.in_helper = True
        try:
            return super().helper(index)
        finally:
            self.in_helper = False

    def body(self, scope, count, names, allow_helpers=True):
        """`f`'s statements: those of straight-line programs, and a quarter of them control flow."""
        if self.in_helper or not self.kinds():
            return super().body(scope, count, names, allow_helpers)
        statements = []
        while len(statements) < count:
            if self.rng.random() < 0.25:
                statements.extend(getattr(self, "_" + self.rng.choice(self.kinds()) + "_statement")(scope, names))
            else:
                statements.extend(super().body(scope, 1, names, allow_helpers))
        return statements

    def _assign(self, scope, names):
        if self.in_helper or not self.switches["conditional_expression"] or self.rng.random() > 0.15:
            return super()._assign(scope, names)
        target = self._new_name(scope, names)
        test = self.test(scope)
        (yes, low), (no, high) = self.plain_expression(scope, 2), self.plain_expression(scope, 2)
        scope.assign(target, hull(low, high), scope.depends(yes, no, test))
        self.used.append("conditional expression")
        return ast.Assign(targets=[store(target)], value=ast.IfExp(test=test, body=yes, orelse=no), lineno=0)

    def comparison(self, scope, simple=False):
        """`e < a` (any of < > <= >=) or `lo < e < hi`; with `simple`, `e` is a name or a constant."""
        ops = [ast.Lt(), ast.Gt(), ast.LtE(), ast.GtE()]
        if simple:
            left = self.leaf(scope)[0]
        else:
            self.plain = True  # astgrad refuses a helper anywhere in a condition with `and`/`or`
            left = self.fit(self.expression(scope, self.rng.randint(0, 2)), (-CAP, CAP))[0]
            self.plain = False
        if self.switches["boolean_test"] and self.rng.random() < 0.2:  # lo < e < hi
            low = round(self.rng.uniform(-1.5, 0.5), 2)
            high = round(low + self.rng.uniform(0.3, 2.0), 2)
            self.used.append("chained comparison")
            return ast.Compare(left=constant(low), ops=[ast.Lt(), ast.Lt()], comparators=[left, constant(high)])
        right = self.leaf(scope)[0] if self.rng.random() < 0.5 else constant(round(self.rng.uniform(-1.5, 1.5), 2))
        return ast.Compare(left=left, ops=[self.rng.choice(ops)], comparators=[right])

    def test(self, scope):
        """A condition on values: comparisons, sometimes combined with and/or/not."""
        roll = self.rng.random()
        if not self.switches["boolean_test"] or roll < 0.7:
            return self.comparison(scope)
        if roll < 0.8:
            self.used.append("not")
            return ast.UnaryOp(op=ast.Not(), operand=self.comparison(scope))
        self.used.append("and/or")
        op = ast.And() if self.rng.random() < 0.5 else ast.Or()
        # astgrad refuses a later operand that needs a computation of its own (it may not run)
        return ast.BoolOp(op=op, values=[self.comparison(scope), self.comparison(scope, simple=True)])

    def block(self, scope, names, count):
        """`count` statements over a copy of `scope`, assigning only `names` (a nested construct
        among them, when allowed): (statements, the copy as they leave it)."""
        inner = copy.deepcopy(scope)
        self.depth += 1
        statements = []
        for _ in range(count if names else 0):
            if self.switches["nested"] and self.depth < 3 and self.rng.random() < 0.3:
                kind = self.rng.choice(self.kinds())
                statements.extend(getattr(self, "_" + kind + "_statement")(inner, names))
                self.used.append("nested " + kind)
            else:
                statements.append(self._assign(inner, names))
        self.depth -= 1
        return statements, inner

    def _if_statement(self, scope, names):
        """`if`/`elif`/`else` assigning one or two names in every branch (or, with no else, names
        defined before); the names first assigned inside one branch only are not used after it."""
        temporaries = [n for n in names if n not in scope.values]
        defined = [n for n in scope.order if n in names or self.depth == 0]  # nested: the block's own names
        if not temporaries and not defined:
            return []
        targets = self.rng.sample(defined, min(len(defined), self.rng.randint(1, 2))) if defined else []
        if not targets or self.rng.random() < 0.4:
            targets = (targets + [self.rng.choice(temporaries or list(names))])[-2:]
        arms = 3 if self.switches["elif"] and self.rng.random() < 0.3 else 2
        if arms == 2 and all(t in scope.values for t in targets) and self.rng.random() < 0.3:
            arms = 1  # no else: the names keep their values when the test is false
        tests, bodies, outcomes = [], [], []
        for arm in range(arms):
            if arm < max(arms - 1, 1):
                tests.append(self.test(scope))
            local = [n for n in temporaries if n not in targets]
            statements, inner = self.block(scope, local, self.rng.randint(0, 2))
            for target in targets:
                node, interval = self.expression(inner, self.rng.randint(1, 2))
                inner.assign(target, interval, inner.depends(node))
                statements.append(ast.Assign(targets=[store(target)], value=node, lineno=0))
            bodies.append(statements)
            outcomes.append(inner)
        if arms == 1:
            outcomes.append(scope)
        for target in targets:
            active = any(target in o.active for o in outcomes)
            scope.assign(target, hull(*[o.values[target] for o in outcomes]), active)
        orelse = bodies[-1] if arms > 1 else []
        if arms == 3:
            orelse = [ast.If(test=tests[1], body=bodies[1], orelse=bodies[2])]
            self.used.append("elif")
        self.used.append("if" if arms > 1 else "if without else")
        return [ast.If(test=tests[0], body=bodies[0], orelse=orelse)]

    def trip_count(self, scope):
        """The `range(...)` of a loop: a constant, or an int parameter of `f`, trips 0 to MAX_TRIPS."""
        if self.switches["range_parameter"] and self.depth == 0 and self.rng.random() < 0.5:
            if not self.counts or (len(self.counts) < 2 and self.rng.random() < 0.3):
                name = COUNT_NAMES[len(self.counts)]
                self.counts.append((name, self.rng.randint(0, MAX_TRIPS)))
            name, value = self.rng.choice(self.counts)
            self.used.append("range of a parameter")
            return ast.Call(func=load("range"), args=[load(name)], keywords=[]), MAX_TRIPS
        trips = self.rng.choice([0, 1, 2, 3, 3, 4])
        self.used.append("zero-trip loop" if trips == 0 else "range of a constant")
        if trips and self.rng.random() < 0.3:  # range(1, trips + 1)
            return ast.Call(func=load("range"), args=[constant(1), constant(trips + 1)], keywords=[]), trips + 1
        return ast.Call(func=load("range"), args=[constant(trips)], keywords=[]), trips

    def update(self, scope, name, variable):
        """(node, interval) of a carried value's next value: mostly `name + step`, as in an integrator,
        the step sometimes scaled by the loop variable."""
        if self.rng.random() < 0.3:
            return self.expression(scope, self.rng.randint(1, 3))
        step = self.fit(self.expression(scope, self.rng.randint(1, 2)), (-1.0, 1.0))
        if self.rng.random() < 0.4:
            step = self.apply(self.primitive(operator.mul, 2), [step, (load(variable), scope.values[variable])])
        op = self.rng.choice([operator.add, operator.sub, operator.mul])
        return self.apply(self.primitive(op, 2), [(load(name), scope.values[name]), step])

    def _sum_statement(self, scope, names):
        """`t = sum(E for k in range(K))`, maybe filtered (`if k != c`), maybe of a list comprehension;
        each term fitted into [-1, 1], so the sum is in [-K, K]."""
        taken = set(scope.values) | set(names) | set(self.closure_constants)
        variable = next((v for v in LOOP_VARIABLES if v not in taken), None)
        if variable is None or not names:
            return []
        trips = self.rng.randint(1, MAX_TRIPS)
        inner = copy.deepcopy(scope)
        inner.assign(variable, Ints((0, trips - 1)), False)
        self.plain = True  # a helper in the element would be inlined in the loop: fine, but keep terms short
        try:
            term, _ = self.fit(self.expression(inner, self.rng.randint(1, 2)), (-1.0, 1.0))
        finally:
            self.plain = False
        filters = []
        if trips > 1 and self.rng.random() < 0.3:
            filters.append(ast.Compare(left=load(variable), ops=[ast.NotEq()],
                                       comparators=[constant(self.rng.randrange(trips))]))  # fmt: skip
            self.used.append("comprehension filter")
        generator = ast.comprehension(target=store(variable), iter=ast.Call(
            func=load("range"), args=[constant(trips)], keywords=[]), ifs=filters, is_async=0)  # fmt: skip
        if self.rng.random() < 0.3:
            argument = ast.ListComp(elt=term, generators=[generator])
            self.used.append("sum of a list comprehension")
        else:
            argument = ast.GeneratorExp(elt=term, generators=[generator])
            self.used.append("sum of a generator expression")
        target = self._new_name(scope, names)
        scope.assign(target, (-float(trips), float(trips)), inner.depends(term))
        value = ast.Call(func=load("sum"), args=[argument], keywords=[])
        return [ast.Assign(targets=[store(target)], value=value, lineno=0)]

    def _for_statement(self, scope, names):
        """`for i in range(...)`: carried names updated (and fitted back into their interval at the
        end of each iteration), maybe an accumulator, temporaries and the loop variable in the body."""
        taken = set(scope.values) | set(names) | set(self.closure_constants)  # `k` of make_f(k) too
        variable = next((v for v in LOOP_VARIABLES if v not in taken), None)
        candidates = [n for n in scope.order if inside(scope.values[n], (-CAP, CAP)) and not isinstance(
            scope.values[n], Ints) and (n in names or self.depth == 0)]  # nested: the block's own names
        if variable is None or not candidates:
            return []
        iterable, limit = self.trip_count(scope)
        carried = self.rng.sample(candidates, min(len(candidates), self.rng.randint(1, 2)))
        before = []
        accumulator = None
        free = [a for a in ACCUMULATORS if a not in scope.values and a not in names]
        if free and self.rng.random() < 0.5:
            accumulator = free[0]
            before.append(ast.Assign(targets=[store(accumulator)], value=constant(0.0), lineno=0))
        kept = {n: hull(scope.values[n], (-1.0, 1.0)) for n in carried}
        inner = copy.deepcopy(scope)
        for name, interval in kept.items():
            inner.assign(name, interval, name in scope.active)
        inner.assign(variable, Ints((0, max(limit - 1, 0))), False)
        if accumulator:
            inner.assign(accumulator, (-float(limit), float(limit)), False)
        temporaries = [n for n in names if n not in scope.values and n != accumulator]
        statements, inner = self.block(inner, temporaries, self.rng.randint(0, 2))
        early = self.rng.random() < 0.5
        exits = self.loop_exit(inner) if early else []
        statements += exits
        for name in carried:
            node, _ = self.fit(self.update(inner, name, variable), kept[name])
            inner.assign(name, kept[name], inner.depends(node) or name in inner.active)
            statements.append(ast.Assign(targets=[store(name)], value=node, lineno=0))
        if accumulator:
            term, _ = self.fit(self.expression(inner, self.rng.randint(1, 2)), (-1.0, 1.0))
            if self.rng.random() < 0.5:
                statements.append(ast.AugAssign(target=store(accumulator), op=ast.Add(), value=term))
            else:
                plus = ast.BinOp(left=load(accumulator), op=ast.Add(), right=term)
                statements.append(ast.Assign(targets=[store(accumulator)], value=plus, lineno=0))
            self.used.append("accumulator")
        if not early:  # after the updates, as a convergence test is
            statements += self.loop_exit(inner)
        if not statements:
            statements.append(ast.Pass())
        for name in carried:
            scope.assign(name, kept[name], name in inner.active)
        if accumulator:
            scope.assign(accumulator, (-float(limit), float(limit)), accumulator in inner.active)
        if any(isinstance(n, ast.Name) and n.id == variable for s in statements for n in ast.walk(s)):
            self.used.append("loop variable in arithmetic")
        self.used.append("for loop" if self.depth == 0 else "nested loop")
        if self.switches["while_true"] and len(iterable.args) == 1 and self.rng.random() < 0.25:
            return before + self.counted_while_true(variable, iterable.args[0], statements)
        return before + [ast.For(target=store(variable), iter=iterable, body=statements, orelse=[], lineno=0)]

    def counted_while_true(self, variable, trips, statements):
        """`for i in range(K): B` as `while True:` counting `i` and leaving with a `break` (the count
        comes first, so a `continue` in `B` cannot skip it)."""
        count = ast.Assign(targets=[store(variable)], value=ast.BinOp(left=load(variable), op=ast.Add(),
                                                                      right=constant(1)), lineno=0)  # fmt: skip
        done = ast.If(test=ast.Compare(left=load(variable), ops=[ast.GtE()], comparators=[trips]), body=[ast.Break()],
                      orelse=[])  # fmt: skip
        start = ast.Assign(targets=[store(variable)], value=constant(-1), lineno=0)
        self.used.append("while True")
        return [start, ast.While(test=constant(True), body=[count, done] + statements, orelse=[])]

    def loop_exit(self, scope):
        """Maybe `if test: break` or `if test: continue` on the values of `scope`, sometimes inside
        another `if`. Intervals stay right: carried values are fitted into theirs at each update, an
        accumulator's interval holds any number of its terms, and names first assigned in the body
        are read only after their assignment in the same iteration."""
        kinds = [k for k in ("break", "continue") if self.switches[k]]
        if not kinds or self.rng.random() > 0.35:
            return []
        kind = self.rng.choice(kinds)
        statement = ast.If(test=self.test(scope), body=[ast.Break() if kind == "break" else ast.Continue()], orelse=[])
        if self.switches["nested"] and self.rng.random() < 0.3:
            statement = ast.If(test=self.test(scope), body=[statement], orelse=[])
            self.used.append(kind + " two ifs deep")
        self.used.append(kind)
        return [statement]

    # ---- the module ----------------------------------------------------------------------------
    def program(self, label, statements=None):
        program = super().program(label, statements)
        if not self.counts:
            return dataclasses.replace(program, family="flow")
        names = ", ".join(name for name, _ in self.counts)
        source = program.source.replace(f"def f({', '.join(program.params)}):",
                                        f"def f({', '.join(program.params)}, {names}):", 1)  # fmt: skip
        return dataclasses.replace(program, source=source, counts=tuple(self.counts), family="flow")

    def choose_wrt(self, params):
        wrt, indices, as_tuple = super().choose_wrt(params)
        if wrt is None and self.counts:  # the trip counts are ints: never differentiated
            return tuple(range(len(params))), indices, True
        if isinstance(wrt, int) and wrt < 0 and self.counts:  # counted from the end, past the trip counts
            return wrt - len(self.counts), indices, as_tuple
        return wrt, indices, as_tuple


def make_flow_program(seed, index, statements=None, switches=None):
    """Program `index` of the run with `seed` among programs with control flow."""
    rng = random.Random(f"astgrad-random-flow-programs:{seed}:{index}")
    return FlowGenerator(rng, switches).program(f"{seed}:{index}", statements)


# ---- importing a program ---------------------------------------------------------------------

_imports = itertools.count()


def import_file(path, name=None):
    """Import the module at `path` (a fresh module object every time), without keeping it in sys.modules."""
    name = name or f"astgrad_random_program_{next(_imports)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def program_path(program, directory):
    family = program.family + "_" if program.family else ""
    return os.path.join(directory, "program_" + family + program.label.replace(":", "_").replace("-", "_") + ".py")


def write(program, directory):
    path = program_path(program, directory)
    with open(path, "w") as file:
        file.write(program.source)
    return path


# ---- observing a program: pieces at kinks, magnitudes ----------------------------------------

class _Observe(ast.NodeTransformer):
    """Routes every operator and call of a module through the probe's observers."""

    def visit_Call(self, node):
        self.generic_visit(node)
        return ast.Call(func=load("_call"), args=[node.func] + node.args, keywords=node.keywords)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return ast.Call(func=load("_binary"), args=[ast.Constant(type(node.op).__name__), node.left, node.right],
                        keywords=[])  # fmt: skip

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        return ast.Call(func=load("_unary"), args=[ast.Constant(type(node.op).__name__), node.operand], keywords=[])

    def visit_Compare(self, node):
        self.generic_visit(node)
        lefts = [node.left] + node.comparators[:-1]  # `a < b < c` as `a < b and b < c` (programs are pure)
        calls = [ast.Call(func=load("_compare"), args=[ast.Constant(type(op).__name__), left, right], keywords=[])
                 for op, left, right in zip(node.ops, lefts, node.comparators)]  # fmt: skip
        return calls[0] if len(calls) == 1 else ast.BoolOp(op=ast.And(), values=calls)


@dataclass
class Observation:
    value: float
    pieces: tuple  # at each kinked operation: which piece (the output of a jump, the signs of abs/max)
    magnitude: float  # the largest absolute value of any operation's input or output
    singular: bool  # whether some operation is at a point without a derivative (hypot at the origin)


class Probe:
    """An observed copy of a program's module: runs `function_name` recording every kink's piece."""

    def __init__(self, source, function_name="f"):
        tree = ast.fix_missing_locations(_Observe().visit(ast.parse(source)))
        self.namespace = {
            "__name__": "astgrad_probe",
            "_call": self._call,
            "_binary": lambda op, a, b: self._observe(rules.BINARY_OPERATORS[getattr(gast, op)], (a, b), {}),
            "_unary": lambda op, a: self._observe(rules.UNARY_OPERATORS[getattr(gast, op)], (a,), {}),
            "_compare": lambda op, a, b: self._observe(rules.COMPARISONS[getattr(gast, op)], (a, b), {}),
        }
        self._kinks = {}  # signature -> the rule's kink tests
        self._record = Observation(None, [], 0.0, False)  # module-level code is observed too
        exec(compile(tree, "<probe>", "exec"), self.namespace)
        self.function = self.namespace[function_name]

    def _call(self, fn, *args, **kwargs):
        return self._observe(fn, args, kwargs)

    def _observe(self, fn, args, kwargs):
        value = fn(*args, **kwargs)
        rule = rules.lookup(fn, len(args) + len(kwargs))
        if rule is None:  # a helper (observed itself) or a module-level call such as make_f
            return value
        inputs = list(args) + [kwargs[p] for p in rule.params[len(args):]]
        record = self._record
        record.magnitude = max([record.magnitude] + [abs(float(v)) for v in inputs + [value]])
        if is_piecewise_constant(rule):
            record.pieces.append(float(value))
        elif rule.fn in SINGULAR:
            record.singular = record.singular or SINGULAR[rule.fn](*inputs)
        else:
            if rule.signature not in self._kinks:
                self._kinks[rule.signature] = kink_tests(rule)
            tests = self._kinks[rule.signature]
            if tests:
                names = dict(zip(rule.params, inputs), **{rule.output: value})
                record.pieces.append(tuple(float(eval(test, TABLE_NAMES, names)) for test in tests))
        return value

    def run(self, args):
        self._record = Observation(None, [], 0.0, False)
        with np.errstate(all="raise"):
            value = self.function(*args)
        self._record.value = value
        self._record.pieces = tuple(self._record.pieces)
        return self._record


# ---- checking a program ------------------------------------------------------------------------

class PropertyFailure(AssertionError):
    """A generated program breaks a property (the message says which, and how)."""


STEP = 1e-4  # the first finite-difference step, relative to max(1, |x|)
REACH = 30  # a sample point is used if the inputs can move by REACH steps without crossing a kink
NOISE = 2e-13  # rounding error of f, relative to its largest intermediate value (about 1000 ulp)
ATTEMPTS = 40


@dataclass
class Case:
    """A program imported and ready to check: its function and a sample point."""

    program: Program
    path: str
    module: object
    f: object
    args: list
    magnitude: float  # the largest absolute value of an operation's input or output near `args`
    where: str  # "clean", "near a kink" or "singular" (see sample_point)


def sample_point(program, probe, rng):
    """(inputs, largest magnitude, where): where "clean" if no kink lies within REACH steps of the
    inputs, "near a kink" if no such point was found (finite differences are then not checked), or
    "singular" if some operation had no derivative at every point tried (`hypot(t, t)` with t = 0).
    """
    fallback = None
    for _ in range(ATTEMPTS):
        args = [round(rng.uniform(-1.5, 1.5), 3) for _ in program.params] + [v for _, v in program.counts]
        try:
            center = probe.run(args)
        except (ArithmeticError, ValueError, FloatingPointError) as exc:
            raise PropertyFailure(f"the program fails at {args}: {exc!r} (a generator bug)") from exc
        if center.singular:
            continue
        magnitude, clean = center.magnitude, True
        for index in range(len(program.params)):  # trip counts are ints and stay
            for direction in (1, -1):
                moved = list(args)
                moved[index] += direction * REACH * STEP * max(1.0, abs(args[index]))
                observed = probe.run(moved)
                magnitude = max(magnitude, observed.magnitude)
                clean = clean and not observed.singular and observed.pieces == center.pieces
        if clean:
            return args, magnitude, "clean"
        fallback = fallback or (args, magnitude, "near a kink")
    return fallback or (args, center.magnitude, "singular")


def prepare(program, directory):
    """The `Case` for `program`: written to a file, imported, with a sample point."""
    path = write(program, directory)
    module = import_file(path)
    args, magnitude, where = sample_point(program, Probe(program.source), random.Random(program.label))
    return Case(program, path, module, module.f, args, magnitude, where)


def gradient_list(gradient, program):
    return list(gradient) if program.as_tuple else [gradient]


def finite_difference(case, index):
    """(central difference, tolerance) for d f / d args[index]: Richardson-extrapolated, with the
    step made smaller while the estimates at two steps disagree (f varies fast), and a tolerance
    from their difference plus the rounding noise of the program's largest intermediate value."""
    best = None
    scale = max(1.0, abs(case.args[index]))
    for refinement in range(4):
        h = STEP / 8**refinement * scale
        coarse, fine = (central_difference(case.f, case.args, index, step) for step in (h, h / 2))
        estimate, truncation = (4 * fine - coarse) / 3, abs(coarse - fine)
        error = 2 * truncation + NOISE * case.magnitude / (h / 2)
        if best is None or error < best[1]:
            best = (estimate, error)
        if truncation <= 1e-9 * abs(estimate):
            break
    estimate, error = best
    return estimate, error + 1e-6 * abs(estimate)


def central_difference(f, args, index, step):
    up, down = list(args), list(args)
    up[index] += step
    down[index] -= step
    return (float(f(*up)) - float(f(*down))) / (up[index] - down[index])


def gradient_matches_finite_differences(case):
    program = case.program
    if case.where != "clean":
        return  # counted by the runner and the tests: most programs must have a clean point
    for mode in MODES:
        gradient = gradient_list(astgrad.grad(case.f, wrt=program.wrt, mode=mode)(*case.args), program)
        if len(gradient) != len(program.wrt_indices):
            raise PropertyFailure(f"{mode}: {len(gradient)} gradients for {len(program.wrt_indices)} parameters")
        for index, value in zip(program.wrt_indices, gradient):
            expected, tolerance = finite_difference(case, index)
            if not abs(float(value) - expected) <= tolerance:
                raise PropertyFailure(
                    f"{mode}: d f / d {program.params[index]} is {value!r}, finite differences give "
                    f"{expected!r} (tolerance {tolerance:.3g}) at {case.args}"
                )
            if type(value) not in (float, np.float64):
                raise PropertyFailure(f"{mode}: the gradient {value!r} is a {type(value).__name__}, not a float")


def identical(a, b):
    """Whether two gradients (numbers, arrays, or tuples or lists of them) hold the same numbers in the same shapes."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))


def value_and_grad_agree(case):
    program = case.program
    value, gradient = astgrad.value_and_grad(case.f, wrt=program.wrt)(*case.args)
    expected = case.f(*case.args)
    if value != expected:
        raise PropertyFailure(f"value_and_grad's value {value!r} differs from f(...) = {expected!r}")
    plain = astgrad.grad(case.f, wrt=program.wrt)(*case.args)
    if not identical(gradient_list(gradient, program), gradient_list(plain, program)):
        raise PropertyFailure(f"value_and_grad's gradient {gradient!r} differs from grad's {plain!r}")


def seed_scales_gradient(case):
    d_f = astgrad.grad(case.f, wrt=case.program.wrt)
    plain = gradient_list(d_f(*case.args), case.program)
    scaled = gradient_list(d_f(*case.args, -2.0), case.program)  # the seed is the last positional parameter
    for a, b in zip(scaled, plain):  # exact, as scaling by -2 is, unless an intermediate value underflowed
        if a != -2.0 * b and not abs(a + 2.0 * b) <= 1e-300:
            raise PropertyFailure(f"the seed -2.0 gives {scaled!r}, not -2 * {plain!r}")


def source_recompiles(case):
    d_f = astgrad.grad(case.f, wrt=case.program.wrt)
    text = astgrad.source(d_f)
    ast.parse(text)
    namespace = dict(d_f.__globals__)
    namespace.update(zip(d_f.__code__.co_freevars, (cell.cell_contents for cell in d_f.__closure__ or ())))
    exec(compile(text, "<recompiled>", "exec"), namespace)
    again = namespace[d_f.__name__](*case.args)
    if not identical(again, d_f(*case.args)):
        raise PropertyFailure(f"the recompiled source gives {again!r}, the generated function {d_f(*case.args)!r}")


def transform_is_reproducible(case):
    text = astgrad.source(astgrad.grad(case.f, wrt=case.program.wrt))
    fresh = import_file(case.path)
    again = astgrad.source(astgrad.grad(fresh.f, wrt=case.program.wrt))
    if again != text:
        raise PropertyFailure(f"a fresh import of the same file gives different source:\n{text}\n---\n{again}")


PROPERTIES = (
    gradient_matches_finite_differences,
    value_and_grad_agree,
    seed_scales_gradient,
    source_recompiles,
    transform_is_reproducible,
)


AT_SINGULAR_POINTS = (transform_is_reproducible,)  # the properties that evaluate no gradient


def check(case, properties=PROPERTIES):
    """Raise PropertyFailure (or the error astgrad raised) if `case` breaks a property."""
    if case.where == "singular":
        properties = [p for p in properties if p in AT_SINGULAR_POINTS]
    for prop in properties:
        try:
            prop(case)
        except PropertyFailure as failure:
            raise PropertyFailure(f"{prop.__name__}: {failure}") from None


# ---- programs astgrad must refuse --------------------------------------------------------------

BAD_HEADER = '''\
RAN = []


def record(t):
    RAN.append(t)
    return t
'''
RECORD_LINE = 5  # the line of `RAN.append(t)` in BAD_HEADER


@dataclass
class BadProgram:
    kind: str
    source: str
    error: type
    lineno: int  # the line astgrad must name (in the same file)
    wrt: object


NSL, NOD, NSO = astgrad.NotStraightLineError, astgrad.NoDerivativeError, astgrad.NonScalarOutputError
BAD_STATEMENTS = {  # kind -> (statement, error); {v} is a value of the function, {w} another
    # Loops and branches astgrad takes, each made refused at its first line:
    "for_loop": ("for _ in sorted(({v}, 1.0)):\n    {v} = {v} * 1.5", NSL),  # over a computed sequence
    "while_loop": ("while True:\n    {v} = {v} / 2.0", NSL),  # no way out: no break
    "break_with_a_computed_step": ("for _ in range(0, 3, STRIDE):\n    {v} = {v} * 1.5\n    if {v} > 2.0:\n"
                                   "        break", NSL),  # a while over the index needs the step's sign
    "if_statement": ("if {v} > 0 and abs({v}) > 1.0:\n    {v} = -{v}", NSL),  # a later operand computing

    "try_statement": ("try:\n    {v} = {v} + 1.0\nexcept ZeroDivisionError:\n    pass", NSL),
    "with_statement": ("with CONTEXT:\n    {v} = {v} + 1.0", NSL),
    "global_statement": ("global COUNTER", NSL),
    "attribute_assignment": ("STATE.value = {v}", NSL),
    "item_assignment": ("TABLE[0] = {v}", NSL),
    "del_statement": ("del {v}", NSL),
    "import_statement": ("import os", NSL),
    "nested_def": ("def inner(t): return [t, 1.0][0]", NSL),  # a nested def is checked as a helper
    "assert_statement": ("assert {v} > -1000000000.0", NSL),
    "print_call": ("print({v})", NSL),
    "append_call": ("RAN.append({v})", NSL),
    "expression_statement": ("{v} + 1.0", NSL),
    "early_return": ("return {v}", NSL),
    "list_display": ("{v} = [{v}, 1.0]", NSL),
    "comprehension_indexed": ("{v} = [{v} * t for t in (1.0, 2.0)][0]", NSL),  # read whole only, by a call
    "conditional_expression": ("{v} = {v} if {v} > 0 or abs({v}) > 1.0 else -{v}", NSL),
    "lambda_call": ("{v} = (lambda t: t)({v})", NSL),
    "and_or": ("{v} = {v} and 1.0", NSL),
    "chained_comparison": ("{v} = {v} * (0 < {v} < 1)", NSL),
    "yield_expression": ("{v} = yield {v}", NSL),
    "walrus": ("{v} = ({w} := {v} * 2.0)", NSL),
    "modulo_assignment": ("{v} %= 2.0", NSL),
    "annotation_only": ("{v}: float", NSL),
    "starred_unpacking": ("{v}, *rest = ({v}, 1.0, 2.0)", NSL),
    "unpack_a_number": ("{v}, {w} = {v} * 1.0", NSL),  # a parameter unpacked as a whole may be a container: checked at the call
    "tuple_in_arithmetic": ("{v} = ({v}, 1.0) * 2.0", NSL),
    "side_effect_helper": ("{v} = record({v})", NSL),  # refused inside the helper, at RAN.append
    "floor_division": ("{v} = {v} // 2.0", NOD),
    "builtin_without_derivative": ("{v} = hash({v})", NOD),
    "undefined_function": ("{v} = not_defined_anywhere({v})", NOD),
    "attribute_of_a_local": ("{v} = {v}.real", NOD),
    "use_before_assignment": ("{v} = {v} * later", NSL),  # `later = 1.0` is added before the return
}
BAD_RETURNS = {  # kind -> (return statement, error); {returned} is the original return value
    "tuple_output": ("return {returned}, 1.0", NSO),
    "gradient_into_an_integer_argument": ("return {returned} + {math}.ldexp(1.0, {p})", NOD),
}
BAD_KINDS = sorted(BAD_STATEMENTS) + sorted(BAD_RETURNS) + ["vararg_used_whole"]


def bad_program(seed, index):
    """A program with one construct astgrad must refuse (kinds taken in turn), its error and line."""
    rng = random.Random(f"astgrad-bad-programs:{seed}:{index}")
    program = Generator(rng).program(f"bad-{seed}:{index}", rng.randint(5, 15))
    kind = BAD_KINDS[index % len(BAD_KINDS)]
    header = BAD_HEADER.splitlines()
    lines = header + program.source.splitlines()
    def_line = program.function_line + len(header)
    starts = [line + len(header) for line in _statement_starts(program.source, program.function_line)]
    indent = " " * (len(lines[def_line - 1]) - len(lines[def_line - 1].lstrip()) + 4)
    at = rng.choice(starts[:-1])  # a new statement goes before this one (not before the return)
    v = rng.choice(_assigned_before(program.source, program.function_line, at - len(header)) + list(program.params))
    w = rng.choice([n for n in LOCAL_NAMES if n != v])
    if kind == "vararg_used_whole":  # *rest is data read by index or unpacked; used whole, it is refused
        lines[def_line - 1] = lines[def_line - 1].replace("):", ", *rest):")
        lines.insert(at - 1, indent + f"{w} = {v} + rest")
        return BadProgram(kind, "\n".join(lines) + "\n", NSL, at, program.wrt)
    if kind in BAD_RETURNS:
        template, error = BAD_RETURNS[kind]
        returned = lines[starts[-1] - 1].strip()[len("return "):]
        math_name = "m" if program.style == "alias" else "math"
        p = program.params[program.wrt_indices[0]]
        lines[starts[-1] - 1] = indent + template.format(returned=returned, w=w, p="kept", math=math_name)
        lines.insert(starts[0] - 1, indent + f"kept = {p}")  # the parameter's value, whatever f reassigns
        return BadProgram(kind, "\n".join(lines) + "\n", error, starts[-1] + 1, program.wrt)
    template, error = BAD_STATEMENTS[kind]
    if kind == "use_before_assignment":
        lines.insert(starts[-1] - 1, indent + "later = 1.0")
    lines[at - 1:at - 1] = [indent + line for line in template.format(v=v, w=w).splitlines()]
    lineno = RECORD_LINE if kind == "side_effect_helper" else at
    return BadProgram(kind, "\n".join(lines) + "\n", error, lineno, program.wrt)


def _statement_starts(source, function_line):
    """The first line of each statement of `f` (defined at `function_line`), its docstring left out."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == "f" and node.lineno == function_line:
            return [s.lineno for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    raise AssertionError("no function f")


def _assigned_before(source, function_line, line):
    """The names `f` assigns in statements before `line`, sorted."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == "f" and node.lineno == function_line:
            before = [s for s in node.body if s.lineno < line]
            return sorted({n.id for s in before for n in ast.walk(s) if isinstance(n, ast.Name)
                           and isinstance(n.ctx, ast.Store)})  # fmt: skip
    raise AssertionError("no function f")


def check_refused(bad, directory):
    """Raise PropertyFailure unless astgrad refuses `bad` with its error class and line, running none of it."""
    path = os.path.join(directory, f"refused_{bad.kind}_{next(_imports)}.py")
    with open(path, "w") as file:
        file.write(bad.source)
    module = import_file(path)  # runs the module's top level, as importing does; not `f`
    calls = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename == path:
            calls.append(f"{frame.f_code.co_name} (line {frame.f_lineno})")

    old_profile, old_thread_profile = sys.getprofile(), getattr(threading, "_profile_hook", None)
    sys.setprofile(profile)
    threading.setprofile(profile)  # astgrad transforms in a thread of its own
    try:
        astgrad.grad(module.f, wrt=bad.wrt)
    except astgrad.AstgradError as exc:
        error = exc
    else:
        error = None
    finally:
        sys.setprofile(old_profile)
        threading.setprofile(old_thread_profile)
        linecache.cache.pop(path, None)
    expected = f"{bad.error.__name__} at {path}:{bad.lineno}"
    if error is None:
        raise PropertyFailure(f"{bad.kind}: astgrad accepted the program; expected {expected}")
    if (type(error), error.filename, error.lineno) != (bad.error, path, bad.lineno):
        raise PropertyFailure(f"{bad.kind}: expected {expected}, got {type(error).__name__} at "
                              f"{error.filename}:{error.lineno}:\n{error}")  # fmt: skip
    if not str(error).startswith(f"{path}:{bad.lineno}:"):
        raise PropertyFailure(f"{bad.kind}: the message does not start with the place:\n{error}")
    if calls or module.RAN:
        raise PropertyFailure(f"{bad.kind}: user code ran while transforming: {calls} {module.RAN}")


# ---- the runner --------------------------------------------------------------------------------

def run_one(seed, index, directory, statements=None, make=None, prepare_case=None, properties=PROPERTIES):
    """(status, program, detail): status "ok", "ok near a kink" (no finite differences) or "failed".

    `make` and `prepare_case` default to this module's `make_program` and `prepare`
    (random_array_programs passes its own, and its properties).
    """
    program = (make or make_program)(seed, index, statements)
    try:
        case = (prepare_case or prepare)(program, directory)
        check(case, properties)
        return "ok" if case.where == "clean" else f"ok, {case.where}", program, None
    except PropertyFailure as failure:
        return "failed", program, str(failure)
    except Exception:  # astgrad (or the generated code) raising on a valid program
        return "failed", program, traceback.format_exc(limit=-3).strip()
    finally:
        linecache.cache.pop(program_path(program, directory), None)  # keep a long run's memory flat


def signature_of(detail):
    """A failure's kind, for grouping: the property or the exception, without numbers."""
    first = detail.splitlines()[-1] if detail.startswith("Traceback") else detail.splitlines()[0]
    return "".join("#" if ch.isdigit() else ch for ch in first)[:140]


_worker_directory = None


def _run_in_worker(job):
    """run_one (of random_array_programs for array programs) in a worker process, in a directory of its own."""
    global _worker_directory
    if _worker_directory is None:
        warnings.simplefilter("error")
        _worker_directory = tempfile.mkdtemp(prefix="astgrad-programs-")
    seed, index, arrays, flow = job
    return _runner(arrays, flow)(seed, index, _worker_directory)


def run_one_with_control_flow(seed, index, directory, statements=None):
    """run_one of program `index` among programs with control flow (`make_flow_program`)."""
    return run_one(seed, index, directory, statements, make=make_flow_program)


def _runner(arrays, flow=False):
    if not arrays:
        return run_one_with_control_flow if flow else run_one
    if flow:
        import random_array_programs

        return random_array_programs.run_one_with_loops
    import random_array_programs  # imports this module: see the end of the file

    return random_array_programs.run_one


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arrays", action="store_true", help="NumPy-array programs (random_array_programs.py)")
    parser.add_argument("--control-flow", action="store_true", help="programs with branches and loops "
                        "(the constructs switched on in CONTROL_FLOW)")
    parser.add_argument("--count", type=int, default=1000, help="number of programs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="index of the first program")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--refused", type=int, help="programs astgrad must refuse (default: count / 10, "
                        "none with --arrays)")
    parser.add_argument("--program", help="SEED:INDEX: print that program and check it")
    parser.add_argument("--show", type=int, default=3, help="failing programs shown per kind of failure")
    options = parser.parse_args(argv)
    warnings.simplefilter("error")  # as the test suite has it (pyproject.toml)
    if options.program:
        seed, index = (int(part) for part in options.program.split(":"))
        with tempfile.TemporaryDirectory() as directory:
            status, program, detail = _runner(options.arrays, options.control_flow)(seed, index, directory)
        print(program.source)
        print(f"# {status}" + (f"\n{detail}" if detail else ""))
        return 1 if status == "failed" else 0
    began = time.perf_counter()
    jobs = [(options.seed, index, options.arrays, options.control_flow) for index in range(options.start, options.start + options.count)]
    statuses, failures, used = collections.Counter(), collections.defaultdict(list), collections.Counter()
    if options.jobs > 1:
        import multiprocessing

        pool = multiprocessing.Pool(options.jobs)
        results = pool.imap(_run_in_worker, jobs, chunksize=20)
    else:
        pool, results = None, map(_run_in_worker, jobs)
    for done, (status, program, detail) in enumerate(results, 1):
        statuses[status] += 1
        used.update(set(program.used))
        if status == "failed":
            failures[signature_of(detail)].append((program, detail))
        if done % 500 == 0:
            print(f"... {done} programs, {statuses['failed']} failed", file=sys.stderr, flush=True)
    if pool is not None:
        pool.close()
    refused_count = (0 if options.arrays else options.count // 10) if options.refused is None else options.refused
    with tempfile.TemporaryDirectory() as directory:
        for index in range(options.start, options.start + refused_count):
            bad = bad_program(options.seed, index)
            try:
                check_refused(bad, directory)
                statuses["refused as expected"] += 1
            except Exception as exc:  # PropertyFailure, or astgrad failing some other way
                statuses["refusal failed"] += 1
                failures[f"refusal: {signature_of(str(exc))}"].append((bad, str(exc)))
    elapsed = time.perf_counter() - began
    passed = statuses["ok"] + statuses["ok, near a kink"] + statuses["ok, singular"]
    last = options.start + options.count - 1
    kind = "array programs" if options.arrays else "programs"
    kind = "programs with control flow" if options.control_flow else kind
    print(f"{options.count} {kind} (seed {options.seed}, indices {options.start}-{last}, {options.jobs} job(s)) "
          f"in {elapsed:.0f} s: {passed} passed, {statuses['failed']} failed")
    print(f"of the passed: {statuses['ok']} checked against finite differences too, "
          f"{statuses['ok, near a kink']} with no sample point away from kinks (not against finite differences), "
          f"{statuses['ok, singular']} singular everywhere tried (only reproducibility checked)")
    if options.arrays:
        constructs = sys.modules["random_array_programs"].CONSTRUCTS
        constructs += sys.modules["random_array_programs"].FLOW_CONSTRUCTS if options.control_flow else ()
        missing = sorted(set(constructs) - set(used))
        print(f"constructs used: {len(set(constructs) & set(used))} of {len(constructs)}"
              + (f" (not: {', '.join(missing)})" if missing else ""))
    else:
        constructs = sorted(u for u in used if "=" not in u)  # the primitives' signatures have one
        print(f"primitives called: {len(used) - len(constructs)} of {len(scalar_rules())}")
        if options.control_flow:
            print(f"control flow: {', '.join(f'{c} ({used[c]})' for c in constructs)}")
    if refused_count:
        print(f"programs with a construct astgrad must refuse: {statuses['refused as expected']} refused with the "
              f"right error and line, {statuses['refusal failed']} not")
    for kind, cases in sorted(failures.items(), key=lambda item: -len(item[1])):
        print(f"\n=== {len(cases)} x {kind}")
        for program, detail in cases[: options.show]:
            if isinstance(program, BadProgram):
                print(f"--- refused program {program.kind}")
            else:
                flag = "--arrays " if options.arrays else "--control-flow " if options.control_flow else ""
                print(f"--- program {program.label} (python tests/random_programs.py {flag}--program {program.label})")
            print(detail)
            print(program.source)
    return 1 if failures else 0


if __name__ == "__main__":
    import random_programs  # this file as the module random_array_programs imports, so both share its classes

    sys.exit(random_programs.main())
