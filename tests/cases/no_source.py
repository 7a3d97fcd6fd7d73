"""Callables with no readable Python source, passed to astgrad.grad.

For a `SourceError` astgrad blames the line that called `grad`; each such
line carries a ``# MARK: <name>`` comment.
"""
import functools
import math

import astgrad

RAN = []


def grad_of_builtin():
    return astgrad.grad(math.sin)  # MARK: builtin


def made_by_exec():
    namespace = {"RAN": RAN}
    exec("def square(x):\n    RAN.append(x)\n    return x * x\n", namespace)
    return namespace["square"]


def grad_of_exec_function(fn):
    return astgrad.grad(fn)  # MARK: exec


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        RAN.append(args)
        return fn(*args)

    return wrapper


@logged
def wrapped_square(x):
    RAN.append(x)
    return x * x


def grad_of_wraps_wrapper():
    return astgrad.grad(wrapped_square)  # MARK: wraps
