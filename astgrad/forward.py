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

import copy
from dataclasses import replace

import gast

from . import batched, batching, runtime
from .ir import (
    CALL, PRIMAL, STACK_STATEMENTS, TANGENT, Branch, Conditional, Derivative, Loop, NewStack, NoSaves, Push,
    active_names, has_branches, loop_lines, stack_call, stack_lines, Line, each_input, not_differentiable, number_check, origin, parameter,
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
    if batched and has_branches(program.body):
        return None  # loops and branches: one pass per element (see docs/design.md)
    sweep = _Sweep(program, namespace, batched)
    names = {p: name(t) for p, t in tangents.items()}
    active = active_names(program, wrt) if has_branches(program.body) else ()
    try:
        lines = sweep.block(program.body, [(names, _memoized(lambda v: namespace.fresh(v + DOT)), active)])
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
    loops = has_branches(program.body)
    streams = [
        (passes[p], _memoized(lambda v, p=p: namespace.fresh(tangent_name(v, p))),
         active_names(program, (p,)) if loops else ())
        for p in wrt
    ]  # fmt: skip
    lines += sweep.block(program.body, streams)
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
        # Around loops and branches shapes are not followed: every elementwise tangent is broadcast (None).
        self.shapes = (
            None if has_branches(program.body)
            else shape_classes(program, [eq.rule for eq in program.equations]) if self.arrays else {}
        )  # fmt: skip

    def block(self, body, streams):
        """The lines of a block: each equation followed by its tangent in each stream (tangents, fresh name)."""
        lines = []
        for statement in body:
            if isinstance(statement, Branch):
                lines.append(self.branch(statement, streams))
                continue
            if isinstance(statement, Loop):
                lines += self.loop(statement, streams)
                continue
            if isinstance(statement, STACK_STATEMENTS):
                lines += stack_lines(statement, None)
                for tangents, fresh, active in streams:
                    lines += self.stack_tangent(statement, tangents, fresh, active)
                continue
            lines.append(primal_line(statement))
            for tangents, fresh, _ in streams:
                lines.extend(self.tangent_lines(statement, statement.rule, tangents, fresh))
        return lines

    def _zero(self, atom):
        """The tangent of a value that carries none where one is needed: a zero of its shape in array code."""
        if self.arrays and isinstance(atom, gast.Name):
            return _zero_like(atom, self.namespace)
        return gast.Constant(value=0.0, kind=None)

    def stack_tangent(self, statement, tangents, fresh, active):
        """A stack of generated code carries its values' tangents on a stack beside it."""
        if statement.stack not in active:
            return []
        where = statement.origin + (None, None)
        if isinstance(statement, NewStack):
            tangents[statement.stack] = name(fresh(statement.stack))
            return [Line(tangents[statement.stack].id, gast.List(elts=[], ctx=gast.Load()), TANGENT, where)]
        stack = tangents[statement.stack].id
        if isinstance(statement, Push):
            value = _tangent(statement.atom, tangents) or self._zero(statement.atom)
            return [Line((), stack_call(stack, "append", value), TANGENT, where)]
        tangent = fresh(statement.target)
        tangents[statement.target] = name(tangent)
        return [Line(tangent, stack_call(stack, "pop"), TANGENT, where)]

    def loop(self, loop, streams):
        """The user's loop with its tangents interleaved; a header's tangent is carried around it too."""
        where = loop.origin + (None, None)
        lines = loop_lines(loop, (), NoSaves(self.namespace))
        header_line = lines.pop()
        carried_tangents = []  # per stream: [(header tangent name, end atom)]
        body_streams = []
        for tangents, fresh, active in streams:
            inside = dict(tangents)
            pairs = []
            for h, init, end in loop.carried:
                if h not in active:
                    continue
                start = _tangent(init, tangents) or self._zero(init)
                coalesced = isinstance(init, gast.Name) and init.id == h and isinstance(start, gast.Name)
                tangent = start.id if coalesced else fresh(h)  # the loop keeps the initial value's names
                if not (isinstance(start, gast.Name) and start.id == tangent):
                    lines.append(Line(tangent, start, TANGENT, where))
                inside[h] = name(tangent)
                pairs.append((h, tangent, end))
            carried_tangents.append(pairs)
            body_streams.append((inside, fresh, active))
        primal_body = list(header_line.body)
        copies = [line for line in primal_body if line.role == PRIMAL and _is_carried_copy(line, loop)]
        test_lines = [primal_line(e) for e in loop.test_block]  # a while loop's condition, computed again
        body = self.block(loop.body, body_streams) + copies
        for (inside, _, _), pairs in zip(body_streams, carried_tangents):
            moves = [(tangent, _tangent(end, inside) or self._zero(end)) for _, tangent, end in pairs]
            body += tangent_copies(moves, where)
        lines.append(header_line.with_body(body + test_lines))
        for (tangents, _, _), pairs in zip(streams, carried_tangents):
            for h, tangent, _ in pairs:
                tangents[h] = name(tangent)
        return lines

    def branch(self, branch, streams):
        """The user's `if`, each branch with its tangents, and a tangent for each merged name that has one."""
        where = branch.origin + (None, None)
        arms = []
        for position, block in ((1, branch.then), (2, branch.orelse)):
            arm_streams = [(dict(tangents), fresh, active) for tangents, fresh, active in streams]
            lines = self.block(block, arm_streams)
            for target, *merged in branch.merges:
                atom = merged[position - 1]
                if atom is not None and not (isinstance(atom, gast.Name) and atom.id == target):
                    lines.append(Line(target, copy_atom(atom), PRIMAL, where))
            arms.append((lines, arm_streams))
        for stream, (tangents, fresh, _) in enumerate(streams):
            for target, *merged in branch.merges:
                carried = [_tangent(merged[position], arm[1][stream][0]) for position, arm in enumerate(arms)]
                if all(tangent is None for tangent in carried):
                    continue
                tangent = fresh(target)
                for (lines, arm_streams), value, atom in zip(arms, carried, merged):
                    if atom is None:
                        continue  # the name has no value after this branch
                    already = arm_streams[stream][0].get(target)
                    if isinstance(already, gast.Name) and already.id == tangent:
                        continue  # the branch's own equation computed it
                    value = value if value is not None else self._zero(atom)
                    lines.append(Line(tangent, value, TANGENT, where))
                tangents[target] = name(tangent)
        (then, _), (orelse, _) = arms
        return Conditional(copy.deepcopy(branch.test), then, orelse, where)

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
        if self.arrays and rule.elementwise and (self.shapes is None or any(
            self.shapes[a.id] != self.shapes[target] for atoms in carried.values() for a in atoms
        )):  # a broadcast input's tangent is broadcast to the output's shape (around loops: every one)
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


def _is_carried_copy(line, loop):
    """Whether a line of a loop's body is one of the copies giving its headers their end values."""
    headers = {h for h, _, _ in loop.carried}
    targets = line.target if isinstance(line.target, tuple) else (line.target,)
    return bool(targets) and all(isinstance(t, str) and t in headers for t in targets)


def tangent_copies(moves, where):
    """``dx = dx_end`` for each (header tangent, end tangent), one tuple assignment where one would clobber."""
    moves = [(t, v) for t, v in moves if not (isinstance(v, gast.Name) and v.id == t)]
    targets = {t for t, _ in moves}
    if len(moves) > 1 and any(isinstance(v, gast.Name) and v.id in targets for _, v in moves):
        value = gast.Tuple(elts=[v for _, v in moves], ctx=gast.Load())
        return [Line(tuple(t for t, _ in moves), value, TANGENT, where)]
    return [Line(t, v, TANGENT, where) for t, v in moves]


def _memoized(fresh):
    """`fresh` giving a variable the same tangent name every time (in each branch of an `if`)."""
    made = {}

    def tangent_name(variable):
        if variable not in made:
            made[variable] = fresh(variable)
        return made[variable]

    return tangent_name


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

