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
from dataclasses import replace

import gast
import numpy as np

from . import rules
from .errors import AstgradError, UnsupportedSyntaxError, all_obstacles
from .ir import (
    Branch, Equation, Loop, NewStack, Pop, Program, Push, all_equations, assigned_names, parameter_names,
    reads_of, uses_arrays,
)
from .names import BUILTIN_NAMES, copy_atom, dotted_name, name, substituted
from .resolve import ResolvedFor, ResolvedIf, ResolvedStack, ResolvedWhile
from .rules import BINARY_OPERATORS, COMPARISONS, UNARY_OPERATORS

BINARY_WORDS = {
    gast.Add: ("plus", "total"), gast.Sub: ("minus", "diff"), gast.Mult: ("times", "prod"),
    gast.Div: ("over", "ratio"), gast.Pow: ("pow", "power"), gast.MatMult: ("matmul", "matmul"),
}  # fmt: skip
COMPARISON_WORDS = {gast.Lt: "lt", gast.LtE: "le", gast.Gt: "gt", gast.GtE: "ge", gast.Eq: "eq", gast.NotEq: "ne"}
LONGEST_DESCRIPTIVE_NAME = 20
OUTPUT = "out"  # the returned value's name when it has none (its adjoint is the seed d_out)


def to_ssa(resolved, location):
    """The `Program` for `resolved`, or an error listing every obstacle: resolve's and those met here.

    An obstacle met here (a name assigned in one branch only and read after
    it, a tuple in arithmetic) is recorded and its statement passed over, its
    names standing for placeholders, so that the others are found too.
    """
    function = resolved.function
    generated = bool(function.primal_params)
    builder = _Builder(resolved.namespace.fork(), location, resolved.matches, generated=generated)
    for param in parameter_names(function.tree):
        builder.current[param] = name(param)
        builder.defined.add(param)
    try:
        output = builder.statements(resolved.statements, resolved.statement_files)
    except Exception:
        if not (resolved.obstacles or builder.obstacles):
            raise
        output = None  # past an obstacle the rest may not be buildable; the obstacles say why
    if resolved.obstacles or builder.obstacles:
        raise _all_obstacles(resolved, builder.obstacles)
    args = function.tree.args
    arrays = uses_arrays(all_equations(builder.equations))
    if arrays:  # the array form of a rule, chosen once (``x ** 2`` is np.power's)
        for equation in all_equations(builder.equations):
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


def _all_obstacles(resolved, own):
    """One error for resolve's obstacles and `own`, in source order: raised as the first resolve met, else as ours."""
    ordered = list(resolved.obstacles)
    for error in own:  # (each among resolve's of its own file, by line and column)
        later = (i for i, e in enumerate(ordered)
                 if e.filename == error.filename and (e.lineno, e.col_offset) > (error.lineno, error.col_offset))  # fmt: skip
        ordered.insert(next(later, len(ordered)), error)
    return all_obstacles(ordered, first=resolved.first_obstacle or own[0])


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
    def __init__(self, namespace, location, matches, generated=False):
        # Generated code reads a name one branch assigned only under the same test again;
        # in a user's function that is a bug, refused where the name is read.
        self.generated = generated
        self.namespace = namespace
        self.matches = matches  # resolve's match of each call
        self.location = location
        self.current = {}  # a user's name -> the atom (or tuple of atoms) it stands for now
        self.defined = set()  # names already used as an equation's target or a parameter
        self.equations = []
        self.producers = {}  # target -> the equation assigning it
        self.origin = None
        self.one_sided = {}  # a user's name assigned in one branch of an `if` only -> that `if`
        self.loop_targets = {}  # a loop variable, no longer readable after its loop -> the loop
        self.enclosing = []  # the blocks around the one being built
        self.branch_nodes = []  # the user's `if` statements and conditional expressions, in order
        self.obstacles = []  # the errors met, each statement's first; the statement is passed over

    # ---- statements ----------------------------------------------------------------------
    def statements(self, statements, files):
        """Add the equations of resolved `statements`; the output atom(s) if they end with the return."""
        output = None
        for statement, filename in zip(statements, files):
            try:
                output = self.statement(statement, filename) or output
            except AstgradError as error:
                self.obstacles.append(error)
                for user_name in _assigned_in_resolved([statement]):  # read later as a placeholder
                    self.current[user_name] = gast.Constant(value=0.0, kind=None)
        return output

    def statement(self, statement, filename):
        """Add the equations of one resolved statement; the output atom(s) if it is the return."""
        if isinstance(statement, ResolvedIf):
            return self.if_statement(statement, filename)
        if isinstance(statement, (ResolvedFor, ResolvedWhile)):
            return self.for_statement(statement, filename)
        if isinstance(statement, ResolvedStack):
            self.origin = (filename, statement.node.lineno)
            return self.stack_statement(statement)
        self.origin = (filename, statement.lineno)
        if isinstance(statement, gast.Return):
            return self.value(statement.value, hint=OUTPUT)
        if isinstance(statement, gast.AugAssign):
            target = statement.target
            value = gast.BinOp(left=name(target.id), op=statement.op, right=statement.value)
            self.assign(target, gast.copy_location(value, statement))
            return None
        self.assign(statement.targets[0], statement.value)
        for other in statement.targets[1:]:
            self.bind(other, self.current_value(statement.targets[0]), statement)
        return None

    def if_statement(self, resolved, filename):
        """A `Branch`: each branch's equations, and a merge for each name a branch changes."""
        node = resolved.node
        self.origin = (filename, node.lineno)
        test = self.condition(resolved.test)
        before = dict(self.current)
        arms = []
        for statements, files in ((resolved.body, resolved.body_files), (resolved.orelse, resolved.orelse_files)):
            arms.append(self._arm(before, lambda s=statements, f=files: self.statements(s, f)))
        self.origin = (filename, node.lineno)
        self.current = dict(before)
        (then, then_names, _), (orelse, else_names, _) = arms
        merged = {}
        for user_name in list(dict.fromkeys(list(then_names) + list(else_names))):
            a, b = then_names.get(user_name), else_names.get(user_name)
            if (a is None or b is None) and not self.generated:  # assigned in one branch, unbound before
                self.one_sided[user_name] = node
                self.current.pop(user_name, None)
                continue
            if isinstance(a, tuple) or isinstance(b, tuple):
                if gast.dump(gast.Tuple(elts=list(_flat(a)), ctx=gast.Load())) == gast.dump(
                    gast.Tuple(elts=list(_flat(b)), ctx=gast.Load())
                ):
                    self.current[user_name] = a
                    continue
                raise self.location.error(
                    UnsupportedSyntaxError,
                    node,
                    f"`{user_name}` holds a tuple that the branches of this `if` make differently",
                    hint="unpack the tuple into names before the `if`, and assign the names in the branches",
                )
            if _same_atom(a, b):
                self.current[user_name] = a
                continue
            merged[user_name] = (a, b)
        self.current.update(self._merge(merged, then, orelse, test, node))

    def for_statement(self, resolved, filename):
        """A `Loop`: each name the body assigns that holds a value before the loop is carried around it."""
        node = resolved.node
        self.origin = (filename, node.lineno)
        is_while = isinstance(resolved, ResolvedWhile)
        bounds = () if is_while else tuple(copy_atom(self.atom(a)) for a in resolved.arguments)
        loop_variable = None if is_while else resolved.target.id
        assigned = [n for n in _assigned_in_resolved(resolved.body) if n != loop_variable]
        read_before = reads_of(self.equations_so_far())
        carried = []  # (user's name, header name, initial atom)
        for user_name in assigned:
            if user_name not in self.current:
                continue  # first assigned in the loop: local to an iteration (read after it: refused there)
            init = self.current[user_name]
            if isinstance(init, tuple):
                raise self.location.error(
                    UnsupportedSyntaxError,
                    node,
                    f"`{user_name}` holds a tuple that the loop changes",
                    hint="unpack the tuple into names before the loop",
                )
            others = [v for v, atom in self.current.items() if v != user_name and _same_atom(atom, init)]
            # The loop may keep the initial value's name (``for ...: x = x + ...`` on a parameter `x`) when
            # nothing else reads that value: at the top level only, where no branch or loop around needs it,
            # and a name of the function's own (a module's constant stays what it is).
            coalesce = (
                not self.enclosing and isinstance(init, gast.Name) and init.id in self.defined and not others
                and init.id not in read_before
                and init.id not in {h for _, h, _ in carried}
            )  # fmt: skip
            header = init.id if coalesce else self._new_name(user_name, None, user_name)
            carried.append((user_name, header, init))
        target = None if is_while else self._new_name(loop_variable, None, loop_variable)
        before = dict(self.current)
        outer, outer_one_sided = self.equations, dict(self.one_sided)
        self.current = dict(before)
        self.current.update({v: name(h) for v, h, _ in carried})
        test, test_block = None, []
        self.enclosing.append(outer)
        if is_while:  # the test's parts are computed before the loop and again at the end of its body
            self.equations = []
            test = self.condition(resolved.test)
            test_block = self.equations
        else:
            self.current[loop_variable] = name(target)
        self.equations = []
        self.statements(resolved.body, resolved.body_files)
        self.enclosing.pop()
        body, after = self.equations, self.current
        self.equations, self.one_sided = outer, outer_one_sided
        self.origin = (filename, node.lineno)
        self.current = dict(before)
        for v, h, _ in carried:
            self.current[v] = name(h)
        for v in assigned:
            if v not in before:
                self.one_sided[v] = node
                self.current.pop(v, None)
        if not is_while:
            self.loop_targets[loop_variable] = node
            self.current.pop(loop_variable, None)
        loop = Loop(target, bounds, [(h, copy_atom(init), copy_atom(after[v])) for v, h, init in carried], body,
                    self.origin, getattr(resolved, "backwards", False), test, test_block)  # fmt: skip
        self.equations.append(loop)
        self.branch_nodes.append(node)

    def stack_statement(self, resolved):
        """A stack of generated code keeps its name; a popped value is a new name."""
        if resolved.kind == "new":
            self.defined.add(resolved.stack)
            self.current[resolved.stack] = name(resolved.stack)
            self.equations.append(NewStack(resolved.stack, self.origin))
        elif resolved.kind == "push":
            self.equations.append(Push(resolved.stack, copy_atom(self.atom(resolved.value)), self.origin))
        else:
            target = self._new_name(resolved.value, None, resolved.value)
            self.current[resolved.value] = name(target)
            self.equations.append(Pop(target, resolved.stack, self.origin))

    def equations_so_far(self):
        """The statements made so far, of the enclosing blocks too (their reads are before a new loop)."""
        return [s for block in self.enclosing + [self.equations] for s in block]

    def _arm(self, before, build):
        """(equations, the names' atoms after, the result of `build`) of one branch built from `before`."""
        outer, outer_one_sided = self.equations, dict(self.one_sided)
        self.enclosing.append(outer)
        self.current, self.equations = dict(before), []
        try:
            result = build()
        finally:  # (an obstacle in a conditional expression's arm leaves the outer block as it was)
            self.enclosing.pop()
            arm, self.equations = self.equations, outer
            self.one_sided = outer_one_sided
        return arm, self.current, result

    def _merge(self, merged, then, orelse, test, node):
        """Add the `Branch` merging {name: (then atom, else atom)}; {name: the merged atom}."""
        then_made, else_made = _made_in(then), _made_in(orelse)
        claimed = set()
        then_renaming, else_renaming = {}, {}
        targets = {}
        for user_name, (a, b) in merged.items():
            if isinstance(a, gast.Name) and a.id in then_made and a.id not in claimed:
                target = a.id
            elif isinstance(b, gast.Name) and b.id in else_made and b.id not in claimed:
                target = b.id
            else:
                target = self._new_name(user_name if user_name is not None else None, None, "chosen")
            claimed.add(target)
            targets[user_name] = target
        for user_name, (a, b) in merged.items():  # a branch's own name for the value takes the merged name
            for atom, made, renaming in ((a, then_made, then_renaming), (b, else_made, else_renaming)):
                if isinstance(atom, gast.Name) and atom.id in made and atom.id not in claimed | renaming.keys():
                    renaming[atom.id] = targets[user_name]
        then, orelse = rename_block(then, then_renaming), rename_block(orelse, else_renaming)
        merges = [
            (targets[v], _renamed_atom(a, then_renaming), _renamed_atom(b, else_renaming))
            for v, (a, b) in merged.items()
        ]
        self.equations.append(Branch(test, then, orelse, merges, self.origin))
        self.branch_nodes.append(node)
        return {v: name(t) for v, t in targets.items()}

    def condition(self, node):
        """A branch's test: its comparisons and `and`/`or`/`not` kept, the values compared made atoms.

        A part evaluated only when the parts before it allow (the second
        operand of `and`, a chained comparison's later operands) may not need
        a computation of its own, which would run before the test.
        """
        if isinstance(node, gast.BoolOp):
            values = [self.condition(node.values[0])] + [self._alone(self.condition, v) for v in node.values[1:]]
            return gast.BoolOp(op=node.op, values=values)
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.Not):
            return gast.UnaryOp(op=node.op, operand=self.condition(node.operand))
        if isinstance(node, gast.Compare):
            left = copy_atom(self.atom(node.left))
            first = copy_atom(self.atom(node.comparators[0]))
            rest = [copy_atom(self._alone(self.atom, c)) for c in node.comparators[1:]]
            return gast.Compare(left=left, ops=list(node.ops), comparators=[first] + rest)
        return copy_atom(self.atom(node))

    def _alone(self, build, node):
        count = len(self.equations)
        value = build(node)
        if len(self.equations) != count:
            raise self.location.error(
                UnsupportedSyntaxError,
                node,
                "this part of the condition is evaluated only when the parts before it allow, "
                "and it needs a computation of its own",
                hint="compute it into a name inside nested `if` statements, or before the `if` if that is safe",
            )
        return value

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
                UnsupportedSyntaxError,
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
    def _unreadable(self, node):
        """The error for reading the name `node` where it holds no value (after its loop, or one branch), or None."""
        if node.id in self.loop_targets and node.id not in self.current:
            loop = self.loop_targets[node.id]
            return self.location.error(
                UnsupportedSyntaxError,
                node,
                f"the loop variable `{node.id}` is read after its loop (line {loop.lineno})",
                hint=f"copy `{node.id}` into another name inside the loop",
            )
        if node.id in self.one_sided and node.id not in self.current:
            statement = self.one_sided[node.id]
            if isinstance(statement, gast.For):
                return self.location.error(
                    UnsupportedSyntaxError,
                    node,
                    f"`{node.id}` is first assigned inside the loop on line {statement.lineno} and read after it",
                    hint=f"assign `{node.id}` a value before the loop",
                )
            return self.location.error(
                UnsupportedSyntaxError,
                node,
                f"`{node.id}` is assigned in only one branch of the `if` on line {statement.lineno}",
                hint=f"assign `{node.id}` in every branch of that `if`, or before it",
            )
        return None

    def value(self, node, hint):
        """The atom (or tuple of atoms) for `node`, emitting equations for its parts."""
        if isinstance(node, gast.Tuple):
            return tuple(self.value(e, None) for e in node.elts)
        if isinstance(node, gast.Name):
            unreadable = self._unreadable(node)
            if unreadable is not None:  # recorded, and read as a placeholder: the rest of the statement is built
                self.obstacles.append(unreadable)
                return gast.Constant(value=0.0, kind=None)
            return self.current.get(node.id, node)  # a free name stays itself
        if isinstance(node, gast.IfExp):
            return self.conditional_expression(node, hint)
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

    def conditional_expression(self, node, hint):
        """``a if test else b``: a `Branch` computing each alternative in its branch, merged into one name."""
        test = self.condition(node.test)
        before = dict(self.current)
        key = hint if hint is not None and hint not in self.defined else None
        then, _, a = self._arm(before, lambda: self.atom(node.body, key))
        orelse, _, b = self._arm(before, lambda: self.atom(node.orelse, key))
        self.current = before
        if _same_atom(a, b) and not then and not orelse:
            return a
        return self._merge({key: (a, b)}, then, orelse, test, node)[key]

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
                UnsupportedSyntaxError,
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

    def atom(self, node, hint=None):
        value = self.value(node, hint)
        if isinstance(value, tuple):
            raise self.location.error(
                UnsupportedSyntaxError, node, "a tuple cannot be used in arithmetic", hint="unpack it first"
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


def _same_atom(a, b):
    """Whether two atoms are the same name or constant (a tuple a helper returned is neither)."""
    return isinstance(a, gast.AST) and isinstance(b, gast.AST) and gast.dump(a) == gast.dump(b)


def _flat(atoms):
    for atom in atoms if isinstance(atoms, tuple) else (atoms,):
        yield from _flat(atom) if isinstance(atom, tuple) else (atom,)


def _assigned_in_resolved(statements):
    """The user's names resolved statements assign (inside branches and loops too), in order."""
    names = {}
    for statement in statements:
        if isinstance(statement, ResolvedIf):
            names.update(dict.fromkeys(_assigned_in_resolved(statement.body + statement.orelse)))
        elif isinstance(statement, ResolvedFor):
            names.setdefault(statement.target.id)
            names.update(dict.fromkeys(_assigned_in_resolved(statement.body)))
        elif isinstance(statement, ResolvedWhile):
            names.update(dict.fromkeys(_assigned_in_resolved(statement.body)))
        elif isinstance(statement, ResolvedStack):
            if statement.kind != "push":
                names.setdefault(statement.stack if statement.kind == "new" else statement.value)
        elif isinstance(statement, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
            targets = statement.targets if isinstance(statement, gast.Assign) else [statement.target]
            for target in targets:
                for n in gast.walk(target):
                    if isinstance(n, gast.Name):
                        names.setdefault(n.id)
    return list(names)


def _made_in(block):
    """The names a branch's block makes that stay visible after it: its equations' and merges' targets."""
    made = set()
    for statement in block:
        if isinstance(statement, Branch):
            made.update(target for target, _, _ in statement.merges)
        elif isinstance(statement, Loop):
            made.update(header for header, _, _ in statement.carried)
        elif isinstance(statement, (NewStack, Push)):
            pass
        else:
            made.add(statement.target)
    return made


def _renamed_atom(atom, renaming):
    if isinstance(atom, gast.Name) and atom.id in renaming:
        return name(renaming[atom.id])
    return atom


def rename_block(block, renaming):
    """`block` with the names in `renaming` renamed wherever assigned or read (they are single-assignment)."""
    if not renaming:
        return block
    out = []
    for statement in block:
        if isinstance(statement, Loop):
            out.append(replace(
                statement,
                bounds=tuple(_renamed_atom(a, renaming) for a in statement.bounds),
                carried=[(renaming.get(h, h), _renamed_atom(i, renaming), _renamed_atom(e, renaming))
                         for h, i, e in statement.carried],
                body=rename_block(statement.body, renaming),
            ))  # fmt: skip
            continue
        if isinstance(statement, NewStack):
            out.append(replace(statement, stack=renaming.get(statement.stack, statement.stack)))
            continue
        if isinstance(statement, Push):
            out.append(replace(statement, stack=renaming.get(statement.stack, statement.stack),
                               atom=_renamed_atom(statement.atom, renaming)))  # fmt: skip
            continue
        if isinstance(statement, Pop):
            out.append(replace(statement, stack=renaming.get(statement.stack, statement.stack),
                               target=renaming.get(statement.target, statement.target)))  # fmt: skip
            continue
        if isinstance(statement, Branch):
            out.append(Branch(
                substituted(statement.test, _Loads(renaming)),
                rename_block(statement.then, renaming),
                rename_block(statement.orelse, renaming),
                [(renaming.get(t, t), _renamed_atom(a, renaming), _renamed_atom(b, renaming))
                 for t, a, b in statement.merges],
                statement.origin,
            ))  # fmt: skip
            continue
        value = gast.copy_location(substituted(statement.value, _Loads(renaming)), statement.value)
        out.append(replace(
            statement,
            target=renaming.get(statement.target, statement.target),
            value=value,
            inputs=tuple(_renamed_input(item, renaming) for item in statement.inputs),
        ))  # fmt: skip
    return out


def _renamed_input(value, renaming):
    if isinstance(value, (tuple, list)):
        return type(value)(_renamed_input(item, renaming) for item in value)
    if isinstance(value, gast.AST):
        return substituted(value, _Loads(renaming))
    return value


class _Loads(dict):
    """old name -> a fresh load of its new name, for `substituted`."""

    def __getitem__(self, old):
        return name(super().__getitem__(old))
