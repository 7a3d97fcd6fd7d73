"""Stage 4, ssa: single-assignment, three-address form.

Takes the `Resolved` statements and gives a `Program`: a list of `Equation`s,
each ``name = primitive(atoms...)`` where an atom is a name or a constant,
plus the output atom(s). A call's rule and the binding of its inputs are the
ones resolve matched (`Resolved.matches`); an operator's rule is the table's
one for it. Every name is assigned once:

* a user's name keeps its name the first time it is assigned and becomes
  ``x_1``, ``x_2``, ... when reassigned (augmented assignments too);
* a nested expression gets a temporary named after what it computes:
  ``sin_x`` for ``sin(x)``, ``a_times_b`` for ``a * b``, ``neg_x`` for ``-x``;
  when that would be long, only the function or operator word (``sin``,
  ``prod``) with a numeric suffix on collision;
* plain copies (``y = x``) and tuples (``a, b = b, a``) make no equations:
  the names just stand for their atoms from then on;
* a tuple known only at run time, a shape (``n, d = X.shape``) or a tuple of
  arrays (``q, p = np.split(x, 2)``), is unpacked by one index per name.
"""

import builtins
import operator
import gast
import numpy as np

from . import rules
from .errors import NotStraightLineError
from .ir import Equation, Program, assigned_names, parameter_names, uses_arrays
from .names import BUILTIN_NAMES, copy_atom, dotted_name, name
from .rules import BINARY_OPERATORS, COMPARISONS, UNARY_OPERATORS

BINARY_WORDS = {
    gast.Add: ("plus", "total"), gast.Sub: ("minus", "diff"), gast.Mult: ("times", "prod"),
    gast.Div: ("over", "ratio"), gast.Pow: ("pow", "power"), gast.MatMult: ("matmul", "matmul"),
}  # fmt: skip
COMPARISON_WORDS = {gast.Lt: "lt", gast.LtE: "le", gast.Gt: "gt", gast.GtE: "ge", gast.Eq: "eq", gast.NotEq: "ne"}
LONGEST_DESCRIPTIVE_NAME = 20
OUTPUT = "out"  # the returned value's name when it has none (its adjoint is the seed d_out)


def to_ssa(resolved, location):
    """The `Program` for `resolved`."""
    function = resolved.function
    builder = _Builder(resolved.namespace.fork(), location, resolved.matches)
    for param in parameter_names(function.tree):
        builder.current[param] = name(param)
        builder.defined.add(param)
    output = None
    for statement, filename in zip(resolved.statements, resolved.statement_files):
        builder.origin = (filename, statement.lineno)
        if isinstance(statement, gast.Return):
            output = builder.value(statement.value, hint=OUTPUT)
        elif isinstance(statement, gast.AugAssign):
            target = statement.target
            value = gast.BinOp(left=name(target.id), op=statement.op, right=statement.value)
            builder.assign(target, gast.copy_location(value, statement))
        else:
            builder.assign(statement.targets[0], statement.value)
            for other in statement.targets[1:]:
                builder.bind(other, builder.current_value(statement.targets[0]), statement)
    args = function.tree.args
    arrays = uses_arrays(builder.equations)
    if arrays:  # the array form of a rule, chosen once (``x ** 2`` is np.power's)
        for equation in builder.equations:
            equation.rule = equation.rule.array_twin
    return Program(
        name=function.name,
        args=args,
        params=tuple(a.id for a in args.args),
        all_params=tuple(a.id for a in args.args + args.kwonlyargs),
        body=builder.equations,
        output=output,
        namespace=builder.namespace,
        filename=function.filename,
        arrays=arrays,
        primal_params=tuple(function.primal_params or ()),
        user_names=frozenset(assigned_names(function.tree.body)),
    )


def is_atom(node):
    """Names, numbers, module constants (`math.pi`) and negated numbers are atoms."""
    if isinstance(node, (gast.Name, gast.Constant)):
        return True
    if isinstance(node, gast.Attribute):
        return dotted_name(node) is not None
    return (
        isinstance(node, gast.UnaryOp)
        and isinstance(node.op, gast.USub)
        and isinstance(node.operand, gast.Constant)
    )


class _Builder:
    def __init__(self, namespace, location, matches):
        self.namespace = namespace
        self.matches = matches  # resolve's match of each call
        self.location = location
        self.current = {}  # a user's name -> the atom (or tuple of atoms) it stands for now
        self.defined = set()  # names already used as an equation's target or a parameter
        self.equations = []
        self.producers = {}  # target -> the equation assigning it
        self.origin = None

    # ---- statements ----------------------------------------------------------------------
    def assign(self, target, value):
        hint = target.id if isinstance(target, gast.Name) else None
        if isinstance(target, gast.Tuple) and isinstance(value, gast.Tuple):
            if len(target.elts) == len(value.elts):
                atoms = tuple(self.value(v, _name_of(t)) for t, v in zip(target.elts, value.elts))
                self.bind(target, atoms, value)
                return
        self.bind(target, self.value(value, hint), value)

    def bind(self, target, atoms, node):
        if isinstance(target, gast.Name):
            self.current[target.id] = atoms
            return
        if self._is_tuple_result(atoms):  # n, d = X.shape; q, p = np.split(x, 2): one index per name
            atoms = tuple(self._indexed(atoms, position, element) for position, element in enumerate(target.elts))
        if not isinstance(atoms, tuple) or len(atoms) != len(target.elts):
            raise self.location.error(
                NotStraightLineError,
                node,
                f"cannot unpack this value into {len(target.elts)} names",
                hint="unpack a tuple of the same length",
            )
        for element, atom in zip(target.elts, atoms):
            self.bind(element, atom, node)

    def _is_tuple_result(self, atom):
        """Whether `atom` names a tuple known only at run time: a shape (``x.shape``, ``np.shape(x)``)
        or a tuple of arrays (``np.split``, ``np.linalg.slogdet``: `Rule.unpacks`)."""
        if not isinstance(atom, gast.Name):
            return False
        producer = self.producers.get(atom.id)
        return producer is not None and (producer.rule.fn in (".shape", np.shape) or producer.rule.unpacks)

    def _indexed(self, atom, position, element):
        """`atom[position]` as an equation, named after `element` if it is a name."""
        index = gast.Constant(value=position, kind=None)
        expression = gast.Subscript(value=copy_atom(atom), slice=index, ctx=gast.Load())
        target = self._new_name(_name_of(element), _joined(atom, index), "part")
        rule = rules.lookup(operator.getitem, 2)
        self._add(Equation(target, expression, rule, (atom, index), self.origin))
        return name(target)

    def current_value(self, target):
        if isinstance(target, gast.Name):
            return self.current[target.id]
        return tuple(self.current_value(t) for t in target.elts)

    # ---- expressions ---------------------------------------------------------------------
    def value(self, node, hint):
        """The atom (or tuple of atoms) for `node`, emitting equations for its parts."""
        if isinstance(node, gast.Tuple):
            return tuple(self.value(e, None) for e in node.elts)
        if isinstance(node, gast.Name):
            return self.current.get(node.id, node)  # a free name stays itself
        if is_atom(node) and not self.namespace.is_value_attribute(node):
            return node
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.UAdd):
            return self.value(node.operand, hint)
        if isinstance(node, gast.BinOp):
            left, right = self.atom(node.left), self.atom(node.right)
            expression = gast.BinOp(left=left, op=node.op, right=right)
            fn, inputs = BINARY_OPERATORS[type(node.op)], (left, right)
            descriptive, word = _binary_names(node.op, left, right)
            rule = rules.lookup(fn, 2)
        elif isinstance(node, gast.UnaryOp):
            operand = self.atom(node.operand)
            expression = gast.UnaryOp(op=node.op, operand=operand)
            fn, inputs = UNARY_OPERATORS[type(node.op)], (operand,)
            descriptive, word = _joined("neg", operand), "neg"
            rule = rules.lookup(fn, 1)
        elif isinstance(node, gast.Compare):
            left, right = self.atom(node.left), self.atom(node.comparators[0])
            expression = gast.Compare(left=left, ops=node.ops, comparators=[right])
            fn, inputs = COMPARISONS[type(node.ops[0])], (left, right)
            word = COMPARISON_WORDS[type(node.ops[0])]
            descriptive = _joined(_short(left), word, right) if _short(left) else None
            rule = rules.lookup(fn, 2)
        elif isinstance(node, gast.Attribute):  # x.T, x.shape
            receiver = self.atom(node.value)
            expression = gast.Attribute(value=receiver, attr=node.attr, ctx=gast.Load())
            rule, inputs = rules.lookup("." + node.attr, 1), (receiver,)
            descriptive, word = _joined(receiver, node.attr), node.attr
        elif isinstance(node, gast.Subscript):
            element = self._tuple_element(node)
            if element is not None:
                return element
            receiver, index = self.atom(node.value), self.index(node.slice)
            expression = gast.Subscript(value=receiver, slice=index, ctx=gast.Load())
            rule, inputs = rules.lookup(operator.getitem, 2), (receiver, index)
            descriptive, word = _joined(receiver, index), _joined(receiver, "part") or "part"
        elif isinstance(node, gast.Call):
            match, made = self.matches.of(node), {}  # made: id of an argument node -> what it became here
            args = [self.argument(a, made) for a in node.args]
            keywords = [gast.keyword(arg=k.arg, value=self.argument(k.value, made)) for k in node.keywords]
            if isinstance(node.func, gast.Attribute) and self.namespace.is_value_attribute(node.func):
                receiver = made[id(node.func.value)] = self.atom(node.func.value)
                func = gast.Attribute(value=receiver, attr=node.func.attr, ctx=gast.Load())
                positional, word = [receiver] + args, node.func.attr
            else:
                func, positional, word = node.func, args, None
            expression = gast.Call(func=func, args=args, keywords=keywords)
            rule = match.rule
            inputs = tuple(_made_of(match.bound[p], made) for p in rule.params)
            word = word or _call_word(func, rule, self.namespace)
            descriptive = _joined(word, *[a for a in positional if _short(a)])
        else:  # the checker and resolver let nothing else through
            raise AssertionError(f"unexpected {type(node).__name__} in ssa")
        target = self._new_name(hint, descriptive, word)
        gast.copy_location(expression, node)
        self._add(Equation(target, expression, rule, inputs, self.origin))
        return name(target)

    def _tuple_element(self, node):
        """``h(x)[0]`` of a tuple of atoms (a helper's returned tuple) by a constant index: that element, or None."""
        value = self.value(node.value, None) if isinstance(node.value, gast.Name) else None
        if not isinstance(value, tuple):
            return None
        try:
            position = rules.static_value(node.slice)
            picked = value[position]
        except (ValueError, TypeError, IndexError):
            raise self.location.error(
                NotStraightLineError,
                node,
                f"a tuple of {len(value)} values can be indexed only by a constant in range",
                hint=f"index it by a number from 0 to {len(value) - 1}, or unpack it: `a, b = ...`",
            ) from None
        return picked

    def _add(self, equation):
        self.equations.append(equation)
        self.producers[equation.target] = equation

    def argument(self, node, made):
        """A call argument: an atom, or a list or tuple display of atoms (``np.stack([a, b])``).

        What `node` and a display's elements became is recorded in `made`, by node identity.
        """
        if isinstance(node, gast.List):
            elements = [self.atom(e) for e in node.elts]
            made.update((id(e), atom) for e, atom in zip(node.elts, elements))
            made[id(node)] = gast.List(elts=elements, ctx=gast.Load())
            return made[id(node)]
        value = self.value(node, None)
        if isinstance(value, tuple):
            if isinstance(node, gast.Tuple):
                made.update((id(e), atom) for e, atom in zip(node.elts, value))
            value = copy_atom(value)
        made[id(node)] = value
        return value

    def index(self, node):
        """An index (``0``, ``:, 1``, ``..., None``, ``idx``) with its computed parts made atoms."""
        if isinstance(node, gast.Slice):
            parts = [None if p is None else self.atom(p) for p in (node.lower, node.upper, node.step)]
            return gast.Slice(*parts)
        if isinstance(node, gast.Tuple):
            return gast.Tuple(elts=[self.index(e) for e in node.elts], ctx=gast.Load())
        return self.atom(node)

    def atom(self, node):
        value = self.value(node, None)
        if isinstance(value, tuple):
            raise self.location.error(
                NotStraightLineError, node, "a tuple cannot be used in arithmetic", hint="unpack it first"
            )
        return value

    def _new_name(self, hint, descriptive, word):
        if hint is not None and hint not in self.defined:
            self.defined.add(hint)
            return hint
        base = hint or (descriptive if descriptive and len(descriptive) <= LONGEST_DESCRIPTIVE_NAME else word)
        if base in BUILTIN_NAMES:  # `max = max(x, 0.0)` would read badly even if legal
            base += "_out"
        target = base if base not in self.defined and not self.namespace.is_taken(base) else None
        if target is None:
            target = self.namespace.fresh(base)
        else:
            self.namespace.locals.add(target)
        self.defined.add(target)
        return target


def _call_word(func, rule, namespace):
    """The word naming a call's result: the rule's (`sin` also for ``from math import sin as s``), or `range`."""
    if isinstance(func, gast.Name) and namespace.lookup(func.id, None) is builtins.range:
        return "range"  # an index matched as np.arange
    return rule.expression.split("(")[0].split(".")[-1]


def _binary_names(op, left, right):
    connective, word = BINARY_WORDS[type(op)]
    return _joined(_short(left), connective, right) if _short(left) else None, word


def _short(atom):
    """How an atom reads inside a temporary's name, or None if it does not read well."""
    if isinstance(atom, gast.Name):
        return atom.id
    if isinstance(atom, gast.Constant) and isinstance(atom.value, int) and 0 <= atom.value < 100:
        return str(atom.value)
    if isinstance(atom, gast.Attribute):
        return atom.attr
    return None


def _joined(*parts):
    """`sin_x` from ("sin", Name x); None if some part does not read well."""
    words = [part if isinstance(part, str) else _short(part) for part in parts]
    if not all(words) or not words[0][0].isalpha():
        return None
    return "_".join(words)


def _made_of(bound, made):
    """The atoms a bound input of resolve's match became (a default, written nowhere, stays itself)."""
    if isinstance(bound, tuple):
        return tuple(_made_of(element, made) for element in bound)
    return made.get(id(bound), bound)


def _name_of(target):
    return target.id if isinstance(target, gast.Name) else None
