"""Functions for the source-stage tests: plain, nested, decorated, closures, lambdas.

Lines the tests look at carry a ``# MARK: <name>`` comment.
"""
import math

import astgrad

SCALE = 3.0
REGISTRY = []


def plain(x, y):  # MARK: plain-def
    z = x * y  # MARK: plain-body
    return SCALE * z


def outer():
    def nested(x):  # MARK: nested-def
        y = math.sin(x)  # MARK: nested-body
        return y * x

    return nested


def outer_with_docstring():
    def documented(x):
        """A docstring whose later lines are less indented than the def.
It must not stop the nested function's source from parsing.
        """
        return x * x * x  # MARK: documented-return

    return documented


def register(fn):
    """A decorator that records the function and returns it unchanged (no functools.wraps)."""
    REGISTRY.append(fn.__name__)
    return fn


def tag(label, *, weight=1.0):
    """A decorator factory that sets attributes and returns the same function."""

    def decorate(fn):
        fn.label = label
        fn.weight = weight
        return fn

    return decorate


@register
@tag(
    "cubic",
    weight=2.0,
)
def decorated(x):  # MARK: decorated-def
    return x * x * x  # MARK: decorated-return


@astgrad.grad
def d_quadratic(x):  # MARK: grad-decorated-def
    return 3.0 * x * x


@register
@astgrad.grad
def registered_exp(x):
    return math.exp(2.0 * x)


@astgrad.grad
@register
def exp_registered(x):
    return math.exp(3.0 * x)


def make_closure(k):
    import math as m

    def with_closure(x):
        return k * m.sin(x) + SCALE * x  # MARK: closure-return

    return with_closure


def make_square_root():
    """A new function object each call (astgrad caches per function object)."""

    def root(x):
        y = math.sqrt(x)
        return 2.0 * y

    return root


def make_scaled_root(k):
    """Like make_square_root, with a closure (the generated code gets one too)."""
    import math as m

    def scaled_root(x):
        y = m.sqrt(x)
        return k * y

    return scaled_root


def cubic(x):
    return x * x * x


square, cube = (lambda x: x * x), (lambda x: x * x * x)  # MARK: two-lambdas
