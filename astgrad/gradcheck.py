"""`check_grads`: astgrad's derivatives of a function compared with central differences, as autograd's.

For each differentiated parameter `p` it draws a random direction `v` of
p's shape (from a fixed seed: the same check every time) and computes the
derivative of the output along `v` by central differences,
``(f(p + eps/2 v) - f(p - eps/2 v)) / eps``. Forward mode must give the same
directional derivative (`jvp` with tangent `v`); reverse mode, with a random
output seed `u` of the output's shape, the same ``<u, directional derivative>``
as ``<vector-Jacobian product, v>``. With ``order=2`` the gradient
``grad(f, wrt)`` (with the seed `u`) is checked the same way: its forward
mode is the Hessian-vector product, its reverse mode reverse over reverse.
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import numpy as np

from . import api, varargs
from .api import MODES, Function, Wrt
from .errors import GradientCheckError

EPS = 1e-6
ORDERS = (1, 2)


def check_grads(
    fn: Function,
    *args: Any,
    wrt: Wrt = None,
    modes: Sequence[str] = MODES,
    order: int = 2,
    eps: float = EPS,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    **kwargs: Any,
) -> None:
    """Check `fn`'s derivatives at `args` (and keyword arguments `kwargs`) against central differences.

    Returns None when every check passes; raises `GradientCheckError` (an
    `AssertionError`) naming the function, the parameter, the mode and the
    order, with both numbers and their difference, at the first that fails.
    `wrt` chooses the parameters as in `grad`; `modes` are "reverse" and
    "forward"; `order` 1 checks first derivatives, 2 (the default, as
    autograd's) also the derivatives of the gradient. Two numbers agree when
    they differ by at most ``atol + rtol * |central difference|``.
    """
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"modes must be taken from {MODES}, not {mode!r}")
    if order not in ORDERS:
        raise ValueError(f"order must be 1 or 2, not {order!r}")
    varargs.refuse_packed(fn, "check_grads")
    names = _parameter_names(fn, wrt)
    rng = np.random.default_rng(0)
    _check(fn, args, kwargs, names, modes, rng, eps, rtol, atol, 1)
    if order == 2:  # the gradient of each output, with a random seed, checked in turn
        value = fn(*args, **kwargs)
        for i, part in enumerate(value if isinstance(value, tuple) else (value,)):
            wanted = names if len(names) != 1 else names[0]
            gradient = api._for_user(fn, wanted, "reverse", "grad", output=i)
            seeded = {**kwargs, _last_parameter(gradient): _random_like(part, rng)}
            _check(gradient, args, seeded, names, modes, rng, eps, rtol, atol, 2, fn)


def _check(fn, args, kwargs, names, modes, rng, eps, rtol, atol, order, shown=None):
    """Check the first derivatives of `fn` with respect to each parameter in `names`."""
    shown = shown or fn
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    for name in names:
        value = bound.arguments[name]
        direction = _random_like(value, rng)
        numeric = _difference(
            _called(fn, bound, name, _moved(value, direction, eps / 2)),
            _called(fn, bound, name, _moved(value, direction, -eps / 2)),
            eps,
        )
        for mode in modes:
            if mode == "forward":
                computed, expected = _forward(fn, bound, name, direction), numeric
            else:
                seed = _random_like(numeric, rng)
                computed, expected = _reverse(fn, bound, name, direction, seed), _dot(seed, numeric)
            _compare(computed, expected, shown, name, mode, order, eps, rtol, atol)


def _forward(fn, bound, name, direction):
    """The derivative of `fn` along `direction` in parameter `name`, by `jvp`."""
    tangent_function = api._for_user(fn, name, "forward", "jvp")
    positional, keywords = _split(fn, bound)
    return tangent_function(*positional, direction, **keywords)[1]


def _reverse(fn, bound, name, direction, seed):
    """``<vector-Jacobian product with seed, direction>``, one reverse pass per output."""
    seeds = seed if isinstance(seed, tuple) else (seed,)
    total = 0.0
    for i, part in enumerate(seeds):
        gradient = api._for_user(fn, name, "reverse", "grad", output=i)
        positional, keywords = _split(fn, bound)
        total += _dot(gradient(*positional, **keywords, **{_last_parameter(gradient): part}), direction)
    return total


def _compare(computed, expected, fn, name, mode, order, eps, rtol, atol):
    computed_flat, expected_flat = _flat(computed), _flat(expected)
    if computed_flat.shape != expected_flat.shape:
        difference, worst = np.inf, 0
    else:
        errors = np.abs(computed_flat - expected_flat)
        worst = int(np.argmax(errors)) if errors.size else 0
        difference = float(errors[worst]) if errors.size else 0.0
    tolerance = atol + rtol * float(np.max(np.abs(expected_flat), initial=0.0))
    if difference <= tolerance:
        return
    what = "derivative" if order == 1 else "second derivative"
    if mode == "reverse":
        what += " (a vector-Jacobian product with a random seed)"
    code = getattr(fn, "__code__", None)
    got = float(computed_flat[worst]) if computed_flat.size > worst else computed
    want = float(expected_flat[worst]) if expected_flat.size > worst else expected
    raise GradientCheckError(
        f"the {mode}-mode {what} of {getattr(fn, '__name__', fn)} with respect to {name}, along a random "
        f"direction, is {got!r} where central differences (eps={eps}) give {want!r}: "
        f"they differ by {difference:.3g}, more than the tolerance {tolerance:.3g}",
        filename=code.co_filename if code else None,
        lineno=code.co_firstlineno if code else None,
        col_offset=0 if code else None,
        hint="a point where the function is not differentiable (a kink of abs, max or a comparison) "
        "gives this too: check at another point; otherwise astgrad is wrong here, please report it",
    )


def _parameter_names(fn, wrt):
    """The names of the parameters `wrt` selects, as `grad` selects them (positions resolved)."""
    parameters = [
        p.name for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]  # fmt: skip
    record = getattr(fn, "__astgrad__", None)
    if record is not None and wrt is None:  # a generated gradient: its seed is not differentiated
        parameters = parameters[:-1]
    items = parameters if wrt is None else wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    return tuple(parameters[item] if isinstance(item, int) else item for item in items)


def _split(fn, bound):
    """The bound arguments as (positional values, keyword-only values): `jvp` takes every positional one."""
    positional, keywords = [], {}
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind == parameter.KEYWORD_ONLY:
            keywords[parameter.name] = bound.arguments[parameter.name]
        else:
            positional.append(bound.arguments[parameter.name])
    return positional, keywords


def _called(fn, bound, name, value):
    arguments = dict(bound.arguments)
    arguments[name] = value
    rebound = inspect.BoundArguments(bound.signature, arguments)
    return fn(*rebound.args, **rebound.kwargs)


def _last_parameter(generated):
    code = generated.__code__
    return code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]


def _random_like(value, rng):
    if isinstance(value, tuple):
        return tuple(_random_like(v, rng) for v in value)
    if np.ndim(value):
        return rng.standard_normal(np.shape(value))
    return float(rng.standard_normal())


def _moved(value, direction, step):
    return value + step * direction


def _difference(plus, minus, eps):
    if isinstance(plus, tuple):
        return tuple(_difference(p, m, eps) for p, m in zip(plus, minus))
    return (np.asarray(plus, dtype=float) - np.asarray(minus, dtype=float)) / eps if np.ndim(plus) else (
        (float(plus) - float(minus)) / eps
    )


def _dot(a, b):
    if isinstance(a, tuple):
        return sum(_dot(x, y) for x, y in zip(a, b))
    return float(np.vdot(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))


def _flat(value):
    if isinstance(value, tuple):
        parts = [_flat(v) for v in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.ravel(np.asarray(value, dtype=float))
