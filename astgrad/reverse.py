"""Stage 5, reverse: the adjoint (reverse-mode derivative) function.

Takes a `Program` and the names of the parameters to differentiate, and gives
a `Derivative`:

    def d_f(<the user's parameters>, d_out=1.0):
        <primal sweep: every equation of the program, in order>
        <adjoint sweep: for each equation, last to first, for each input that
         depends on a differentiated parameter, its contribution from the
         primitive's template: d_input = d_target * partial, or the adjoint
         template itself (the first contribution assigns, later ones add)>
        return d_x, d_y          # or: return value, (d_x, d_y)

`d_out` is the output seed, so the same code computes vector-Jacobian
products. Adjoint names are ``d_`` + the variable's name, made unique against
every other name. The output is deliberately naive (``d_out * 1``, copies,
unused primal lines): the optimize stage cleans it. Scalar code (code that
calls no NumPy function) first checks that the arguments its arithmetic reads
are numbers (`ir.number_check`).

What array code needs beyond the literal templates (where contributions are
unbroadcast, uniform adjoints, where the seed is applied, counts) is decided
by a policy the sweep consults, passed in as `array_policy`
(`arrays.ArrayPolicy`, which `api.adjoint` passes); without one, array code
gets the literal template instances too (the naive adjoint `explain` shows
before the array decisions).
"""

import copy

import gast

from .ir import (
    ADJOINT, Branch, Conditional, Derivative, Line, active_names, each_input, made_in_branch, not_differentiable,
    number_check, origin, parameter, primal_block, return_line, unsupported, zero_gradient,
)
from .names import copy_atom, name
from .rules import MARKERS, ZERO
from .templates import instantiate

SEED = "d_out"


def reverse(program, wrt, as_tuple, with_value=False, array_policy=None):
    """The adjoint `Derivative` of `program` for the parameters named in `wrt`.

    `array_policy(program, wrt, with_value, namespace)` makes the policy for
    array code (None: the literal template instances).
    """
    namespace = program.namespace.fork()
    if program.arrays and array_policy is not None:
        policy = array_policy(program, wrt, with_value, namespace)
    else:
        policy = PlainPolicy(program)
    sweep = Sweep(program, wrt, namespace, policy)
    sweep.seed_output()
    sweep.block(program.body)
    gradients = policy.gradients(sweep)
    gradient = gast.Tuple(elts=gradients, ctx=gast.Load()) if as_tuple else gradients[0]
    value = gast.Tuple(elts=[copy_atom(program.output), gradient], ctx=gast.Load()) if with_value else gradient
    sweep.lines.append(return_line(value))
    return Derivative(
        name=("value_and_d_" if with_value else "d_") + program.name,
        args=_with_seed(program.args, sweep.seed),
        lines=tuple(sweep.lines),
        namespace=namespace,
        names=_adjoint_names(program, sweep),
    )


class Sweep:
    """The generated function's lines as they are built: the primal sweep, then adjoints, last equation first."""

    def __init__(self, program, wrt, namespace, policy):
        self.program, self.wrt, self.namespace, self.policy = program, wrt, namespace, policy
        self.adjoint_name = _higher_order_name if program.primal_params else _first_order_name
        self.seed = self.adjoint_name(namespace, SEED[len("d_"):])
        self.active = active_names(program, wrt, policy.zero_adjoint)
        self.lines = policy.primal_lines(program)
        self.adjoint = {}  # variable -> name of the adjoint variable accumulating its gradient
        self.adjoint_names = {}  # variable -> its adjoint's name, the same in every branch

    def block(self, body):
        """The adjoint lines of a block's statements, last first."""
        for statement in reversed(body):
            if isinstance(statement, Branch):
                self.branch(statement)
            elif statement.target in self.adjoint:
                self.equation(statement)

    def branch(self, branch):
        """An `if` evaluating the test again, each branch holding the adjoint of its own block.

        A name from before the `if` that gets its first contribution in one
        branch is given a zero in the other, so it has a value after the `if`.
        """
        merges = [merge for merge in branch.merges if merge[0] in self.adjoint]
        if not merges:
            return  # nothing the branches compute reaches the output
        outer_adjoint, outer_lines = self.adjoint, self.lines
        where = branch.origin + (None, None)
        arms = []
        for position, block in ((1, branch.then), (2, branch.orelse)):
            self.adjoint, self.lines = dict(outer_adjoint), []
            for merge in merges:
                atom = merge[position]
                if isinstance(atom, gast.Name) and atom.id in self.active and atom.id != merge[0]:
                    self.accumulate(atom.id, name(self.adjoint[merge[0]]), where)
            self.block(block)
            arms.append((self.lines, self.adjoint))
        made = made_in_branch(branch)
        reached = [v for _, adjoint in arms for v in adjoint if v not in outer_adjoint and v not in made]
        reached = list(dict.fromkeys(reached))
        for lines, adjoint in arms:
            for variable in reached:
                if variable not in adjoint:
                    zero = zero_gradient(variable, self.program.arrays, self.namespace)
                    lines.append(Line(self.adjoint_names[variable], zero, ADJOINT, where))
        self.adjoint, self.lines = dict(outer_adjoint), outer_lines
        for variable in reached:
            self.adjoint[variable] = self.adjoint_names[variable]
        (then, _), (orelse, _) = arms
        if then or orelse:
            self.lines.append(Conditional(copy.deepcopy(branch.test), then, orelse, where))

    def seed_output(self):
        """The output's adjoint is the seed (and the policy's checks of the seed and the arguments)."""
        output = self.program.output
        seeded = isinstance(output, gast.Name) and output.id in self.active
        if seeded:
            self.adjoint[output.id] = self.seed
        self.policy.seeded(self, output.id if seeded else None)

    def equation(self, equation):
        """The contributions of `equation` to the adjoints of its inputs."""
        terms = list(self.terms(equation))
        self.policy.before(self, equation, terms)
        for variable, term in terms:
            contribution, kind = self.policy.contribution(self, equation, variable, term)
            self.accumulate(variable, contribution, origin(equation), kind)

    def terms(self, equation):
        """(input, its instantiated template) for each input that depends on a differentiated parameter."""
        rule, target = equation.rule, equation.target
        bound = dict(zip(rule.params, equation.inputs))
        for param in rule.params:
            for position, atom in each_input(rule, param, bound[param]):
                if not (isinstance(atom, gast.Name) and atom.id in self.active) or rule.templates[param] is ZERO:
                    continue
                if rule.templates[param] in MARKERS:
                    raise not_differentiable(equation, param)
                placeholders = dict(bound)
                placeholders.update({rule.output: name(target), rule.adjoint_name: name(self.adjoint[target])})
                if rule.sequence:
                    placeholders["i"] = gast.Constant(value=position, kind=None)
                try:
                    yield atom.id, instantiate(rule.templates[param], placeholders, rule, self.namespace)
                except ValueError as reason:
                    raise unsupported(equation, reason) from None

    def accumulate(self, variable, contribution, origin, kind=None):
        """``d_x = contribution``, or ``d_x = d_x + contribution`` after the first one."""
        first = variable not in self.adjoint
        if first:
            if variable not in self.adjoint_names:
                self.adjoint_names[variable] = self.adjoint_name(self.namespace, variable)
            self.adjoint[variable] = self.adjoint_names[variable]
            value = contribution
        else:
            value = gast.BinOp(left=name(self.adjoint[variable]), op=gast.Add(), right=contribution)
        self.policy.accumulated(self, variable, len(self.lines), kind, first)
        self.lines.append(Line(self.adjoint[variable], value, ADJOINT, origin))


class PlainPolicy:
    """The literal adjoint: each contribution is ``d_target * partial`` or the adjoint template itself.

    In scalar code the function first checks that the arguments are numbers.
    """

    zero_adjoint = ()

    def __init__(self, program):
        self.program = program

    def primal_lines(self, program):
        return primal_block(program.body)

    def seeded(self, sweep, output):
        if not self.program.arrays:  # first, before the arithmetic it guards
            sweep.lines[:0] = number_check(self.program, sweep.wrt, sweep.namespace)

    def before(self, sweep, equation, terms):
        pass

    def contribution(self, sweep, equation, variable, term):
        if equation.rule.form == "partial":
            term = gast.BinOp(left=name(sweep.adjoint[equation.target]), op=gast.Mult(), right=term)
        return term, None

    def accumulated(self, sweep, variable, position, kind, first):
        pass

    def gradients(self, sweep):
        return [
            name(sweep.adjoint[p]) if p in sweep.adjoint else zero_gradient(p, self.program.arrays, sweep.namespace)
            for p in sweep.wrt
        ]


def _adjoint_names(program, sweep):
    names = dict(sweep.adjoint_names)  # those made inside branches too
    if isinstance(program.output, gast.Name):
        names[program.output.id] = sweep.seed
    return names


def _first_order_name(namespace, variable):
    """``d_x`` for the adjoint of `x` (``d_x_1`` if the function has a ``d_x`` of its own)."""
    return namespace.fresh("d_" + variable)


def _higher_order_name(namespace, variable):
    """An adjoint name in the gradient of a generated gradient: ``d2_x`` where ``d_x`` is the first-order one.

    The seed becomes ``d2_out``, and a third derivative's ``d3_x``.
    """
    base, order = "d_" + variable, 2
    while namespace.is_taken(base):
        base, order = f"d{order}_{variable}", order + 1
    return namespace.fresh(base)


def _with_seed(args, seed):
    """The user's parameters plus the output seed `seed=1.0` (keyword-only if they have any)."""
    one = gast.Constant(value=1.0, kind=None)
    positional = [parameter(a.id) for a in args.args]
    kwonly = [parameter(a.id) for a in args.kwonlyargs]
    defaults, kw_defaults = list(args.defaults), list(args.kw_defaults)
    if kwonly:
        kwonly.append(parameter(seed))
        kw_defaults.append(one)
    else:
        positional.append(parameter(seed))
        defaults.append(one)
    return gast.arguments(
        args=positional, posonlyargs=[], vararg=None, kwonlyargs=kwonly, kw_defaults=kw_defaults,
        kwarg=None, defaults=defaults,
    )  # fmt: skip
