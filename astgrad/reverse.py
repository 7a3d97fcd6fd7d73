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
import operator

import gast
import numpy as np

from . import runtime
from .arrays import NUMBER, _constant_times, _folded, names_read, summed_later, variables_in
from .errors import Location, UnsupportedSyntaxError
from .ir import (
    ADJOINT, CHECK, PRIMAL, STACK_STATEMENTS, Branch, Conditional, Derivative, Equation, ForLoop, Line, Loop,
    NewStack, Pop, Push, active_names, all_equations, atoms, body_defines, each_input, has_branches, made_in_branch,
    not_differentiable, number_check, origin, parameter, primal_block, range_call, read_in, reads_of, return_line,
    counting_header, loop_headers, loop_temporaries, stack_call, test_names, unsupported, zero_gradient,
)
from .names import copy_atom, name
from .rules import MARKERS, ZERO, makes_list
from .shapes import read_by_templates, structured_shape_classes
from .templates import instantiate

SEED = "d_out"


def reverse(program, wrt, as_tuple, with_value=False, array_policy=None):
    """The adjoint `Derivative` of `program` for the parameters named in `wrt`.

    `array_policy(program, wrt, with_value, namespace)` makes the policy for
    array code (None: the literal template instances).
    """
    namespace = program.namespace.fork()
    if program.arrays and has_branches(program.body) and array_policy is not None:
        policy = ControlFlowArrayPolicy(program, wrt, with_value, namespace)
    elif program.arrays and array_policy is not None:
        policy = array_policy(program, wrt, with_value, namespace)
    else:
        policy = PlainPolicy(program)
    sweep = Sweep(program, wrt, namespace, policy)
    sweep.seed_output()
    sweep.block(program.body)
    gradients = policy.gradients(sweep)
    gradient = gast.Tuple(elts=gradients, ctx=gast.Load()) if as_tuple else gradients[0]
    output = sweep.output_before_adjoints() if with_value else None
    value = gast.Tuple(elts=[output, gradient], ctx=gast.Load()) if with_value else gradient
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
        self.saves = Saves(namespace, saved=_values_to_save(program, self.active) if program.arrays else None,
                           outside=frozenset(id(s) for s in program.body if isinstance(s, Pop)))
        self.loops = has_branches(program.body)
        self.temporaries = loop_temporaries(program) if self.loops else frozenset()
        self.lines = (primal_block(program.body, self.temporaries, self.saves) if self.loops
                      else policy.primal_lines(program))  # fmt: skip
        self.last_primal = self.lines[-1] if self.lines else None
        self.adjoint = {}  # variable -> name of the adjoint variable accumulating its gradient
        self.adjoint_names = {}  # variable -> its adjoint's name, the same in every branch
        self.headers = set()  # the headers of the loops being reversed (their contributions come last)
        self.stacks = {s.stack for s in _statements(program.body) if isinstance(s, NewStack)} | {
            s.target for s in _statements(program.body) if isinstance(s, Equation) and makes_list(s.rule)}

    def output_before_adjoints(self):
        """The output, bound to a name of its own before the adjoint sweep if a reversed loop restores it."""
        output = self.program.output
        restored = {h for s in _statements(self.program.body) if isinstance(s, Loop) for h, _, _ in s.carried}
        restored |= {s.target for s in _statements(self.program.body) if isinstance(s, Pop)}
        if self.last_primal is None or not any(isinstance(a, gast.Name) and a.id in restored for a in _flat(output)):
            return copy_atom(output)
        value = self.namespace.fresh("value")
        position = next(i for i, line in enumerate(self.lines) if line is self.last_primal) + 1
        self.lines.insert(position, Line(value, copy_atom(output), PRIMAL))
        return name(value)

    def block(self, body):
        """The adjoint lines of a block's statements, last first."""
        for statement in reversed(body):
            if isinstance(statement, Branch):
                self.branch(statement)
            elif isinstance(statement, Loop):
                self.loop(statement)
            elif isinstance(statement, STACK_STATEMENTS):
                self.stack_statement(statement)
            elif statement.target in self.adjoint:
                self.equation(statement)

    def stack_statement(self, statement):
        """A pop's adjoint pushes the popped value's adjoint, which the push's adjoint pops back.

        Every pop of an active stack pushes (a zero if the value got no
        contribution), so the adjoint stack pops exactly what it pushed.
        """
        where = statement.origin + (None, None)
        if isinstance(statement, Pop) and statement.stack in self.active:
            if statement.stack not in self.adjoint:  # popped outside a loop: its adjoint starts empty here
                self.adjoint[statement.stack] = self._adjoint_name_of(statement.stack)
                self.lines.append(Line(self.adjoint[statement.stack], gast.List(elts=[], ctx=gast.Load()), ADJOINT,
                                       where))  # fmt: skip
            adjoint = self.adjoint.get(statement.target)
            pushed = name(adjoint) if adjoint is not None else gast.Constant(value=0.0, kind=None)
            self.lines.append(Line((), stack_call(self.adjoint[statement.stack], "append", pushed), ADJOINT, where))
        elif isinstance(statement, Push) and statement.stack in self.adjoint:
            atom = statement.atom
            if isinstance(atom, gast.Name) and atom.id in self.active:
                self.accumulate(atom.id, stack_call(self.adjoint[statement.stack], "pop"), where)

    def loop(self, loop):
        """One reversed loop: pop the saved start values, compute the body again, then its adjoint, last first.

        Each header's adjoint is carried around the reversed loop: before it, the
        adjoint of the value after the loop; in each iteration it passes to the
        end value, and the start value's contributions make the new one; after
        it, it flows into the initial value. A name the body reads from before
        the loop accumulates its adjoint from zero.
        """
        carried = [c for c in loop.carried if c[0] in self.active]
        appended = {s.stack for s in _statements(loop.body) if isinstance(s, Push)}
        if not any(h in self.adjoint for h, _, _ in carried) and not appended & set(self.adjoint):
            return  # nothing the loop computes reaches the output
        where = loop.origin + (None, None)
        zero = lambda v: (  # noqa: E731
            gast.List(elts=[], ctx=gast.Load()) if v in self.stacks else zero_gradient(v, self.program.arrays, self.namespace))
        headers = [h for h, _, _ in carried]
        defined = body_defines(loop.body) | {h for h, _, _ in loop.carried}
        # What the body reads from before the loop, and an end value it takes as it is (``r = d``).
        ends = {end.id for _, _, end in loop.carried if isinstance(end, gast.Name)}
        invariants = sorted(v for v in reads_of(loop.body) | ends if v in self.active and v not in defined)
        # A list the body only appends to has an adjoint only if what read it gave one (a rule whose
        # template for it is ZERO gives none): its pushes then pop nothing, rather than an empty list.
        popped_here = {s.stack for s in _statements(loop.body) if isinstance(s, Pop)}
        invariants = [v for v in invariants if v not in self.stacks or v in popped_here]
        for variable in headers + invariants:
            if variable not in self.adjoint:
                self.adjoint[variable] = self._adjoint_name_of(variable)
                self.lines.append(Line(self.adjoint[variable], zero(variable), ADJOINT, where))
        for h in headers:  # a carried adjoint has one name around the loop (the seed's is copied)
            if self.adjoint[h] != self._adjoint_name_of(h):
                self.lines.append(Line(self._adjoint_name_of(h), name(self.adjoint[h]), ADJOINT, where))
                self.adjoint[h] = self._adjoint_name_of(h)
        outer_lines, outer_adjoint, outer_headers = self.lines, self.adjoint, self.headers
        self.adjoint, self.headers = dict(outer_adjoint), outer_headers | set(headers)
        self.lines = []
        pending = []  # (header read as another header's end value, the copy of that one's adjoint)
        for h, _, end in carried:
            if not isinstance(end, gast.Name) or end.id == h or end.id not in self.active:
                continue
            if end.id in {c[0] for c in loop.carried}:
                copied = self.namespace.fresh(self.adjoint[h] + "_end")
                self.lines.append(Line(copied, name(self.adjoint[h]), ADJOINT, where))
                pending.append((end.id, copied))
            else:
                self.accumulate(end.id, name(self.adjoint[h]), where)
        for h, _, end in carried:
            if not (isinstance(end, gast.Name) and end.id == h):
                del self.adjoint[h]  # the start value's adjoint is made afresh
        for header, copied in pending:
            self.accumulate(header, name(copied), where)
        self.block(loop.body)
        for h in headers:
            if h not in self.adjoint:  # the start value does not reach the end value
                self.adjoint[h] = self.adjoint_names[h]
                self.lines.append(Line(self.adjoint[h], zero(h), ADJOINT, where))
        ends = _ends_kept_in_headers(loop, self.saves.pushed(loop))
        saved = self.saves.values(loop)
        again = [s for s in loop.body if not (isinstance(s, Equation) and (s.target in ends or s.target in saved))]
        read = reads_of(again).union(*(read_in(line) for line in self.lines))
        pops = [Line(end, name(h), PRIMAL, where) for end, h in ends.items() if end in read] + [
            Line(h, gast.Call(func=gast.Attribute(value=name(self.saves.stack(loop, h)), attr="pop", ctx=gast.Load()),
                              args=[], keywords=[]), PRIMAL, where)
            for h in self.saves.pushed(loop) + list(saved)
        ]  # fmt: skip
        made = frozenset(s.stack for s in _statements(loop.body) if isinstance(s, NewStack))  # built again
        body = pops + primal_block(again, self.temporaries, self.saves.recomputing(made)) + self.lines
        self.lines, self.headers = outer_lines, outer_headers
        self.adjoint = {v: self.adjoint[v] for v in outer_adjoint}
        if loop.test is None:
            reversed_loop = ForLoop(loop.target, range_call(loop, self.namespace, backwards=True), tuple(body), where)
        else:  # a while loop runs backwards as many times as it ran
            count = gast.Call(func=self.namespace.reference(range), args=[name(self.saves.counter(loop))], keywords=[])
            reversed_loop = ForLoop(self.namespace.fresh("_"), count, tuple(body), where)
        self.lines.append(reversed_loop)
        for h, init, _ in carried:
            if isinstance(init, gast.Name) and init.id != h and init.id in self.active:
                self.accumulate(init.id, name(self.adjoint[h]), where)

    def _adjoint_name_of(self, variable):
        if variable not in self.adjoint_names:
            self.adjoint_names[variable] = self.adjoint_name(self.namespace, variable)
        return self.adjoint_names[variable]

    def branch(self, branch):
        """An `if` evaluating the test again, each branch holding the adjoint of its own block.

        A name from before the `if` that gets its first contribution in one
        branch is given a zero in the other, so it has a value after the `if`.
        """
        merges = [merge for merge in branch.merges if merge[0] in self.adjoint]
        appended = {s.stack for block in (branch.then, branch.orelse) for s in _statements(block) if isinstance(s, Push)}
        if not merges and not appended & set(self.adjoint):
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
        if self.headers:  # a loop's carried value gets its contributions last: the others read its adjoint
            terms.sort(key=lambda term: term[0] in self.headers)
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
        if not first and variable in self.stacks:
            filename, line, column = origin[:3]
            raise Location(filename).error(
                UnsupportedSyntaxError,
                _at_line(line, column or 0),
                f"the list `{variable}` is read a second time on its way to the output",
                hint="read a list once (e.g. `stacked = np.stack(ys)`) and use that value twice",
            )
        if first:
            self.adjoint[variable] = self._adjoint_name_of(variable)
            value = contribution
        else:
            value = gast.BinOp(left=name(self.adjoint[variable]), op=gast.Add(), right=contribution)
        self.policy.accumulated(self, variable, len(self.lines), kind, first)
        self.lines.append(Line(self.adjoint[variable], value, ADJOINT, origin))


class Saves:
    """Which values a loop pushes onto a stack in the primal sweep, for its reversed loop to pop: the headers
    (start values) its body reads, and (in a gradient differentiated again) the values it pops from the first
    gradient's stacks. Each stack is a list named after its value: ``x_stack``.

    `recomputing()` is the view for a body computed again in the reverse sweep,
    which takes the popped values from where they were saved.
    """

    recompute = False
    made = frozenset()

    def __init__(self, namespace, stacks=None, saved=None, outside=frozenset()):
        self.namespace = namespace
        self.stacks = {} if stacks is None else stacks
        self.saved = {} if saved is None else saved  # id(loop) -> the values of its body it saves
        self.outside = outside  # the pops outside any loop: their values keep their names, nothing is saved

    def recomputing(self, made=frozenset()):
        """The view for a body computed again; the lists it `made` are made again (theirs are not saves)."""
        view = Saves(self.namespace, self.stacks, self.saved, self.outside)
        view.recompute = True
        view.made = made
        return view

    def saved_pop(self, pop):
        return None if id(pop) in self.outside else self.stack(pop, pop.target)

    def counter(self, loop):
        """The name counting a while loop's iterations: ``iterations``, or the loop's own counter (`counting_header`)."""
        own = counting_header(loop)
        if own is not None:
            return own
        key = (id(loop), None)
        if key not in self.stacks:
            self.stacks[key] = self.namespace.fresh("iterations")
        return self.stacks[key]

    def values(self, loop):
        """The values of the body pushed at the end of each iteration (`_values_to_save`): ``tanh_stack``."""
        return self.saved.get(id(loop), ())

    def pushed(self, loop):
        read = reads_of(loop.body)
        return [h for h, _, _ in loop.carried if h in read]

    def stack(self, loop, header):
        key = (id(loop), header)
        if key not in self.stacks:
            self.stacks[key] = self.namespace.fresh(header + "_stack")
        return self.stacks[key]


def _values_to_save(program, active):
    """id(loop) -> the values each loop of array code saves on a stack instead of computing them again.

    Those the reversed body needs (its adjoint templates read them, or a value
    computed again from them) that are expensive to compute: any NumPy
    function or matrix product (``tanh`` in ``h = np.tanh(W @ h + b) * 2``),
    not an operator on elements, an index or a length, which are computed
    again. A value equal to a header's end value is taken from the header
    (`_ends_kept_in_headers`); values in the body's branches and inner loops
    are computed again.
    """
    saved = {}
    for loop in (s for s in _statements(program.body) if isinstance(s, Loop)):
        equations = [s for s in loop.body if isinstance(s, Equation)]
        ends = {end.id for _, _, end in loop.carried if isinstance(end, gast.Name)}
        needed = read_by_templates(((e, e.rule) for e in all_equations(loop.body)), active)
        needed |= reads_of([s for s in loop.body if not isinstance(s, Equation)])
        values = []
        for equation in reversed(equations):
            if equation.target not in needed or equation.target in ends:
                continue
            if _cheap(equation.rule):
                needed |= {a.id for a in atoms(equation.rule, equation.inputs) if isinstance(a, gast.Name)}
            else:
                values.append(equation.target)
        if values:
            saved[id(loop)] = tuple(reversed(values))
    return saved


def _cheap(rule):
    """Whether computing a value again costs less than saving it: an operator on elements, an index, a length."""
    return (rule.is_operator and rule.elementwise) or rule.fn in (operator.getitem, len, np.shape, np.size, np.ndim)


def _ends_kept_in_headers(loop, pushed):
    """End value -> its header, for the end values the reversed loop takes from their header instead of computing.

    At the top of each reversed iteration a header that is popped still holds
    the value it had at the end of that iteration (after the loop, the last
    one; then the one popped by the iteration after it), so ``h_1 = h`` before
    ``h = h_stack.pop()`` gives the end value that an equation of the body
    computed (``h_1 = np.tanh(...)``), without computing it again.
    """
    computed = {s.target for s in loop.body if isinstance(s, Equation)}
    return {
        end.id: h for h, _, end in loop.carried
        if h in pushed and isinstance(end, gast.Name) and end.id in computed
    }  # fmt: skip


def _statements(body):
    for statement in body:
        yield statement
        if isinstance(statement, Branch):
            yield from _statements(statement.then)
            yield from _statements(statement.orelse)
        elif isinstance(statement, Loop):
            yield from _statements(statement.body)


def _at_line(line, column=0):
    node = gast.Pass()
    node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = line, column, line, column
    return node


def _flat(output):
    return output if isinstance(output, tuple) else (output,)


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


class ControlFlowArrayPolicy(PlainPolicy):
    """Array code with loops or branches: an elementwise contribution is unbroadcast where shapes may differ.

    The shape classes follow values around loops and branches
    (`shapes.structured_shape_classes`): a header whose shape is loop
    invariant keeps its initial value's class, one whose shape changes after
    the first iteration gets a class of its own, so its contributions are
    unbroadcast. As in straight-line code (`arrays.ArrayPolicy`), no
    ``unbroadcast`` goes to an input of the target's class, to a matrix
    product read once (its adjoint helpers sum back themselves), or to a
    value whose adjoint passes on only to inputs summed back anyway; and the
    adjoint of a full sum stays the number it is (``d_power = d_sum * 0.5``)
    until an input needs the array. The arguments are checked first, before a
    loop can overwrite them; an array output's seed after the primal sweep (a
    number output takes any seed).
    """

    def __init__(self, program, wrt, with_value, namespace):
        super().__init__(program)
        self.wrt, self.namespace = wrt, namespace
        self.reduced = set()  # the variables given an adjoint by a reduction's (an array, 0-d for a number)
        self.shapes = structured_shape_classes(program)
        self.producers, self.blocks = {}, {}  # target -> its equation, and the block holding it
        for block in _blocks(program.body):
            for statement in block:
                if isinstance(statement, Equation):
                    self.producers[statement.target], self.blocks[statement.target] = statement, id(block)
        self.uses, self.exact = _uses_and_exact(program, wrt)
        self.active = active_names(program, wrt)
        self.numbers = set()  # variables whose adjoint is a number standing for its broadcast to their shape
        self.summed_later = {}

    def seeded(self, sweep, output):
        wrt = [name(p) for p in self.wrt]
        check = gast.Call(func=self.namespace.reference(runtime.checked_arguments), args=[name(sweep.seed)] + wrt,
                          keywords=[])  # fmt: skip
        sweep.lines.insert(0, Line(sweep.seed, check, CHECK))
        if output is not None and self.shapes[output]:
            seed_check = gast.Call(func=self.namespace.reference(runtime.checked_seed),
                                   args=[name(output), name(sweep.seed)], keywords=[])  # fmt: skip
            sweep.lines.append(Line(sweep.seed, seed_check, CHECK))

    def before(self, sweep, equation, terms):
        """A number adjoint is written out as the array it stands for before an input needs that array."""
        target = equation.target
        if target in self.numbers and not all(self._stays_whole(equation, v, t) for v, t in terms):
            self.numbers.discard(target)
            like = gast.Call(func=self.namespace.reference(runtime.broadcast_like),
                             args=[name(sweep.adjoint[target]), name(target)], keywords=[])  # fmt: skip
            sweep.lines.append(Line(sweep.adjoint[target], like, ADJOINT, origin(equation)))

    def _stays_whole(self, equation, variable, term):
        """Whether ``d_T * partial`` for a number ``d_T`` is right: the partial has the target's whole shape,
        or is a number and `variable`'s adjoint may be a number too."""
        if equation.rule.form != "partial" or not equation.rule.elementwise:
            return False
        read = frozenset().union(*(self.shapes[n] for n in variables_in(term, equation)))
        if read == self.shapes[equation.target]:
            return True
        return not read and self.shapes[variable] == self.shapes[equation.target] and self._may_be_number(
            variable, equation)

    def _may_be_number(self, variable, equation):
        """Whether `variable`'s adjoint may be a number standing for its broadcast: it is read once, by
        `equation`, in the block computing it, and no loop, branch, stack or caller needs its exact shape."""
        return (
            variable in self.producers and variable not in self.exact and self.uses.get(variable) == 1
            and self.blocks[variable] == self.blocks.get(equation.target)
        )  # fmt: skip

    def contribution(self, sweep, equation, variable, term):
        rule, target, shapes = equation.rule, equation.target, self.shapes
        if rule.spreads_adjoint and not shapes[target] and self._may_be_number(variable, equation):
            self.numbers.add(variable)  # a full sum's adjoint: the number v of np.broadcast_to(v, np.shape(x))
            return term.args[0], NUMBER
        if target in self.numbers and rule.form == "partial" and _constant_times(term):
            term = _folded(name(sweep.adjoint[target]), term)  # 2 * d_power * diff: one pass over the array
        else:
            term, _ = super().contribution(sweep, equation, variable, term)
        if target in self.numbers and not _array_names_in(term, equation, shapes) and self._may_be_number(
                variable, equation):
            self.numbers.add(variable)  # still a number: d_T * 0.5
            return term, NUMBER
        if rule.form == "partial" or getattr(rule, "elementwise", False):
            if shapes[variable] != shapes[target] and not self._sums_back_itself(variable) and not self._summed_later(
                    variable):
                term = gast.Call(func=self.namespace.reference(runtime.unbroadcast), args=[term, name(variable)],
                                 keywords=[])  # fmt: skip
        elif rule.reduction:
            self.reduced.add(variable)
        return term, None

    def accumulated(self, sweep, variable, position, kind, first):
        if not first or kind != NUMBER:  # added to an array (a loop's zero): an array
            self.numbers.discard(variable)

    def _sums_back_itself(self, variable):
        """A matrix product read once: the matmul adjoint helpers sum a broadcast ``d_z`` back themselves."""
        equation = self.producers.get(variable)
        return (equation is not None and equation.rule.sums_back and self.uses.get(variable) == 1
                and variable not in self.exact)  # fmt: skip

    def _summed_later(self, variable):
        """Whether `variable`'s adjoint may stay of a larger shape: it passes on only to inputs summed back anyway.

        As `arrays.ArrayPolicy._summed_later` (``total`` in ``total + b``,
        ``total`` being ``W @ h + U @ x``), for a value read once in the block
        computing it, whose exact shape no loop, branch or stack needs.
        """
        return summed_later(self, variable, self.exact)

    def gradients(self, sweep):
        """A number parameter's gradient through a reduction is a number again, not a 0-d array.

        A parameter a loop carries holds another value after the sweep: its zero
        gradient is made at the top (``d_x = zero_gradient(x)``), and a shape
        read from it is read from its value there.
        """
        carried = loop_headers(self.program.body)
        start = next(i for i, line in enumerate(sweep.lines) if line.role != CHECK)
        at_entry = {}
        for p in sweep.wrt:
            if p in carried and p not in sweep.adjoint:
                sweep.adjoint[p] = self.namespace.fresh("d_" + p)
                sweep.lines.insert(start, Line(sweep.adjoint[p], zero_gradient(p, True, self.namespace), ADJOINT))
            elif p in carried and p in self.reduced:
                at_entry[p] = self.namespace.fresh(p)
                sweep.lines.insert(start, Line(at_entry[p], name(p), PRIMAL))
        gradients = super().gradients(sweep)
        return [
            gast.Call(func=self.namespace.reference(runtime.broadcast_like), args=[gradient, name(at_entry.get(p, p))],
                      keywords=[])  # fmt: skip
            if p in self.reduced else gradient
            for p, gradient in zip(sweep.wrt, gradients)
        ]



def _array_names_in(term, equation, shapes):
    """The program's names of an array class that `term` reads."""
    return {n for n in variables_in(term, equation) if shapes[n]}


def _blocks(body):
    """Every block of a body (the body, its branches' and loops' blocks), outermost first."""
    yield body
    for statement in body:
        if isinstance(statement, Branch):
            yield from _blocks(statement.then)
            yield from _blocks(statement.orelse)
        elif isinstance(statement, Loop):
            yield statement.test_block
            yield from _blocks(statement.body)


def _uses_and_exact(program, wrt):
    """(name -> how many times the program reads it, the names whose adjoints must have their exact shape).

    Exact: the parameters, the output, loops' headers and their initial and
    end values, merged names and their branches' values, and what stacks
    push and pop: their adjoints are carried, merged or pushed as they are.
    """
    uses, exact = {}, set(wrt)

    def read(atom):
        if isinstance(atom, gast.Name):
            uses[atom.id] = uses.get(atom.id, 0) + 1

    def visit(body):
        for statement in body:
            if isinstance(statement, Branch):
                for n in test_names(statement.test):
                    read(name(n))
                visit(statement.then)
                visit(statement.orelse)
                for target, *merged in statement.merges:
                    exact.add(target)
                    for atom in merged:
                        read(atom)
                        exact.update([atom.id] if isinstance(atom, gast.Name) else [])
            elif isinstance(statement, Loop):
                for atom in statement.bounds:
                    read(atom)
                for equation in statement.test_block:
                    for atom in atoms(equation.rule, equation.inputs):
                        read(atom)
                visit(statement.body)
                for header, *values in statement.carried:
                    exact.add(header)
                    for atom in values:
                        read(atom)
                        exact.update([atom.id] if isinstance(atom, gast.Name) else [])
            elif isinstance(statement, Push):
                read(statement.atom)
                exact.update([statement.atom.id] if isinstance(statement.atom, gast.Name) else [])
            elif isinstance(statement, Pop):
                exact.add(statement.target)
            elif isinstance(statement, Equation):
                for atom in atoms(statement.rule, statement.inputs):
                    read(atom)

    visit(program.body)
    for atom in _flat(program.output):
        read(atom)
        exact.update([atom.id] if isinstance(atom, gast.Name) else [])
    return uses, exact


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
