"""Stage 5, reverse: the adjoint (reverse-mode derivative) function.

Takes a `Program` and the names of the parameters to differentiate, and gives
a `gast.FunctionDef`:

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
unused primal lines): the optimize stage cleans it.

Code that calls NumPy ("array code") gets more, and scalar code none of it:

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
  it (`_Sweep.materialize`);
* for a number output, when the seed would multiply whole arrays, a sweep
  with the seed 1 and the gradients scaled by ``d_out`` at the end;
* no adjoint for a max subtracted before a softmax (`invariance`).
"""

import copy

import gast
import numpy as np

from . import runtime
from .errors import Location, NoDerivativeError
from .invariance import shift_invariant
from .names import copy_atom, name, substituted
from .primitives import MARKERS, ZERO, array_twin, is_numpy
from .shapes import (
    is_numpy_call, is_shape_call, needed_anyway, numpy_test, shape_classes, shape_reference, shapes_from_class,
)
from .ssa import atoms, each_input
from .templates import instantiate

SEED = "d_out"


def reverse(program, wrt, as_tuple, with_value=False):
    """The adjoint FunctionDef of `program` for the parameters named in `wrt`."""
    sweep = _Sweep(program, wrt, with_value)
    sweep.check_seed()
    for equation, rule in reversed(list(zip(program.equations, sweep.rules))):
        if equation.target in sweep.adjoint:
            sweep.equation(equation, rule)
    gradients = sweep.gradients()
    gradient = gast.Tuple(elts=gradients, ctx=gast.Load()) if as_tuple else gradients[0]
    result = gast.Tuple(elts=[copy_atom(program.output), gradient], ctx=gast.Load()) if with_value else gradient
    sweep.body.append(gast.Return(value=result))
    return gast.FunctionDef(
        name=("value_and_d_" if with_value else "d_") + program.name,
        args=_with_seed(program.args, sweep.seed),
        body=sweep.body,
        decorator_list=[],
        returns=None,
        type_comment=None,
        type_params=[],
    )


class _Sweep:
    """The generated function's body as it is built: the primal sweep, then adjoints, last equation first.

    In array code an adjoint may be "uniform": a number (the adjoint of
    ``np.sum(x)``) or a smaller array (of a keepdims sum) standing for itself
    broadcast to its variable's shape, written out (`materialize`) only when
    an array needs it.
    """

    def __init__(self, program, wrt, with_value):
        self.program, self.wrt, self.with_value, self.namespace = program, wrt, with_value, program.namespace
        self.adjoint_name = _higher_order_names(self.namespace) if program.function.primal_params else _first_order_name
        self.seed = self.adjoint_name(self.namespace, SEED[len("d_"):])
        self.arrays = uses_arrays(program)
        self.rules = [array_twin(eq.rule) if self.arrays else eq.rule for eq in program.equations]
        zero = shift_invariant(program, self.rules) if self.arrays else ()
        self.active = _active_names(program, self.rules, wrt, zero)
        self.shapes = shape_classes(program, self.rules) if self.arrays else {}
        self.producers = {eq.target: eq for eq in program.equations}
        computed = _user_names(program) if with_value else ()  # the value computes what the user named
        self.kept = needed_anyway(program, self.rules, self.active, computed) if self.arrays else set()
        self.products = {eq.target for eq, rule in zip(program.equations, self.rules) if _is_product(rule)}
        self.uses = _use_counts(program)
        self.body = [primal_statement(eq) for eq in program.equations]
        if self.arrays:  # single-use parts of one expression may be written nested again (see optimize)
            temporaries = _temporaries(program)
            for statement, equation in zip(self.body, program.equations):
                statement.temporary = equation.target in temporaries
        self.adjoint = {}  # variable -> name of the adjoint variable accumulating its gradient
        self.uniform = {}  # uniform variable -> the one statement computing its adjoint so far, or None
        self.numbers = set()  # uniform variables whose adjoint is a number
        self.seeds = set()  # variables whose adjoint is the seed itself
        self.summed = set()  # variables whose adjoint was last assigned a sum: never an argument's array
        self.seed_products = 0  # array passes that multiply by the seed
        self.sweep_start = len(self.body)  # the first adjoint statement (after the seed check, if any)
        output = program.output
        self.number_output = (
            self.arrays and isinstance(output, gast.Name) and output.id in self.active and not self.shapes[output.id]
        )

    def check_seed(self):
        """The seed's adjoint and, in array code, the line checking the seed and the arguments."""
        output, seed, wrt = self.program.output, self.seed, self.wrt
        if not (isinstance(output, gast.Name) and output.id in self.active):
            return
        self.adjoint[output.id] = seed
        if self.number_output:
            self.seeds.add(output.id)
        if self.number_output and not self.with_value:
            # A number (a full reduction): any seed fits, and the output need not be computed.
            check = self._call(runtime.checked_arguments, name(seed), *[name(p) for p in wrt])
        elif self.arrays:  # refuses an array output without a seed of its shape, and integer arrays
            check = self._call(runtime.checked_seed, name(output.id), name(seed), *[name(p) for p in wrt])
        else:
            return
        self.body.append(_assign(seed, check))
        self.sweep_start = len(self.body)

    def equation(self, equation, rule):
        """The contributions of `equation` to the adjoints of its inputs."""
        target = equation.target
        terms = list(self._terms(equation, rule))
        # A uniform adjoint is written out before its equation reads it, if any input needs the array.
        if target in self.uniform and (
            not (rule.elementwise and rule.form == "partial")
            or any(self._uniform_case(equation, variable, term) is None for variable, term in terms)
        ):
            self.materialize(target, _origin(equation))
        for variable, term in terms:
            self.contribute(equation, rule, variable, term)

    def _terms(self, equation, rule):
        """(input, its instantiated template) for each input that depends on a differentiated parameter."""
        target = equation.target
        bound = dict(zip(rule.params, equation.inputs))
        for param in rule.params:
            for position, atom in each_input(rule, param, bound[param]):
                if not (isinstance(atom, gast.Name) and atom.id in self.active) or rule.templates[param] is ZERO:
                    continue
                if rule.templates[param] in MARKERS:
                    raise _not_differentiable(equation, param)
                placeholders = dict(bound)
                placeholders.update({rule.output: name(target), rule.adjoint_name: name(self.adjoint[target])})
                if rule.sequence:
                    placeholders["i"] = gast.Constant(value=position, kind=None)
                try:
                    yield atom.id, instantiate(rule.templates[param], placeholders, rule, self.namespace)
                except ValueError as reason:
                    raise _unsupported(equation, reason) from None

    def _uniform_case(self, equation, variable, partial):
        """How an elementwise partial carries the uniform adjoint of `equation`'s target to `variable`.

        "uniform": the product stands for a broadcast too (``d_T * 2``);
        "counted": a number reaching a broadcast input, times how often the
        broadcast repeats each element; "whole": the partial is an array of
        the whole shape; "summed back": the partial fills the axes along which
        the input was broadcast (``y`` for `x` in ``x * y``); None: the
        adjoint must first be written out as an array.
        """
        shapes, target = self.shapes, equation.target
        read = frozenset().union(*(shapes[n] for n in _variables_in(partial, equation)))
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

    def contribute(self, equation, rule, variable, term):
        """Add `term` (an instantiated template) to the adjoint of `variable`, an input of `equation`."""
        target, shapes = equation.target, self.shapes
        kind, summed_back = None, None  # kind: "uniform", "number" or "seed"; summed_back None: if shapes differ
        if target in self.uniform:  # an elementwise partial of a uniform adjoint: is the product still one?
            case = self._uniform_case(equation, variable, term)
            if case == "uniform":
                kind = "seed" if target in self.seeds and _is_one(term) else self._kind_of(target)
            elif case == "counted":
                return self.accumulate(variable, self._counted(target, variable, term), _origin(equation), "number")
            elif case == "whole":  # the seed multiplies an array of the whole shape
                self.seed_products += target in self.seeds
            else:
                summed_back = True
        elif self.arrays and _is_broadcast_to_shape_of(term, variable, self.namespace):
            term = term.args[0]  # a sum's adjoint, broadcast when needed
            if not shapes[target]:  # of a full reduction: a number
                is_seed = target in self.seeds and isinstance(term, gast.Name) and term.id == self.adjoint[target]
                kind = "seed" if is_seed else "number"
            else:
                kind = "uniform"
        if rule.form == "partial":
            term = gast.BinOp(left=name(self.adjoint[target]), op=gast.Mult(), right=term)
        if self.arrays:
            term = shapes_from_class(term, shapes, self.producers, self.kept, self.namespace)
        if self.arrays and rule.elementwise and not self._sums_back_itself(variable):
            if shapes[variable] != shapes[target] if summed_back is None else summed_back:
                term = self._unbroadcast(term, variable)
        self.accumulate(variable, term, _origin(equation), kind)

    def _counted(self, target, variable, partial):
        """``d_T * partial * (np.size(T) / np.size(x))``: a number reaching `variable`, which `target` broadcast.

        For a mean's adjoint ``d_T = d_out / np.size(T)`` it is
        ``d_out * partial / np.size(x)``, with one rounding less.
        """
        size_of_target, size = (self._size(v) for v in (target, variable))
        statement = self.uniform.get(target)
        mean = statement.value if statement is not None else None
        if isinstance(mean, gast.BinOp) and isinstance(mean.op, gast.Div) and _same(mean.right, size_of_target):
            spread = gast.BinOp(left=copy.deepcopy(mean.left), op=gast.Mult(), right=partial)
            return gast.BinOp(left=spread, op=gast.Div(), right=size)
        spread = gast.BinOp(left=name(self.adjoint[target]), op=gast.Mult(), right=partial)
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

    def accumulate(self, variable, contribution, origin, kind=None):
        """``d_x = contribution``, or ``d_x = d_x + contribution`` after the first one."""
        if variable not in self.adjoint:
            self.adjoint[variable] = self.adjoint_name(self.namespace, variable)
            statement = _assign(self.adjoint[variable], contribution)
            if kind:
                self.uniform[variable] = statement
            if kind in ("number", "seed"):
                self.numbers.add(variable)
            if kind == "seed":
                self.seeds.add(variable)
        else:
            total = gast.BinOp(left=name(self.adjoint[variable]), op=gast.Add(), right=contribution)
            statement = _assign(self.adjoint[variable], total)
            self.summed.add(variable)
            self.seeds.discard(variable)
            if kind not in ("number", "seed"):
                self.numbers.discard(variable)
            if not kind:
                self.uniform.pop(variable, None)
            elif variable in self.uniform:
                self.uniform[variable] = None  # more than one statement computes it
        statement.origin = origin  # the user's (file, line), for origin comments (see compile)
        self.body.append(statement)

    def materialize(self, variable, origin):
        """``d_v = broadcast_like(d_v, v)``: a uniform adjoint as the array it stands for."""
        if variable not in self.uniform:
            return
        statement = self.uniform.pop(variable)
        self.numbers.discard(variable)
        if statement is not None:  # computed by one statement: broadcast there
            statement.value = self._broadcast(statement.value, variable)
        else:
            statement = _assign(self.adjoint[variable], self._broadcast(name(self.adjoint[variable]), variable))
            statement.origin = origin
            self.body.append(statement)
            self.summed.discard(variable)

    def gradients(self):
        """The parameters' gradients; a number output's seed applied last when that saves array passes.

        The gradient is linear in the seed: when the seed would multiply whole
        arrays, the sweep is made with 1 and the gradients are scaled at the
        end (the rounding moves only for seeds other than 1).
        """
        unit_seed = self.number_output and self.seed_products > 0
        if unit_seed:
            for statement in self.body[self.sweep_start:]:
                statement.value = substituted(statement.value, {self.seed: gast.Constant(value=1.0, kind=None)})
        return [self._gradient_of(p, unit_seed) for p in self.wrt]

    def _gradient_of(self, parameter, unit_seed):
        if parameter not in self.adjoint:
            return _zero(parameter, self.arrays, self.namespace)
        value = name(self.adjoint[parameter])
        if unit_seed and parameter in self.summed and parameter not in self.uniform:
            value = self._call(runtime.scaled, value, name(self.seed))  # a new array: no pass when the seed is 1
        elif unit_seed:  # it may be a view of an argument, or a number
            value = gast.BinOp(left=name(self.seed), op=gast.Mult(), right=value)
        return self._broadcast(value, parameter) if parameter in self.uniform else value

    def _broadcast(self, value, variable):  # a number for a number, as the adjoint of a number must be
        like = shape_reference(variable, self.shapes, self.producers, self.kept, self.namespace)
        return self._call(runtime.broadcast_like, value, like)

    def _numpy_call(self, function, variable):
        return gast.Call(func=self._numpy_attribute(function), args=[name(variable)], keywords=[])

    def _numpy_attribute(self, function):
        return gast.Attribute(value=self.namespace.reference(np), attr=function, ctx=gast.Load())

    def _call(self, helper, *args):
        return gast.Call(func=self.namespace.reference(helper), args=list(args), keywords=[])


def _variables_in(term, equation):
    """The program's names (the equation's inputs and target) that `term` reads."""
    variables = {a.id for a in atoms(equation.rule, equation.inputs) if isinstance(a, gast.Name)} | {equation.target}
    return {n.id for n in gast.walk(term) if isinstance(n, gast.Name) and n.id in variables}


def _is_broadcast_to_shape_of(node, variable, namespace):
    """Whether `node` is ``np.broadcast_to(value, np.shape(variable))``."""
    is_numpy = numpy_test(namespace)
    return (
        is_numpy_call(node, ("broadcast_to",), is_numpy)
        and len(node.args) == 2
        and is_shape_call(node.args[1], is_numpy)
        and node.args[1].func.attr == "shape"
        and node.args[1].args[0].id == variable
    )


def _same(node, other):
    """Whether two expressions are written the same way."""
    return gast.dump(node) == gast.dump(other)


def _is_one(node):
    return isinstance(node, gast.Constant) and node.value == 1 and not isinstance(node.value, bool)


def _first_order_name(namespace, variable):
    """``d_x`` for the adjoint of `x` (``d_x_1`` if the function has a ``d_x`` of its own)."""
    return namespace.fresh("d_" + variable)


def _higher_order_names(namespace):
    """Adjoint names in the gradient of a generated gradient: ``d2_x`` where ``d_x`` is the first-order one.

    The seed becomes ``d2_out``, and a third derivative's ``d3_x``.
    """

    def adjoint_name(namespace, variable):
        base, order = "d_" + variable, 2
        while namespace.is_taken(base):
            base, order = f"d{order}_{variable}", order + 1
        return namespace.fresh(base)

    return adjoint_name


def primal_statement(equation):
    """``target = value`` for an equation of the primal sweep, annotated with the user's expression.

    The annotation is `primal_origin`, not `origin`: origin comments in
    `astgrad.source` and the optimize stage's algebra are for derivative
    lines only; tracebacks name the user's line for every line (see compile).
    """
    statement = _assign(equation.target, equation.value)
    statement.primal_origin = _origin(equation)
    return statement


def _origin(equation):
    """(file, line, column, end column) of the user's expression an equation came from."""
    node = equation.value
    same_line = getattr(node, "end_lineno", None) == getattr(node, "lineno", None)
    columns = (getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)) if same_line else (None, None)
    return equation.origin + columns


def uses_arrays(program):
    """Whether the program calls NumPy (then adjoints are unbroadcast and the call is checked).

    Code that calls no NumPy function is scalar code: its gradient pays for no
    shape handling (see docs/design.md).
    """
    return any(is_numpy(equation.rule) for equation in program.equations)


def _active_names(program, rules, wrt, zero_adjoint=()):
    """Names whose value depends on a differentiated parameter, other than through a name in `zero_adjoint`.

    A name whose adjoint is known to be exactly zero (`shift_invariant`) gets
    none: no gradient flows into it, nor into what only it makes depend on a
    parameter (all of whose gradient would flow on into it).
    """
    active = set(wrt)
    for equation, rule in zip(program.equations, rules):
        if equation.target not in zero_adjoint and any(
            isinstance(atom, gast.Name) and atom.id in active and rule.templates[param] is not ZERO
            for param, value in zip(rule.params, equation.inputs)
            for _, atom in each_input(rule, param, value)
        ):
            active.add(equation.target)
    return active


def _is_product(rule):
    """Whether the adjoints are the matmul helpers, which sum a broadcast `d_z` back to the product's shape."""
    return rule.texts.get("x") == MATMUL_TEMPLATES["x"] and rule.texts.get("y") == MATMUL_TEMPLATES["y"]


MATMUL_TEMPLATES = {"x": "runtime.matmul_left_adjoint(d_z, x, y)", "y": "runtime.matmul_right_adjoint(d_z, x, y)"}


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


def _user_names(program):
    """The names the user's function assigns, and the output's names."""
    tree = program.function.tree
    written = {n.id for n in gast.walk(tree) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    return written | {atom.id for atom in outputs if isinstance(atom, gast.Name)}


def _temporaries(program):
    """Targets that stand for a part of one of the user's expressions (``X @ W1`` in ``np.tanh(X @ W1 + b1)``).

    A temporary is a name the user did not write, read only by the same
    statement of the user's that computes it. The optimize stage may write it
    nested again, so that its array is freed as soon as it is used.
    """
    origin = {equation.target: equation.origin for equation in program.equations}
    temporaries = set(origin) - _user_names(program)
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


def _zero(parameter, arrays, namespace):
    """The gradient of a parameter the output does not depend on."""
    if not arrays:
        return gast.Constant(value=0.0, kind=None)
    return gast.Call(func=namespace.reference(runtime.zero_gradient), args=[name(parameter)], keywords=[])


def _assign(target, value):
    store = gast.Name(id=target, ctx=gast.Store(), annotation=None, type_comment=None)
    return gast.Assign(targets=[store], value=value, type_comment=None)


def _with_seed(args, seed):
    """The user's parameters plus the output seed `seed=1.0` (keyword-only if they have any)."""
    parameter = gast.Name(id=seed, ctx=gast.Param(), annotation=None, type_comment=None)
    one = gast.Constant(value=1.0, kind=None)
    copy = [gast.Name(id=a.id, ctx=gast.Param(), annotation=None, type_comment=None) for a in args.args]
    kwonly = [gast.Name(id=a.id, ctx=gast.Param(), annotation=None, type_comment=None) for a in args.kwonlyargs]
    defaults, kw_defaults = list(args.defaults), list(args.kw_defaults)
    if kwonly:
        kwonly.append(parameter)
        kw_defaults.append(one)
    else:
        copy.append(parameter)
        defaults.append(one)
    return gast.arguments(
        args=copy, posonlyargs=[], vararg=None, kwonlyargs=kwonly, kw_defaults=kw_defaults,
        kwarg=None, defaults=defaults,
    )  # fmt: skip


def _unsupported(equation, reason):
    filename, _ = equation.origin
    return Location(filename).error(
        NoDerivativeError,
        equation.value,
        f"`{equation.rule.expression}` has no derivative in this form: {reason}",
        hint="see docs/primitives.md for the forms astgrad differentiates",
    )


def _not_differentiable(equation, param):
    filename, _ = equation.origin
    return Location(filename).error(
        NoDerivativeError,
        equation.value,
        f"`{equation.rule.expression}` has no derivative with respect to `{param}`, "
        "and the value passed for it depends on a differentiated parameter",
        hint=f"pass a constant for `{param}`",
    )
