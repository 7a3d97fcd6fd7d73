"""`astgrad.check_rule`: a rule of the table, or one a program registered, against central differences.

Takes a function with a rule (``gammaln``, or the text naming it) and
example arguments, or none for an elementwise rule, which is then sampled
from its `domain` at a few scalar points and, when the function takes arrays,
on broadcasting shapes, as the table's own generated test does. For each case
it writes a one-line function calling the primitive, ``weight * f(x)`` (or
``np.sum(weight * f(x))`` with arrays, so that the output is a number), and
compares

* the reverse-mode gradient and the forward-mode gradient with central
  differences of that function, and
* where astgrad can differentiate the rule's own templates again, the
  Hessian with central differences of the gradient.

A mismatch is a `GradientCheckError` (an `AssertionError`, as `check_grads`
raises) naming the rule, the case and the mode; the
result is a short report of what was checked (one line per case).
"""

import linecache
import sys
import zlib
from itertools import count

import numpy as np

from . import api, rules
from .errors import AstgradError, GradientCheckError, RuleError

BROADCASTING = {  # shapes of an elementwise rule's differentiable inputs, after the scalar points
    1: [((3,),), ((2, 3),)],
    2: [((3, 1), (1, 4)), ((5,), (2, 5)), ((), (3,))],
    3: [((2, 3), (3,), ()), ((3, 1), (1, 4), (4,))],
}
SCALAR_POINTS = 3
_files = count(1)


def check_rule(fn, *args, namespace=None, order=2, rtol=1e-5, atol=1e-8, **keywords):
    """Check the rule astgrad has for `fn` against central differences, in reverse and forward mode.

    `fn` is the function (or its name, looked up where `check_rule` is
    called, or in `namespace`). With `args` (and `keywords`), the call
    ``fn(*args, **keywords)`` is checked; an elementwise rule may be called
    without them and is sampled from its domain, on arrays too if `fn` takes
    them. ``order=2`` also checks the second derivative where astgrad can
    differentiate the rule's templates (the report says where it cannot).
    Returns the report; raises `GradientCheckError` where a derivative is wrong.
    """
    fn = _function(fn, namespace)
    rule = _rule(fn, args, keywords)
    cases = [(args, keywords)] if args or keywords else _sampled_cases(rule, fn)
    report = [rule.signature]
    for case_args, case_keywords in cases:
        report.append(_check_case(rule, fn, case_args, case_keywords, order, rtol, atol))
    return "\n".join(report)


def _function(fn, namespace):
    if not isinstance(fn, str):
        return fn
    callee = fn.split("=", 1)[-1].split("(")[0].strip()
    if namespace is None:
        frame = sys._getframe(2)
        namespace = {**frame.f_globals, **frame.f_locals}
    root, *attributes = callee.split(".")
    try:
        value = {**rules.NAMESPACE, **namespace}[root]
        for attribute in attributes:
            value = getattr(value, attribute)
    except (KeyError, AttributeError):
        raise RuleError(f"`{callee}` is not defined where check_rule is called", hint="pass the function itself") from None
    return value


def _rule(fn, args, keywords):
    """The rule of `fn` that a call with these arguments uses (the first if none are given)."""
    found = rules.rules_for(fn)
    if not found:
        raise RuleError(f"astgrad has no rule for {fn!r}",
                        hint="register one with astgrad.derivative or astgrad.adjoint first")  # fmt: skip
    if not args and not keywords:
        return found[0]
    for rule in found:
        if len(rule.positional) <= len(args) <= len(rule.positional) + len(rule.optional):
            return rule
    raise RuleError(f"no rule for {fn!r} takes {len(args)} positional arguments: "
                    + " or ".join(f"`{rule.expression}`" for rule in found))  # fmt: skip


# ---- cases --------------------------------------------------------------------------------------
def _sampled_cases(rule, fn):
    """[(args, {})]: scalar points of the rule's domain, then broadcasting shapes if `fn` takes arrays."""
    inputs = [p for p in rule.positional if p not in rule.optional]
    if not rule.elementwise or any(rule.templates[p] in rules.MARKERS for p in inputs) or rule.sequence:
        raise RuleError(f"{rule.signature!r} is checked at arguments you give: check_rule(fn, *args)",
                        hint="only an elementwise rule whose inputs all have partials is sampled")  # fmt: skip
    rng = np.random.default_rng(zlib.crc32(rule.signature.encode()))
    cases = [([_sample(rule, p, (), rng) for p in inputs], {}) for _ in range(SCALAR_POINTS)]
    shape_lists = BROADCASTING.get(len(inputs), [((3,),) * len(inputs)])
    if _takes_arrays(rule, fn, inputs, rng):
        cases += [([_sample(rule, p, shape, rng) for p, shape in zip(inputs, shapes)], {}) for shapes in shape_lists]
    return cases


def _sample(rule, param, shape, rng):
    low, high = rule.domain.get(param, rules.REAL)
    value = rng.uniform(low, high, size=shape)
    return float(value) if shape == () else value


def _takes_arrays(rule, fn, inputs, rng):
    """Whether `fn` maps arrays elementwise: NumPy's functions do; others are tried on a vector."""
    if rule.array_code:
        return True
    try:
        result = fn(*[_sample(rule, p, (3,), rng) for p in inputs])
    except Exception:  # a function written for numbers (branches, math): checked on numbers
        return False
    return np.shape(result) == (3,)


# ---- one case -----------------------------------------------------------------------------------
def _check_case(rule, fn, args, keywords, order, rtol, atol):
    args = list(args)
    bound = dict(zip(rule.positional, args))
    bound.update(zip(rule.optional, args[len(rule.positional):]))
    bound.update(keywords)
    wrt = [p for p, value in bound.items() if rule.templates.get(p) not in rules.MARKERS and _is_real(value)]
    if not wrt:
        raise RuleError(f"{rule.signature!r}: no argument of this call carries a derivative (give floats)")
    weighted, values = _case_function(rule, fn, args, keywords, bound)
    seed = np.random.default_rng(zlib.crc32(repr(values).encode())).normal(size=np.shape(fn(*args, **keywords)))
    seed = float(seed) if np.ndim(seed) == 0 else seed
    point = [values[p] for p in values] + [seed]
    positions = [list(values).index(p) for p in wrt]
    shapes = ", ".join(f"{p} = {bound[p]:.3g}" if np.ndim(bound[p]) == 0 else f"{p}: {np.shape(bound[p])}" for p in wrt)
    where = f"{rule.signature} at {shapes}"
    expected = [_central(weighted, point, i) for i in positions]
    for mode in ("reverse", "forward"):
        gradient = api.grad(weighted, wrt=tuple(wrt), mode=mode)(*point)
        for param, computed, want in zip(wrt, gradient, expected):
            _require_close(computed, want, rtol, atol, f"{where}: the {mode}-mode derivative for {param} is wrong")
    checked = "reverse, forward"
    if order >= 2:
        checked += ", " + _check_second(weighted, point, wrt, positions, where, rtol, atol)
    return f"  {shapes}: {checked}"


def _check_second(weighted, point, wrt, positions, where, rtol, atol):
    try:
        hessian = api.hessian(weighted, wrt=wrt[0] if len(wrt) == 1 else tuple(wrt))(*point)
    except AstgradError as error:
        return "second derivative not available: " + error.reason
    gradient = api.grad(weighted, wrt=tuple(wrt))
    rows = [hessian] if len(wrt) == 1 else hessian
    for i, row in enumerate(rows):
        row = [row] if len(wrt) == 1 else row
        for j, computed in enumerate(row):
            want = _central(lambda *p: gradient(*p)[i], point, positions[j])
            _require_close(computed, want, rtol * 10, atol * 10, f"{where}: the second derivative d2/d{wrt[i]}d{wrt[j]} is wrong")
    return "second"


def _require_close(computed, expected, rtol, atol, what):
    try:
        np.testing.assert_allclose(computed, expected, rtol=rtol, atol=atol)
    except AssertionError as mismatch:
        raise GradientCheckError(
            f"{what}: {str(mismatch).strip()}",
            hint="check the rule's templates: each is the partial derivative of the output with respect to its input",
        ) from None


def _is_real(value):
    return isinstance(value, float) or isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _case_function(rule, fn, args, keywords, bound):
    """(the compiled ``weight * fn(...)`` with its inputs as parameters, {parameter: value}).

    Constant inputs of a STATIC kind are written into the call, as a user would.
    """
    values, written = {}, []
    for index, value in enumerate(args):
        param = rule.positional[index] if index < len(rule.positional) else list(rule.optional)[0]
        written.append(_argument(rule, param, value, values))
    for param, value in keywords.items():
        written.append(f"{param}={_argument(rule, param, value, values)}")
    call = f"_primitive({', '.join(written)})"
    arrays = any(isinstance(v, np.ndarray) for v in bound.values()) or rule.array_code
    body = f"np.sum(weight * {call})" if arrays else f"weight * {call}"
    source = f"def weighted({', '.join(list(values) + ['weight'])}):\n    return {body}\n"
    filename = f"<astgrad check_rule {next(_files)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = {"np": np, "_primitive": fn}
    exec(compile(source, filename, "exec"), scope)
    return scope["weighted"], values


def _argument(rule, param, value, values):
    """How the call passes `param`: its name (a parameter of the case function) or a constant."""
    if rule.templates.get(param) is rules.STATIC:
        return repr(value)
    values[param] = value
    return param


def _central(f, point, index, h=1e-6):
    """d f / d point[index] by central differences: of shape f's output shape + the argument's shape."""
    x = point[index]
    positions = list(np.ndindex(np.shape(x)))
    columns = []
    for position in positions:
        step = h * max(1.0, abs(float(np.asarray(x)[position])))
        up, down = list(point), list(point)
        if np.ndim(x) == 0:
            up[index], down[index] = x + step, x - step
        else:
            up[index], down[index] = np.array(x, dtype=float), np.array(x, dtype=float)
            up[index][position] += step
            down[index][position] -= step
        columns.append((np.asarray(f(*up)) - np.asarray(f(*down))) / (2 * step))
    stacked = np.stack(columns, axis=-1)
    return stacked.reshape(np.shape(columns[0]) + np.shape(x))
