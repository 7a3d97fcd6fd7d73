"""The intermediate representation the stages share: programs in, generated functions out.

A `Program` is the user's function in single-assignment form (made by ssa):
its body is a list of statements, each an `Equation` ``target = rule(inputs)``
today; structured loops and branches are further kinds of statement that a
stage dispatches on (`Program.equations` is for stages that handle only
straight-line code). Every fact a later stage needs about the user's function
travels here as plain data (`primal_params`, `user_names`), not as the parsed
function.

A generated function is a `Derivative` record: a name, parameters, and a list
of `Line`s, each ``target = value`` with its role (a primal line, an adjoint
or tangent line, a check), the user's expression it came from, and whether it
is a temporary that may be written nested again. The derivative stages make
it, optimize rewrites it, compile prints it (`function_def`). Nothing is stuck
onto AST nodes.
"""

import copy
import operator
from dataclasses import dataclass, field, replace

import gast

from . import runtime
from .errors import PRIMITIVE_TABLE, Location, NoDerivativeError
from .names import copy_atom, name
from .rules import ZERO

# A line's role.
PRIMAL = "primal"  # the user's computation, as single-assignment lines
CHECK = "check"  # a check of the arguments or the output seed
ADJOINT = "adjoint"  # a contribution to an adjoint (reverse mode)
TANGENT = "tangent"  # a tangent (forward mode)
CALL = "call"  # a call of another generated function (the array forward-mode driver)
RESULT = "result"  # the return statement
DERIVATIVE_ROLES = frozenset((ADJOINT, TANGENT))


@dataclass
class Equation:
    """``target = value``, where value applies `rule` to `inputs` (atoms, in rule order)."""

    target: str
    value: gast.expr
    rule: object  # the table's Rule, already the array form in array code
    inputs: tuple
    origin: tuple  # (filename, line) of the user's statement it came from


@dataclass(frozen=True)
class Match:
    """A call matched to its table entry by resolve: the `rule` and its inputs.

    `bound` maps each of the rule's parameters to the call's argument node
    for it (a tuple of nodes for a sequence parameter, a constant node for a
    default left out).
    """

    rule: object
    bound: dict


class Matches:
    """The `Match` of each call resolve wrote, so ssa reads it instead of matching the call again.

    Keyed by the call node's identity: the resolved statements hold the
    nodes, so a key lives as long as the record that holds this table, and
    nothing is stored on the nodes themselves.
    """

    def __init__(self):
        self._by_call = {}

    def add(self, call, match):
        self._by_call[id(call)] = (call, match)  # the call is kept, so its id is not reused

    def has(self, call):
        """Whether `call` was matched (a call of a primitive)."""
        return id(call) in self._by_call

    def of(self, call):
        """The match of `call`, a call node of the resolved statements."""
        return self._by_call[id(call)][1]

    def __len__(self):
        return len(self._by_call)


@dataclass
class Branch:
    """``if test: then else: orelse``, after which each merged name holds its branch's atom.

    `test` is the user's condition over atoms (comparisons, ``and``, ``or``,
    ``not``), evaluated as written and never differentiated. `merges` lists
    ``(name, atom in then, atom in orelse)``: the values the branches give a
    name that is read after the `if` (None where a branch leaves it unassigned,
    which only generated code read again does: it reads the name under the
    same test). The blocks are lists of statements.
    """

    test: gast.expr
    then: list
    orelse: list
    merges: list
    origin: tuple  # (filename, line) of the user's `if` or conditional expression


@dataclass
class Loop:
    """``for target in range(*bounds): body``, with the names the body carries from one iteration to the next.

    `carried` lists ``(header, initial atom, end atom)``: `header` names the
    value at the start of each iteration (and after the loop), the initial
    atom its value before the first, the end atom its value at the end of
    the body (read by the next iteration). The body is single-assignment
    apart from its headers, which are assigned only by the loop itself.
    """

    target: str
    bounds: tuple  # the atoms passed to range()
    carried: list
    body: list
    origin: tuple  # (filename, line) of the user's `for`
    backwards: bool = False  # over ``reversed(range(...))`` (in generated code)
    test: object = None  # a ``while`` loop's condition (its target and bounds are then None and ())
    test_block: list = field(default_factory=list)  # the equations computing the condition's parts, from the headers


@dataclass
class NewStack:
    """``stack = []``: a stack of generated code (read again to differentiate a gradient)."""

    stack: str
    origin: tuple


@dataclass
class Push:
    """``stack.append(atom)``."""

    stack: str
    atom: object
    origin: tuple


@dataclass
class Pop:
    """``target = stack.pop()``."""

    target: str
    stack: str
    origin: tuple


STACK_STATEMENTS = (NewStack, Push, Pop)


def all_equations(body):
    """Every equation of a block, those inside branches and loops too, in order."""
    for statement in body:
        if isinstance(statement, Branch):
            yield from all_equations(statement.then)
            yield from all_equations(statement.orelse)
        elif isinstance(statement, Loop):
            yield from statement.test_block
            yield from all_equations(statement.body)
        elif not isinstance(statement, STACK_STATEMENTS):
            yield statement


def has_branches(body):
    """Whether a block has branches, loops or lists (statements the straight-line paths do not take)."""
    return any(isinstance(statement, (Branch, Loop, NewStack, Push, Pop)) for statement in body)


def reads_of(body):
    """The names a block reads (its equations', tests', merges', bounds' and carried atoms')."""
    read = set()
    for statement in body:
        if isinstance(statement, Branch):
            read |= test_names(statement.test) | reads_of(statement.then) | reads_of(statement.orelse)
            read |= {a.id for _, *atoms in statement.merges for a in atoms if isinstance(a, gast.Name)}
        elif isinstance(statement, Loop):
            read |= {a.id for a in statement.bounds if isinstance(a, gast.Name)} | reads_of(statement.body)
            read |= {a.id for _, *atoms in statement.carried for a in atoms if isinstance(a, gast.Name)}
        elif isinstance(statement, Push):
            read |= {statement.stack} | ({statement.atom.id} if isinstance(statement.atom, gast.Name) else set())
        elif isinstance(statement, Pop):
            read.add(statement.stack)
        elif isinstance(statement, NewStack):
            pass
        else:
            read |= {a.id for a in atoms(statement.rule, statement.inputs) if isinstance(a, gast.Name)}
    return read


def named_by_user(program):
    """The names the user's function assigns, and the output's names."""
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    return program.user_names | {atom.id for atom in outputs if isinstance(atom, gast.Name)}


def loop_temporaries(program):
    """The targets inside loops that stand for a part of one of the user's expressions (``W @ h`` of
    ``h = np.tanh(W @ h + b)``): names the user did not write, read by one equation only, of the same
    statement of the user's, and by nothing else (a test, a merge, a push, a bound, a carried value).

    The derivative stages mark their lines temporaries, which optimize writes nested again
    (`optimize.nest_temporaries`): a loop's step reads as the user wrote it.
    """
    made = {equation.target: equation for loop in _loops(program.body) for equation in all_equations(loop.body)}
    candidates = set(made) - named_by_user(program)
    readers = {}
    for equation in all_equations(program.body):
        for atom in atoms(equation.rule, equation.inputs):
            if isinstance(atom, gast.Name) and atom.id in candidates:
                readers.setdefault(atom.id, []).append(equation)
    read_otherwise = _read_outside_equations(program.body)
    return frozenset(
        target for target, found in readers.items()
        if len(found) == 1 and found[0].origin == made[target].origin and target not in read_otherwise
    )  # fmt: skip


def _loops(body):
    """The loops of a block, at any depth."""
    for statement in body:
        if isinstance(statement, Branch):
            yield from _loops(statement.then)
            yield from _loops(statement.orelse)
        elif isinstance(statement, Loop):
            yield statement
            yield from _loops(statement.body)


def _read_outside_equations(body):
    """The names a block's tests, merges, pushes, bounds and carried values read."""
    read = set()
    for statement in body:
        if isinstance(statement, Branch):
            read |= test_names(statement.test) | _read_outside_equations(statement.then)
            read |= _read_outside_equations(statement.orelse)
            read |= {a.id for _, *atoms_ in statement.merges for a in atoms_ if isinstance(a, gast.Name)}
        elif isinstance(statement, Loop):
            read |= {a.id for a in statement.bounds if isinstance(a, gast.Name)}
            read |= _read_outside_equations(statement.body)
            read |= {a.id for _, *atoms_ in statement.carried for a in atoms_ if isinstance(a, gast.Name)}
            if statement.test is not None:
                read |= test_names(statement.test)
        elif isinstance(statement, Push) and isinstance(statement.atom, gast.Name):
            read.add(statement.atom.id)
    return read


def loop_headers(body):
    """The names loops carry, at any depth.

    A header names the value before its loop and each iteration's after it (a loop may keep
    the name of the value it starts from, a parameter's among them), so it holds another
    value after its loop than before.
    """
    headers = set()
    for statement in body:
        if isinstance(statement, Branch):
            headers |= loop_headers(statement.then) | loop_headers(statement.orelse)
        elif isinstance(statement, Loop):
            headers |= {h for h, _, _ in statement.carried} | loop_headers(statement.body)
    return headers


def body_defines(body):
    """The names a block assigns: equations' targets, merged names and loops' headers, at any depth."""
    made = set()
    for statement in body:
        if isinstance(statement, Branch):
            made |= body_defines(statement.then) | body_defines(statement.orelse)
            made |= {target for target, _, _ in statement.merges}
        elif isinstance(statement, Loop):
            made |= body_defines(statement.body) | {h for h, _, _ in statement.carried} | {statement.target}
            made |= body_defines(statement.test_block)
        elif isinstance(statement, NewStack):
            made.add(statement.stack)
        elif isinstance(statement, Push):
            pass
        else:
            made.add(statement.target)
    return made


def test_names(test):
    """The names a branch's test reads."""
    return {n.id for n in gast.walk(test) if isinstance(n, gast.Name)}


@dataclass
class Program:
    """A function in single-assignment form."""

    name: str
    args: gast.arguments  # the user's parameters as written
    params: tuple  # positional parameter names
    all_params: tuple  # positional and keyword-only parameter names
    body: list  # statements: `Equation`s and `Branch`es
    output: object  # an atom, or a tuple of atoms
    namespace: object
    filename: str  # the file of the user's function
    arrays: bool  # whether the program calls NumPy: "array code" (see docs/design.md)
    primal_params: tuple = ()  # for a generated gradient: the parameters of the function it differentiates
    user_names: frozenset = frozenset()  # the names the user's function assigns

    @property
    def equations(self):
        """The body's equations, for stages that take straight-line code only."""
        for statement in self.body:
            if not isinstance(statement, Equation):
                raise TypeError(f"{type(statement).__name__} in a straight-line stage")
        return self.body


def each_input(rule, param, value):
    """(position in its sequence or None, atom) for each input `param` stands for."""
    if param == rule.sequence:
        return list(enumerate(value))
    return [(None, value)]


def atoms(rule, inputs):
    """The atoms an equation applying `rule` reads, in order (a sequence argument's one by one)."""
    return [atom for param, value in zip(rule.params, inputs) for _, atom in each_input(rule, param, value)]


def parameter_names(tree):
    """The names of a FunctionDef's (or its `gast.arguments`') parameters: positional-only, positional, keyword-only."""
    args = tree.args if isinstance(tree, gast.FunctionDef) else tree
    return [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]


def assigned_names(body):
    """The names the checked `body` assigns, in order of first assignment.

    Only assignment targets (and loops' targets) store names (names, and
    tuples or lists of targets), so only they are read, breadth first, in
    the order a `gast.walk` of each statement meets them; the bodies of
    branches and loops in order.
    """
    names = {}
    for statement in body:
        kind = type(statement)
        if kind is gast.Assign:
            pending = list(statement.targets)
        elif kind is gast.AugAssign or kind is gast.AnnAssign:
            pending = [statement.target]
        elif kind is gast.If or kind is gast.While:
            names.update(dict.fromkeys(assigned_names(statement.body + statement.orelse)))
            continue
        elif kind is gast.For:  # its target, then its body's
            names.update(dict.fromkeys(assigned_names([gast.Assign(targets=[statement.target], value=None)])))
            names.update(dict.fromkeys(assigned_names(statement.body)))
            continue
        else:
            continue
        for target in pending:  # grows as tuples are opened: breadth first
            if isinstance(target, gast.Name):
                names.setdefault(target.id)
            else:
                pending.extend(target.elts)
    return list(names)


def uses_arrays(equations):
    """Whether equations call NumPy ("array code": adjoints are unbroadcast and the call is checked).

    Code that calls no NumPy function is scalar code: its gradient pays for no
    shape handling (see docs/design.md).
    """
    return any(equation.rule.array_code for equation in equations)


def number_check(program, wrt, namespace):
    """Scalar code's check that arguments are numbers, as a list of no line or one line:

        if type(x) is not float or type(y) is not float:
            check_numbers(x, y)

    One type test per checked parameter is all a float argument costs (see
    `parameters_to_check` for which are checked). A function that already
    checks (a gradient differentiated again) is not checked twice.
    """
    checked = [] if any(eq.rule.fn in CHECKS for eq in all_equations(program.body)) else parameters_to_check(program, wrt)
    if not checked:
        return []
    float_type, type_of = namespace.reference(float), namespace.reference(type)
    tests = [
        gast.Compare(
            left=gast.Call(func=copy_atom(type_of), args=[name(p)], keywords=[]),
            ops=[gast.IsNot()],
            comparators=[copy_atom(float_type)],
        )
        for p in checked
    ]
    guard = tests[0] if len(tests) == 1 else gast.BoolOp(op=gast.Or(), values=tests)
    call = gast.Call(func=namespace.reference(runtime.check_numbers), args=[name(p) for p in checked], keywords=[])
    return [Line((), call, CHECK, guard=guard)]


def active_names(program, wrt, zero_adjoint=()):
    """Names whose value depends on a differentiated parameter, other than through a name in `zero_adjoint`.

    A name whose adjoint is known to be exactly zero (`shift_invariant`) gets
    none: no gradient flows into it, nor into what only it makes depend on a
    parameter (all of whose gradient would flow on into it).
    """
    active = set(wrt)
    _mark_active(program.body, active, zero_adjoint)
    return active


def _mark_active(body, active, zero_adjoint):
    for statement in body:
        if isinstance(statement, Loop):
            while True:  # a header is active if its initial or end value is: to a fixpoint
                before = len(active)
                for header, *values in statement.carried:
                    if any(isinstance(a, gast.Name) and a.id in active for a in values):
                        active.add(header)
                _mark_active(statement.body, active, zero_adjoint)
                if len(active) == before:
                    break
            continue
        if isinstance(statement, Push):
            if isinstance(statement.atom, gast.Name) and statement.atom.id in active:
                active.add(statement.stack)
            continue
        if isinstance(statement, Pop):
            if statement.stack in active:
                active.add(statement.target)
            continue
        if isinstance(statement, NewStack):
            continue
        if isinstance(statement, Branch):
            _mark_active(statement.then, active, zero_adjoint)
            _mark_active(statement.orelse, active, zero_adjoint)
            for target, a, b in statement.merges:
                if any(isinstance(atom, gast.Name) and atom.id in active for atom in (a, b)):
                    active.add(target)
            continue
        rule = statement.rule
        if statement.target not in zero_adjoint and any(
            isinstance(atom, gast.Name) and atom.id in active and rule.templates[param] is not ZERO
            for param, value in zip(rule.params, statement.inputs)
            for _, atom in each_input(rule, param, value)
        ):
            active.add(statement.target)


def parameters_to_check(program, wrt):
    """The parameters in `wrt` that scalar code checks are numbers: those an array would pass through silently.

    An array (of more than one element) reaching a `math` function, or the
    builtin ``max``, ``min``, ``float`` or ``int``, is refused there, as the
    user's own function refuses it. A parameter from which some chain of
    other operations (operators, ``abs``, ``pow``) reaches the output would
    carry an array through to a gradient of the wrong shape, and so would a
    parameter the output does not depend on: these are checked.
    """
    carried = {p: {p} for p in wrt}  # name -> the parameters an array would reach it from
    read = set()
    _carry_arrays(program.body, carried, read)
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    reaching = set().union(*(carried.get(a.id, ()) for a in outputs if isinstance(a, gast.Name)))
    return [p for p in wrt if p in reaching or p not in read]


def _carry_arrays(body, carried, read):
    for statement in body:
        if isinstance(statement, Push) and isinstance(statement.atom, gast.Name):  # a list holds what it is given
            read.add(statement.atom.id)
            sources = set(carried.get(statement.stack, ())) | set(carried.get(statement.atom.id, ()))
            if sources:
                carried[statement.stack] = sources
            continue
        if isinstance(statement, STACK_STATEMENTS):
            continue
        if isinstance(statement, Loop):
            read.update(a.id for a in statement.bounds if isinstance(a, gast.Name))
            for _ in range(len(statement.carried) + 1):  # the end values reach the next iteration's headers
                for header, *values in statement.carried:
                    names = [a.id for a in values if isinstance(a, gast.Name)]
                    read.update(names)
                    sources = set().union(carried.get(header, ()), *(carried.get(n, ()) for n in names))
                    if sources:
                        carried[header] = sources
                _carry_arrays(statement.body, carried, read)
            continue
        if isinstance(statement, Branch):
            read.update(test_names(statement.test))
            _carry_arrays(statement.then, carried, read)
            _carry_arrays(statement.orelse, carried, read)
            for target, *merged in statement.merges:
                names = [a.id for a in merged if isinstance(a, gast.Name)]
                read.update(names)
                sources = set().union(*(carried.get(n, ()) for n in names))
                if sources:
                    carried[target] = sources
            continue
        names = [a.id for a in atoms(statement.rule, statement.inputs) if isinstance(a, gast.Name)]
        read.update(names)
        if not _refuses_arrays(statement.rule):
            sources = set().union(*(carried.get(n, ()) for n in names))
            if sources:
                carried[statement.target] = sources


REFUSING_ARRAYS = frozenset((max, min, float, int))


def _refuses_arrays(rule):
    """Whether the primitive raises for an array of more than one element (`math` functions and a few builtins)."""
    return getattr(rule.fn, "__module__", None) == "math" or any(rule.fn is fn for fn in REFUSING_ARRAYS)


def origin(equation):
    """(file, line, column, end column) of the user's expression an equation came from."""
    node = equation.value
    same_line = getattr(node, "end_lineno", None) == getattr(node, "lineno", None)
    columns = (getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)) if same_line else (None, None)
    return equation.origin + columns


@dataclass(frozen=True)
class Line:
    """One statement of a generated function: ``target = value``, or the return (target None).

    `target` is a name, a tuple of names for an unpacking assignment, or the
    empty tuple for a call made for its check alone (then maybe only if the
    `guard` test holds: ``if type(x) is not float: check_numbers(x)``).
    `origin` is the user's (file, line, column, end column) a derivative line
    came from (for origin comments); a `temporary` is a part of one of the
    user's expressions that got a name of its own, which optimize may write
    nested again.
    """

    target: object
    value: gast.expr
    role: str
    origin: tuple = None
    temporary: bool = False
    guard: gast.expr = None  # a check call made only when this test holds

    @property
    def printed_lines(self):
        return 2 if self.guard is not None else 1

    def with_value(self, value):
        return replace(self, value=value)


BRANCH = "branch"  # an `if` statement of a generated function


@dataclass(frozen=True)
class Conditional:
    """``if test: <then lines> else: <orelse lines>`` in a generated function (either block may be empty).

    Its `target` is None-like for passes over assignments: it assigns through
    its lines only (`assigned_in`).
    """

    test: gast.expr
    then: tuple
    orelse: tuple
    origin: tuple = None
    role = BRANCH
    target = ()
    guard = None
    temporary = False

    @property
    def value(self):
        return self.test

    @property
    def printed_lines(self):
        then = sum(line.printed_lines for line in self.then) or 1
        orelse = sum(line.printed_lines for line in self.orelse)
        if not self.then:
            return 1 + orelse  # printed `if not test:`
        return 1 + then + (1 + orelse if self.orelse else 0)

    def with_blocks(self, then, orelse, test=None):
        return Conditional(self.test if test is None else test, tuple(then), tuple(orelse), self.origin)


LOOP = "loop"  # a `for` loop of a generated function


@dataclass(frozen=True)
class ForLoop:
    """``for variable in iterable: <body lines>`` in a generated function; ``while iterable:`` if `variable` is None."""

    variable: str
    iterable: gast.expr
    body: tuple
    origin: tuple = None
    role = LOOP
    target = ()
    guard = None
    temporary = False

    @property
    def value(self):
        return self.iterable

    @property
    def printed_lines(self):
        return 1 + (sum(line.printed_lines for line in self.body) or 1)

    def with_body(self, body, iterable=None):
        return ForLoop(self.variable, self.iterable if iterable is None else iterable, tuple(body), self.origin)


def inner_lines(line):
    """The lines inside a compound line (an `if`'s or a loop's), none for a simple one."""
    if isinstance(line, Conditional):
        return line.then + line.orelse
    if isinstance(line, ForLoop):
        return line.body
    return ()


def assigned_in(line):
    """The names a line assigns (a conditional's or a loop's lines' too)."""
    if isinstance(line, Conditional):
        return {n for inner in line.then + line.orelse for n in assigned_in(inner)}
    if isinstance(line, ForLoop):
        variable = {line.variable} if line.variable is not None else set()
        return variable | {n for inner in line.body for n in assigned_in(inner)}
    if isinstance(line.target, str):
        return {line.target}
    if isinstance(line.target, tuple):
        return set(line.target)
    return set()


def read_in(line):
    """The names a line reads (a conditional's test and lines' too)."""
    names = {n.id for n in gast.walk(line.value) if isinstance(n, gast.Name)}
    if isinstance(line, (Conditional, ForLoop)):
        for inner in inner_lines(line):
            names |= read_in(inner)
    elif line.guard is not None:
        names |= {n.id for n in gast.walk(line.guard) if isinstance(n, gast.Name)}
    return names


def printed_origins(line, roles):
    """The origin of each printed line of `line` (None where it has none, or its role is not in `roles`)."""
    if isinstance(line, Conditional):
        header = [line.origin if roles is None or any(
            inner.role in roles for inner in line.then + line.orelse) else None]
        then = [o for inner in line.then for o in printed_origins(inner, roles)] or [None]
        orelse = [o for inner in line.orelse for o in printed_origins(inner, roles)]
        if not line.then:
            return header + orelse
        return header + then + ([header[0]] + orelse if line.orelse else [])
    if isinstance(line, ForLoop):
        header = [line.origin if roles is None or any(inner.role in roles for inner in line.body) else None]
        return header + ([o for inner in line.body for o in printed_origins(inner, roles)] or [None])
    return [line.origin if roles is None or line.role in roles else None] * line.printed_lines


@dataclass(frozen=True)
class Derivative:
    """A generated function: its name, parameters (`gast.arguments`), lines (the return last) and names.

    `namespace` is the stage's own fork of the program's: the local names it
    made and the objects it added, which compile turns into closure cells.
    `names` maps a program variable to the name of its adjoint (reverse mode;
    the output's is the seed), for the views that draw them.
    """

    name: str
    args: gast.arguments
    lines: tuple
    namespace: object
    names: dict = field(default_factory=dict)

    def with_lines(self, lines):
        return replace(self, lines=tuple(lines))


def return_line(value):
    """The return line."""
    return Line(None, value, RESULT)


CHECKS = frozenset((runtime.checked_seed, runtime.checked_arguments))


def primal_line(equation, temporary=False):
    """The line computing an equation; a check's (in a generated function differentiated again) is a check."""
    role = CHECK if equation.rule.fn in CHECKS else PRIMAL
    return Line(equation.target, equation.value, role, origin(equation), temporary)


def primal_block(body, temporaries=frozenset(), saves=None, in_loop=False):
    """The primal lines of a block: its equations, an `if` for each branch with its merges as copies, and
    a `for` loop for each loop, its carried values copied at the end of the body.

    `saves` (from reverse) says which headers of a loop are pushed onto a
    stack at the top of each iteration; a loop inside another pushes nothing
    (the reverse sweep computes it again, pushing then).
    """
    lines = []
    for statement in body:
        if isinstance(statement, Branch):
            where = statement.origin + (None, None)
            arms = [
                primal_block(block, temporaries, saves, in_loop) + [
                    Line(target, copy_atom(merge[position - 1]), PRIMAL, where)
                    for target, *merge in statement.merges
                    if merge[position - 1] is not None
                    and not (isinstance(merge[position - 1], gast.Name) and merge[position - 1].id == target)
                ]
                for position, block in ((1, statement.then), (2, statement.orelse))
            ]
            lines.append(Conditional(copy.deepcopy(statement.test), arms[0], arms[1], where))
        elif isinstance(statement, Loop):
            inner = NoSaves(saves.namespace, saves.recompute, saves.made) if in_loop and saves else saves
            lines += loop_lines(statement, temporaries, inner)
        elif isinstance(statement, STACK_STATEMENTS):
            lines += stack_lines(statement, saves)
        else:
            lines.append(primal_line(statement, temporary=statement.target in temporaries))
    return lines


def stack_lines(statement, saves):
    """A stack statement's line; computed again (`saves.recompute`) a push or a new stack makes none, and a pop
    takes the value saved when it first ran, which a loop that saves its pops (`saves.popped`) pushes."""
    where = statement.origin + (None, None)
    recompute = saves is not None and saves.recompute
    if statement.stack in getattr(saves, "made", ()):
        recompute = False  # a list made inside the body computed again is made, pushed and popped again
    if isinstance(statement, NewStack):
        return [] if recompute else [Line(statement.stack, gast.List(elts=[], ctx=gast.Load()), PRIMAL, where)]
    if isinstance(statement, Push):
        return [] if recompute else [Line((), stack_call(statement.stack, "append", statement.atom), PRIMAL, where)]
    saved = saves.saved_pop(statement) if saves is not None else None
    if recompute:
        return [Line(statement.target, stack_call(saved, "pop"), PRIMAL, where)]
    lines = [Line(statement.target, stack_call(statement.stack, "pop"), PRIMAL, where)]
    if saved is not None:
        lines.append(Line((), stack_call(saved, "append", name(statement.target)), PRIMAL, where))
    return lines


def stack_call(stack, method, atom=None):
    """``stack.append(atom)`` or ``stack.pop()`` (`atom` may be a call: a tangent stack pushes ``zeros_like(x)``)."""
    func = gast.Attribute(value=name(stack), attr=method, ctx=gast.Load())
    value = copy.deepcopy(atom) if isinstance(atom, gast.Call) else None if atom is None else copy_atom(atom)
    return gast.Call(func=func, args=[] if value is None else [value], keywords=[])


def loop_lines(loop, temporaries, saves, reversed_loop=False):
    """A loop's initial copies, its stacks and the loop (pushing what `saves` asks at the top of its body)."""
    where = loop.origin + (None, None)
    lines = [
        Line(header, copy_atom(init), PRIMAL, where)
        for header, init, _ in loop.carried
        if not (isinstance(init, gast.Name) and init.id == header)
    ]
    pushes = []
    if saves is not None:
        for pop in _pops_in(loop.body):  # saved where they run, for the reverse sweep to take them again
            if saves.recompute and pop.stack not in saves.made:
                continue  # taken from where they were saved when they first ran
            stack = saves.saved_pop(pop)
            if stack is not None:
                lines.append(Line(stack, gast.List(elts=[], ctx=gast.Load()), PRIMAL, where))
    if saves is not None:
        for header in saves.pushed(loop):
            stack = saves.stack(loop, header)
            lines.append(Line(stack, gast.List(elts=[], ctx=gast.Load()), PRIMAL, where))
            append = gast.Attribute(value=name(stack), attr="append", ctx=gast.Load())
            pushes.append(Line((), gast.Call(func=append, args=[name(header)], keywords=[]), PRIMAL, where))
    kept = []  # the values a loop saves at the end of each iteration, for its reversed loop
    if saves is not None:
        for value in saves.values(loop):
            stack = saves.stack(loop, value)
            lines.append(Line(stack, gast.List(elts=[], ctx=gast.Load()), PRIMAL, where))
            kept.append(Line((), stack_call(stack, "append", name(value)), PRIMAL, where))
    body = pushes + primal_block(loop.body, temporaries, saves, in_loop=True) + kept + carried_copies(loop, where)
    if loop.test is None:
        iterable = range_call(loop, saves.namespace if saves else None)
        lines.append(ForLoop(loop.target, iterable, tuple(body), where))
        return lines
    test_lines = [primal_line(e, temporary=False) for e in loop.test_block]
    counter = saves.counter(loop) if saves is not None else None
    if counter is not None and counter != counting_header(loop):  # the reversed loop runs as many times
        lines.append(Line(counter, gast.Constant(value=0, kind=None), PRIMAL, where))
        one = gast.BinOp(left=name(counter), op=gast.Add(), right=gast.Constant(value=1, kind=None))
        body = [Line(counter, one, PRIMAL, where)] + body
    lines += test_lines
    lines.append(ForLoop(None, copy.deepcopy(loop.test), tuple(body + [line.with_value(copy.deepcopy(line.value)) for line in test_lines]), where))
    return lines


def counting_header(loop):
    """The header of a ``while`` loop that counts its iterations from 0 (``j = 0`` and ``j = j + 1`` at the top
    level of the body, as a ``for`` with a ``break`` becomes), or None."""
    increments = {
        s.target: s.inputs[0].id for s in loop.body
        if isinstance(s, Equation) and s.rule.fn is operator.add and isinstance(s.inputs[0], gast.Name)
        and isinstance(s.inputs[1], gast.Constant) and type(s.inputs[1].value) is int and s.inputs[1].value == 1
    }  # fmt: skip
    for header, init, end in loop.carried:
        counts_from_zero = isinstance(init, gast.Constant) and type(init.value) is int and init.value == 0
        if counts_from_zero and isinstance(end, gast.Name) and increments.get(end.id) == header:
            return header
    return None


class NoSaves:
    """What a loop saves when nothing is: no stack (forward mode, a loop inside a loop's primal sweep)."""

    def __init__(self, namespace, recompute=False, made=frozenset()):
        self.namespace = namespace
        self.recompute = recompute
        self.made = made  # the lists a body computed again makes again

    def pushed(self, loop):
        return ()

    def values(self, loop):
        return ()

    def saved_pop(self, pop):
        return None

    def counter(self, loop):
        return None


def _pops_in(body):
    """The pops of a loop's body (in its branches too, not in inner loops)."""
    for statement in body:
        if isinstance(statement, Pop):
            yield statement
        elif isinstance(statement, Branch):
            yield from _pops_in(statement.then)
            yield from _pops_in(statement.orelse)


def carried_copies(loop, where, renamed=None):
    """The copies giving each header its end value at the end of the body (one tuple assignment where a
    copy would overwrite a header another copy still reads). `renamed` maps a name to the one to copy."""
    renamed = renamed or (lambda atom: atom)
    pairs = [(h, renamed(end)) for h, _, end in loop.carried
             if not (isinstance(end, gast.Name) and end.id == h)]  # fmt: skip
    pairs = [(h, end) for h, end in pairs if end is not None]
    headers = {h for h, _ in pairs}
    clobbers = any(isinstance(end, gast.Name) and end.id in headers for _, end in pairs)
    if clobbers and len(pairs) > 1:
        value = gast.Tuple(elts=[copy_atom(end) for _, end in pairs], ctx=gast.Load())
        return [Line(tuple(h for h, _ in pairs), value, PRIMAL, where)]
    return [Line(h, copy_atom(end), PRIMAL, where) for h, end in pairs]


def range_call(loop, namespace, backwards=False):
    """``range(a, b)`` of a loop's bounds, in the loop's direction (the other way if `backwards`)."""
    def builtin(function):
        if namespace is not None:
            return namespace.reference(function)
        return gast.Name(id=function.__name__, ctx=gast.Load(), annotation=None, type_comment=None)

    call = gast.Call(func=builtin(range), args=[copy_atom(b) for b in loop.bounds], keywords=[])
    if backwards != loop.backwards:  # the reverse of a reversed loop runs forwards
        call = gast.Call(func=builtin(reversed), args=[call], keywords=[])
    return call


def made_in_branch(branch):
    """The names a branch's blocks assign (its equations' and inner branches' and loops' targets)."""
    return body_defines(branch.then) | body_defines(branch.orelse)


def statement(line):
    """The gast statement a line prints as."""
    if isinstance(line, Conditional):
        then, orelse = [statement(inner) for inner in line.then], [statement(inner) for inner in line.orelse]
        if not then:
            return gast.If(test=gast.UnaryOp(op=gast.Not(), operand=line.test), body=orelse, orelse=[])
        return gast.If(test=line.test, body=then, orelse=orelse)
    if isinstance(line, ForLoop):
        body = [statement(inner) for inner in line.body] or [gast.Pass()]
        if line.variable is None:
            return gast.While(test=line.iterable, body=body, orelse=[])
        return gast.For(target=store(line.variable), iter=line.iterable, body=body, orelse=[], type_comment=None)
    if line.target is None:
        return gast.Return(value=line.value)
    if line.target == () and line.guard is not None:
        return gast.If(test=line.guard, body=[gast.Expr(value=line.value)], orelse=[])
    if line.target == ():
        return gast.Expr(value=line.value)
    if isinstance(line.target, tuple):
        stored = [store(t) for t in line.target]
        return gast.Assign(targets=[gast.Tuple(elts=stored, ctx=gast.Store())], value=line.value, type_comment=None)
    return assign(line.target, line.value)


def function_def(generated):
    """The `gast.FunctionDef` of a generated function."""
    return make_function_def(generated.name, generated.args, [statement(line) for line in generated.lines])


def make_function_def(function_name, args, body):
    return gast.FunctionDef(
        name=function_name, args=args, body=body, decorator_list=[], returns=None, type_comment=None, type_params=[]
    )


def store(identifier):
    return gast.Name(id=identifier, ctx=gast.Store(), annotation=None, type_comment=None)


def assign(target, value):
    """``target = value`` as a gast statement."""
    return gast.Assign(targets=[store(target)], value=value, type_comment=None)


def parameter(identifier):
    return gast.Name(id=identifier, ctx=gast.Param(), annotation=None, type_comment=None)



def zero_gradient(parameter, arrays, namespace):
    """The gradient of a parameter the output does not depend on."""
    if not arrays:
        return gast.Constant(value=0.0, kind=None)
    return gast.Call(func=namespace.reference(runtime.zero_gradient), args=[name(parameter)], keywords=[])


# ---- errors about an equation, found while differentiating it ------------------------------------
def unsupported(equation, reason):
    filename, _ = equation.origin
    return Location(filename).error(
        NoDerivativeError,
        equation.value,
        f"`{equation.rule.expression}` has no derivative in this form: {reason}",
        hint=f"{PRIMITIVE_TABLE} lists the forms astgrad differentiates",
    )


def not_differentiable(equation, param):
    filename, _ = equation.origin
    if getattr(equation.rule.fn, "__module__", None) == runtime.__name__:  # a helper of a generated derivative
        return Location(filename).error(
            NoDerivativeError,
            equation.value,
            f"`{equation.rule.expression}` has no derivative with respect to `{param}`: "
            "the derivative that calls it cannot be differentiated again",
            hint="take this derivative once (a gradient or a jvp, not a Hessian or a gradient of a gradient)",
        )
    return Location(filename).error(
        NoDerivativeError,
        equation.value,
        f"`{equation.rule.expression}` has no derivative with respect to `{param}`, "
        "and the value passed for it depends on a differentiated parameter",
        hint=f"pass a constant for `{param}`",
    )
