"""Stage 5 (forward mode), forward: the tangent (forward-mode derivative) function.

Takes a `Program` and the names of the parameters that carry a tangent, and
gives a `gast.FunctionDef` in which each equation is followed by its tangent
line, the dual-number view of differentiation:

    def jvp_f(x, y, x_dot, y_dot):
        sin_x = sin(x)
        sin_x_dot = cos(x) * x_dot
        cos_y = cos(y)
        cos_y_dot = -sin(y) * y_dot
        out = sin_x * cos_y
        out_dot = cos_y * sin_x_dot + sin_x * cos_y_dot
        return out, out_dot

A tangent is the variable's name + ``_dot`` (``x_dot``, ``sin_x_dot``, as
JAX and Griewank's dotted letters spell it), made unique against every other
name: a suffix, so that the tangent of ``y_times_z`` cannot be read as a
product the way ``dy_times_z`` could. An elementwise entry's tangent is
built from its partials (``partial * x_dot``, summed over the inputs that
carry a tangent); any other entry has a tangent template, a sum of terms
linear in the inputs' tangents, of which the terms with no tangent are left
out.

`jvp` takes one tangent parameter per differentiated parameter and returns
``(value, tangent)``. `gradient` is the forward-mode gradient of scalar code:
one forward pass per differentiated parameter, all in the same function, each
seeded with the unit tangent 1.0, which the optimize stage folds away, so the
tangents read as the partial derivatives they are, in Leibniz's spelling
``d<variable>_d<parameter>``: ``dsin_x_dx = cos(x)``, ``dout_dy``.
Like the reverse stage, the output is deliberately naive; optimize cleans it.
"""

from dataclasses import replace

import gast

from . import batched, batching, runtime
from .ir import (
    CALL, TANGENT, Derivative, Line, each_input, not_differentiable, number_check, origin, parameter,
    primal_line, return_line, unsupported, zero_gradient,
)
from .names import copy_atom, name
from .rules import MARKERS, ZERO, constant_node, tangent_terms
from .shapes import shape_classes
from .templates import instantiate

PREFIX = "d"  # a partial derivative in a forward gradient: dsin_x_dx
DOT = "_dot"  # a tangent in a direction (jvp): sin_x_dot
UNIT = 1.0


def jvp(program, wrt, batched=False):
    """``jvp_f(<params>, <p>_dot for p in wrt)`` returning ``(value, tangent)``.

    `batched` (array code): ``batched_jvp_f``, in which every tangent carries
    a leading axis of directions (see `batching`), returning the output's
    tangent alone (its shape tells the value's); None if a primitive on the
    tangents' way has no batched form.
    """
    namespace = program.namespace.fork()
    arrays = program.arrays
    tangents = {p: namespace.fresh(p + DOT) for p in wrt}
    lines = []
    sweep = _Sweep(program, namespace, batched)
    names = {p: name(t) for p, t in tangents.items()}
    for equation in program.equations:
        lines.append(primal_line(equation))
        try:
            lines.extend(sweep.tangent_lines(equation, equation.rule, names, lambda v: namespace.fresh(v + DOT)))
        except _NotBatched:
            return None
    value = copy_atom(program.output)
    directions = names[wrt[0]] if batched and wrt else None  # how many there are, for a zero tangent
    tangent = _output_tangent(program.output, names, arrays, namespace, directions)
    lines.append(return_line(tangent if batched else gast.Tuple(elts=[value, tangent], ctx=gast.Load())))
    params = [parameter(a.id) for a in program.args.args] + [parameter(tangents[p]) for p in wrt]
    function_name = ("batched_jvp_" if batched else "jvp_") + program.name
    return Derivative(function_name, _arguments(program.args, params, keep_defaults=False), tuple(lines),
                      namespace)  # fmt: skip


def gradient(program, wrt, as_tuple, with_value=False, function_name=None):
    """The forward-mode gradient of scalar code: one pass per parameter in `wrt`, in one function.

    For a tuple output (a gradient being differentiated again) the result is
    the Jacobian, one row per output: ``((d out_1 / d p_1, d out_1 / d p_2, ...), ...)``.
    """
    namespace = program.namespace.fork()
    sweep = _Sweep(program, namespace)
    passes = {p: {p: gast.Constant(value=UNIT, kind=None)} for p in wrt}
    lines = number_check(program, wrt, namespace)
    for equation in program.equations:
        lines.append(primal_line(equation))
        for p in wrt:
            fresh = lambda v, p=p: namespace.fresh(tangent_name(v, p))  # noqa: E731
            lines.extend(sweep.tangent_lines(equation, equation.rule, passes[p], fresh))
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    rows = []
    for output in outputs:
        row = [_output_tangent(output, passes[p], False, namespace) for p in wrt]
        rows.append(gast.Tuple(elts=row, ctx=gast.Load()) if as_tuple else row[0])
    result = gast.Tuple(elts=rows, ctx=gast.Load()) if isinstance(program.output, tuple) else rows[0]
    if with_value:
        result = gast.Tuple(elts=[copy_atom(program.output), result], ctx=gast.Load())
    lines.append(return_line(result))
    params = [parameter(a.id) for a in program.args.args]
    function_name = function_name or ("value_and_d_" if with_value else "d_") + program.name
    return Derivative(function_name, _arguments(program.args, params, keep_defaults=True), tuple(lines), namespace)


def tangent_name(variable, param):
    """The name of `variable`'s tangent in the pass of `param`, read as a partial derivative: ``dsin_x_dx``."""
    return f"{PREFIX}{variable}_{PREFIX}{param}"


def driver(program, wrt, as_tuple, with_value, function_name, tangent, helper, has_aux=False):
    """(the tangent function, the forward-mode derivative of array code): `helper` runs the first once per element.

        def d_f(w, b, X, y):
            value, gradient = forward_gradient(jvp_f, (w, b, X, y), wrt=(0, 1), as_tuple=True)
            return gradient

    With `has_aux`, the tangent function returns ``(loss, aux), loss_dot``, the
    helper ``value, aux, gradient``, and the driver ``gradient, aux`` (or
    ``(value, aux), gradient``). With `batched.batched_jacobian` as the
    helper, the tangent function is batched and the helper returns the
    derivative alone.

    The driver calls `tangent` (a `Derivative`, the `jvp` of `program`) by
    its name, renamed if a parameter has it: compile builds the two in one
    module (`compile.build(driver, ..., callee=tangent)`).
    """
    namespace = program.namespace.fork()
    tangent = replace(tangent, name=namespace.fresh(tangent.name))
    value = namespace.fresh("value")
    derivative = namespace.fresh(function_name.split("_")[0] if function_name else "gradient")  # hessian, jacobian
    aux = namespace.fresh("aux") if has_aux else None
    # a keyword-only parameter is found by its name among the keywords
    positions = tuple(program.params.index(p) if p in program.params else p for p in wrt)
    keywords = [gast.keyword(arg="wrt", value=constant_node(positions))]
    if as_tuple:
        keywords.append(gast.keyword(arg="as_tuple", value=gast.Constant(value=True, kind=None)))
    if has_aux:
        keywords.append(gast.keyword(arg="has_aux", value=gast.Constant(value=True, kind=None)))
    keyword_only = [a.id for a in program.args.kwonlyargs]
    if keyword_only:  # passed on to the tangent function by name
        passed = gast.Dict(keys=[gast.Constant(value=k, kind=None) for k in keyword_only],
                           values=[name(k) for k in keyword_only])  # fmt: skip
        keywords.append(gast.keyword(arg="keywords", value=passed))
    arguments = gast.Tuple(elts=[name(p) for p in program.params], ctx=gast.Load())
    call = gast.Call(func=namespace.reference(helper), args=[name(tangent.name), arguments],
                     keywords=keywords)  # fmt: skip
    returned = gast.Tuple(elts=[name(value), name(derivative)], ctx=gast.Load()) if with_value else name(derivative)
    targets = derivative if helper is batched.batched_jacobian else (value, derivative)
    if has_aux:
        targets = (value, aux, derivative)
        pair = gast.Tuple(elts=[name(value), name(aux)], ctx=gast.Load())
        returned = gast.Tuple(elts=[pair, name(derivative)] if with_value else [name(derivative), name(aux)],
                              ctx=gast.Load())  # fmt: skip
    lines = (Line(targets, call, CALL), return_line(returned))
    params = [parameter(a.id) for a in program.args.args]
    function_name = function_name or ("value_and_d_" if with_value else "d_") + program.name
    return tangent, Derivative(function_name, _arguments(program.args, params, keep_defaults=True), lines, namespace)


class _NotBatched(Exception):
    """A primitive on the tangents' way has no batched tangent template."""


class _Sweep:
    """The tangent lines of each equation of a program (`batched`: tangents with a leading axis of directions)."""

    def __init__(self, program, namespace, batched=False):
        self.program = program
        self.arrays = program.arrays
        self.namespace = namespace
        self.batched = batched
        self.shapes = shape_classes(program, [eq.rule for eq in program.equations]) if self.arrays else {}

    def tangent_lines(self, equation, rule, tangents, fresh):
        """The statement giving `equation`'s tangent (added to `tangents`), or none if it carries none."""
        carried = {}  # param -> its input atoms that carry a tangent
        for param, value in zip(rule.params, equation.inputs):
            atoms = [atom for _, atom in each_input(rule, param, value) if _tangent(atom, tangents) is not None]
            if atoms and rule.templates[param] is not ZERO:
                if rule.templates[param] in MARKERS:
                    raise not_differentiable(equation, param)
                carried[param] = atoms
        if not carried:
            return []
        if self.batched:
            rule = self._batched(rule)
        target = equation.target
        if rule.form == "partial":  # each input carrying a tangent: partial * tangent (`i` its position in a sequence)
            terms = [
                (1, gast.BinOp(left=self._instantiate(rule.templates[p], equation, rule, _position(rule, position)),
                               op=gast.Mult(), right=self._input_tangent(atom, tangents, target)))
                for p, value in zip(rule.params, equation.inputs) if p in carried
                for position, atom in each_input(rule, p, value) if _tangent(atom, tangents) is not None
            ]  # fmt: skip
        else:
            terms = self._template_terms(equation, rule, tangents)
        total = _sum(terms)
        if self.arrays and rule.elementwise and any(
            self.shapes[a.id] != self.shapes[target] for atoms in carried.values() for a in atoms
        ):  # a broadcast input's tangent is broadcast to the output's shape
            helper = batched.batched_broadcast if self.batched else runtime.broadcast_like
            total = gast.Call(func=self.namespace.reference(helper), args=[total, name(target)], keywords=[])
        tangent = fresh(target)
        tangents[target] = name(tangent)
        return [Line(tangent, total, TANGENT, origin(equation))]

    @staticmethod
    def _batched(rule):
        """The rule whose tangent template is batched (an elementwise partial needs none), or _NotBatched."""
        if rule.form == "partial":
            if rule.elementwise:
                return rule
            raise _NotBatched
        twin = batching.batched_rule(rule)
        if twin is None:
            raise _NotBatched
        return twin

    def _input_tangent(self, atom, tangents, target):
        """The tangent of an elementwise input; batched, given the output's rank where the input may have fewer axes."""
        tangent = _tangent(atom, tangents)
        if self.batched and self.shapes[atom.id] != self.shapes[target]:
            lift = self.namespace.reference(batched.batched_lifted)
            return gast.Call(func=lift, args=[tangent, name(target)], keywords=[])
        return tangent

    def _template_terms(self, equation, rule, tangents):
        """The tangent template's terms that name a carried tangent, instantiated."""
        bound = dict(zip(rule.params, equation.inputs))
        replacements = {}
        carried = set()
        for param in rule.params:
            if rule.templates[param] in MARKERS:
                continue
            elements = []
            for _, atom in each_input(rule, param, bound[param]):
                tangent = _tangent(atom, tangents)
                if tangent is not None:
                    carried.add("d_" + param)
                elements.append(tangent if tangent is not None else _zero_like(atom, self.namespace))
            if param == rule.sequence:
                replacements["d_" + param] = gast.Tuple(elts=elements, ctx=gast.Load())
            else:
                replacements["d_" + param] = elements[0]
        terms = []
        for sign, term in tangent_terms(rule):
            named = {n.id for n in gast.walk(term) if isinstance(n, gast.Name)}
            if named & carried:
                terms.append((sign, self._instantiate(term, equation, rule, replacements)))
        return terms

    def _instantiate(self, template, equation, rule, extra):
        placeholders = dict(zip(rule.params, equation.inputs))
        placeholders[rule.output] = name(equation.target)
        placeholders.update(extra)
        try:
            return instantiate(template, placeholders, rule, self.namespace)
        except ValueError as reason:
            raise unsupported(equation, reason) from None


def _position(rule, position):
    return {"i": gast.Constant(value=position, kind=None)} if rule.sequence else {}


def _tangent(atom, tangents):
    """The tangent expression of an atom, or None if it carries none (a constant, an inactive name)."""
    if isinstance(atom, gast.Name) and atom.id in tangents:
        return copy_atom(tangents[atom.id])
    return None


def _zero_like(atom, namespace):
    """The tangent of an input that carries none, where a template needs one (`np.concatenate`)."""
    return gast.Call(func=namespace.reference(runtime.zero_gradient), args=[copy_atom(atom)], keywords=[])


def _sum(terms):
    sign, total = terms[0]
    if sign < 0:
        total = gast.UnaryOp(op=gast.USub(), operand=total)
    for sign, term in terms[1:]:
        total = gast.BinOp(left=total, op=gast.Add() if sign > 0 else gast.Sub(), right=term)
    return total


def _output_tangent(output, tangents, arrays, namespace, directions=None):
    """The output's tangent; a zero where it has none (batched: as many as the tangent `directions` has)."""
    if isinstance(output, tuple):
        return gast.Tuple(elts=[_output_tangent(o, tangents, arrays, namespace, directions) for o in output],
                          ctx=gast.Load())  # fmt: skip
    tangent = _tangent(output, tangents)
    if tangent is not None:
        return tangent
    if directions is not None:
        return gast.Call(func=namespace.reference(batched.batched_zero), args=[copy_atom(output), directions],
                         keywords=[])  # fmt: skip
    if isinstance(output, gast.Name):
        return zero_gradient(output.id, arrays, namespace)
    return gast.Constant(value=0.0, kind=None)


def _arguments(args, params, keep_defaults):
    kwonly = [parameter(a.id) for a in args.kwonlyargs]
    return gast.arguments(
        args=params, posonlyargs=[], vararg=None, kwonlyargs=kwonly, kw_defaults=list(args.kw_defaults),
        kwarg=None, defaults=list(args.defaults) if keep_defaults else [],
    )  # fmt: skip

