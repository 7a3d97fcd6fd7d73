"""Functions with several things astgrad refuses, each marked: the error must list them all, in source order.

The line of each obstacle carries a ``# MARK: <name>`` comment. `ran` is not
called here: the functions are never run, and the tests watch every call
into this file while they are transformed.
"""
import math
import random

import numpy as np

COUNTER = 0.0


def helper_with_try(y):
    try:  # MARK: helper-try
        z = y * 2.0
    except ValueError:
        z = y
    return z


def helper_with_two(t):
    print(t)  # MARK: helper-print
    return math.lgamma(t) * t  # MARK: helper-lgamma


def two_obstacles(x):
    steps = {x * k for k in range(3)}  # MARK: two-listcomp
    return undefined_scale(x) * np.sum(steps)  # MARK: two-undefined


def three_obstacles(x, y):
    a = math.lgamma(x)  # MARK: three-lgamma
    b = helper_with_try(y)  # MARK: three-helper
    y[0] = a  # MARK: three-item
    return a + b


def eight_obstacles(x, y):
    global COUNTER  # MARK: eight-global
    a = math.nextafter(x, 1.0)  # MARK: eight-nextafter
    b = undefined_rate(y)  # MARK: eight-undefined
    c = x // 2.0  # MARK: eight-floordiv
    d = {a * k for k in range(3)}  # MARK: eight-listcomp
    e = helper_with_two(x) + np.sum(d)  # MARK: eight-helper
    f = random.gauss(0.0, 1.0) * y  # MARK: eight-random
    return a + b + c + e + f


def one_obstacle(x):
    return math.lgamma(x) * x  # MARK: one-lgamma


def refused_inside_a_call(x):
    return math.sin(undefined_inner(x))  # MARK: inside-a-call


def unknown_around_unknown(x):
    return undefined_outer(undefined_inner(x))  # MARK: around


def calls_what_an_import_binds(x):
    import math as m  # MARK: import-inside
    return m.sin(x) * x


def returns_inside_a_loop(x):
    for i in range(3):
        return x * i  # MARK: stops-return
    return undefined_scale(x)


def helper_returning_in_a_loop(t):
    for k in range(3):
        return t * k  # MARK: helper-loop-return
    return t


def nested_and_stopping_helpers(x):
    def inner(t):
        u = t * 2.0
        del u  # MARK: nested-del
        return math.lgamma(t)  # MARK: nested-lgamma

    y = inner(x) + helper_returning_in_a_loop(x)
    return y * undefined_scale(x)  # MARK: after-helpers


def obstacles_found_late(x, flag):
    if flag > 0.0:
        y = x * 2.0
    pair = (x, x) * 3.0  # MARK: late-tuple
    w = undefined_scale(x)  # MARK: late-undefined
    for i in range(3):
        k = x * i
    return y + k + w  # MARK: late-reads
