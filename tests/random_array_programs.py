"""Random straight-line NumPy-array programs, aimed at the reverse stage's shapes and broadcasting.

The companion of tests/random_programs.py (scalar programs), whose helpers
and properties it reuses. A program is a module written to a file and
imported; its function `f` takes 1-3 float arrays whose shapes broadcast
against each other, in both directions too (`(2, 1)` with `(1, 3)`), drawn
from the trailing axes of one shape of up to 3 axes and 24 elements, with
axes set to 1 (`(4, 2, 3)`, `(2, 3)`, `(2, 1)`, `(1, 3)`, `(3,)`, `()`);
sometimes also a Python float parameter (differentiated or not), a data
array that is not differentiated, and a module constant array. Its 3-14
statements (a few more with a log-softmax: assignments, reassignments,
augmented assignments of arrays the function made itself) use:

* elementwise `+ - * /`, `** 2`, `** 3`, float and array exponents of
  positive values, `np.exp`, `np.tanh`, `np.sin`, `np.log` and `np.sqrt` of
  positive values (`np.log(1 + t * t)`, `np.log(np.exp(t))`), `np.logaddexp`,
  `np.maximum`, with operands of any two shapes that broadcast;
* `np.sum`, `np.mean`, `np.max` with no axis, an axis, a negative axis,
  `keepdims=True`, the axis by position (`np.sum(t, 0)`) or as a method
  (`t.sum(axis=0)`); `np.reshape`, `t.reshape(...)`, `.T`, `np.transpose`;
  `@`, `np.matmul`, `np.dot` of operands with a common inner axis;
* a log-softmax (`t - np.max(t, axis, keepdims=True)`, then minus the log of
  the sum of its exponentials), over the max's own axis, the same axis
  spelled the other way, or another axis: the reverse stage proves the max's
  adjoint zero only for the first.

It returns a number: `np.sum` or `np.mean` (or the method) of its last
values, sometimes scaled, or two such reductions added. Values are kept in
intervals as in the scalar generator (an argument that might leave its
interval is squashed into it), so finite differences are meaningful.

`np.max` and `np.maximum` have kinks: an observed copy of the program records
which element each max picks, and a sample point is used only if every input
element can move by many finite-difference steps without changing any.

Properties (`PROPERTIES`), per program:

* each gradient has its argument's shape (a float parameter's is a float),
  shares no memory with any argument, and no argument changes;
* each element of each gradient equals central finite differences
  (`random_programs.finite_difference` along that element);
* `value_and_grad` gives exactly f(...) and exactly `grad`'s gradient;
* an output seed of -2 gives -2 times the gradient (within 1e-12 relative:
  the seed may be applied at the end);
* `astgrad.source` re-parses, re-compiles and computes the same gradient,
  and a fresh import of the file gives byte-identical source.

Array programs with loops (`make_flow_program`, `ArrayFlowGenerator`) add
`for` loops over `range(K)` carrying arrays (whose shape may grow on the
first iteration), accumulating numbers or arrays, reading the loop variable,
nested; they run when `random_programs.CONTROL_FLOW["numpy_with_loops"]` is
on (``--arrays --control-flow``).

Run many (this module's `run_one`, through the scalar runner):

    python tests/random_programs.py --arrays --count 2000 --seed 0
    python tests/random_programs.py --arrays --control-flow --count 2000 --seed 0
    python tests/random_programs.py --arrays --program 0:17     # print one program and check it
"""

import ast
import dataclasses
import math
import operator
import random
import types
from dataclasses import dataclass

import gast
import numpy as np

import astgrad
import random_programs as rp
from astgrad import rules
from random_programs import PropertyFailure, Scope, constant, inside, load, output_interval, store

ANY = (-rp.CAP, rp.CAP)  # where an argument that may be any real is kept
POSITIVE = (0.25, 40.0)  # logarithms, square roots, denominators, bases of non-integer powers
EXPONENT = (-4.0, 2.5)  # np.exp's argument
EXPONENT_OF_ARRAY = (-1.5, 1.5)  # an array exponent (`a ** b`)
REDUCIBLE = (-60.0, 60.0)  # the operand of a reduction
DIMENSIONS = (2, 3, 4)
MAX_SIZE = 48  # no value has more elements (finite differences go element by element)
MAX_INPUT_SIZE = 24


@dataclass(frozen=True)
class Elementwise:
    template: str  # an expression in A (and B)
    fn: object  # the same on numbers, for intervals
    domains: tuple  # where A (and B) must lie
    weight: float


ELEMENTWISE = (
    Elementwise("A + B", operator.add, (ANY, ANY), 3.0),
    Elementwise("A - B", operator.sub, (ANY, ANY), 3.0),
    Elementwise("A * B", operator.mul, (ANY, ANY), 3.0),
    Elementwise("A / B", operator.truediv, (ANY, POSITIVE), 1.5),
    Elementwise("-A", operator.neg, (ANY,), 0.4),
    Elementwise("A ** 2", lambda a: a**2, (ANY,), 0.5),
    Elementwise("A ** 3", lambda a: a**3, (ANY,), 0.3),
    Elementwise("A ** 0.5", lambda a: a**0.5, (POSITIVE,), 0.3),
    Elementwise("A ** 1.5", lambda a: a**1.5, ((0.25, 10.0),), 0.3),
    Elementwise("A ** -1", lambda a: a**-1, (POSITIVE,), 0.2),
    Elementwise("A ** B", operator.pow, ((0.25, 10.0), EXPONENT_OF_ARRAY), 0.4),
    Elementwise("np.exp(A)", np.exp, (EXPONENT,), 1.0),
    Elementwise("np.tanh(A)", np.tanh, (ANY,), 1.0),
    Elementwise("np.sin(A)", np.sin, (ANY,), 0.8),
    Elementwise("np.log(A)", np.log, (POSITIVE,), 1.0),
    Elementwise("np.sqrt(A)", np.sqrt, (POSITIVE,), 0.6),
    Elementwise("np.logaddexp(A, B)", np.logaddexp, (ANY, ANY), 0.6),
    Elementwise("np.maximum(A, B)", np.maximum, (ANY, ANY), 0.6),
)
SQUASHES = ("np.tanh(E)", "np.sin(E)", "np.cos(E)", "E / np.sqrt(1 + E * E)", "np.arctan(E) / 1.6")
REDUCTIONS = {"sum": 3.0, "mean": 2.0, "max": 1.2}
VIEWS = ("np.reshape", ".reshape", ".T", "np.transpose")  # results that may share an array's memory
ARRAY_NAMES = ("x", "y", "z", "w", "theta", "d_out")
NUMBER_NAMES = ("k", "rate", "scale", "alpha")
DATA_NAMES = ("data", "target", "noise")
CONSTANT_NAMES = ("OFFSET", "WEIGHTS", "BIAS")

CONSTRUCTS = (  # what programs are made of (`Program.used`); the tests check every one occurs
    *(f"elementwise {op.template}" for op in ELEMENTWISE),
    "broadcast one way", "broadcast both ways",
    *(f"np.{kind}" for kind in REDUCTIONS), *(f".{kind}()" for kind in REDUCTIONS),
    "axis by position", "axis=None", "axis>=0", "axis<0", "keepdims=True",
    "np.reshape", ".reshape", ".T", "np.transpose", "@", "@ .T", "np.matmul", "np.dot",
    "log-softmax over the max's axis", "log-softmax over the max's axis spelled otherwise",
    "log-softmax over another axis",
    "augmented assignment", "reassignment", "0-d array", "3-d array", "float parameter",
    "undifferentiated float parameter", "data argument", "constant array", "scaled output",
    "output scaled by a value", "two reductions",
)  # fmt: skip


@dataclass
class Value:
    """An expression (or a name's value) as the generator knows it."""

    node: ast.AST
    interval: tuple  # every element lies in it
    shape: tuple


@dataclass
class ArrayProgram(rp.Program):
    shapes: tuple = ()  # each parameter's shape, None for a Python float


def broadcast(*shapes):
    """The shape `shapes` broadcast to, or None if they do not, or it is too big."""
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        return None
    return shape if math.prod(shape) <= MAX_SIZE and len(shape) <= 3 else None


def is_view(node):
    """Whether `node` may share the memory of the arrays it reads (a name, `.T`, a reshape)."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return True
    if isinstance(node, ast.Call):
        func = node.func
        spelled = ast.unparse(func)
        return spelled in VIEWS or (isinstance(func, ast.Attribute) and "." + func.attr in VIEWS)
    return False


class ArrayGenerator:
    """Builds one random array program from `rng` (a `random.Random`)."""

    float_parameters = True  # a Python float parameter beside the arrays, sometimes

    def __init__(self, rng):
        self.rng = rng
        self.used = []
        self.constant_lines = []
        self.inputs = {}  # name -> the differentiated parameters its value depends on
        self.fresh = set()  # local names holding an array no other name can see (augmented assignment is safe)
        self.constants = {}  # module constant arrays: name -> Value

    # ---- values ------------------------------------------------------------------------------
    def number(self):
        value = self.rng.choice(rp.CONSTANTS) if self.rng.random() < 0.6 else round(self.rng.uniform(-3, 3), 2)
        return Value(constant(float(value)), (value, value), ())

    def leaf(self, scope, like=None):
        """A name (most often), a module constant array, or a number, broadcasting with `like`."""
        names = [n for n in scope.order if like is None or broadcast(scope.values[n].shape, like) is not None]
        roll = self.rng.random()
        if names and roll < 0.8:
            active = [n for n in names if n in scope.active]
            pool = active if active and self.rng.random() < 0.8 else names
            name = self.rng.choice(pool[-4:] if self.rng.random() < 0.6 else pool)
            known = scope.values[name]
            return Value(load(name), known.interval, known.shape)
        fitting = [n for n, v in self.constants.items() if like is None or broadcast(v.shape, like) is not None]
        if fitting and roll < 0.88:
            known = self.constants[self.rng.choice(fitting)]
            return Value(known.node, known.interval, known.shape)
        return self.number()

    def expression(self, scope, depth, like=None):
        """A random expression whose shape broadcasts with `like` (any shape if None)."""
        for _ in range(6):
            value = self._expression(scope, depth, like)
            if like is None or broadcast(value.shape, like) is not None:
                return value
        return self.number()

    def _expression(self, scope, depth, like):
        if depth <= 0 or self.rng.random() < 0.15:
            return self.leaf(scope, like)
        kind = self.rng.choices(["elementwise", "reduction", "view", "matmul"], [8, 1.6, 0.4, 0.4])[0]
        if kind == "reduction":
            return self.reduction(scope, depth)
        if kind == "view":
            return self.view(scope, depth)
        if kind == "matmul":
            product = self.matmul(scope)
            if product is not None:
                return product
        op = self.rng.choices(ELEMENTWISE, [op.weight for op in ELEMENTWISE])[0]
        return self.elementwise(op, scope, depth, like)

    def elementwise(self, op, scope, depth, like=None):
        first = self.expression(scope, depth - 1, like)
        arguments = [first]
        if len(op.domains) == 2:
            with_first = first.shape if like is None else broadcast(first.shape, like)
            arguments.append(self.expression(scope, depth - 1, with_first))
        return self.apply(op, arguments)

    def apply(self, op, arguments):
        """`op` of `arguments` (each squashed into its domain if it might leave it)."""
        arguments = [self.fit(a, domain) for a, domain in zip(arguments, op.domains)]
        shape = broadcast(*(a.shape for a in arguments))
        if len(arguments) == 2 and arguments[0].shape != shape and arguments[1].shape != shape:
            self.used.append("broadcast both ways")
        elif len(arguments) == 2 and arguments[0].shape != arguments[1].shape:
            self.used.append("broadcast one way")
        self.used.append(f"elementwise {op.template}")
        template = ast.parse(op.template, mode="eval").body
        node = rp.substitute(template, {"A": arguments[0].node, "B": arguments[-1].node})
        return Value(node, output_interval(op.fn, [a.interval for a in arguments]), shape)

    def fit(self, value, domain):
        """`value` if it stays in `domain`, else squashed into it (elementwise, so of the same shape)."""
        if inside(value.interval, domain):
            return value
        low, high = domain
        simple = isinstance(value.node, (ast.Name, ast.Constant))
        if domain[0] > 0 and self.rng.random() < 0.4:  # positive: 1 + t * t, np.exp(t)
            if simple and inside(output_interval(lambda t: 1 + t * t, [value.interval]), domain):
                node = ast.parse("1 + E * E", mode="eval").body
                return self._squashed(node, value, lambda t: 1 + t * t)
            if inside(output_interval(np.exp, [value.interval]), domain):
                return self._squashed(ast.parse("np.exp(E)", mode="eval").body, value, np.exp)
        a = low + self.rng.uniform(0, 0.3) * (high - low)
        b = high - self.rng.uniform(0, 0.3) * (high - low)
        center = round((a + b) / 2, 2)
        radius = math.floor(min(center - low, high - center, (b - a) / 2) * 100) / 100
        choices = [s for s in SQUASHES if "E * E" not in s or simple]
        node = rp.substitute(ast.parse(self.rng.choice(choices), mode="eval").body, {"E": value.node})
        if radius != 1:
            node = ast.BinOp(left=constant(radius), op=ast.Mult(), right=node)
        if center != 0:
            node = ast.BinOp(left=constant(center), op=ast.Add(), right=node)
        return Value(node, (center - radius, center + radius), value.shape)

    def _squashed(self, template, value, fn):
        return Value(rp.substitute(template, {"E": value.node}), output_interval(fn, [value.interval]), value.shape)

    def operand(self, scope, depth, least_axes=1):
        """An expression with at least `least_axes` axes if one comes in a few tries."""
        for _ in range(4):
            value = self.expression(scope, depth)
            if len(value.shape) >= least_axes:
                return value
        return value

    def reduction(self, scope, depth):
        operand = self.fit(self.operand(scope, depth - 1), REDUCIBLE)
        kind = self.rng.choices(list(REDUCTIONS), list(REDUCTIONS.values()))[0]
        ndim = len(operand.shape)
        axis = None if ndim == 0 or self.rng.random() < 0.3 else self.rng.randrange(-ndim, ndim)
        keepdims = self.rng.random() < 0.4
        method = ndim > 0 and self.rng.random() < 0.3
        positional = not method and axis is not None and not keepdims and self.rng.random() < 0.3
        keywords = []
        if axis is not None and not positional:
            keywords.append(ast.keyword(arg="axis", value=constant(axis)))
        if keepdims:
            keywords.append(ast.keyword(arg="keepdims", value=ast.Constant(value=True)))
        if method:
            func = ast.Attribute(value=operand.node, attr=kind, ctx=ast.Load())
            node = ast.Call(func=func, args=[], keywords=keywords)
        else:
            func = ast.Attribute(value=load("np"), attr=kind, ctx=ast.Load())
            node = ast.Call(func=func, args=[operand.node] + ([constant(axis)] if positional else []), keywords=keywords)
        self.used += [f".{kind}()" if method else f"np.{kind}", "axis=None" if axis is None else
                      "axis<0" if axis < 0 else "axis>=0"] + ["keepdims=True"] * keepdims + ["axis by position"] * positional  # fmt: skip
        shape = getattr(np, kind)(np.zeros(operand.shape), axis=axis, keepdims=keepdims).shape
        count = math.prod(operand.shape) // math.prod(shape)
        low, high = operand.interval
        interval = (count * low, count * high) if kind == "sum" else (low, high)
        return Value(node, interval, shape)

    def view(self, scope, depth):
        operand = self.operand(scope, depth - 1)
        if not operand.shape:
            return operand
        size = math.prod(operand.shape)
        kind = self.rng.choice(VIEWS)
        self.used.append(kind)
        if kind in (".T", "np.transpose"):
            node = (ast.Attribute(value=operand.node, attr="T", ctx=ast.Load()) if kind == ".T"
                    else ast.Call(func=ast.parse("np.transpose", mode="eval").body, args=[operand.node], keywords=[]))
            return Value(node, operand.interval, operand.shape[::-1])  # fmt: skip
        shapes = [s for s in _factorizations(size) if s != operand.shape] or [(size,)]
        shape = self.rng.choice(shapes)
        spelled = [constant(-1) if self.rng.random() < 0.2 and len(shape) == 1 else constant(d) for d in shape]
        if kind == ".reshape":
            func = ast.Attribute(value=operand.node, attr="reshape", ctx=ast.Load())
            node = ast.Call(func=func, args=spelled, keywords=[])
        else:
            target = ast.Tuple(elts=spelled, ctx=ast.Load())
            node = ast.Call(func=ast.parse("np.reshape", mode="eval").body, args=[operand.node, target], keywords=[])
        return Value(node, operand.interval, shape)

    def matmul(self, scope):
        """A product of two values with a common inner axis (one transposed), or None if none has one."""
        arrays = [n for n in scope.order if scope.values[n].shape]
        pairs = []
        for left in arrays:
            for right in arrays:
                for transposed in (False, True):
                    right_shape = scope.values[right].shape[::-1] if transposed else scope.values[right].shape
                    try:
                        shape = np.matmul(np.zeros(scope.values[left].shape), np.zeros(right_shape)).shape
                    except ValueError:
                        continue
                    if math.prod(shape) <= MAX_SIZE and (not transposed or len(right_shape) == 2):
                        pairs.append((left, right, transposed, shape))
        if not pairs:
            return None
        left, right, transposed, shape = self.rng.choice(pairs)
        a, b = (self.fit(Value(load(n), scope.values[n].interval, scope.values[n].shape), ANY) for n in (left, right))
        right_node = ast.Attribute(value=b.node, attr="T", ctx=ast.Load()) if transposed else b.node
        inner = scope.values[left].shape[-1]
        two_dimensional = len(a.shape) <= 2 and len(b.shape) <= 2
        form = "@ .T" if transposed else self.rng.choice(["@", "np.matmul"] + ["np.dot"] * two_dimensional)
        self.used.append(form)
        if form == "np.matmul" or form == "np.dot":
            func = ast.Attribute(value=load("np"), attr=form[3:], ctx=ast.Load())
            node = ast.Call(func=func, args=[a.node, right_node], keywords=[])
        else:
            node = ast.BinOp(left=a.node, op=ast.MatMult(), right=right_node)
        low, high = output_interval(operator.mul, [a.interval, b.interval])
        return Value(node, (inner * low, inner * high), shape)

    # ---- statements --------------------------------------------------------------------------
    def body(self, scope, count, names):
        statements = []
        while len(statements) < count:
            kind = self.rng.choices(["assign", "reassign", "augmented", "softmax"], [5, 1.5, 1, 0.4])[0]
            statements += getattr(self, "_" + kind)(scope, names)
        return statements

    def _new_name(self, scope, names):
        fresh = [n for n in names if n not in scope.values]
        return self.rng.choice(fresh) if fresh and self.rng.random() < 0.85 else self.rng.choice(names)

    def computed(self, scope, depth):
        """An expression that computes something (not a bare name or number)."""
        value = self.expression(scope, depth)
        if isinstance(value.node, (ast.Name, ast.Constant, ast.UnaryOp)):
            value = self.apply(self.rng.choice([op for op in ELEMENTWISE if len(op.domains) == 1]), [value])
        return value

    def _bind(self, scope, target, value):
        """Assign `value` to `target`, tracking which names hold arrays of their own."""
        if is_view(value.node):  # the names it reads may now share memory with `target`
            self.fresh -= {n.id for n in ast.walk(value.node) if isinstance(n, ast.Name)}
            self.fresh.discard(target)
        else:
            self.fresh.add(target)
        self.inputs[target] = self.reads(value.node)
        scope.assign(target, value, scope.depends(value.node))

    def reads(self, *nodes):
        """The differentiated parameters an expression made of `nodes` depends on."""
        names = {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}
        return frozenset().union(*(self.inputs.get(name, ()) for name in names))

    def _assign(self, scope, names):
        target = self._new_name(scope, names)
        value = self.computed(scope, self.rng.randint(1, 2))
        self._bind(scope, target, value)
        return [ast.Assign(targets=[store(target)], value=value.node, lineno=0)]

    def _reassign(self, scope, names):
        target = self.rng.choice(scope.order)  # parameters too
        value = self.computed(scope, self.rng.randint(1, 2))
        self.used.append("reassignment")
        self._bind(scope, target, value)
        return [ast.Assign(targets=[store(target)], value=value.node, lineno=0)]

    def _augmented(self, scope, names):
        """``t += e`` for a `t` no other name shares (in place for an array, as NumPy does it)."""
        candidates = [n for n in scope.order if n in self.fresh and inside(scope.values[n].interval, ANY)]
        if not candidates:
            return []
        target = self.rng.choice(candidates)
        current = scope.values[target]
        op, fn, domain = self.rng.choice([(ast.Add(), operator.add, ANY), (ast.Sub(), operator.sub, ANY),
                                          (ast.Mult(), operator.mul, ANY), (ast.Div(), operator.truediv, POSITIVE)])  # fmt: skip
        operand = self.fit(self.expression(scope, self.rng.randint(0, 1), current.shape), domain)
        if broadcast(current.shape, operand.shape) != current.shape:  # in place: the target's shape must hold it
            operand = self.fit(self.number(), domain)
        self.used.append("augmented assignment")
        interval = output_interval(fn, [current.interval, operand.interval])
        active = scope.depends(load(target), operand.node)
        self.inputs[target] = self.reads(load(target), operand.node)
        scope.assign(target, Value(load(target), interval, current.shape), active)
        return [ast.AugAssign(target=store(target), op=op, value=operand.node)]

    def _softmax(self, scope, names):
        """A log-softmax of an array along an axis, in the steps users write it."""
        candidates = [n for n in scope.order if scope.values[n].shape and inside(scope.values[n].interval, ANY)]
        fresh = [n for n in names if n not in scope.values]
        if not candidates or len(fresh) < 4:
            return []
        source = self.rng.choice(candidates)
        known, active = scope.values[source], source in scope.active
        ndim = len(known.shape)
        axis = self.rng.randrange(-ndim, ndim)
        kind = self.rng.choice(["same", "same", "spelled"] + ["other"] * (ndim > 1))
        if kind == "same":
            other = axis
            self.used.append("log-softmax over the max's axis")
        elif kind == "spelled":
            other = axis - ndim if axis >= 0 else axis + ndim
            self.used.append("log-softmax over the max's axis spelled otherwise")
        else:
            other = self.rng.choice([a for a in range(ndim) if a != axis % ndim])
            self.used.append("log-softmax over another axis")
        top, shifted, normalizer, result = self.rng.sample(fresh, 4)
        low, high = known.interval
        count = known.shape[other]
        kept = np.sum(np.zeros(known.shape), axis=other, keepdims=True).shape
        values = {  # name -> (interval, shape): the shifted values are at most 0 whatever the sum's axis
            top: (known.interval, np.max(np.zeros(known.shape), axis=axis, keepdims=True).shape),
            shifted: ((low - high, 0.0), known.shape),
            normalizer: ((math.log(count) + low - high, math.log(count)), kept),
        }
        lines = [
            f"{top} = np.max({source}, axis={axis}, keepdims=True)",
            f"{shifted} = {source} - {top}",
            f"{normalizer} = np.log(np.sum(np.exp({shifted}), axis={other}, keepdims=True))",
        ]
        if self.rng.random() < 0.7:
            values[result] = (output_interval(operator.sub, [values[shifted][0], values[normalizer][0]]), known.shape)
            lines.append(f"{result} = {shifted} - {normalizer}")
        for name, (interval, shape) in values.items():
            scope.assign(name, Value(load(name), interval, shape), active)
            self.inputs[name] = self.inputs.get(source, frozenset())
            self.fresh.add(name)
        return [ast.parse(line).body[0] for line in lines]

    def returned(self, scope):
        """``return np.sum(v)``, ``2.0 * np.mean(v)``, ``np.sum(u) - v.mean()``, ..."""
        active = [n for n in scope.order if n in scope.active] or list(scope.order)
        chosen = [active[-1]]
        missing = set(scope.active) & set(self.inputs) - self.inputs.get(active[-1], set())
        while missing and len(chosen) < 3:  # the output should depend on every differentiated parameter
            name = max(reversed(active), key=lambda n: len(missing & self.inputs.get(n, set())))
            if not missing & self.inputs.get(name, set()):
                break
            chosen.append(name)
            missing -= self.inputs[name]
        if len(chosen) == 1 and self.rng.random() < 0.3:
            chosen.append(self.rng.choice(active[-4:]))
        terms = []
        for name in chosen:
            value = self.fit(Value(load(name), scope.values[name].interval, scope.values[name].shape), REDUCIBLE)
            kind = self.rng.choice(["sum", "mean"])
            if value.shape and self.rng.random() < 0.3:
                term = ast.Call(func=ast.Attribute(value=value.node, attr=kind, ctx=ast.Load()), args=[], keywords=[])
            else:
                func = ast.Attribute(value=load("np"), attr=kind, ctx=ast.Load())
                term = ast.Call(func=func, args=[value.node], keywords=[])
            if self.rng.random() < 0.3:
                numbers = [n for n in scope.order if not scope.values[n].shape and inside(scope.values[n].interval, ANY)]
                if numbers and self.rng.random() < 0.4:
                    self.used.append("output scaled by a value")
                    factor = load(self.rng.choice(numbers))
                else:
                    self.used.append("scaled output")
                    factor = constant(self.rng.choice([2.0, 0.5, -1.5, 3.0]))
                term = ast.BinOp(left=factor, op=ast.Mult(), right=term)
            terms.append(term)
        total = terms[0]
        for term in terms[1:]:
            self.used.append("two reductions")
            total = ast.BinOp(left=total, op=self.rng.choice([ast.Add(), ast.Sub()]), right=term)
        return ast.Return(value=total)

    # ---- the module --------------------------------------------------------------------------
    def sub_shape(self, full):
        """Trailing axes of `full`, some set to 1: a shape that broadcasts to `full`."""
        kept = self.rng.choices(range(len(full) + 1), [1] + [2] * (len(full) - 1) + [4])[0]
        return tuple(1 if self.rng.random() < 0.3 else d for d in full[len(full) - kept :])

    def program(self, label, statements=None):
        rng = self.rng
        count = statements if statements is not None else 3 + int(12 * rng.random() ** 2)
        while True:
            full = tuple(rng.choice(DIMENSIONS) for _ in range(rng.choices([1, 2, 3], [1, 2, 1.5])[0]))
            if math.prod(full) <= MAX_INPUT_SIZE:
                break
        arrays = rng.sample(ARRAY_NAMES, rng.choices([1, 2, 3], [3, 4, 3])[0])
        shapes = {name: self.sub_shape(full) for name in arrays}
        if len(arrays) == 1 and rng.random() < 0.7:
            shapes[arrays[0]] = full
        params = list(arrays)
        wrt_names = list(arrays)
        if self.float_parameters and rng.random() < 0.35:
            number = rng.choice(NUMBER_NAMES)
            params.append(number)
            shapes[number] = None
            differentiated = rng.random() < 0.7
            wrt_names += [number] * differentiated
            self.used.append("float parameter" if differentiated else "undifferentiated float parameter")
        if rng.random() < 0.3:
            data = rng.choice(DATA_NAMES)
            params.append(data)
            shapes[data] = self.sub_shape(full)
            self.used.append("data argument")
        rng.shuffle(params)
        for shape in shapes.values():
            self.used += ["0-d array"] * (shape == ()) + ["3-d array"] * (shape is not None and len(shape) == 3)
        if rng.random() < 0.25:
            name = rng.choice(CONSTANT_NAMES)
            shape = self.sub_shape(full)
            values = [round(rng.uniform(-1.5, 1.5), 2) for _ in range(math.prod(shape))]
            text = f"np.array({np.array(values).reshape(shape).tolist()!r})"
            self.constants[name] = Value(load(name), (min(values), max(values)), shape)
            self.constant_lines = [f"{name} = {text}"]
            self.used.append("constant array")
        scope = Scope({p: Value(load(p), (-2.0, 2.0), shapes[p] or ()) for p in params})
        scope.active = set(wrt_names)
        self.inputs = {p: frozenset([p]) for p in wrt_names}
        locals_ = [n for n in rp.LOCAL_NAMES if n not in params]
        body = self.body(scope, count - 1, locals_)
        body.append(self.returned(scope))
        args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params], vararg=None, kwonlyargs=[],
                             kw_defaults=[], kwarg=None, defaults=[])  # fmt: skip
        function = ast.FunctionDef(name="f", args=args, body=body, decorator_list=[], returns=None,
                                   type_comment=None, lineno=0)  # fmt: skip
        parts = ['"""A program made by tests/random_array_programs.py."""\nimport numpy as np']
        parts += self.constant_lines
        parts.append(ast.unparse(ast.fix_missing_locations(function)))
        source = "\n\n\n".join(parts) + "\n"
        wrt, indices, as_tuple = self.choose_wrt(params, wrt_names)
        line = source.splitlines().index(next(l for l in source.splitlines() if l.startswith("def f("))) + 1
        return ArrayProgram(label, source, tuple(params), wrt, indices, as_tuple, line, "plain", tuple(self.used),
                            shapes=tuple(shapes[p] for p in params))  # fmt: skip

    def choose_wrt(self, params, wrt_names):
        indices = tuple(sorted(params.index(n) for n in wrt_names))
        if len(indices) == len(params) and self.rng.random() < 0.4:
            return None, indices, len(params) != 1
        if len(indices) == 1 and self.rng.random() < 0.7:
            index = indices[0]
            return (params[index] if self.rng.random() < 0.5 else index), indices, False
        indices = tuple(self.rng.sample(indices, len(indices)))  # in any order
        wrt = [params[i] if self.rng.random() < 0.5 else i for i in indices]
        return (tuple(wrt) if self.rng.random() < 0.7 else wrt), indices, True


def _factorizations(size):
    """The shapes of 1-3 axes with `size` elements."""
    shapes = {(size,)}
    for a in range(1, size + 1):
        if size % a == 0:
            shapes.add((a, size // a))
            for b in range(1, size // a + 1):
                if (size // a) % b == 0:
                    shapes.add((a, b, size // a // b))
    return sorted(shapes)


def make_program(seed, index, statements=None):
    """Array program `index` of the run with `seed` (the same on every machine and hash seed)."""
    rng = random.Random(f"astgrad-random-array-programs:{seed}:{index}")
    return ArrayGenerator(rng).program(f"{seed}:{index}", statements)


# ---- array programs with loops -------------------------------------------------------------------

FLOW_CONSTRUCTS = (  # what array programs with loops are made of, besides CONSTRUCTS
    "for loop", "carried array", "carried array whose shape grows", "accumulated number",
    "accumulated array", "loop variable in arithmetic", "nested loop", "carried number",
    "sum of a generator expression", "np.stack of a list comprehension",
)  # fmt: skip


class ArrayFlowGenerator(ArrayGenerator):
    """Array programs whose `f` also has `for` loops over `range(K)` (K from 1 to 3).

    A carried value is kept in an interval `H` holding its value at entry: each
    iteration ends by fitting it back into `H`. Its shape may grow once, when
    the first iteration broadcasts it against a bigger operand (a state whose
    shape changes after the first iteration). An accumulator (a number or an
    array, starting at 0.0) adds a term in [-1, 1] per iteration. Names first
    assigned in a loop are not used after it.
    """

    float_parameters = rp.CONTROL_FLOW["float_parameter_with_array_loops"]

    def body(self, scope, count, names):
        statements = []
        while len(statements) < count:
            roll = self.rng.random()
            if roll < 0.25:
                statements += self._loop(scope, names, depth=0)
            elif roll < 0.35 and rp.CONTROL_FLOW["generator_sum"]:
                statements += self._comprehension(scope, names)
            else:
                statements += super().body(scope, 1, names)
        return statements

    def _comprehension(self, scope, names):
        """`t = sum(E for k in range(K))`, or `np.sum(np.stack([E for k in range(K)]), axis=0)` for an array E."""
        variable = "k"
        if variable in scope.values or variable in names:
            return []
        trips = self.rng.choice([1, 2, 3])
        inner = Scope({})
        inner.values, inner.order, inner.active = dict(scope.values), list(scope.order), set(scope.active)
        inner.assign(variable, Value(load(variable), (0.0, float(trips - 1)), ()), False)
        term = self.fit(self.expression(inner, self.rng.randint(1, 2)), (-1.0, 1.0))
        generator = ast.comprehension(target=store(variable), iter=ast.Call(
            func=load("range"), args=[constant(trips)], keywords=[]), ifs=[], is_async=0)  # fmt: skip
        if term.shape and self.rng.random() < 0.5:
            stack = ast.Call(func=ast.Attribute(value=load("np"), attr="stack", ctx=ast.Load()),
                             args=[ast.ListComp(elt=term.node, generators=[generator])], keywords=[])  # fmt: skip
            node = ast.Call(func=ast.Attribute(value=load("np"), attr="sum", ctx=ast.Load()), args=[stack],
                            keywords=[ast.keyword(arg="axis", value=constant(0))])  # fmt: skip
            self.used.append("np.stack of a list comprehension")
        else:
            node = ast.Call(func=load("sum"), args=[ast.GeneratorExp(elt=term.node, generators=[generator])],
                            keywords=[])  # fmt: skip
            self.used.append("sum of a generator expression")
        low, high = term.interval
        target = self._new_name(scope, names)
        self._bind(scope, target, Value(node, (trips * min(low, 0.0), trips * max(high, 0.0)), term.shape))
        return [ast.Assign(targets=[store(target)], value=node, lineno=0)]

    def _loop(self, scope, names, depth):
        variable = ("i", "j")[depth]
        candidates = [n for n in scope.order if inside(scope.values[n].interval, ANY) and n in scope.active
                      and (depth == 0 or n in names)]  # nested: the enclosing body's own names
        if not candidates:
            return []
        trips = self.rng.choice([1, 2, 3])
        carried = self.rng.sample(candidates, min(len(candidates), self.rng.randint(1, 2)))
        kept = {n: (min(scope.values[n].interval[0], -1.0), max(scope.values[n].interval[1], 1.0)) for n in carried}
        before, accumulator = [], None
        free = [n for n in ("total", "acc_sum") if n not in scope.values and n not in names]
        if free and self.rng.random() < 0.5:
            accumulator = free[0]
            before.append(ast.Assign(targets=[store(accumulator)], value=constant(0.0), lineno=0))
        inner = Scope({})
        inner.values, inner.order, inner.active = dict(scope.values), list(scope.order), set(scope.active)
        for name in carried:
            inner.assign(name, Value(load(name), kept[name], scope.values[name].shape), True)
        inner.assign(variable, Value(load(variable), (0.0, float(trips - 1)), ()), False)
        temporaries = [n for n in names if n not in scope.values and n != accumulator]
        statements = []
        for _ in range(self.rng.randint(0, 1) if temporaries else 0):
            statements += self._assign(inner, temporaries)
        if depth == 0 and self.rng.random() < 0.15:
            nested = [n for n in temporaries if n in inner.values]
            statements += self._loop(inner, nested, depth=1) if nested else []
            self.used.append("nested loop")
        shapes = {}
        for name in carried:
            current = inner.values[name]
            step = self.fit(self.expression(inner, self.rng.randint(1, 2)), (-1.0, 1.0))
            grown = broadcast(current.shape, step.shape)
            # The shape may grow only if nothing read `name` with its first shape: not the
            # statements before (on later iterations they would see the grown one), nor the step.
            read = {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name)}
            read |= {n.id for n in ast.walk(step.node) if isinstance(n, ast.Name)}
            for _ in range(4):
                if grown == current.shape or grown is not None and name not in read and self.rng.random() < 0.5:
                    break
                step = self.fit(self.expression(inner, 1, current.shape), (-1.0, 1.0))
                grown = broadcast(current.shape, step.shape)
                read = {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name)}
                read |= {n.id for n in ast.walk(step.node) if isinstance(n, ast.Name)}
            if grown is None or grown != current.shape and name in read:
                step, grown = self.fit(self.number(), (-1.0, 1.0)), current.shape
            if self.rng.random() < 0.3:
                step = self.apply(ELEMENTWISE[2], [step, inner.values[variable]])  # A * B by the loop variable
                self.used.append("loop variable in arithmetic")
            value = self.fit(self.apply(self.rng.choice(ELEMENTWISE[:3]), [current, step]), kept[name])
            if grown != scope.values[name].shape:
                self.used.append("carried array whose shape grows")
            self.used.append("carried array" if grown else "carried number")
            shapes[name] = value.shape
            self._bind(inner, name, value)
            inner.assign(name, Value(load(name), kept[name], value.shape), True)
            statements.append(ast.Assign(targets=[store(name)], value=value.node, lineno=0))
        if accumulator:
            term = self.fit(self.expression(inner, self.rng.randint(1, 2)), (-1.0, 1.0))
            if term.shape and self.rng.random() < 0.5:
                func = ast.Attribute(value=load("np"), attr="sum", ctx=ast.Load())
                size = math.prod(term.shape)
                term = Value(ast.Call(func=func, args=[term.node], keywords=[]), (-size, size), ())
            self.used.append("accumulated array" if term.shape else "accumulated number")
            plus = ast.BinOp(left=load(accumulator), op=ast.Add(), right=term.node)
            statements.append(ast.Assign(targets=[store(accumulator)], value=plus, lineno=0))
            low, high = term.interval
            scope.assign(accumulator, Value(load(accumulator), (trips * min(low, 0.0), trips * max(high, 0.0)),
                                            term.shape), scope.depends(term.node) or True)  # fmt: skip
            self.inputs[accumulator] = self.reads(term.node)
            self.fresh.add(accumulator)
        for name in carried:
            scope.assign(name, Value(load(name), kept[name], shapes[name]), True)
            self.fresh.discard(name)
        self.used.append("for loop")
        iterable = ast.Call(func=load("range"), args=[constant(trips)], keywords=[])
        return before + [ast.For(target=store(variable), iter=iterable, body=statements, orelse=[], lineno=0)]


def make_flow_program(seed, index, statements=None):
    """Array program `index` of the run with `seed` among array programs with loops."""
    rng = random.Random(f"astgrad-random-array-flow-programs:{seed}:{index}")
    program = ArrayFlowGenerator(rng).program(f"{seed}:{index}", statements)
    return dataclasses.replace(program, family="flow")


def run_one_with_loops(seed, index, directory, statements=None):
    """(status, program, detail) of array program `index` of `seed` with loops."""
    return rp.run_one(seed, index, directory, statements, make=make_flow_program, prepare_case=prepare,
                      properties=PROPERTIES)  # fmt: skip


# ---- observing a program: which element each max picks ------------------------------------------

class Probe:
    """An observed copy of an array program: runs `f` recording each max's choice and the largest value."""

    def __init__(self, source):
        tree = ast.fix_missing_locations(rp._Observe().visit(ast.parse(source)))
        operators = {**rules.BINARY_OPERATORS, **rules.UNARY_OPERATORS}
        self.namespace = {
            "__name__": "astgrad_array_probe",
            "_call": lambda fn, *args, **kwargs: self._observe(fn(*args, **kwargs), fn, args, kwargs),
            "_binary": lambda op, a, b: self._observe(operators[getattr(gast, op)](a, b), None, (a, b), {}),
            "_unary": lambda op, a: self._observe(operators[getattr(gast, op)](a), None, (a,), {}),
        }
        self.pieces, self.magnitude = [], 0.0
        exec(compile(tree, "<array probe>", "exec"), self.namespace)
        self.function = self.namespace["f"]

    def _observe(self, value, fn, args, kwargs):
        for v in (value, *args, *kwargs.values()):
            if isinstance(v, (float, np.floating, np.ndarray)) and np.size(v) and np.asarray(v).dtype.kind == "f":
                self.magnitude = max(self.magnitude, float(np.max(np.abs(v))))
        owner = getattr(fn, "__self__", None)
        if fn is np.max or (isinstance(owner, np.ndarray) and fn.__name__ == "max"):
            x = owner if isinstance(owner, np.ndarray) else args[0]
            rest = args if isinstance(owner, np.ndarray) else args[1:]
            axis = kwargs.get("axis", rest[0] if rest else None)
            self.pieces.append(np.argmax(x, axis=axis).tobytes())
        elif fn is np.maximum:
            self.pieces.append(np.greater(*args).tobytes())
        return value

    def run(self, args):
        """(value, pieces, magnitude) of f at `args`."""
        self.pieces, self.magnitude = [], 0.0
        with np.errstate(all="raise"):
            value = self.function(*args)
        return value, tuple(self.pieces), self.magnitude


# ---- checking a program ------------------------------------------------------------------------

def random_arguments(program, rng):
    args = []
    for shape in program.shapes:
        if shape is None:
            args.append(round(rng.uniform(-1.5, 1.5), 3))
        else:
            args.append(np.array([rng.uniform(-1.5, 1.5) for _ in range(math.prod(shape))]).reshape(shape))
    return args


def elements(arg):
    """The positions of an argument's elements (`()` for a number)."""
    return list(np.ndindex(np.shape(arg)))


def element(arg, position):
    return float(np.asarray(arg)[position])


def with_element(args, index, position, value):
    """A copy of `args` with element `position` of argument `index` set to `value`."""
    moved = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    if isinstance(moved[index], np.ndarray):
        moved[index][position] = value
    else:
        moved[index] = value
    return moved


def sample_point(program, probe, rng):
    """(inputs, largest magnitude, where): "clean" if no max changes its choice while any
    differentiated element moves by REACH finite-difference steps, else "near a kink"."""
    fallback = None
    for _ in range(rp.ATTEMPTS // 2):
        args = random_arguments(program, rng)
        try:
            _, pieces, magnitude = probe.run(args)
        except (ArithmeticError, ValueError, FloatingPointError) as exc:
            raise PropertyFailure(f"the program fails at {args}: {exc!r} (a generator bug)") from exc
        clean = True
        for index in program.wrt_indices:
            for position in elements(args[index]):
                here = element(args[index], position)
                for direction in (1, -1):
                    moved = here + direction * rp.REACH * rp.STEP * max(1.0, abs(here))
                    _, moved_pieces, moved_magnitude = probe.run(with_element(args, index, position, moved))
                    magnitude = max(magnitude, moved_magnitude)
                    clean = clean and moved_pieces == pieces
        if clean:
            return args, magnitude, "clean"
        fallback = fallback or (args, magnitude, "near a kink")
    return fallback


def prepare(program, directory):
    """The `random_programs.Case` for `program`: written to a file, imported, with a sample point."""
    path = rp.write(program, directory)
    module = rp.import_file(path)
    args, magnitude, where = sample_point(program, Probe(program.source), random.Random(program.label))
    return rp.Case(program, path, module, module.f, args, magnitude, where)


def element_difference(case, index, position):
    """(central difference, tolerance) of f along element `position` of argument `index`."""
    along = types.SimpleNamespace(
        f=lambda t: case.f(*with_element(case.args, index, position, t)),
        args=[element(case.args[index], position)],
        magnitude=case.magnitude,
    )
    return rp.finite_difference(along, 0)


def gradients_have_shapes_and_memory_of_their_own(case):
    program = case.program
    before = [np.array(a, copy=True) for a in case.args]
    for mode in rp.MODES:
        gradient = rp.gradient_list(astgrad.grad(case.f, wrt=program.wrt, mode=mode)(*case.args), program)
        if len(gradient) != len(program.wrt_indices):
            raise PropertyFailure(f"{mode}: {len(gradient)} gradients for {len(program.wrt_indices)} parameters")
        for index, value in zip(program.wrt_indices, gradient):
            param, arg = program.params[index], case.args[index]
            if not isinstance(arg, np.ndarray):
                if not isinstance(value, float):
                    raise PropertyFailure(f"{mode}: d f / d {param} is a {type(value).__name__}, not a float")
            elif np.shape(value) != arg.shape or np.asarray(value).dtype != np.float64:
                raise PropertyFailure(f"{mode}: d f / d {param} has shape {np.shape(value)} and dtype "
                                      f"{np.asarray(value).dtype}; {param} has shape {arg.shape}")  # fmt: skip
            for other, a in zip(program.params, case.args):
                if isinstance(a, np.ndarray) and np.shares_memory(value, a):
                    raise PropertyFailure(f"{mode}: d f / d {param} shares memory with the argument {other}")
    for name, old, new in zip(program.params, before, case.args):
        if not np.array_equal(old, new) or np.shape(old) != np.shape(new):
            raise PropertyFailure(f"the argument {name} changed: {old!r} -> {new!r}")


def gradient_matches_finite_differences(case):
    program = case.program
    if case.where != "clean":
        return  # counted by the runner and the tests: most programs must have a clean point
    for mode in rp.MODES:
        gradient = rp.gradient_list(astgrad.grad(case.f, wrt=program.wrt, mode=mode)(*case.args), program)
        for index, value in zip(program.wrt_indices, gradient):
            for position in elements(case.args[index]):
                expected, tolerance = element_difference(case, index, position)
                got = element(value, position)
                if not abs(got - expected) <= tolerance:
                    where = f"[{', '.join(map(str, position))}]" if position else ""
                    raise PropertyFailure(
                        f"{mode}: d f / d {program.params[index]}{where} is {got!r}, finite differences give "
                        f"{expected!r} (tolerance {tolerance:.3g}) at {case.args}"
                    )


def seed_scales_gradient(case):
    d_f = astgrad.grad(case.f, wrt=case.program.wrt)
    plain = rp.gradient_list(d_f(*case.args), case.program)
    scaled = rp.gradient_list(d_f(*case.args, -2.0), case.program)  # the seed is the last positional parameter
    for a, b in zip(scaled, plain):  # the seed may be applied at the end, which moves rounding
        if np.shape(a) != np.shape(b) or not np.all(np.abs(np.subtract(a, -2.0 * b)) <= 1e-12 * np.abs(2.0 * b)):
            raise PropertyFailure(f"the seed -2.0 gives {scaled!r}, not -2 * {plain!r}")


PROPERTIES = (
    gradients_have_shapes_and_memory_of_their_own,
    gradient_matches_finite_differences,
    rp.value_and_grad_agree,
    seed_scales_gradient,
    rp.source_recompiles,
    rp.transform_is_reproducible,
)


def run_one(seed, index, directory, statements=None):
    """(status, program, detail) of array program `index` of `seed` (see `random_programs.run_one`)."""
    return rp.run_one(seed, index, directory, statements, make=make_program, prepare_case=prepare,
                      properties=PROPERTIES)  # fmt: skip
