"""Rules a program adds to the primitive table: `astgrad.derivative` and `astgrad.adjoint`.

Takes a rule in the table's own language (`rules.py`) from a user, checks it
and registers it; the stages then use it as they use the table's entries:

    derivative("y = gammaln(x)", x="digamma(x)")
    adjoint("z = solve(a, b)", a="-np.outer(solve(a.T, d_z), z)", b="solve(a.T, d_z)",
            tangent="solve(a, d_b - d_a @ z)")

Names in the spelling and the templates are looked up in the module (and the
function) that registers the rule, or in `namespace=`. As decorators, the
spelling is the function's own signature and the function becomes a primitive
instead of being inlined:

    @derivative(x="sigmoid(x)")
    def softplus(x): ...

A rule that cannot be used is a `RuleError` located at the registering call,
with the keyword at fault under the caret. A second rule for one function
replaces the first with a `RuleReplacedWarning`; gradients already made keep
the rule they were made with.
"""

import ast
import builtins
import functools
import inspect
import itertools
import linecache
import os
import re
import sys
import warnings

import gast

from . import rules
from .errors import AstgradError, Location, RuleError, RuleReplacedWarning
from .names import dotted_name

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_wrappers = itertools.count(1)
OUTPUT_NAMES = ("y", "z", "out")  # the decorator forms' output placeholder: the first the function does not take


def _for_user(register):
    """`register` with an error's traceback cut: it names the user's registering line, not astgrad's insides."""

    @functools.wraps(register)
    def registering(*args, **kwargs):
        try:
            return register(*args, **kwargs)
        except AstgradError as error:
            raise error.with_traceback(None) from None

    return registering


@_for_user
def derivative(spelling=None, /, *, namespace=None, domain=rules.REAL, array_code=False, **partials):
    """Register the derivative of an elementwise (or scalar) function: one partial per input.

    ``derivative("y = gammaln(x)", x="digamma(x)")``; each partial is an
    expression in the inputs and the output (``y``), in the vocabulary of
    the primitive table, or ``"ZERO"``/``"NOT_DIFFERENTIABLE"``. Without a
    spelling it is a decorator making the function a primitive; `domain`
    (an interval, or one per input) is where `check_rule` samples, and
    ``array_code=True`` says the function takes arrays (its callers are then
    array code). Returns the function the rule is for.
    """
    site = _call_site("derivative")
    options = dict(domain=domain, array_code=array_code)
    if spelling is None or callable(spelling):
        decorate = _decorator("derivative", site, namespace, options, partials)
        return decorate if spelling is None else decorate(spelling)
    return _register("derivative", site, spelling, _caller_namespace(namespace), options, partials)


@_for_user
def adjoint(spelling=None, /, *, tangent=None, namespace=None, domain=rules.REAL, array_code=False, elementwise=False,
            **templates):  # fmt: skip
    """Register a function by its adjoint: one contribution per input, in ``d_<output>``, and its `tangent`.

    ``adjoint("z = solve(a, b)", a=..., b=..., tangent=...)``: each template
    is the whole contribution to that input's adjoint, the `tangent` the
    output's tangent as a sum of terms linear in the inputs' tangents
    ``d_<input>``. ``elementwise=True`` says the output has the broadcast
    shape of the inputs. Without a spelling it is a decorator.
    """
    site = _call_site("adjoint")
    options = dict(tangent=tangent, domain=domain, array_code=array_code, elementwise=elementwise)
    if spelling is None or callable(spelling):
        decorate = _decorator("adjoint", site, namespace, options, templates)
        return decorate if spelling is None else decorate(spelling)
    return _register("adjoint", site, spelling, _caller_namespace(namespace), options, templates)


# ---- the decorator forms: the spelling is the function's signature -----------------------------
def _decorator(kind, site, namespace, options, templates):
    @_for_user
    def decorate(fn):
        spelling = _spelling_of(fn, site, kind, templates)
        names = {**fn.__globals__, **_closure_values(fn), **(namespace or {})}
        return _register(kind, site, spelling, {**names, fn.__name__: fn}, options, templates)

    return decorate


def _spelling_of(fn, site, kind, templates):
    """``y = name(x, n=1)`` for a function ``def name(x, n=1)``; a RuleError for what a spelling cannot say."""
    if not inspect.isfunction(fn):
        raise site.error(f"@astgrad.{kind} must be placed above a def; {fn!r} is not a Python function",
                         hint=f"write @astgrad.{kind}(...) directly above `def`")  # fmt: skip
    inputs, optional = [], []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise site.error(f"the rule for `{fn.__name__}` cannot cover its `{param}` parameter",
                             hint="give the function a fixed list of parameters")  # fmt: skip
        if param.default is param.empty:
            if param.kind is param.KEYWORD_ONLY:
                raise site.error(f"the rule for `{fn.__name__}` cannot cover its keyword-only parameter `{param.name}` "
                                 "without a default", hint=f"give `{param.name}` a default value")  # fmt: skip
            inputs.append(param.name)
        elif _is_literal(param.default):
            optional.append(f"{param.name}={param.default!r}")
        else:
            raise site.error(f"the default of `{param.name}` in `{fn.__name__}` is not a constant a rule can state",
                             hint="give it a number, a string, None or a tuple of them as its default")  # fmt: skip
    names = inputs + [text.split("=")[0] for text in optional]
    unknown = [name for name in templates if name not in names]
    if unknown:
        raise site.error(f"the rule for `{fn.__name__}` names `{unknown[0]}`, which `{fn.__name__}` does not take",
                         at=unknown[0], hint=_inputs_hint(names, kind))  # fmt: skip
    output = next(name for name in OUTPUT_NAMES if name not in names)
    return f"{output} = {fn.__name__}({', '.join(inputs + optional)})"


def _is_literal(value):
    try:
        return ast.literal_eval(repr(value)) == value
    except (ValueError, SyntaxError):
        return False


def _closure_values(fn):
    cells = fn.__closure__ or ()
    values = {}
    for name, cell in zip(fn.__code__.co_freevars, cells):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # a cell not yet filled
            pass
    return values


# ---- registering: checks first, so that an error names the rule and the keyword at fault -----
def _register(kind, site, spelling, namespace, options, templates):
    """Check the rule, add it to the table (replacing the callee's rules with a warning); the callee."""
    options = dict(options)
    names = {**rules.NAMESPACE, **namespace}
    output, fn, params = _read_spelling(site, kind, spelling, names)
    tangent = options.pop("tangent", None)
    _check_inputs(site, kind, spelling, params, templates, tangent)
    placeholders = set(params) | {output} | ({"d_" + output} if kind == "adjoint" else set())
    for param, text in templates.items():
        if text not in rules.MARKERS:
            _check_template(site, spelling, param, text, placeholders, names)
    if tangent is not None:
        _check_template(site, spelling, "tangent", tangent, placeholders | {"d_" + p for p in params}, names)
    try:
        entry = rules._make_entry(spelling, "partial" if kind == "derivative" else "adjoint",
                                  options.pop("elementwise", True), templates, tangent, namespace, **options)  # fmt: skip
        for rule in (entry.rules[0], entry.rules[0].array_twin):
            rule.templates  # parsed now, so that a bad template is an error here
    except rules.TableError as reason:
        differentiable = ", ".join("d_" + p for p in params if templates[p] not in rules.MARKERS)
        about_tangent = "tangent" in str(reason)
        hint = (f"write tangent=... as a sum of terms, each linear in one of {differentiable}" if about_tangent
                else "the primitive table (astgrad.primitive_table()) shows the template vocabulary")  # fmt: skip
        missing = re.search(r"(\S+) does not exist", str(reason))  # a dotted name: the template naming it
        texts = {**templates, "tangent": tangent or ""}
        at = next((p for p, text in texts.items() if missing and missing.group(1) in text), None)
        raise site.error(f"the rule {spelling!r}: {_reason(reason)}", at="tangent" if about_tangent else at,
                         hint=hint) from None  # fmt: skip
    replaced = rules.register(entry)
    if replaced:
        warnings.warn(RuleReplacedWarning(
            f"the rule {spelling!r} replaces {replaced[0].signature!r}; "
            "gradients made before keep the rule they were made with"), stacklevel=_stacklevel())  # fmt: skip
    return fn


def _read_spelling(site, kind, spelling, names):
    """(output, callee, inputs) of a spelling ``y = gammaln(x)``; a located RuleError if it is not one."""
    if not isinstance(spelling, str):
        raise site.error(f"the spelling of a rule is a string such as 'y = gammaln(x)', not {spelling!r}", at=0)
    hint = f"write the spelling as Python: the output, `=`, then the call, e.g. astgrad.{kind}('y = gammaln(x)', ...)"
    if "|" in spelling:
        raise site.error(f"the rule {spelling!r} gives several spellings", at=0, hint="register one spelling per call")
    try:
        output, value = (part.strip() for part in spelling.split("=", 1))
        call = ast.parse(value, mode="eval").body
    except (ValueError, SyntaxError):
        raise site.error(f"the rule {spelling!r} does not read as `output = function(inputs)`", at=0, hint=hint) from None
    callee = dotted_name(gast.ast_to_gast(call.func)) if isinstance(call, ast.Call) else None
    if callee is None or not output.isidentifier():
        raise site.error(f"the rule {spelling!r} must spell a call of a function by its name", at=0, hint=hint)
    root = callee.split(".")[0]
    if root not in names and not hasattr(builtins, root):
        raise site.error(f"the rule {spelling!r} names `{callee}`, which is not defined where the rule is registered",
                         at=0, hint="import it in this module, or pass namespace={...}")  # fmt: skip
    try:
        output, calls = rules._read_spellings(spelling, names)
    except rules.TableError as reason:
        raise site.error(f"the rule {spelling!r} cannot be read: {_reason(reason)}", at=0, hint=hint) from None
    fn, _, params = calls[0][1][:3]
    if isinstance(fn, str) or not callable(fn):
        raise site.error(f"the rule {spelling!r} must be for a function; `{callee}` is {type(fn).__name__}", at=0,
                         hint="rules of operators and array methods belong to the primitive table")  # fmt: skip
    if output in params:
        raise site.error(f"the rule {spelling!r} names its output like an input", at=0, hint="rename the output")
    return output, fn, params


def _check_inputs(site, kind, spelling, params, templates, tangent):
    unknown = [name for name in templates if name not in params]
    if unknown:
        raise site.error(f"the rule {spelling!r} has no input `{unknown[0]}`", at=unknown[0],
                         hint=_inputs_hint(params, kind))  # fmt: skip
    missing = [param for param in params if param not in templates]
    if missing:
        what = "partial" if kind == "derivative" else "adjoint template"
        raise site.error(f"the rule {spelling!r} gives no {what} for its input `{missing[0]}`",
                         hint=_inputs_hint(params, kind))  # fmt: skip
    for param, text in list(templates.items()) + ([("tangent", tangent)] if tangent is not None else []):
        if not isinstance(text, str):
            raise site.error(f"the template for `{param}` in {spelling!r} must be a string of Python, not {text!r}",
                             at=param, hint=f'write it in quotes, e.g. {param}="cos({param})"')  # fmt: skip
    differentiable = [p for p in params if templates[p] not in rules.MARKERS]
    if kind == "adjoint" and differentiable and tangent is None:
        raise site.error(f"the rule {spelling!r} gives no tangent for forward mode",
                         hint="add tangent=... in terms of " + ", ".join("d_" + p for p in differentiable))


def _check_template(site, spelling, param, text, placeholders, names):
    """A located RuleError if the template for `param` does not parse or names something undefined."""
    what = "the tangent" if param == "tangent" else f"the template for `{param}`"
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise site.error(f"{what} in the rule {spelling!r}, {text!r}, is not a Python expression ({error.msg})",
                         at=param, hint="write one Python expression, such as \"cos(x)\"") from None  # fmt: skip
    known = placeholders | set(names) | rules.MODULE_FUNCTIONS | set(rules.STATIC_HELPERS) | set(rules.MACROS)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in known and not hasattr(builtins, node.id):
            raise site.error(f"{what} in the rule {spelling!r} names `{node.id}`, which is neither an input "
                             "nor defined where the rule is registered", at=param,
                             hint=f"a template may name {', '.join(sorted(placeholders))}, the functions the "
                                  "primitive table's templates name, and names defined where the rule is "
                                  "registered (or in namespace=)")  # fmt: skip


def _reason(error):
    """The table's message without the spelling it starts with."""
    text = str(error)
    return text.split(": ", 1)[1] if text.startswith("'") and ": " in text else text


def _stacklevel():
    """The `warnings.warn` stacklevel of the first frame outside astgrad, seen from the caller of this."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame, level = frame.f_back, level + 1
    return level


def _inputs_hint(params, kind):
    marker = '"ZERO" or "NOT_DIFFERENTIABLE"'
    what = "partial" if kind == "derivative" else "adjoint contribution"
    return f"give one {what} (or {marker}) for each input: {', '.join(params)}"


def _caller_namespace(namespace):
    """The names where the rule is registered: the calling frame's globals and locals, or `namespace`."""
    if namespace is not None:
        return dict(namespace)
    frame = _user_frame()
    return {**frame.f_globals, **frame.f_locals} if frame is not None else {}


# ---- differentiating a primitive itself ---------------------------------------------------------
def calling(fn):
    """A function that only calls `fn`, so that `grad(fn)` uses fn's rule rather than its body.

    Its parameters are fn's own (a Python function with constant defaults),
    or the inputs of a registered rule (a function without Python source,
    such as a ufunc); otherwise, `fn` itself.
    """
    rule = rules.rules_for(fn)[0]
    name = getattr(fn, "__name__", "")
    name = name if name.isidentifier() else "primitive"
    if inspect.isfunction(fn):
        parameters = list(inspect.signature(fn).parameters.values())
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is not p.empty and not _is_literal(p.default)
               for p in parameters):  # fmt: skip
            return fn
        inputs = [(p.name, p.default) for p in parameters]
    elif rule.entry.registered and rule.sequence is None:
        inputs = [(p, inspect.Parameter.empty) for p in rule.positional] + list(rule.optional.items())
    else:
        return fn
    empty = inspect.Parameter.empty
    written = [p if default is empty else f"{p}={default!r}" for p, default in inputs]
    passed = [p if default is empty else f"{p}={p}" for p, default in inputs]
    source = f"def {name}({', '.join(written)}):\n    return {name}({', '.join(passed)})\n"
    filename = f"<astgrad rule of {name} {next(_wrappers)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = {}
    exec(compile(source, filename, "exec"), scope)
    wrapper = scope[name]
    scope[name] = fn  # the wrapper calls the primitive, not itself
    return wrapper


# ---- where the rule is registered: the user's call, for locating errors --------------------------
def _user_frame():
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back
    return frame


def _call_site(kind):
    frame = _user_frame()
    return _Site(kind, frame.f_code.co_filename, frame.f_lineno) if frame is not None else _Site(kind)


class _Site:
    """The user's call of `astgrad.derivative` or `astgrad.adjoint`: the place errors point at."""

    def __init__(self, kind, filename=None, lineno=None):
        self.kind, self.filename, self.lineno = kind, filename, lineno

    def error(self, message, at=None, hint=None):
        """A RuleError at the call, under the keyword `at` (a name), the first argument (0), or the call."""
        node = self._node(at)
        return Location(self.filename).error(RuleError, node, message, hint)

    def _node(self, at):
        call = self._call()
        if call is None:
            return _Place(self.lineno, None)
        if at == 0 and call.args:
            return call.args[0]
        keyword = next((k for k in call.keywords if k.arg == at), None)
        return keyword if keyword is not None else call

    def _call(self):
        """The innermost call on the registering line naming `derivative` or `adjoint`, or None."""
        try:
            tree = ast.parse("".join(linecache.getlines(self.filename)))
        except (SyntaxError, ValueError, TypeError):
            return None
        found = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and node.lineno <= self.lineno <= getattr(node, "end_lineno", node.lineno)
                 and (dotted_name(gast.ast_to_gast(node.func)) or "").split(".")[-1] == self.kind]  # fmt: skip
        return min(found, key=lambda n: (n.end_lineno - n.lineno, -n.col_offset), default=None)


class _Place:
    def __init__(self, lineno, col_offset):
        self.lineno, self.col_offset = lineno, col_offset
