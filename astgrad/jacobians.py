"""Jacobians and Hessian-vector products, built on the generated derivatives of `api`.

`jacobian(f, mode="forward")` is a generated function: the tangent function
`jvp_f` run once per element of each differentiated argument (the driver of
the forward-mode NumPy gradient, keeping every output). `jacobian(f)` in
reverse mode runs the generated gradient of each output once per element of
that output, with a unit seed there: a row per output element. `hvp(f)` is a
generated function: the forward mode of the reverse-mode gradient, returning
the tangent of the gradient alone.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import numpy as np

from . import api, varargs
from .api import MODES, Function, Wrt


def jacobian(fn: Optional[Function] = None, wrt: Wrt = None, mode: str = "reverse") -> Any:
    """The Jacobian of `fn`, any output (a number, an array, a tuple of them), as JAX's `jacobian`.

    For one parameter and one output, an array of shape
    ``output.shape + parameter.shape``; a tuple `wrt` (or None with several
    parameters) gives a tuple over the parameters; a tuple output gives a
    tuple over the outputs, each as for one output: ``J[i][j]`` is the
    derivative of output i with respect to parameter j. `mode="reverse"` costs
    one backward walk per output element, `mode="forward"` one forward pass per
    parameter element: prefer forward mode for more outputs than inputs.
    """
    if fn is None:
        return functools.partial(jacobian, wrt=wrt, mode=mode)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if mode == "forward":
        return api._for_user(fn, wrt, "forward", "jacobian")
    varargs.refuse_packed(fn, "jacobian(..., mode=\"reverse\")")
    api._for_user(fn, wrt, "reverse", "grad", output=0)  # refuses what cannot be differentiated, now
    return _ReverseJacobian(fn, wrt)


def hvp(fn: Optional[Function] = None, wrt: Wrt = None) -> Any:
    """``hvp_f(*args, *vectors)``: the Hessian of scalar `fn` times the vectors, without forming the Hessian.

    One vector per differentiated parameter (every positional parameter, or
    those `wrt` names), of its parameter's shape, as `jvp` takes tangents;
    the result has the shape of the gradient (a tuple for several
    parameters): the sum over j of ``H[i][j] @ v_j`` for each parameter i.
    It is the forward mode of the reverse-mode gradient (``grad(fn, wrt)``,
    generated first and cached), one pass whatever the size. The gradient's
    output seed comes last: ``hvp_f(x, v, d_out=1.0)``.
    """
    if fn is None:
        return functools.partial(hvp, wrt=wrt)
    return api._for_user(fn, wrt, "forward", "hvp")


class _ReverseJacobian:
    """The reverse-mode Jacobian: each output's gradient run once per output element, with a unit seed there."""

    def __init__(self, fn: Function, wrt: Wrt) -> None:
        self.fn, self.wrt = fn, wrt
        functools.update_wrapper(self, fn)
        self.__name__ = self.__qualname__ = "jacobian_" + getattr(fn, "__name__", "f")
        del self.__wrapped__  # not a wrapper astgrad could see through: it has no source of its own

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        value = self.fn(*args, **kwargs)
        if not isinstance(value, tuple):
            return self._rows(api._for_user(self.fn, self.wrt, "reverse", "grad", output=0), value, args, kwargs)
        return tuple(
            self._rows(api._for_user(self.fn, self.wrt, "reverse", "grad", output=i), v, args, kwargs)
            for i, v in enumerate(value)
        )

    @staticmethod
    def _rows(gradient: Callable[..., Any], value: Any, args: tuple, kwargs: dict) -> Any:
        """The derivative of one output: a row (a gradient) per element of `value`."""
        code = gradient.__code__
        seed = code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]
        shape = np.shape(value)
        rows = []
        for index in np.ndindex(shape):
            unit: Any = 1.0
            if shape:
                unit = np.zeros(shape)
                unit[index] = 1.0
            rows.append(gradient(*args, **kwargs, **{seed: unit}))
        if not shape:
            return rows[0]
        if isinstance(rows[0], tuple):
            return tuple(_stacked([row[j] for row in rows], shape) for j in range(len(rows[0])))
        return _stacked(rows, shape)


def _stacked(rows: list, shape: tuple) -> Any:
    """Rows, one per output element, as one array of shape ``output.shape + parameter.shape``."""
    stacked = np.stack([np.asarray(row, dtype=float) for row in rows])
    return np.reshape(stacked, shape + np.shape(rows[0]))
