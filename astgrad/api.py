"""The public API: `grad`, `value_and_grad`, `jvp`, `hessian`, `source`, `primitive_table`; the driver of the stages.

    source -> check -> resolve -> ssa -> cse -> reverse | forward -> optimize -> names -> compile

`transform` below is that line of stages. A transformation runs once per
(function, wrt, mode, kind) and is cached; `grad` returns the generated
function itself, so calling it costs only the generated code.
The public functions are annotated for type checkers: a generated function is
a `Callable[..., Any]`, and a decorator call without `fn` returns a decorator.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import gc
import os
import sys
import threading
import types
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union, overload

import gast

from . import (
    batched, check, compile, cse, forward, ir, optimize, outputs, parse, primitives_doc, pytrees, rename, resolve,
    reverse, rules, runtime, ssa, user_rules, varargs,
)
from .arrays import ArrayPolicy
from .errors import AstgradError, Location, NoDerivativeError, NonScalarOutputError

Function = Callable[..., Any]
Decorator = Callable[[Function], Function]
Wrt = Optional[Union[int, str, Sequence[Union[int, str]]]]  # None, a position or name, or a tuple or list of them

MODES = ("reverse", "forward")
CACHE_ATTRIBUTE = "__astgrad_gradients__"
_cache = weakref.WeakKeyDictionary()  # for callables without a __dict__: callable -> {key: generated function}
_cache_lock = threading.RLock()
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
DEEP_STACK_BYTES = 512 * 1024 * 1024
DEEP_RECURSION_LIMIT = 200_000


@overload
def grad(fn: Function, wrt: Wrt = None, mode: str = "reverse", has_aux: bool = False) -> Function: ...
@overload
def grad(fn: None = None, wrt: Wrt = None, mode: str = "reverse", has_aux: bool = False) -> Decorator: ...
def grad(fn: Optional[Function] = None, wrt: Wrt = None, mode: str = "reverse", has_aux: bool = False) -> Function:
    """The gradient function of `fn` (usable as a bare decorator or as ``grad(fn, wrt=...)``).

    `wrt` selects the parameters: None for every positional parameter, an int
    or a name for one (the gradient is then a single value), a tuple or list
    of them for a tuple of gradients in that order. The generated function
    takes `fn`'s parameters plus an optional output seed `d_out=1.0`.

    `mode="forward"` gives the same numbers by forward mode: one forward pass
    per differentiated parameter (per element of an array), and no seed.

    With `has_aux=True`, `fn` returns a pair ``(loss, aux)``: the loss is
    differentiated and the generated function returns ``(gradient, aux)``.
    """
    if fn is None:
        return functools.partial(grad, wrt=wrt, mode=mode, has_aux=has_aux)
    return _for_user(fn, wrt, mode, "grad", has_aux)


@overload
def value_and_grad(fn: Function, wrt: Wrt = None, mode: str = "reverse", has_aux: bool = False) -> Function: ...
@overload
def value_and_grad(fn: None = None, wrt: Wrt = None, mode: str = "reverse", has_aux: bool = False) -> Decorator: ...
def value_and_grad(
    fn: Optional[Function] = None, wrt: Wrt = None, mode: str = "reverse", has_aux: bool = False
) -> Function:
    """Like `grad`, but the generated function returns ``(fn(...), gradient)`` (``((loss, aux), gradient)``)."""
    if fn is None:
        return functools.partial(value_and_grad, wrt=wrt, mode=mode, has_aux=has_aux)
    return _for_user(fn, wrt, mode, "value_and_grad", has_aux)


@overload
def jvp(fn: Function, wrt: Wrt = None, has_aux: bool = False) -> Function: ...
@overload
def jvp(fn: None = None, wrt: Wrt = None, has_aux: bool = False) -> Decorator: ...
def jvp(fn: Optional[Function] = None, wrt: Wrt = None, has_aux: bool = False) -> Function:
    """The forward-mode derivative of `fn`: ``jvp_f(*args, *tangents)`` returns ``(f(*args), tangent)``.

    It takes one tangent per positional parameter (or per parameter in `wrt`),
    a direction of that argument's shape, and returns the value and the
    directional derivative, of the value's shape: any output, vector or tuple.
    Parameters with default values must be passed too. With `has_aux`, `fn`
    returns ``(out, aux)`` and ``jvp_f`` returns ``(out, tangent, aux)``, as JAX's.
    """
    if fn is None:
        return functools.partial(jvp, wrt=wrt, has_aux=has_aux)
    return _for_user(fn, wrt, "forward", "jvp", has_aux)


@overload
def hessian(fn: Function, wrt: Wrt = None) -> Function: ...
@overload
def hessian(fn: None = None, wrt: Wrt = None) -> Decorator: ...
def hessian(fn: Optional[Function] = None, wrt: Wrt = None) -> Function:
    """The second derivatives of a scalar function, by forward mode over its reverse-mode gradient.

    For one parameter, the second derivative, of shape ``x.shape + x.shape``
    for an array (an n x n matrix for a vector); for several, a nested tuple
    ``H[i][j]`` = d²f / d(p_i) d(p_j), in the order of `wrt` (None: every
    positional parameter). Like `grad`, the result takes an output seed:
    `hessian(f)(x, d_out=s)` is the Hessian of ``s * f``.
    """
    if fn is None:
        return functools.partial(hessian, wrt=wrt)
    return _for_user(fn, wrt, "forward", "hessian")


def _for_user(
    fn: Function, wrt: Wrt, mode: str, kind: str, has_aux: bool = False, output: Optional[int] = None
) -> Function:
    """`_generated`, with an error's traceback cut: it names the user's line, not astgrad's insides."""
    try:
        return _generated(fn, wrt, mode, kind, has_aux, output)
    except AstgradError as error:
        raise error.with_traceback(None) from None


def source(generated: Function, comments: bool = False, standalone: bool = False) -> str:
    """The source text of a function astgrad generated.

    With `comments`, each derivative line ends with the line of the user's
    function it came from: ``d_x = d_sin_x * cos(x)  # from line 2: return sin(x) * cos(y)``
    (or, where that would run past 79 columns, the comments stand on lines of their own).
    With `standalone`, the text of a whole module that runs without astgrad:
    the function with the imports, values, run-time helpers and other
    generated functions it reads (see `astgrad.standalone`).
    """
    if isinstance(generated, pytrees.Dispatcher):  # the code for the latest call's structure
        generated = generated.latest or generated.default()
    record = getattr(generated, "__astgrad__", None)
    if record is None:
        raise TypeError(f"{generated!r} was not generated by astgrad")
    record.register_source()  # for tracebacks and inspect, should linecache have been cleared
    if standalone:
        try:
            from . import standalone as export  # when first asked for: `import astgrad` stays cheap

            return export.module_source(generated, comments)
        except AstgradError as error:
            raise error.with_traceback(None) from None
    return record.commented_source() if comments else record.source


def primitive_table() -> str:
    """Every function, operator and method astgrad differentiates, with its derivative and tangent.

    Markdown text: an introduction to the template vocabulary, then a table
    with one row per primitive (the page docs/primitives.md of the source
    repository; ``astgrad primitives`` prints it).
    """
    return primitives_doc.markdown()


def _generated(fn: Function, wrt: Wrt, mode: str, kind: str, has_aux: bool = False, output=None) -> Function:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if not isinstance(has_aux, bool):
        raise TypeError(f"has_aux must be True or False, not {has_aux!r}")
    where = _caller()
    key = (_wrt_key(wrt), mode, kind, len(rules.REGISTERED))  # a rule registered since: made anew
    key += (has_aux, output) if has_aux or output is not None else ()
    if isinstance(fn, pytrees.Dispatcher):  # a derivative of a derivative: of its code for arrays
        fn = fn.default()
    with _cache_lock:
        per_function = _cache_of(fn)
        if key not in per_function:
            packed = None if rules.rules_for(fn) else _with_packed_parameters(fn, where)
            dispatcher = parsed = None
            if packed is None and not isinstance(fn, varargs.PerCall) and not rules.rules_for(fn):
                dispatcher, parsed = _container_dispatcher(fn, wrt, mode, kind, where, has_aux, output)  # a rule: what it takes
            if isinstance(fn, varargs.PerCall):  # a derivative of a derivative, for each call's shape
                per_function[key] = _per_call(fn.function, wrt, mode, kind, where, has_aux, output, of=fn)
            elif packed is not None:  # *args or **kwargs: made at each call, for what they hold
                per_function[key] = _per_call(packed, wrt, mode, kind, where, has_aux, output)
            elif dispatcher is not None:
                per_function[key] = dispatcher
            elif kind in ("hessian", "hvp"):  # the gradient first (cached too), then its derivative
                first = _generated(fn, wrt, "reverse", "grad")
                if isinstance(first, pytrees.Dispatcher):
                    first = first.default()
                per_function[key] = _on_deep_stack(transform, first, wrt, mode, kind, where)
            else:  # a function with a rule of its own is differentiated by the rule, not its body
                target = user_rules.calling(fn) if rules.rules_for(fn) else parsed or fn  # read once, not twice
                per_function[key] = _on_deep_stack(transform, target, wrt, mode, kind, where, has_aux, output)
        return per_function[key]


def _with_packed_parameters(fn, where):
    """The parsed `fn` if it has a ``*args`` or ``**kwargs`` parameter, else None."""
    if isinstance(fn, varargs.PerCall) or getattr(fn, "__astgrad__", None) is not None:
        return None
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is None or not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return None
    try:
        function = _on_deep_stack(parse.read, fn, where)
    except AstgradError:
        return None  # transform raises it again, as for any function
    return function if varargs.has_packed(function.tree) else None


def _per_call(function, wrt, mode, kind, where, has_aux=False, output=None, of=None):
    """A `varargs.PerCall` making the derivative of `function` for each call's ``*args`` and ``**kwargs``.

    What the function's text alone decides is checked now: its syntax (for
    the values its constant reads imply) and `wrt`, which names parameters
    of the def (by default its positional ones), never ``*args`` or ``**kwargs``.
    With `of` (the `PerCall` of a derivative of `function`), each shape's
    derivative differentiates that derivative's code for the shape.
    """
    location = Location(function.filename)
    try:
        check.check(varargs.specialize(function, varargs.guessed_shape(function.tree)).function.tree, location)
    except varargs.ArgumentsError:
        pass  # a read the guessed shape does not provide: the call says whether it is one
    names = _packed_wrt_names(function, wrt)
    wrt = wrt if wrt is not None else names if len(names) != 1 else names[0]

    def derivative(specialized):
        read, unpacked = pytrees.candidates(specialized.tree) if of is None else ((), ())
        if read or unpacked or of is None and pytrees.iterated(specialized.tree):  # it may take containers too (`def loss(params, *args)`): their dispatcher
            signature = varargs.signature(specialized)
            return _dispatcher_of(specialized, signature, unpacked, wrt, mode, kind, where, has_aux, output)
        if kind in ("hessian", "hvp"):
            first = _on_deep_stack(transform, specialized, wrt, "reverse", "grad", where)
            return _on_deep_stack(transform, first, wrt, mode, kind, where)
        return _on_deep_stack(transform, specialized, wrt, mode, kind, where, has_aux, output)

    prefix = {"value_and_grad": "value_and_d_", "jvp": "jvp_", "hessian": "hessian_", "hvp": "hvp_"}.get(kind, "d_")
    tangents = len(names) if kind in ("jvp", "hvp") else 0
    name = prefix + (of.__name__ if of is not None else function.name)
    return varargs.PerCall(function, derivative, name, tangents, of)


def _packed_wrt_names(function, wrt):
    """The parameters `wrt` names in a def with ``*args`` or ``**kwargs`` (None: its positional parameters)."""
    args = function.tree.args
    positional = [a.id for a in args.posonlyargs + args.args if a.id != function.instance]
    named = varargs.named_parameters(function.tree)
    items = wrt if isinstance(wrt, (tuple, list)) else tuple(positional) if wrt is None else (wrt,)
    names = []
    for item in items:
        if isinstance(item, int):
            if not -len(positional) <= item < len(positional):
                raise ValueError(
                    f"wrt={item} is out of range: {function.name} has positional parameters {tuple(positional)} "
                    "(the values of *args are data)"
                )
            item = positional[item]
        if item in varargs.packed(function.tree):
            raise varargs.refuse_in_wrt(function, item)
        if item == function.instance:
            raise _instance_in_wrt(function, item)
        if item not in named:
            raise ValueError(f"wrt={item!r} is not a parameter of {function.name}; its parameters are {tuple(named)}")
        names.append(item)
    if not names:
        vararg, kwarg = varargs.packed(function.tree)
        raise Location(function.filename).error(
            NoDerivativeError,
            args.vararg or args.kwarg,
            f"{function.name} has no parameter to differentiate: what `*{vararg}` and `**{kwarg}` hold is data"
            if vararg and kwarg else f"{function.name} has no parameter to differentiate: what "
            f"`{'*' + vararg if vararg else '**' + kwarg}` holds is data",
            hint=f"give the value to differentiate a parameter of its own, e.g. `def {function.name}(x, "
            f"{'*' + vararg if vararg else '**' + kwarg})`",
        )
    return tuple(names)


def _container_dispatcher(fn, wrt, mode, kind, where, has_aux=False, output=None):
    """(dispatcher, parsed): a `pytrees.Dispatcher` if `fn` reads a parameter by a constant key or unpacks one (it
    may take containers), else None; and when there is none, `fn` as parsed (None if it could not be read).

    Gradients (with or without value or aux) and `jvp` take containers; the
    other kinds (Hessians, Jacobians' rows, hvp) take arrays, and refuse a
    container at the call.
    """
    if getattr(fn, "__astgrad__", None) is not None:
        return None, None
    try:
        function, (read, unpacked) = _on_deep_stack(_read_candidates, fn, where)
    except AstgradError:
        return None, None  # transform raises it again, as for any function
    if not read and not unpacked and not pytrees.iterated(function.tree):
        return None, function
    return _dispatcher_of(function, inspect.signature(fn), unpacked, wrt, mode, kind, where, has_aux, output), None


def _dispatcher_of(function, signature, unpacked, wrt, mode, kind, where, has_aux=False, output=None):
    """The `pytrees.Dispatcher` of the parsed `function`, whose parameters `signature` describes."""

    def derivative(source_function, names):
        if kind in ("hessian", "hvp"):
            first = _on_deep_stack(transform, source_function, names, "reverse", "grad", where)
            return _on_deep_stack(transform, first, names, mode, kind, where)
        return _on_deep_stack(transform, source_function, names, mode, kind, where, has_aux, output)

    def default():  # on a copy: the rewrites for containers start from the tree as parsed
        return derivative(dataclasses.replace(function, tree=copy.deepcopy(function.tree)), wrt)

    containers = kind in ("grad", "value_and_grad", "jvp") and output is None
    return pytrees.Dispatcher(function, signature, wrt, kind, unpacked, default, derivative, has_aux, containers)


def _read_candidates(fn, where):
    function = parse.read(fn, where)
    return function, pytrees.candidates(function.tree)


def _cache_of(fn):
    """The derivatives already made of `fn`: {(wrt, mode, kind): generated function}.

    They are kept on the function itself, so they live exactly as long as it
    does. A weak-keyed table would not do: a generated function shares its
    user function's globals, which usually hold the user function, so the
    table's value would keep its own key alive.
    A bound method's derivatives are not kept: its `__dict__` is its
    function's, shared by every instance, and the derivative reads its own
    instance's attributes.
    """
    if isinstance(fn, types.MethodType):
        return {}
    try:
        return fn.__dict__.setdefault(CACHE_ATTRIBUTE, {})
    except (AttributeError, TypeError):  # no __dict__ (a builtin, a bound method): read() explains
        try:
            return _cache.setdefault(fn, {})
        except TypeError:
            return {}


def transform(fn, wrt=None, mode="reverse", kind="grad", where=None, has_aux=False, output=None):
    """Run the pipeline on `fn`: the generated derivative function.

    `kind` is "grad", "value_and_grad", "jvp", or "hessian" or "hvp" (then `fn`
    is the gradient to differentiate once more, by forward mode). `has_aux`:
    `fn` returns ``(loss, aux)`` (see `outputs`); `output`: the position of
    the output to differentiate in a tuple output (a Jacobian's row).
    """
    front = front_end(fn, where)
    program, function = front.program, front.function
    params = _primal_params(program, function)
    names = _data_free(program.params, function) if kind == "jvp" and wrt is None else _wrt_names(program, function, wrt)
    if kind == "jvp":
        program, aux = outputs.split_aux(program, front.location, function) if has_aux else (program, None)
        tangents = forward.jvp(program, names)
        tangents = outputs.jvp_returning_aux(tangents, aux) if has_aux else tangents
        return compile.build(finished(tangents, program), function, params, seed=False)
    if kind == "hvp":
        tangents = outputs.hvp(forward.jvp(program, names), program, "hvp_" + program.name[len("d_"):])
        return compile.build(finished(tangents, program), function, params, seed=True)
    aux = None
    if has_aux:
        program, aux = outputs.split_aux(program, front.location, function)
    if output is not None:
        program = outputs.selected(program, output)
    if kind not in ("hessian", "jacobian"):
        _require_scalar_output(program, front.location, function)
    as_tuple = isinstance(wrt, (tuple, list)) or len(names) != 1
    with_value = kind == "value_and_grad"

    def finished_with_aux(derivative, returned):
        if has_aux:
            derivative = outputs.with_aux(derivative, aux, with_value)
            returned = outputs.aux_returned(returned, with_value)
        return finished(derivative, program, returned)

    if mode == "reverse":
        adjoint = reverse_adjoint(program, names, as_tuple=as_tuple, with_value=with_value)
        returned = rename.gradient_names(names, adjoint.names, as_tuple, with_value)
        return compile.build(finished_with_aux(adjoint, returned), function, params)
    function_name = {"hessian": "hessian_" + program.name[len("d_"):], "jacobian": "jacobian_" + program.name}.get(kind)
    if not program.arrays:
        tangents = forward.gradient(program, names, as_tuple, with_value, function_name)
        returned = returned_names(program, names, kind, as_tuple, with_value)
        return compile.build(finished_with_aux(tangents, returned), function, params, seed=False)
    # Array code: a driver calling the tangent function once per element of each parameter, compiled together;
    # for a Hessian, once with every direction along a leading axis when each primitive has a batched form.
    tangents = forward.jvp(program, names, batched=True) if kind == "hessian" else None
    helper = batched.batched_jacobian
    if tangents is None:
        tangents = forward.jvp(program, names)
        helper = runtime.forward_jacobian if kind in ("hessian", "jacobian") else runtime.forward_gradient
    if has_aux:
        tangents = outputs.jvp_with_aux(tangents, aux)
    tangent = finished(tangents, program)
    tangent, driver = forward.driver(program, names, as_tuple, with_value, function_name, tangent, helper, has_aux)
    return compile.build(driver, function, params, seed=False, callee=tangent)


def reverse_adjoint(program, wrt, as_tuple, with_value=False, arrays=True):
    """The reverse stage, with the array policy in array code (`arrays=False`: the literal templates)."""
    return reverse.reverse(program, wrt, as_tuple, with_value, ArrayPolicy if arrays else None)


def finished(derivative, program, returned=None):
    """The last stages before compile: optimize, then names (the user's names kept)."""
    return rename.rename(optimize.optimize(derivative), program.user_names, returned, bool(program.primal_params))


def returned_names(program, wrt, kind, as_tuple, with_value):
    """The names a forward-mode gradient's or Hessian's returned values should have (None: as they are).

    A first derivative is the output's tangent, ``dout_dx``, whichever copy
    of it the return reads; a second derivative (of a generated gradient) is
    ``d2_x`` (``d2_dx_dy`` in a Hessian matrix), as in reverse mode.
    """
    if kind == "hessian":
        return rename.hessian_names(wrt, as_tuple, with_value)
    if isinstance(program.output, tuple) or not isinstance(program.output, gast.Name):
        return None  # a Jacobian's rows, or a constant
    order, _ = rename.derivative_order(program.name) if program.primal_params else (0, program.name)
    if order:
        return rename.gradient_names(wrt, {}, as_tuple, with_value, order + 1)
    names = tuple(forward.tangent_name(program.output.id, p) for p in wrt)
    gradient = names if as_tuple else names[0]
    return (None, gradient) if with_value else gradient


@dataclass
class FrontEnd:
    """The stages before differentiation, as objects: source, check, resolve, ssa, cse."""

    function: parse.Function
    location: Location
    resolved: resolve.Resolved
    single_assignment: ir.Program  # as ssa made it
    program: ir.Program  # each value computed once (cse): what the derivative stages take


def front_end(fn, where=None):
    """The first five stages on `fn` (shared with `explain` and `graph`)."""
    function = fn if isinstance(fn, parse.Function) else parse.read(fn, where)
    if varargs.has_packed(function.tree):  # `explain`, `graph` and the command line: for the values its reads imply
        function = varargs.specialize(function, varargs.guessed_shape(function.tree)).function
    location = Location(function.filename)
    survey = check.survey(function.tree, location, generated=function.primal_params is not None)
    resolved = resolve.resolve(function, location, survey if survey.obstacles else None, past_obstacles=True)
    single_assignment = ssa.to_ssa(resolved, location)
    program = cse.eliminate_common_subexpressions(single_assignment)
    return FrontEnd(function, location, resolved, single_assignment, program)


def _primal_params(program, function):
    return function.primal_params or program.params


def _wrt_key(wrt):
    """`wrt` as a cache key, after checking its type (True must not pass for 1)."""
    items = wrt if isinstance(wrt, (tuple, list)) else () if wrt is None else (wrt,)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise TypeError(f"wrt must be an int, a parameter name, or a tuple of them, not {item!r}")
    return tuple(wrt) if isinstance(wrt, list) else wrt


def _wrt_names(program, function, wrt):
    """The parameter names `wrt` selects, in order."""
    params = _primal_params(program, function)
    if wrt is None:
        return _data_free(params, function)
    items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    names = []
    for item in items:
        if isinstance(item, int):
            if not -len(params) <= item < len(params):
                raise ValueError(f"wrt={item} is out of range: {program.name} has parameters {params}")
            item = params[item]
        if item == function.instance:
            raise _instance_in_wrt(function, item)
        if item not in program.all_params:
            raise ValueError(f"wrt={item!r} is not a parameter of {program.name}; its parameters are {params}")
        names.append(item)
    return tuple(names)


def _data_free(params, function):
    """`params` without a method's instance (`self`), which is data: what `wrt=None` differentiates."""
    return tuple(p for p in params if p != function.instance)


def _instance_in_wrt(function, instance):
    return Location(function.filename).error(
        NoDerivativeError,
        function.instance_node,
        f"`{instance}` is the method's instance: its attributes are data, read when the code runs, "
        "and have no derivative",
        hint="name the parameters to differentiate in wrt, e.g. wrt=\"params\"; "
        "to differentiate an attribute, pass it to the method as a parameter",
    )


def _require_scalar_output(program, location, function):
    if isinstance(program.output, tuple):
        hint = (
            "return one number (a loss, or a weighted sum of the outputs); "
            "for the derivatives of several outputs, use astgrad.jacobian(f)"
        )
        if function.primal_params:  # a generated gradient of several parameters
            hint = (
                "for all second derivatives at once use astgrad.hessian(f), "
                "or differentiate grad(f, wrt=...) of one parameter"
            )
        raise location.error(
            NonScalarOutputError,
            function.tree.body[-1],
            f"{program.name} returns a tuple, but a gradient needs a single (scalar) output",
            hint=hint,
        )


def _caller():
    """(filename, line) of the first frame outside astgrad: where to blame a missing source."""
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else None


def _on_deep_stack(work, *args):
    """Run `work(*args)` in a thread with a large stack and recursion limit.

    Deep expressions (``x + x + ... + x`` with thousands of terms) recurse
    deeply in gast and in the stages; a big thread stack makes that safe on
    every supported Python, where raising the limit on the main thread can
    crash 3.9 and 3.10. The cyclic garbage collector is paused meanwhile: it
    makes building large trees several times slower.
    """
    outcome = {}

    def run():
        try:
            outcome["value"] = work(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    old_limit = sys.getrecursionlimit()
    gc_was_enabled = gc.isenabled()
    sys.setrecursionlimit(max(old_limit, DEEP_RECURSION_LIMIT))
    with _stack_lock:
        old_size = threading.stack_size(DEEP_STACK_BYTES)
        try:
            thread = threading.Thread(target=run, name="astgrad-transform")
            thread.start()
        finally:
            threading.stack_size(old_size)
    gc.disable()
    try:
        thread.join()
    finally:
        sys.setrecursionlimit(old_limit)
        if gc_was_enabled:
            gc.enable()
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, RecursionError):
            fn = args[0]
            code = getattr(fn, "__code__", None)
            raise AstgradError(
                f"`{getattr(fn, '__qualname__', fn)}` is nested too deeply to transform",
                filename=code.co_filename if code else None,
                lineno=code.co_firstlineno if code else None,
                col_offset=0 if code else None,
                hint="split long expressions into several assignments",
            ) from None
        raise error
    return outcome["value"]


_stack_lock = threading.Lock()
