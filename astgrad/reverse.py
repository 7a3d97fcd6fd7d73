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

Code that calls NumPy ("array code") gets three more things, and scalar code
none of them: the seed line ``d_out = checked_seed(out, d_out, <wrt>)``
(refusing an array output without a seed of its shape and integer arrays),
``unbroadcast(contribution, x)`` around an elementwise contribution to an
input that may have been broadcast (unless `_shape_classes` shows it was
not), and ``zero_gradient(x)`` instead of ``0.0`` for a parameter the output
does not depend on.
"""

import operator

import gast
import numpy as np

from . import runtime
from .errors import Location, NoDerivativeError
from .names import copy_atom, name, with_children
from .primitives import MARKERS, ZERO, array_twin, is_numpy, returns_number, static_value
from .templates import instantiate

SEED = "d_out"


def reverse(program, wrt, as_tuple, with_value=False):
    """The adjoint FunctionDef of `program` for the parameters named in `wrt`."""
    namespace = program.namespace
    adjoint_name = _higher_order_names(namespace) if program.function.primal_params else _first_order_name
    seed = adjoint_name(namespace, SEED[len("d_"):])
    arrays = uses_arrays(program)
    rules = [array_twin(eq.rule) if arrays else eq.rule for eq in program.equations]
    active = _active_names(program, rules, wrt, _shift_invariant(program, rules) if arrays else ())
    shapes = _shape_classes(program, rules) if arrays else {}
    producers = {eq.target: eq for eq in program.equations}
    kept = _needed(program, rules, active) if arrays else set()
    products = {eq.target for eq, rule in zip(program.equations, rules) if _is_product(rule)}
    adjoint = {}  # variable -> name of the adjoint variable accumulating its gradient
    body = [_assign(eq.target, eq.value) for eq in program.equations]
    if arrays:  # single-use parts of one expression may be written nested again (see optimize)
        temporaries = _temporaries(program)
        for statement, equation in zip(body, program.equations):
            statement.temporary = equation.target in temporaries
    uses = _use_counts(program)

    # Array code: a variable in `uniform` has for its adjoint a smaller array or a number (the
    # adjoint of a sum) that stands for itself broadcast to the variable's shape, until needed.
    uniform = {}  # variable -> the one statement computing its adjoint so far, or None
    numbers = set()  # uniform variables whose adjoint is a number
    seed_products = 0  # array passes that multiply by a number proportional to the seed
    summed = set()  # variables whose adjoint was last assigned a sum, which is never an argument's array
    seeds = set()  # variables whose adjoint is the seed itself, uniform

    def accumulate(variable, contribution, origin, is_uniform=False, is_number=False, is_seed=False):
        if variable not in adjoint:
            adjoint[variable] = adjoint_name(namespace, variable)
            statement = _assign(adjoint[variable], contribution)
            if is_uniform:
                uniform[variable] = statement
            if is_number:
                numbers.add(variable)
            if is_seed:
                seeds.add(variable)
        else:
            seeds.discard(variable)
            if not is_number:
                numbers.discard(variable)
            total = gast.BinOp(left=name(adjoint[variable]), op=gast.Add(), right=contribution)
            statement = _assign(adjoint[variable], total)
            summed.add(variable)
            if not is_uniform:
                uniform.pop(variable, None)
            elif variable in uniform:
                uniform[variable] = None  # more than one statement computes it
        statement.origin = origin  # the user's (file, line), for origin comments (see compile)
        body.append(statement)

    def materialize(variable, origin):
        """``d_v = np.broadcast_to(d_v, np.shape(v))``: a uniform adjoint as the array it stands for."""
        if variable not in uniform:
            return
        statement = uniform.pop(variable)
        numbers.discard(variable)
        if statement is not None:  # computed by one statement: broadcast there
            statement.value = _broadcast(statement.value, variable)
        else:
            statement = _assign(adjoint[variable], _broadcast(name(adjoint[variable]), variable))
            statement.origin = origin
            body.append(statement)
            summed.discard(variable)

    def _broadcast(value, variable):  # a number for a number, as the adjoint of a number must be
        like = _shape_reference(variable, shapes, producers, kept, namespace)
        return gast.Call(func=namespace.reference(runtime.broadcast_like), args=[value, like], keywords=[])

    def _numpy_call(function, variable):
        return gast.Call(func=_numpy_attribute(function), args=[name(variable)], keywords=[])

    def _numpy_attribute(attribute):
        return gast.Attribute(value=namespace.reference(np), attr=attribute, ctx=gast.Load())

    output = program.output
    if isinstance(output, gast.Name) and output.id in active:
        adjoint[output.id] = seed
        if arrays and not shapes[output.id] and not with_value:
            # A number (a full reduction): any seed fits, and the output need not be computed.
            check = gast.Call(func=namespace.reference(runtime.checked_arguments),
                              args=[name(seed)] + [name(p) for p in wrt], keywords=[])  # fmt: skip
            body.append(_assign(seed, check))
        elif arrays:  # refuses an array output without a seed of its shape, and integer arrays
            check = gast.Call(func=namespace.reference(runtime.checked_seed),
                              args=[name(output.id), name(seed)] + [name(p) for p in wrt], keywords=[])  # fmt: skip
            body.append(_assign(seed, check))
    number_output = arrays and isinstance(output, gast.Name) and output.id in active and not shapes[output.id]
    if number_output:
        seeds.add(output.id)
    sweep_start = len(body)
    for equation, rule in reversed(list(zip(program.equations, rules))):
        target = equation.target
        if target not in adjoint:
            continue
        if target in uniform and not (rule.elementwise and rule.form == "partial"):
            materialize(target, _origin(equation))
        bound = dict(zip(rule.params, equation.inputs))
        for param in rule.params:
            for position, atom in _each_input(rule, param, bound[param]):
                if not (isinstance(atom, gast.Name) and atom.id in active) or rule.templates[param] is ZERO:
                    continue
                if rule.templates[param] in MARKERS:
                    raise _not_differentiable(equation, param)
                placeholders = dict(bound)
                placeholders.update({rule.output: name(target), rule.adjoint_name: name(adjoint[target])})
                if rule.sequence:
                    placeholders["i"] = gast.Constant(value=position, kind=None)
                try:
                    term = instantiate(rule.templates[param], placeholders, rule, namespace)
                except ValueError as reason:
                    raise _unsupported(equation, reason) from None
                is_uniform, is_number, is_seed, summed_back = False, False, False, None  # None: if shapes differ
                if target in uniform:  # an elementwise partial: is the product still a number?
                    read = frozenset().union(*(shapes[n] for n in _variables_in(term, equation)))
                    whole = shapes[target]
                    if not read and shapes[atom.id] == whole:  # d_T * 2 stands for a broadcast too
                        is_uniform, is_number, is_seed = True, target in numbers, target in seeds and _is_one(term)
                    elif not read and shapes[atom.id] and target in numbers:  # broadcast input: counts that often
                        count = gast.BinOp(left=_numpy_call("size", target), op=gast.Div(),
                                           right=_numpy_call("size", atom.id))  # fmt: skip
                        term = gast.BinOp(left=term, op=gast.Mult(), right=count)
                        is_uniform, is_number, summed_back = True, True, False
                    elif read == whole:  # an array of the whole shape: the seed multiplies it
                        seed_products += target in seeds
                    elif shapes[atom.id] | read == whole:  # d_T * y for x in x * y: sum where x was broadcast
                        summed_back = True
                    else:
                        materialize(target, _origin(equation))
                elif arrays and _is_broadcast_to_shape_of(term, atom.id, namespace):
                    term, is_uniform = term.args[0], True  # a sum's adjoint, broadcast when needed
                    is_number = not shapes[target]  # of a full reduction
                    is_seed = target in seeds and isinstance(term, gast.Name) and term.id == adjoint[target]
                if rule.form == "partial":
                    term = gast.BinOp(left=name(adjoint[target]), op=gast.Mult(), right=term)
                if arrays:
                    term = _shapes_from_class(term, shapes, producers, kept, namespace)
                if arrays and rule.elementwise and (shapes[atom.id] != shapes[target] if summed_back is None else summed_back):
                    if not (atom.id in products and uses.get(atom.id) == 1):  # products sum it back themselves
                        like = _shape_reference(atom.id, shapes, producers, kept, namespace)
                        term, negated = _without_negation(term)  # -unbroadcast(d, x): negate the smaller array
                        term = gast.Call(func=namespace.reference(runtime.unbroadcast), args=[term, like], keywords=[])
                        term = gast.UnaryOp(op=gast.USub(), operand=term) if negated else term
                accumulate(atom.id, term, _origin(equation), is_uniform, is_number, is_seed)

    def gradient_of(p):
        if p not in adjoint:
            return _zero(p, arrays, namespace)
        value = name(adjoint[p])
        if unit_seed and p in summed and p not in uniform:  # a new array: no copy when the seed is 1
            value = gast.Call(func=namespace.reference(runtime.scaled), args=[value, name(seed)], keywords=[])
        elif unit_seed:  # it may be a view of an argument, or a number
            value = gast.BinOp(left=name(seed), op=gast.Mult(), right=value)
        return _broadcast(value, p) if p in uniform else value  # the array it stands for

    # A number output's gradient is linear in the seed: when the seed would multiply whole arrays,
    # sweep with 1 and scale the parameters' gradients at the end (rounding moves only for seeds other than 1).
    unit_seed = number_output and seed_products > 0
    if unit_seed:
        for statement in body[sweep_start:]:
            statement.value = _with_unit_seed(statement.value, seed)
    gradients = [gradient_of(p) for p in wrt]
    gradient = gast.Tuple(elts=gradients, ctx=gast.Load()) if as_tuple else gradients[0]
    result = gast.Tuple(elts=[copy_atom(output), gradient], ctx=gast.Load()) if with_value else gradient
    body.append(gast.Return(value=result))
    return gast.FunctionDef(
        name=("value_and_d_" if with_value else "d_") + program.name,
        args=_with_seed(program.args, seed),
        body=body,
        decorator_list=[],
        returns=None,
        type_comment=None,
        type_params=[],
    )


def _variables_in(term, equation):
    """The program's names (the equation's inputs and target) that `term` reads."""
    variables = {a.id for a in _atoms(equation.rule, equation.inputs) if isinstance(a, gast.Name)} | {equation.target}
    return {n.id for n in gast.walk(term) if isinstance(n, gast.Name) and n.id in variables}


def _is_broadcast_to_shape_of(node, variable, namespace):
    """Whether `node` is ``np.broadcast_to(value, np.shape(variable))``."""
    def is_numpy(node, function):
        return (
            isinstance(node, gast.Call)
            and isinstance(node.func, gast.Attribute)
            and node.func.attr == function
            and isinstance(node.func.value, gast.Name)
            and namespace.lookup(node.func.value.id, None) is np
        )

    return (
        is_numpy(node, "broadcast_to")
        and len(node.args) == 2
        and is_numpy(node.args[1], "shape")
        and len(node.args[1].args) == 1
        and isinstance(node.args[1].args[0], gast.Name)
        and node.args[1].args[0].id == variable
    )


def _is_one(node):
    return isinstance(node, gast.Constant) and node.value == 1 and not isinstance(node.value, bool)


def _with_unit_seed(node, seed):
    """`node` with the seed's name replaced by 1.0."""
    if isinstance(node, gast.Name) and node.id == seed:
        return gast.Constant(value=1.0, kind=None)
    return with_children(node, lambda child: _with_unit_seed(child, seed))


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


def _origin(equation):
    """(file, line, column, end column) of the user's expression an equation came from."""
    node = equation.value
    same_line = getattr(node, "end_lineno", None) == getattr(node, "lineno", None)
    columns = (node.col_offset, node.end_col_offset) if same_line else (None, None)
    return equation.origin + columns


def uses_arrays(program):
    """Whether the program calls NumPy (then adjoints are unbroadcast and the call is checked).

    Code that calls no NumPy function is scalar code: its gradient pays for no
    shape handling (see docs/design.md).
    """
    return any(is_numpy(equation.rule) for equation in program.equations)


def _each_input(rule, param, value):
    """(position in its sequence or None, atom) for each input `param` stands for."""
    if param == rule.sequence:
        return list(enumerate(value))
    return [(None, value)]


def _atoms(rule, inputs):
    return [atom for param, value in zip(rule.params, inputs) for _, atom in _each_input(rule, param, value)]


def _active_names(program, rules, wrt, zero_adjoint=()):
    """Names whose value depends on a differentiated parameter, other than through a name in `zero_adjoint`.

    A name whose adjoint is known to be exactly zero (`_shift_invariant`) gets
    none: no gradient flows into it, nor into what only it makes depend on a
    parameter (all of whose gradient would flow on into it).
    """
    active = set(wrt)
    for equation, rule in zip(program.equations, rules):
        if equation.target not in zero_adjoint and any(
            isinstance(atom, gast.Name) and atom.id in active and rule.templates[param] is not ZERO
            for param, value in zip(rule.params, equation.inputs)
            for _, atom in _each_input(rule, param, value)
        ):
            active.add(equation.target)
    return active


# ---- the adjoint of a max subtracted before a softmax is zero ------------------------------
EXTREMA = (np.max, np.min, np.amax, np.amin, ".max", ".min")
SUMS = (np.sum, ".sum")
ADD, MUL, UNKNOWN = "+", "*", "unknown"
BINARY = {  # a binary primitive -> (the form of change it keeps, the sign of its second input's coefficient)
    operator.add: (ADD, 1), np.add: (ADD, 1), operator.sub: (ADD, -1), np.subtract: (ADD, -1),
    operator.mul: (MUL, 1), np.multiply: (MUL, 1), operator.truediv: (MUL, -1), np.divide: (MUL, -1),
}  # fmt: skip
NEGATIONS = {operator.neg: -1, np.negative: -1, operator.pos: 1}


def _shift_invariant(program, rules):
    """Targets ``m = np.max(x, axis=A, keepdims=True)`` (or min) whose adjoint is exactly zero.

    The stable softmax subtracts the row maximum first: ``shifted = x - m``,
    then ``shifted - np.log(np.sum(np.exp(shifted), axis=A, keepdims=True))``.
    In exact arithmetic the output does not change when `m` does, so the
    adjoint of `m` is zero and need not be computed (docs/design.md, NumPy).

    The proof is an abstract interpretation: add to `m` any array `c` of its
    shape (so constant along the axes A) and follow the program forward. Each
    value then becomes, exactly, itself + k*c (``(ADD, k)``), itself *
    exp(k*c) (``(MUL, k)``), stays as it was (no entry), or is UNKNOWN:

        a - m: (ADD, -1)            (ADD, k) +/- (ADD, j): (ADD, k +/- j)
        np.exp((ADD, k)): (MUL, k)  np.log((MUL, k)): (ADD, k)
        -(ADD, k): (ADD, -k)        -(MUL, k): (MUL, k)
        (MUL, k) * or / (MUL, j): (MUL, k +/- j)
        np.sum((MUL, k), axis=A, keepdims=True): (MUL, k)
        np.max or np.min of (ADD, k) or (MUL, k), axis=A, keepdims=True: the same

    where an unchanged value counts as ``(ADD, 0)`` and ``(MUL, 0)``, and k = 0
    is unchanged. A reduction keeps the form only over the same axes A, written
    the same way (``axis=1`` and ``axis=-1`` differ), and of a value known to
    have no more axes than `m`, so that A means the same axes of both. Any
    other primitive reading a changed value gives UNKNOWN. If the output is
    unchanged, its derivative in every direction of `m` is zero, and so is
    `m`'s adjoint; the templates agree (a max's tied elements share a gradient
    that sums back to the shift's).
    """
    zero = set()
    equations = list(zip(program.equations, rules))
    for index, (equation, rule) in enumerate(equations):
        reduction = _keepdims_reduction(rule, equation.inputs, EXTREMA)
        if reduction is not None:
            reduced, axis = reduction
            if _output_unchanged(program, equations[index + 1 :], equation.target, reduced, axis):
                zero.add(equation.target)
    return zero


def _keepdims_reduction(rule, inputs, functions):
    """(reduced atom, axis) for ``np.f(x, axis=A, keepdims=True)`` with f in `functions`, else None."""
    if rule.fn not in functions:
        return None
    bound = dict(zip(rule.params, inputs))
    if static_value(bound["keepdims"]) is not True:
        return None
    return bound["x"], static_value(bound["axis"])


def _output_unchanged(program, equations, extremum, reduced, axis):
    """Whether adding to `extremum`, a reduction of `reduced` over `axis`, leaves the output unchanged."""
    change = {extremum: (ADD, 1)}  # name -> (ADD, k), (MUL, k) or (UNKNOWN, None); no entry: unchanged
    few_axes = {extremum, getattr(reduced, "id", None)}  # names with no more axes than `extremum`
    for equation, rule in equations:
        atoms = _atoms(rule, equation.inputs)
        reduction = _keepdims_reduction(rule, equation.inputs, EXTREMA + SUMS)
        if (rule.elementwise and all(_is_number(atom) or _name_in(atom, few_axes) for atom in atoms)) or (
            reduction and _name_in(reduction[0], few_axes)
        ):
            few_axes.add(equation.target)
        if any(_name_in(atom, change) for atom in atoms):
            over_axis = reduction is not None and _name_in(reduction[0], few_axes) and _same_axis(reduction[1], axis)
            form, k = _changed(rule, equation.inputs, change, over_axis)
            if k != 0:
                change[equation.target] = (form, k)
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    return not any(_name_in(atom, change) for atom in _flat(outputs))


def _changed(rule, inputs, change, over_axis):
    """(form, k) of an equation's result from those of its inputs in `change` (see `_shift_invariant`).

    `over_axis`: the equation is a keepdims reduction over the shift's axes.
    """
    fn = rule.fn

    def coefficient(atom, form):  # k if the atom is (form, k) or unchanged (k = 0), else None
        found, k = change.get(atom.id, (form, 0)) if isinstance(atom, gast.Name) else (form, 0)
        return k if found == form else None

    if fn in BINARY:
        form, sign = BINARY[fn]
        left, right = (coefficient(atom, form) for atom in inputs)
        if left is not None and right is not None:
            return form, left + sign * right
    elif fn in NEGATIONS:  # -(v + k*c) = -v - k*c; -(v * exp(k*c)) = -v * exp(k*c)
        form, k = change[inputs[0].id]
        if form != UNKNOWN:
            return form, (NEGATIONS[fn] * k if form == ADD else k)
    elif fn is np.exp or fn is np.log:
        source, form = (ADD, MUL) if fn is np.exp else (MUL, ADD)
        k = coefficient(inputs[0], source)
        if k is not None:
            return form, k
    elif over_axis:
        form, k = change[inputs[0].id]
        if form == MUL or (form == ADD and fn in EXTREMA):  # a sum scales by exp(k*c), but adds n*k*c
            return form, k
    return UNKNOWN, None


def _same_axis(axis, other):
    """Whether two constant `axis` arguments are written the same way (``1`` is not ``(1,)``, ``-1`` or ``True``)."""
    return type(axis) is type(other) and axis == other


def _name_in(atom, names):
    return isinstance(atom, gast.Name) and atom.id in names


def _flat(atoms):
    for atom in atoms:
        yield from _flat(atom) if isinstance(atom, tuple) else (atom,)


def _is_number(atom):
    """Whether `atom` is a number written in the source (it has no axes)."""
    try:
        value = static_value(atom)
    except (ValueError, TypeError, SyntaxError):
        return False
    return isinstance(value, (int, float))


class ShapeClasses(dict):
    """Name -> its shape class: the set of names whose shapes, broadcast together, give its shape.

    A name not computed by the program (a parameter, a global) is its own
    class; a number's class is empty. Two names of the same class have the
    same shape, whatever the arrays passed in.
    """

    def __missing__(self, variable):
        return frozenset((variable,))


def _shape_classes(program, rules):
    """The `ShapeClasses` of the program's names (an elementwise result has its inputs' classes together).

    An elementwise primitive's adjoint must be summed back to an input's shape
    (unbroadcast) unless the input is known to have the output's shape already.
    Number constants broadcast without changing any shape.
    """
    shapes = ShapeClasses()
    for equation, rule in zip(program.equations, rules):
        classes = [shapes[a.id] for a in _atoms(rule, equation.inputs) if isinstance(a, gast.Name)]
        union = frozenset().union(*classes)
        if returns_number(rule, equation.inputs) or (rule.fn is operator.getitem and not union):
            shapes[equation.target] = frozenset()
        elif rule.elementwise:
            shapes[equation.target] = union
        else:
            shapes[equation.target] = frozenset((equation.target,))
    return shapes


def _is_product(rule):
    """Whether the adjoints are the matmul helpers, which sum a broadcast `d_z` back to the product's shape."""
    return rule.texts.get("x") == MATMUL_TEMPLATES["x"] and rule.texts.get("y") == MATMUL_TEMPLATES["y"]


MATMUL_TEMPLATES = {"x": "runtime.matmul_left_adjoint(d_z, x, y)", "y": "runtime.matmul_right_adjoint(d_z, x, y)"}
SHAPE_FUNCTIONS = ("shape", "size", "ndim")


def _use_counts(program):
    """Name -> how many times the program reads it (the output counts once)."""
    counts = {}
    for equation in program.equations:
        for atom in _atoms(equation.rule, equation.inputs):
            if isinstance(atom, gast.Name):
                counts[atom.id] = counts.get(atom.id, 0) + 1
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    for atom in outputs:
        if isinstance(atom, gast.Name):
            counts[atom.id] = counts.get(atom.id, 0) + 1
    return counts


def _needed(program, rules, active):
    """Names the gradient computes anyway: those its templates read, and what they are computed from.

    ``z`` for ``y * z``, whose partial is ``z``. Asking one of them for a
    shape costs nothing.
    """
    needed = _read_by_templates(program, rules, active)
    for equation, rule in reversed(list(zip(program.equations, rules))):
        if equation.target in needed:
            needed |= {atom.id for atom in _atoms(rule, equation.inputs) if isinstance(atom, gast.Name)}
    return needed


def _read_by_templates(program, rules, active):
    """Names the derivative templates for the `active` inputs read, other than for their shapes."""
    read = set()
    for equation, rule in zip(program.equations, rules):
        if equation.target not in active:
            continue
        bound = dict(zip(rule.params, equation.inputs), **{rule.output: name(equation.target)})
        for param in rule.params:
            template = rule.templates[param]
            inputs = [atom for _, atom in _each_input(rule, param, bound[param])]
            if template in MARKERS or template is ZERO or not any(_is_active(a, active) for a in inputs):
                continue
            for placeholder in _values_read(template) & set(bound):
                atoms = [atom for _, atom in _each_input(rule, placeholder, bound[placeholder])]
                read |= {atom.id for atom in atoms if isinstance(atom, gast.Name)}
    return read


def _is_active(atom, active):
    return isinstance(atom, gast.Name) and atom.id in active


def _values_read(template):
    """The placeholders a template reads other than for their shapes (``np.shape(x)``)."""
    if isinstance(template, gast.Name):
        return {template.id}
    if _is_shape_call(template, lambda module: module == "np"):
        return set()
    return set().union(*(_values_read(child) for child in gast.iter_child_nodes(template)))


def _is_shape_call(node, is_numpy_module):
    """Whether `node` is ``np.shape(v)``, ``np.size(v)`` or ``np.ndim(v)`` of one name."""
    return (
        isinstance(node, gast.Call)
        and isinstance(node.func, gast.Attribute)
        and node.func.attr in SHAPE_FUNCTIONS
        and isinstance(node.func.value, gast.Name)
        and is_numpy_module(node.func.value.id)
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], gast.Name)
    )


def _temporaries(program):
    """Targets that stand for a part of one of the user's expressions (``X @ W1`` in ``np.tanh(X @ W1 + b1)``).

    A temporary is a name the user did not write, read only by the same
    statement of the user's that computes it. The optimize stage may write it
    nested again, so that its array is freed as soon as it is used.
    """
    written = {n.id for n in gast.walk(program.function.tree) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    written |= {atom.id for atom in outputs if isinstance(atom, gast.Name)}
    origin = {equation.target: equation.origin for equation in program.equations}
    temporaries = set(origin) - written
    for equation in program.equations:
        for atom in _atoms(equation.rule, equation.inputs):
            if isinstance(atom, gast.Name) and atom.id in temporaries and origin[atom.id] != equation.origin:
                temporaries.discard(atom.id)
    return temporaries


def _shape_name(variable, shapes, producers):
    """A name with the shape of `variable` that is likely to be needed anyway.

    A parameter (or global) of its shape class if there is one; else an input of
    the same shape class of the equation computing it (``tanh`` for
    ``tanh ** 2``, whose partial reads ``tanh``); else `variable` itself.
    """
    shape_class = shapes[variable]
    if not shape_class or shape_class == {variable}:
        return variable
    if len(shape_class) == 1 and next(iter(shape_class)) not in producers:
        return next(iter(shape_class))
    equation = producers[variable]
    for atom in _atoms(equation.rule, equation.inputs):
        if isinstance(atom, gast.Name) and shapes[atom.id] == shape_class:
            return atom.id
    return variable


def _shape_sources(variable, shapes, producers, kept):
    """Names whose shapes broadcast together give the shape of `variable`: ``[y, z]`` for ``y * z``.

    So that an elementwise result the gradient needs only for its shape
    (``np.size(diff)`` for ``np.mean(diff)``) is not computed: an elementwise
    result stands for the names it is computed from, unless the gradient
    computes it anyway (it is in `kept`).
    """
    named = _shape_name(variable, shapes, producers)
    equation = producers.get(named)
    if named in kept or equation is None or not equation.rule.elementwise:
        return [named]
    sources = []
    for atom in _atoms(equation.rule, equation.inputs):
        if isinstance(atom, gast.Name) and shapes[atom.id]:
            sources += [s for s in _shape_sources(atom.id, shapes, producers, kept) if s not in sources]
    return sources if 0 < len(sources) <= MAX_BROADCAST else [named]


MAX_BROADCAST = 32  # arguments np.broadcast takes


def _shapes_from_class(term, shapes, producers, kept, namespace):
    """`term` with ``np.shape(v)``, ``np.size(v)``, ``np.ndim(v)`` asking names known to have v's shape.

    So an array needed only for its shape (``np.sum(prod)`` needs ``np.shape(prod)``
    in its adjoint) need not be computed, or kept, when other names give its
    shape: ``np.shape(x)``, or ``np.broadcast(y, z).shape`` for ``y * z``.
    """
    def rewrite(node):
        if _is_shape_call(node, lambda module: namespace.lookup(module, None) is np):
            reference = _shape_reference(node.args[0].id, shapes, producers, kept, namespace)
            if isinstance(reference, gast.Name):
                return gast.Call(func=node.func, args=[reference], keywords=[])
            return gast.Attribute(value=reference, attr=node.func.attr, ctx=gast.Load())
        return with_children(node, rewrite)

    return rewrite(term)


def _shape_reference(variable, shapes, producers, kept, namespace):
    """A name with the shape of `variable`, or ``np.broadcast(y, z)`` of names whose broadcast has it."""
    sources = _shape_sources(variable, shapes, producers, kept)
    if len(sources) == 1:
        return name(sources[0])
    broadcast = gast.Attribute(value=namespace.reference(np), attr="broadcast", ctx=gast.Load())
    return gast.Call(func=broadcast, args=[name(s) for s in sources], keywords=[])


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
