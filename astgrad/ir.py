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

    def of(self, call):
        """The match of `call`, a call node of the resolved statements."""
        return self._by_call[id(call)][1]

    def __len__(self):
        return len(self._by_call)


@dataclass
class Program:
    """A function in single-assignment form."""

    name: str
    args: gast.arguments  # the user's parameters as written
    params: tuple  # positional parameter names
    all_params: tuple  # positional and keyword-only parameter names
    body: list  # statements: `Equation`s (structured loops and branches to come)
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

    In straight-line code only assignment targets store names (names, and
    tuples or lists of targets), so only they are read, breadth first, in
    the order a `gast.walk` of each statement meets them.
    """
    names = {}
    for statement in body:
        kind = type(statement)
        if kind is gast.Assign:
            pending = list(statement.targets)
        elif kind is gast.AugAssign or kind is gast.AnnAssign:
            pending = [statement.target]
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
    checked = [] if any(eq.rule.fn in CHECKS for eq in program.equations) else parameters_to_check(program, wrt)
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
    for equation in program.equations:
        rule = equation.rule
        if equation.target not in zero_adjoint and any(
            isinstance(atom, gast.Name) and atom.id in active and rule.templates[param] is not ZERO
            for param, value in zip(rule.params, equation.inputs)
            for _, atom in each_input(rule, param, value)
        ):
            active.add(equation.target)
    return active


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
    for equation in program.equations:
        names = [a.id for a in atoms(equation.rule, equation.inputs) if isinstance(a, gast.Name)]
        read.update(names)
        if not _refuses_arrays(equation.rule):
            sources = set().union(*(carried.get(n, ()) for n in names))
            if sources:
                carried[equation.target] = sources
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    reaching = set().union(*(carried.get(a.id, ()) for a in outputs if isinstance(a, gast.Name)))
    return [p for p in wrt if p in reaching or p not in read]


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


def statement(line):
    """The gast statement a line prints as."""
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
