"""The array policy of the reverse stage: what array code needs beyond the literal templates.

The reverse stage (`reverse.Sweep`) instantiates each template and
accumulates; in code that calls NumPy ("array code") it consults this policy,
which decides:

* the seed line ``d_out = checked_seed(out, d_out, <wrt>)`` (refusing an
  array output without a seed of its shape, and integer arrays), or
  ``checked_arguments(d_out, <wrt>)`` when the output is a number;
* ``unbroadcast(contribution, x)`` around an elementwise contribution to an
  input that may have been broadcast (unless `shapes.shape_classes` shows it
  was not), and ``zero_gradient(x)`` instead of ``0.0`` for a parameter the
  output does not depend on;
* "uniform" adjoints: the adjoint of ``np.sum(x)`` is the number ``d_out``
  standing for its broadcast to x's shape (of ``np.sum(x, axis=1,
  keepdims=True)`` the smaller array), written out only when an array needs
  it (`materialize`), passed on as it is by a sum of any axes, and a number
  reaching a broadcast input counted (``d_out * partial / np.size(x)``);
* no ``unbroadcast`` to the shape of a value whose adjoint only passes on to
  inputs summed back anyway (`_summed_later`);
* the seed in the first constant factor (``d_y = 2 * d_out * y``); for a
  number output, when the seed would still multiply whole arrays, a sweep
  with the seed 1 and the gradients scaled by ``d_out`` at the end;
* which number adjoints (``d_out / diff.size``), and adjoints read once as a
  term added (``d_e + d_sum_e``, ``d_c + d_mu / n`` for ``d_mu = -t``),
  optimize may write into the line reading them;
* no adjoint for a max subtracted before a softmax (`invariance`);
* which primal lines are temporaries that optimize may write nested again.

Shape references name values the gradient computes anyway (`shapes`).
"""

import bisect
import copy
from dataclasses import replace

import gast
import numpy as np

from . import runtime
from .invariance import shift_invariant
from .ir import ADJOINT, CHECK, Line, active_names, atoms, named_by_user, origin, primal_line, read_in, zero_gradient
from .names import name, substituted
from .shapes import SHAPE_FUNCTIONS, needed_anyway, shape_classes, shape_reference, shapes_from_class

# What an adjoint is, as far as the policy knows (None: an array of its variable's shape).
UNIFORM = "uniform"  # stands for itself broadcast to its variable's shape
NUMBER = "number"  # a uniform adjoint that is a number
SEED = "seed"  # the seed itself, a uniform number


class ArrayPolicy:
    """The array decisions of one reverse sweep, and what it must remember to make them."""

    def __init__(self, program, wrt, with_value, namespace):
        self.program, self.wrt, self.with_value, self.namespace = program, wrt, with_value, namespace
        rules = [equation.rule for equation in program.equations]
        self.zero_adjoint = shift_invariant(program, rules)
        self.active = active = active_names(program, wrt, self.zero_adjoint)  # as the sweep finds them
        self.shapes = shape_classes(program, rules)
        self.producers = {equation.target: equation for equation in program.equations}
        computed = named_by_user(program) if with_value else ()  # the value computes what the user named
        self.kept = needed_anyway(program, rules, active, computed)
        self.products = {equation.target for equation in program.equations if equation.rule.sums_back}
        self.uses = _use_counts(program)
        output = program.output
        self.number_output = isinstance(output, gast.Name) and output.id in active and not self.shapes[output.id]
        self.uniform = {}  # uniform variable -> the position of the one line computing its adjoint so far, or None
        self.numbers = set()  # uniform variables whose adjoint is a number
        self.seeds = set()  # variables whose adjoint is the seed itself
        self.summed = set()  # variables whose adjoint was last assigned a sum: never an argument's array
        self.seed_products = 0  # array passes that multiply by the seed
        self.number_lines = set()  # positions of the lines assigning a uniform adjoint that is a number
        self.summed_later = {}  # variable -> whether its adjoint may stay of a larger shape (`_summed_later`)
        self.sweep_start = None  # the first adjoint line (after the seed check)

    def primal_lines(self, program):
        """The primal lines, single-use parts of one expression marked as temporaries (see optimize)."""
        temporaries = _temporaries(program)
        return [primal_line(equation, temporary=equation.target in temporaries) for equation in program.equations]

    def seeded(self, sweep, output):
        """The line checking the seed and the arguments."""
        self.sweep_start = len(sweep.lines)
        if output is None:
            return
        if self.number_output:
            self.seeds.add(output)
        wrt = [name(p) for p in self.wrt]
        if self.number_output and not self.with_value:
            # A number (a full reduction): any seed fits, and the output need not be computed.
            check = self._call(runtime.checked_arguments, name(sweep.seed), *wrt)
        else:  # refuses an array output without a seed of its shape, and integer arrays
            check = self._call(runtime.checked_seed, name(output), name(sweep.seed), *wrt)
        sweep.lines.append(Line(sweep.seed, check, CHECK))
        self.sweep_start = len(sweep.lines)

    def before(self, sweep, equation, terms):
        """A uniform adjoint is written out before its equation reads it, if any input needs the array.

        The matmul adjoint helpers take a number standing for its broadcast
        themselves, so the product need not be computed for its shape.
        """
        rule, target = equation.rule, equation.target
        if target in self.uniform and not self._passed_as_number(equation) and not self._summed_number(equation) and (
            not (rule.elementwise and rule.form == "partial")
            or any(self.uniform_case(equation, variable, term) is None for variable, term in terms)
        ):
            self.materialize(sweep, target, origin(equation))

    def _passed_as_number(self, equation):
        return equation.rule.sums_back and equation.target in self.numbers

    def _summed_number(self, equation):
        """Whether `equation` is a sum (over any axes) whose adjoint is a number: x's is that number too."""
        return equation.rule.reduction == "sum" and equation.target in self.numbers

    def uniform_case(self, equation, variable, partial):
        """How an elementwise partial carries the uniform adjoint of `equation`'s target to `variable`.

        "uniform": the product stands for a broadcast too (``d_T * 2``);
        "counted": a number reaching a broadcast input, times how often the
        broadcast repeats each element; "whole": the partial is an array of
        the whole shape; "summed back": the partial fills the axes along which
        the input was broadcast (``y`` for `x` in ``x * y``); None: the
        adjoint must first be written out as an array.
        """
        shapes, target = self.shapes, equation.target
        read = frozenset().union(*(shapes[n] for n in variables_in(partial, equation)))
        whole = shapes[target]
        if not read and shapes[variable] == whole:
            return "uniform"
        if not read and shapes[variable] and target in self.numbers:
            return "counted"
        if read == whole:
            return "whole"
        if shapes[variable] | read == whole:
            return "summed back"
        return None

    def contribution(self, sweep, equation, variable, term):
        """(the contribution of `term`, an instantiated template, to `variable`'s adjoint, what it is)."""
        rule, target, shapes = equation.rule, equation.target, self.shapes
        kind, summed_back, folded = None, None, False  # summed_back None: unbroadcast if the shapes differ
        if self._summed_number(equation):  # the number stands for its broadcast to x's shape as well
            return name(sweep.adjoint[target]), NUMBER
        if target in self.uniform and not self._passed_as_number(equation):  # is a product still uniform?
            case = self.uniform_case(equation, variable, term)
            if case == "uniform":
                kind = SEED if target in self.seeds and _is_one(term) else self._kind_of(target)
            elif case == "counted":
                return self._counted(sweep, target, variable, term), NUMBER
            elif case == "whole" and (target in self.numbers or target in self.seeds) and _constant_times(term):
                term, folded = _folded(name(sweep.adjoint[target]), term), True  # 2 * d_out * y: one array pass
            elif case == "whole":  # the seed multiplies an array of the whole shape
                self.seed_products += target in self.seeds
            else:
                summed_back = True
        elif rule.spreads_adjoint:
            term = term.args[0]  # a sum's adjoint np.broadcast_to(v, np.shape(x)): v, broadcast when needed
            if not shapes[target]:  # of a full reduction: a number
                is_seed = target in self.seeds and isinstance(term, gast.Name) and term.id == sweep.adjoint[target]
                kind = SEED if is_seed else NUMBER
            else:
                kind = UNIFORM
        if rule.form == "partial" and not folded:
            term = gast.BinOp(left=name(sweep.adjoint[target]), op=gast.Mult(), right=term)
        term = shapes_from_class(term, shapes, self.producers, self.kept, self.namespace)
        if rule.elementwise and not self._sums_back_itself(variable):
            if shapes[variable] != shapes[target] if summed_back is None else summed_back:
                if kind or summed_back is not None or not self._summed_later(variable):
                    term = self._unbroadcast(term, variable)
        return term, kind

    def _summed_later(self, variable):
        """Whether every contribution `variable`'s adjoint makes is summed back to its input's shape anyway.

        Then its adjoint need not be summed to its own shape first: ``pred = X @ w + b``
        in ``pred - y`` passes its adjoint on to ``b`` (unbroadcast) and to
        ``X @ w`` (whose adjoint helpers sum back themselves), so it may stay
        of the shape ``pred`` and ``y`` broadcast to. Its equation must be
        elementwise, with partials (of no more axes than `variable`), read
        once, and not differentiated for itself; its inputs without an adjoint
        do not count.
        """
        return summed_later(self, variable, self.wrt)

    def accumulated(self, sweep, variable, position, kind, first):
        """Remember what the adjoint of `variable` is after the line at `position`."""
        if first:
            if kind:
                self.uniform[variable] = position
            if kind in (NUMBER, SEED):
                self.numbers.add(variable)
                self.number_lines.add(position)
            if kind == SEED:
                self.seeds.add(variable)
            return
        self.summed.add(variable)
        self.seeds.discard(variable)
        if kind not in (NUMBER, SEED):
            self.numbers.discard(variable)
        if not kind:
            self.uniform.pop(variable, None)
        elif variable in self.uniform:
            self.uniform[variable] = None  # more than one line computes it

    def materialize(self, sweep, variable, origin):
        """``d_v = broadcast_like(d_v, v)``: a uniform adjoint as the array it stands for."""
        if variable not in self.uniform:
            return
        position = self.uniform.pop(variable)
        self.numbers.discard(variable)
        if position is not None:  # computed by one line: broadcast there
            self.number_lines.discard(position)
            line = sweep.lines[position]
            sweep.lines[position] = line.with_value(self._broadcast(line.value, variable))
        else:
            value = self._broadcast(name(sweep.adjoint[variable]), variable)
            sweep.lines.append(Line(sweep.adjoint[variable], value, ADJOINT, origin))
            self.summed.discard(variable)

    def gradients(self, sweep):
        """The parameters' gradients; a number output's seed applied last when that saves array passes.

        The gradient is linear in the seed: when the seed would multiply whole
        arrays, the sweep is made with 1 and the gradients are scaled at the
        end (the rounding moves only for seeds other than 1).
        """
        unit_seed = self.number_output and self.seed_products > 0
        if unit_seed:
            one = {sweep.seed: gast.Constant(value=1.0, kind=None)}
            sweep.lines[self.sweep_start:] = [line.with_value(substituted(line.value, one))
                                              for line in sweep.lines[self.sweep_start:]]  # fmt: skip
        self._mark_number_lines(sweep)
        self._mark_added_terms(sweep)
        return [self._gradient_of(sweep, p, unit_seed) for p in self.wrt]

    def _mark_number_lines(self, sweep):
        """Mark as temporaries the adjoints that are numbers computed from the seed and sizes alone.

        ``d_mean = -d_out`` or ``d_power = d_out / residual.size``: optimize
        writes one read once into the line reading it (`nest_temporaries`),
        as a person folds the seed and a mean's count into the first factor.
        """
        variable_of = {adjoint: variable for variable, adjoint in sweep.adjoint.items()}
        numbers = {sweep.seed} if self.number_output else set()
        numbers |= {v for v in self.producers if not self.shapes[v]}
        for position in range(self.sweep_start, len(sweep.lines)):
            line = sweep.lines[position]
            variable = variable_of.get(line.target)
            if line.role != ADJOINT or variable is None or (self.shapes[variable] and position not in self.number_lines):
                continue
            if _reads_only(line.value, numbers):
                numbers.add(line.target)
                sweep.lines[position] = replace(line, temporary=True)

    def _mark_added_terms(self, sweep):
        """Mark as temporaries the adjoints that are read once, as a term another adjoint adds.

        Such a line only names a value on its way: ``d_sum_e = np.sum(...)``
        followed by ``d_e = d_e + d_sum_e`` (a sum's adjoint passed on to its
        input as it is) becomes ``d_e = d_e + np.sum(...)`` once optimize writes
        it in. An adjoint that only negates (the partial -1 of a subtraction,
        ``d_mu = -unbroadcast(d_c, mu)``) may also be the first factor of the
        term (``d_x = d_c + d_mu / n``): its sign turns the addition into a
        subtraction (``d_x = d_c - unbroadcast(d_c, mu) / n``; exact, a negation
        rounds nothing). Read in any other way (``d_mu / s``) an adjoint keeps
        its line, so lines get no denser; so does a parameter's gradient.
        Last line first, a reader taken as it reads once the lines marked
        after it are written in (``d_s = d_l / s`` into ``d_x = d_c + d_s``
        makes ``d_l = -t`` the first factor of a term added).
        """
        variable_of = {adjoint: variable for variable, adjoint in sweep.adjoint.items()}
        start, lines = self.sweep_start, sweep.lines
        host = {}  # position of a line marked here -> position of the line it will be written into
        written = {}  # position of a line that lines marked here go into -> its value with them written in
        reading = {}  # name -> the positions of the lines reading it, in order
        for position in range(start, len(lines)):
            for identifier in read_in(lines[position]):
                reading.setdefault(identifier, []).append(position)
        for position in range(len(lines) - 1, start - 1, -1):
            line = lines[position]
            if not isinstance(line, Line) or line.role != ADJOINT or line.temporary:
                continue
            variable = variable_of.get(line.target)
            if variable is None or variable in self.wrt:
                continue
            positions = reading.get(line.target, [])
            readers = positions[bisect.bisect_right(positions, position):]
            if len(readers) != 1 or not isinstance(lines[readers[0]], Line) or lines[readers[0]].role != ADJOINT:
                continue
            reader = host.get(readers[0], readers[0])
            value = written.get(reader, lines[reader].value)
            if _added_term(value, line.target, first_factor=_without_negation(line.value)[1]):
                lines[position] = replace(line, temporary=True)
                host[position] = reader
                written[reader] = substituted(value, {line.target: line.value})

    def _gradient_of(self, sweep, parameter, unit_seed):
        if parameter not in sweep.adjoint:
            return zero_gradient(parameter, True, self.namespace)
        value = name(sweep.adjoint[parameter])
        if unit_seed and parameter in self.summed and parameter not in self.uniform:
            value = self._call(runtime.scaled, value, name(sweep.seed))  # a new array: no pass when the seed is 1
        elif unit_seed:  # it may be a view of an argument, or a number
            value = gast.BinOp(left=name(sweep.seed), op=gast.Mult(), right=value)
        return self._broadcast(value, parameter) if parameter in self.uniform else value

    def _counted(self, sweep, target, variable, partial):
        """``d_T * partial * (np.size(T) / np.size(x))``: a number reaching `variable`, which `target` broadcast.

        For a mean's adjoint ``d_T = d_out / np.size(T)`` it is
        ``d_out * partial / np.size(x)``, with one rounding less.
        """
        size_of_target, size = (self._size(v) for v in (target, variable))
        position = self.uniform.get(target)
        mean = sweep.lines[position].value if position is not None else None
        if isinstance(mean, gast.BinOp) and isinstance(mean.op, gast.Div) and _same(mean.right, size_of_target):
            spread = gast.BinOp(left=copy.deepcopy(mean.left), op=gast.Mult(), right=partial)
            return gast.BinOp(left=spread, op=gast.Div(), right=size)
        spread = gast.BinOp(left=name(sweep.adjoint[target]), op=gast.Mult(), right=partial)
        return gast.BinOp(left=spread, op=gast.Mult(), right=gast.BinOp(left=size_of_target, op=gast.Div(), right=size))

    def _size(self, variable):
        """``np.size(v)``, asked of names the gradient computes anyway."""
        size = self._numpy_call("size", variable)
        return shapes_from_class(size, self.shapes, self.producers, self.kept, self.namespace)

    def _kind_of(self, variable):
        return "number" if variable in self.numbers else "uniform"

    def _sums_back_itself(self, variable):
        """A product read once: the matmul adjoint helpers sum a broadcast ``d_z`` back themselves."""
        return variable in self.products and self.uses.get(variable) == 1

    def _unbroadcast(self, term, variable):
        """``unbroadcast(term, x)``, and ``-unbroadcast(t, x)`` for ``-t``: negate the smaller array.

        To a number (``np.mean(x)`` in ``x - np.mean(x)``) it is ``np.sum(term)``,
        which needs no value of that shape.
        """
        term, negated = _without_negation(term)
        if not self.shapes[variable]:
            term = gast.Call(func=self._numpy_attribute("sum"), args=[term], keywords=[])
        else:
            like = shape_reference(variable, self.shapes, self.producers, self.kept, self.namespace)
            term = self._call(runtime.unbroadcast, term, like)
        return gast.UnaryOp(op=gast.USub(), operand=term) if negated else term

    def _broadcast(self, value, variable):  # a number for a number, as the adjoint of a number must be
        like = shape_reference(variable, self.shapes, self.producers, self.kept, self.namespace)
        return self._call(runtime.broadcast_like, value, like)

    def _numpy_call(self, function, variable):
        return gast.Call(func=self._numpy_attribute(function), args=[name(variable)], keywords=[])

    def _numpy_attribute(self, function):
        return gast.Attribute(value=self.namespace.reference(np), attr=function, ctx=gast.Load())

    def _call(self, helper, *args):
        return gast.Call(func=self.namespace.reference(helper), args=list(args), keywords=[])


def variables_in(term, equation):
    """The program's names (the equation's inputs and target) that `term` reads."""
    variables = {a.id for a in atoms(equation.rule, equation.inputs) if isinstance(a, gast.Name)} | {equation.target}
    return {n.id for n in gast.walk(term) if isinstance(n, gast.Name) and n.id in variables}


def names_read(equation):
    return [a.id for a in atoms(equation.rule, equation.inputs) if isinstance(a, gast.Name)]


def _added_term(value, identifier, first_factor):
    """Whether `value` reads `identifier` once, as a term it adds or subtracts (``a + d_v``).

    With `first_factor`, also as the first factor of such a term (``a + d_v / n``).
    """
    if not (isinstance(value, gast.BinOp) and isinstance(value.op, (gast.Add, gast.Sub))):
        return False
    if any(isinstance(n, gast.Name) and n.id == identifier for n in gast.walk(value.left)):
        return False
    term = value.right
    while first_factor and isinstance(term, gast.BinOp) and isinstance(term.op, (gast.Mult, gast.Div)):
        if any(isinstance(n, gast.Name) and n.id == identifier for n in gast.walk(term.right)):
            return False
        term = term.left
    return isinstance(term, gast.Name) and term.id == identifier


def _reads_only(value, numbers):
    """Whether `value` is arithmetic on `numbers`, constants and sizes (``d_out / np.broadcast(y, z).size``)."""
    if isinstance(value, gast.Name):
        return value.id in numbers
    if isinstance(value, gast.Constant):
        return True
    if isinstance(value, gast.Attribute):
        return value.attr in SHAPE_FUNCTIONS
    if isinstance(value, gast.Call):
        return isinstance(value.func, gast.Attribute) and value.func.attr in SHAPE_FUNCTIONS
    if isinstance(value, gast.Subscript):  # np.shape(x)[-1]
        return _reads_only(value.value, numbers) and isinstance(value.slice, (gast.Constant, gast.UnaryOp))
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        return all(_reads_only(child, numbers) for child in gast.iter_child_nodes(value) if isinstance(child, gast.expr))
    return False


def _constant_times(term):
    """Whether `term` is ``c * a`` for a number constant c."""
    return isinstance(term, gast.BinOp) and isinstance(term.op, gast.Mult) and _is_number(term.left)


def _folded(adjoint, term):
    """``c * d_T * a`` for the partial ``c * a`` and a number adjoint `d_T` (instead of ``d_T * (c * a)``)."""
    factor = gast.BinOp(left=term.left, op=gast.Mult(), right=adjoint)
    return gast.BinOp(left=factor, op=gast.Mult(), right=term.right)


def _is_number(node):
    return isinstance(node, gast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


def _same(node, other):
    """Whether two expressions are written the same way."""
    return gast.dump(node) == gast.dump(other)


def _is_one(node):
    return isinstance(node, gast.Constant) and node.value == 1 and not isinstance(node.value, bool)


def _use_counts(program):
    """Name -> how many times the program reads it (the output counts once)."""
    counts = {}
    for equation in program.equations:
        for atom in atoms(equation.rule, equation.inputs):
            if isinstance(atom, gast.Name):
                counts[atom.id] = counts.get(atom.id, 0) + 1
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    for atom in outputs:
        if isinstance(atom, gast.Name):
            counts[atom.id] = counts.get(atom.id, 0) + 1
    return counts


def _temporaries(program):
    """Targets that stand for a part of one of the user's expressions (``X @ W1`` in ``np.tanh(X @ W1 + b1)``).

    A temporary is a name the user did not write, read only by the same
    statement of the user's that computes it. The optimize stage may write it
    nested again, so that its array is freed as soon as it is used.
    """
    origin = {equation.target: equation.origin for equation in program.equations}
    temporaries = set(origin) - named_by_user(program)
    for equation in program.equations:
        for atom in atoms(equation.rule, equation.inputs):
            if isinstance(atom, gast.Name) and atom.id in temporaries and origin[atom.id] != equation.origin:
                temporaries.discard(atom.id)
    return temporaries


def _without_negation(term):
    """(`t`, True) for a term ``-t`` or ``t * -1``, else (`term`, False)."""
    if isinstance(term, gast.UnaryOp) and isinstance(term.op, gast.USub):
        return term.operand, True
    if isinstance(term, gast.BinOp) and isinstance(term.op, gast.Mult) and _is_minus_one(term.right):
        return term.left, True
    return term, False


def _is_minus_one(node):
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return _is_one(node.operand)
    return isinstance(node, gast.Constant) and node.value == -1 and not isinstance(node.value, bool)


def summed_later(policy, variable, exact):
    """Whether `variable`'s adjoint may stay of a larger shape (memoised on `policy.summed_later`).

    Its equation is elementwise, with partials, read once, and `variable` not in
    `exact` (the names whose adjoint's shape matters); each active input sums the
    adjoint back itself, has another shape class, or is summed later too. Shared
    by the straight-line and the control-flow array policies.
    """
    if variable not in policy.summed_later:
        equation = policy.producers.get(variable)
        policy.summed_later[variable] = (
            equation is not None
            and variable not in exact
            and policy.uses.get(variable) == 1
            and equation.rule.elementwise
            and equation.rule.form == "partial"
            and all(
                policy._sums_back_itself(a) or policy.shapes[a] != policy.shapes[variable] or policy._summed_later(a)
                for a in names_read(equation)
                if a in policy.active
            )
        )
    return policy.summed_later[variable]
