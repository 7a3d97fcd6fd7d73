"""Shape analysis for the derivative stages: which names provably share a shape, and whom to ask for one.

Takes a `Program` (and the rules its equations use in array code) and gives
`ShapeClasses` (`shape_classes`); given those, `shape_reference` names an
expression with a variable's shape (``x``, or ``np.broadcast(y, z)``) built
from names the gradient computes anyway (`needed_anyway`), and
`shapes_from_class` rewrites ``np.shape(v)``, ``np.size(v)``, ``np.ndim(v)``
in a derivative term to ask them. So a value needed only for its shape need
not be computed (see docs/performance.md).
"""

import operator

import gast
import numpy as np

from . import runtime
from .names import copy_atom, name, with_children
from .rules import MARKERS, ZERO, returns_number
from .ir import Branch, Loop, NewStack, Pop, Push, atoms, each_input


class ShapeClasses(dict):
    """Name -> its shape class: the set of names whose shapes, broadcast together, give its shape.

    A name not computed by the program (a parameter, a global) is its own
    class; a number's class is empty. Two names of the same class have the
    same shape, whatever the arrays passed in. `numpy_values` holds the names
    surely bound to a NumPy array or NumPy number, which answer ``.shape``,
    ``.size`` and ``.ndim`` themselves.
    """

    numpy_values = frozenset()

    def __missing__(self, variable):
        return frozenset((variable,))


def shape_classes(program, rules):
    """The `ShapeClasses` of the program's names (an elementwise result has its inputs' classes together).

    A keepdims reduction of a name broadcasts to that name's shape, so next to
    it in an elementwise result it adds nothing to the class. An elementwise primitive's adjoint must be summed back to an input's shape
    (unbroadcast) unless the input is known to have the output's shape already.
    Number constants broadcast without changing any shape.
    """
    shapes, state = _new_classes(program)
    for equation, rule in zip(program.equations, rules):
        _classify(equation, rule, shapes, state)
    return shapes


def structured_shape_classes(program):
    """The `ShapeClasses` of a program with loops and branches (its equations' own rules).

    A loop's header has the class of its initial value when the body gives
    its end value that class again (its shape is loop invariant, by
    induction); else a class of its own, ``h'``, standing for its shape in the
    iteration at hand (an RNN's state of shape ``(H, 1)`` meeting a batch),
    which names no value. A merged name has its branches' class when both
    give the same one, else one of its own.
    """
    shapes, state = _new_classes(program)
    _classify_block(program.body, shapes, state)
    return shapes


def _new_classes(program):
    shapes = ShapeClasses()
    shapes.numpy_values = set()
    # slices: (the sliced name's class, elements dropped) -> the first slice's class;
    # within: a keepdims reduction -> the class of what it reduces, whose shape it broadcasts to
    state = {"is_numpy_module": numpy_test(program.namespace), "slices": {}, "within": {}}
    return shapes, state


def _classify_block(body, shapes, state):
    for statement in body:
        if isinstance(statement, Branch):
            _classify_block(statement.then, shapes, state)
            _classify_block(statement.orelse, shapes, state)
            for target, *atoms_merged in statement.merges:
                classes = [_atom_class(a, shapes) for a in atoms_merged if a is not None]
                same = all(c == classes[0] for c in classes)
                shapes[target] = classes[0] if classes and same else _own_class(target)
        elif isinstance(statement, Loop):
            _classify_loop(statement, shapes, state)
        elif isinstance(statement, Pop):
            shapes[statement.target] = _own_class(statement.target)
        elif isinstance(statement, (Push, NewStack)):
            continue
        else:
            _classify(statement, statement.rule, shapes, state)


def _classify_loop(loop, shapes, state):
    """The classes of a loop's names: its headers' to a fixpoint (each either its initial value's or its own)."""
    varying = set()
    while True:
        for header, init, _ in loop.carried:
            shapes[header] = _own_class(header) if header in varying else _atom_class(init, shapes)
        for equation in loop.test_block:
            _classify(equation, equation.rule, shapes, state)
        _classify_block(loop.body, shapes, state)
        changed = {h for h, _, end in loop.carried if h not in varying and _atom_class(end, shapes) != shapes[h]}
        if not changed:
            return
        varying |= changed


def _own_class(variable):
    """A class standing for a shape no other name is known to share (``h'`` is no name of the program)."""
    return frozenset((variable + "'",))


def _atom_class(atom, shapes):
    if isinstance(atom, gast.Name):
        return shapes[atom.id]
    if isinstance(atom, gast.Constant) and isinstance(atom.value, (int, float, complex)):
        return frozenset()
    return _own_class(repr(id(atom)))


def _classify(equation, rule, shapes, state):
    """The class of one equation's target, from its inputs' classes."""
    slices, within = state["slices"], state["within"]
    names = [a.id for a in atoms(rule, equation.inputs) if isinstance(a, gast.Name)]
    if _gives_numpy_value(equation.value, any(n in shapes.numpy_values for n in names), state["is_numpy_module"]):
        shapes.numpy_values.add(equation.target)
    classes = [shapes[n] for n in names]
    union = frozenset().union(*classes)
    if returns_number(rule, equation.inputs) or (rule.fn is operator.getitem and not union):
        shapes[equation.target] = frozenset()
    elif rule.elementwise:
        shapes[equation.target] = _without_kept_dims(union, within)
    elif rule.fn in SHAPED_LIKE:  # a run-time helper of generated code: the shape of one of its inputs
        like = equation.inputs[SHAPED_LIKE[rule.fn]]
        shapes[equation.target] = shapes[like.id] if isinstance(like, gast.Name) else frozenset()
    else:
        shapes[equation.target] = frozenset((equation.target,))
        reduced = _reduced_keeping_dims(rule, equation.inputs)
        if reduced is not None and shapes[reduced]:
            within[equation.target] = shapes[reduced]
        dropped = _dropped_by_slice(rule, equation.inputs)
        if dropped is not None:  # x[1:] and x[:-1] have one shape: the first one's
            key = (shapes[equation.inputs[0].id], dropped)
            shapes[equation.target] = slices.setdefault(key, shapes[equation.target])


def _reduced_keeping_dims(rule, inputs):
    """The name ``np.f(x, axis=A, keepdims=True)`` reduces (`x`), else None."""
    if not rule.reduction:
        return None
    reduced, _, keepdims = rule.reduction_inputs(inputs)
    return reduced.id if keepdims is True and isinstance(reduced, gast.Name) else None


def _without_kept_dims(union, within):
    """`union` without the keepdims reductions of names in it: ``{x}`` for ``x - np.mean(x, axis=1, keepdims=True)``.

    Such a reduction has as many axes as what it reduces, each of length 1 or
    the same, so broadcasting it with that changes no shape.
    """
    return frozenset(m for m in union if not (m in within and within[m] <= union))


# The helpers of generated code whose result has the shape of one of their inputs (its position):
# an adjoint has its variable's shape. Second derivatives of NumPy code read them.
SHAPED_LIKE = {
    runtime.matmul_left_adjoint: 1,  # (d_z, x, y): x's
    runtime.matmul_right_adjoint: 2,  # (d_z, x, y): y's
    runtime.unbroadcast: 1,  # (gradient, like)
    runtime.broadcast_like: 1,  # (tangent, like)
}


def _dropped_by_slice(rule, inputs):
    """How many leading elements ``x[a:-b]`` drops (a + b), for constant a >= 0 and b > 0 or none; else None.

    Two such slices of one array that drop as many have the same shape,
    whatever its length (at least the number dropped).
    """
    if rule.fn is not operator.getitem or not isinstance(inputs[0], gast.Name):
        return None
    index = inputs[1]
    if not isinstance(index, gast.Slice) or index.step is not None:
        return None
    start = _constant(index.lower, default=0)
    stop = _constant(index.upper, default=0)
    if start is None or stop is None or start < 0 or stop > 0 or (stop == 0 and index.upper is not None):
        return None
    return start - stop


def _constant(node, default):
    if node is None:
        return default
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) and isinstance(node.operand, gast.Constant):
        value = node.operand.value
        return -value if type(value) is int else None
    value = getattr(node, "value", None) if isinstance(node, gast.Constant) else None
    return value if type(value) is int else None


def _gives_numpy_value(value, reads_numpy_value, is_numpy_module):
    """Whether `value` is surely a NumPy array or number: NumPy computed it, or an operator did from one.

    An argument may be a Python number, which has no ``.size``; NumPy's
    functions (other than ``np.shape`` and the like) and the operators of its
    values give NumPy values. Other calls and methods are left out
    (``.item()`` gives a Python number).
    """
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute):  # np.tanh(x), np.linalg.norm(x)
        root = value.func
        while isinstance(root, gast.Attribute):
            root = root.value
        numpy_function = isinstance(root, gast.Name) and is_numpy_module(root.id)
        return numpy_function and not is_numpy_call(value, SHAPE_FUNCTIONS, is_numpy_module)
    if isinstance(value, gast.BinOp) and isinstance(value.op, gast.MatMult):
        return True
    if isinstance(value, gast.UnaryOp):
        return reads_numpy_value and not isinstance(value.op, gast.Not)  # `not x` is a Python bool
    return reads_numpy_value and isinstance(value, (gast.BinOp, gast.Compare, gast.Subscript))


SHAPE_FUNCTIONS = ("shape", "size", "ndim")


def needed_anyway(program, rules, active, computed=()):
    """Names the gradient computes anyway: those its templates read, `computed`, and what they are computed from.

    ``z`` for ``y * z``, whose partial is ``z``. Asking one of them for a
    shape costs nothing.
    """
    read = _read_by_templates(program, rules, active)
    needed = Needed(read)
    for equation, rule in reversed(list(zip(program.equations, rules))):
        if equation.target in needed:
            needed |= {atom.id for atom in atoms(rule, equation.inputs) if isinstance(atom, gast.Name)}
    needed |= set(computed)  # not their parts: those stay nested in the user's expressions
    needed.standing = frozenset(read) | frozenset(computed)
    return needed


class Needed(set):
    """Names the gradient computes anyway; `standing`: those of them on a line of their own.

    A template or the user reads those by name; the others may be parts of a
    user's expression, written nested again unless something else reads them.
    """

    standing = frozenset()


def _read_by_templates(program, rules, active):
    """Names the derivative templates for the `active` inputs read, other than for their shapes."""
    return read_by_templates(zip(program.equations, rules), active)


def read_by_templates(equations_and_rules, active):
    """Names the derivative templates of (equation, rule) pairs read for the `active` inputs, other than for
    their shapes."""
    read = set()
    for equation, rule in equations_and_rules:
        if equation.target not in active:
            continue
        bound = dict(zip(rule.params, equation.inputs), **{rule.output: name(equation.target)})
        for param in rule.params:
            template = rule.templates[param]
            inputs = [atom for _, atom in each_input(rule, param, bound[param])]
            if template in MARKERS or template is ZERO or not any(_is_active(a, active) for a in inputs):
                continue
            for placeholder in _values_read(template) & set(bound):
                inputs_read = [atom for _, atom in each_input(rule, placeholder, bound[placeholder])]
                read |= {atom.id for atom in inputs_read if isinstance(atom, gast.Name)}
    return read


def _is_active(atom, active):
    return isinstance(atom, gast.Name) and atom.id in active


def _values_read(template):
    """The placeholders a template reads other than for their shapes (``np.shape(x)``)."""
    if isinstance(template, gast.Name):
        return {template.id}
    if is_shape_call(template, lambda module: module == "np"):
        return set()
    return set().union(*(_values_read(child) for child in gast.iter_child_nodes(template)))


def numpy_test(namespace):
    """A test of a module's name: whether it names NumPy in `namespace` (``np``, or however it was imported)."""

    def is_numpy_module(module):
        return namespace.lookup(module, None) is np

    return is_numpy_module


def is_numpy_call(node, functions, is_numpy_module):
    """Whether `node` calls ``np.<f>`` for an f in `functions` (`is_numpy_module` tells which name is NumPy)."""
    return (
        isinstance(node, gast.Call)
        and isinstance(node.func, gast.Attribute)
        and node.func.attr in functions
        and isinstance(node.func.value, gast.Name)
        and is_numpy_module(node.func.value.id)
    )


def is_shape_call(node, is_numpy_module):
    """Whether `node` is ``np.shape(v)``, ``np.size(v)`` or ``np.ndim(v)`` of one name."""
    return (
        is_numpy_call(node, SHAPE_FUNCTIONS, is_numpy_module)
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], gast.Name)
    )


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
    for atom in atoms(equation.rule, equation.inputs):
        if isinstance(atom, gast.Name) and shapes[atom.id] == shape_class:
            return atom.id
    return variable


def _shape_sources(variable, shapes, producers, kept):
    """Names whose shapes broadcast together give the shape of `variable`: ``[y, z]`` for ``y * z``.

    A variable the gradient computes anyway names its own shape. So that an
    elementwise result the gradient needs only for its shape
    (``np.size(diff)`` for ``np.mean(diff)``) is not computed: an elementwise
    result stands for the names it is computed from, unless the gradient
    computes it anyway (it is in `kept`).
    """
    named = variable if variable in getattr(kept, "standing", ()) else _shape_name(variable, shapes, producers)
    equation = producers.get(named)
    if named in kept or equation is None or not equation.rule.elementwise:
        return [named]
    sources = []
    for atom in atoms(equation.rule, equation.inputs):
        if isinstance(atom, gast.Name) and shapes[atom.id]:
            sources += [s for s in _shape_sources(atom.id, shapes, producers, kept) if s not in sources]
    return sources if 0 < len(sources) <= MAX_BROADCAST else [named]


MAX_BROADCAST = 32  # arguments np.broadcast takes


def shapes_from_class(term, shapes, producers, kept, namespace):
    """`term` with ``np.shape(v)``, ``np.size(v)``, ``np.ndim(v)`` asking names known to have v's shape.

    So an array needed only for its shape (``np.sum(prod)`` needs ``np.shape(prod)``
    in its adjoint) need not be computed, or kept, when other names give its
    shape: ``np.shape(x)``, or ``np.broadcast(y, z).shape`` for ``y * z``.
    The size of a number is 1.
    """
    is_numpy_module = numpy_test(namespace)

    def rewrite(node):
        node = _count_of_reduction(node, producers, is_numpy_module) or node
        if is_shape_call(node, is_numpy_module) and node.func.attr == "size" and not shapes[node.args[0].id]:
            return gast.Constant(value=1, kind=None)  # the size of a number: a count of 1 is not written
        if is_shape_call(node, is_numpy_module):
            reference = shape_reference(node.args[0].id, shapes, producers, kept, namespace)
            if isinstance(reference, gast.Name) and reference.id not in shapes.numpy_values:
                return gast.Call(func=node.func, args=[reference], keywords=[])
            return gast.Attribute(value=reference, attr=node.func.attr, ctx=gast.Load())
        return with_children(node, rewrite)

    return rewrite(term)


def _count_of_reduction(node, producers, is_numpy_module):
    """``1 / np.shape(x)[a]`` for ``np.size(y) / np.size(x)`` where y reduces x over the one axis a, else None.

    A mean's count named from its input's own shape (``d_var / x.shape[-1]``
    once optimize has written ``d * (1 / n)`` as ``d / n``).
    """
    if not (isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div)):
        return None
    sizes = [node.left, node.right]
    if not all(is_shape_call(size, is_numpy_module) and size.func.attr == "size" for size in sizes):
        return None
    reduced, whole = (size.args[0].id for size in sizes)
    equation = producers.get(reduced)
    if equation is None or not equation.rule.reduction:
        return None
    try:
        x, axis, _ = equation.rule.reduction_inputs(equation.inputs)
    except (ValueError, TypeError, SyntaxError, KeyError):
        return None
    if type(axis) is not int or not (isinstance(x, gast.Name) and x.id == whole):
        return None
    shape = gast.Call(func=copy_atom(node.right.func), args=[name(whole)], keywords=[])
    shape.func.attr = "shape"
    index = gast.Constant(value=axis, kind=None) if axis >= 0 else gast.UnaryOp(
        op=gast.USub(), operand=gast.Constant(value=-axis, kind=None))
    length = gast.Subscript(value=shape, slice=index, ctx=gast.Load())
    return gast.BinOp(left=gast.Constant(value=1, kind=None), op=gast.Div(), right=length)


def shape_reference(variable, shapes, producers, kept, namespace):
    """A name with the shape of `variable`, or ``np.broadcast(y, z)`` of names whose broadcast has it."""
    sources = _shape_sources(variable, shapes, producers, kept)
    if len(sources) == 1:
        return name(sources[0])
    broadcast = gast.Attribute(value=namespace.reference(np), attr="broadcast", ctx=gast.Load())
    return gast.Call(func=broadcast, args=[name(s) for s in sources], keywords=[])
