"""Functions astgrad must refuse, each with one construct outside its subset.

Every offending line carries a ``# MARK: <name>`` comment; the tests look the
line up by that comment, and the column by the text of the construct. If any
of these functions ran, `ran` would append to `RAN`: the tests check it stays
empty, since astgrad raises while transforming, before any user code runs.

A function's first statement calls `ran` when the error is found by the check
stage (which looks at the whole body before anything is resolved); when the
error is found by the resolve stage the call comes after the offending line.
`ran` is itself refused (it changes `RAN`), so each function's error lists
that call as a second obstacle, after the one the function is about.
"""
import math
import os

import numpy as np

from . import helpers_elsewhere
from .helpers_elsewhere import looping_helper

RAN = []
COUNTER = 0.0


def ran(x):
    RAN.append(x)
    return x


class _Box:
    pass


# ---- control flow and other statements (check stage) ------------------------------------

def returns_inside_loop(x):
    t = ran(x)
    for i in range(3):
        return t  # MARK: return-in-loop
    return x


def returns_inside_an_if_in_a_loop(x):
    t = ran(x)
    for i in range(3):
        t = t * x
        if t > 2.0:
            return t  # MARK: return-in-if-in-loop
    return t


def uses_for(x):
    t = ran(x)
    for v in sorted((x, t)):  # MARK: for
        t = t * v
    return t


def uses_while(x):
    t = ran(x)
    while True:  # MARK: while
        t = t * x
    return t


def leaves_only_an_inner_loop(x):
    t = ran(x)
    while True:  # MARK: inner-break
        for k in range(3):
            t = t * x
            if t > 2.0:
                break
    return t


def breaks_with_a_computed_step(x, stride):
    t = ran(x)
    for k in range(0, 9, stride):  # MARK: break-step
        t = t * x
        if t > 2.0:
            break
    return t


def uses_try(x):
    t = ran(x)
    try:  # MARK: try
        t = math.log(x)
    except ValueError:
        t = 0.0
    return t


def uses_with(x):
    t = ran(x)
    with open(os.devnull) as handle:  # MARK: with
        t = x * 2.0
    return t


def uses_list_comprehension(x):
    t = ran(x)
    y = sum([x * k for k in range(3)], 1.0)  # MARK: listcomp
    return y + t


def indexes_a_built_list(x):
    t = x * 3.0
    ys = []
    for k in range(3):
        ys.append(x * k)
    return ys[1] + t  # MARK: list-indexed


def appends_to_a_parameter(x, xs):
    t = x * 3.0
    xs.append(t)  # MARK: append-parameter
    return x


def pops_a_built_list(x):
    t = x * 3.0
    ys = [x * k for k in range(3)]
    y = ys.pop()  # MARK: list-popped
    return y + t


def reads_a_list_twice(x):
    t = x * 3.0
    ys = [x * k for k in range(3)]
    return max(ys) + sum(ys) + t  # MARK: list-twice


def concatenates_a_list(x):
    t = x * 3.0
    ys = [x * np.ones(2) * k for k in range(3)]
    return np.sum(np.concatenate(ys)) + t  # MARK: list-concatenated


def concatenates_a_comprehension(x):
    t = x * 3.0
    return np.sum(np.concatenate([x * np.ones(2) * k for k in range(3)], axis=0)) + t  # MARK: comprehension-concatenated


def comprehension_in_a_while_test(x):
    t = ran(x)
    while sum(x * k for k in range(3)) > 1.0:  # MARK: while-comprehension
        x = x / 2.0
    return x + t


def set_comprehension(x):
    t = ran(x)
    y = sum({x * k for k in range(3)})  # MARK: setcomp
    return y + t


def uses_lambda(x):
    t = ran(x)
    squares = (lambda v: v * v, math.sin)  # MARK: lambda
    return squares[0](t)


def uses_yield(x):
    t = ran(x)
    yield t * x  # MARK: yield
    return t


def uses_global(x):
    t = ran(x)
    global COUNTER  # MARK: global
    COUNTER = t
    return t * x


def make_uses_nonlocal():
    total = 0.0

    def uses_nonlocal(x):
        t = ran(x)
        nonlocal total  # MARK: nonlocal
        total = t * x
        return total

    return uses_nonlocal


def uses_early_return(x):
    t = ran(x)
    return t  # MARK: early-return
    y = t * x
    return y


def uses_item_assignment(x):
    t = ran(x)
    v = (t, x)
    v[0] = x * 2.0  # MARK: item-assignment
    return x


def uses_attribute_assignment(x):
    t = ran(x)
    x.a = t * 2.0  # MARK: attribute-assignment
    return x


def uses_del(x):
    t = ran(x)
    y = t * x
    del t  # MARK: del
    return y


def uses_print(x):
    t = ran(x)
    print(t)  # MARK: print
    return t * x


def assigns_in_one_branch(x):
    t = x * 3.0
    if x > 0:
        y = x * 2.0
    return y * t  # MARK: one-branch


def computes_in_second_operand(x):
    t = x * 3.0
    if x > 0 and math.log(x) > 1.0:  # MARK: and-computes
        t = t * x
    return t


def uses_and_or(x):
    t = ran(x)
    y = x > 0 or x < -1.0  # MARK: boolop
    return y * t


def uses_starred_call(x):
    args = (x, 2.0 * x)
    y = math.hypot(*args)  # MARK: starred
    return ran(y)


def uses_double_starred_call(x, options):
    y = helpers_elsewhere.scaled_sine(x, **options)  # MARK: double-starred
    return ran(y)


def loops_over_star_args(x, *rest):
    t = ran(x)
    for r in rest:  # MARK: star-args-loop
        t = t + r * x
    return t


def uses_star_args_whole(x, *rest):
    t = ran(x)
    return t * np.sum(rest)  # MARK: star-args-whole


def reads_star_kwargs_by_variable(x, key, **options):
    t = ran(x)
    return t * options[key]  # MARK: star-kwargs-variable


def only_star_args(*rest):  # MARK: only-star-args
    t = ran(rest[0])
    return t * rest[1]


# ---- calls and operators (resolve stage) --------------------------------------------------

def uses_getpid(x):
    y = x * os.getpid()  # MARK: getpid
    t = ran(x)
    return y * t


def recursive_helper(x):
    return x * recursive_helper(x - 1.0)  # MARK: recursive-helper


def uses_recursive_helper(x):
    y = recursive_helper(x) + 1.0
    t = ran(x)
    return y * t


def calls_itself(x):
    y = calls_itself(x * 0.5)  # MARK: calls-itself
    t = ran(x)
    return y * t


def uses_looping_helper(x):
    y = 2.0 * looping_helper(x)
    t = ran(x)
    return y * t


def uses_looping_helper_two_levels(x):
    y = helpers_elsewhere.calls_looping_helper(x)
    t = ran(x)
    return y * t


def uses_max_of_an_array(x):
    y = max(np.sin(x))  # MARK: max1
    t = ran(x)
    return y * t


def uses_chained_comparison(x):
    y = 0.0 < x < 1.0  # MARK: chained
    t = ran(x)
    return y * t


def uses_undefined_helper(x):
    y = 2.0 * undefined_helper(x)  # MARK: undefined  # noqa: F821
    t = ran(x)
    return y * t


def uses_floor_division(x):
    y = x // 2.0  # MARK: floordiv
    t = ran(x)
    return y * t


# ---- the output is not a single number ----------------------------------------------------

# (No call of `ran` here: the error is found after helpers are inlined, and
# inlining `ran` would itself fail. The tests watch for calls into this file.)
def returns_tuple(x):
    y = x * x
    return y, x + 1.0  # MARK: tuple-return


# ---- NumPy code outside what astgrad differentiates (resolve stage) ----------------------

def uses_variable_axis(x, k):
    y = np.sum(x, axis=k)  # MARK: variable-axis
    return ran(np.sum(y))


def uses_eig(x):
    y = np.linalg.eig(x)  # MARK: eig
    return ran(y)


def uses_random(x):
    noise = np.random.normal(0.0, 1.0, np.shape(x))  # MARK: random
    return ran(np.sum(x + noise))


def uses_out_argument(x, buffer):
    y = np.sin(x, out=buffer)  # MARK: out
    return ran(np.sum(y))


def uses_in_place_sort(x):
    t = ran(x)
    x.sort()  # MARK: sort-statement
    return np.sum(t)


def assigns_in_place_sort(x):
    y = x.sort()  # MARK: sort
    return ran(np.sum(y))


def uses_unknown_method(x):
    y = x.conj()  # MARK: conj
    return ran(np.sum(y))


def uses_einsum_diagonal(x, y):
    z = np.einsum("ii,i->", x, y)  # MARK: einsum-diagonal
    return ran(z)


def uses_one_norm(x):
    z = np.linalg.norm(x, 1)  # MARK: norm-ord
    return ran(z)


def uses_item_write(x):
    t = ran(x)
    t[0] = 1.0  # MARK: item-write
    return np.sum(t)


def uses_reflect_padding(x):
    y = np.pad(x, 2, mode="reflect")  # MARK: pad-reflect
    return ran(np.sum(y))


def sums_a_list(x):
    y = np.sum([x, 2.0 * x])  # MARK: list-for-array
    return ran(y)


# ---- smaller pieces of Python: a helper's tuple, builtin sum, range as an index ----------

def pair_of(x):
    return x * x, x + 1.0


# (No call of `ran`: the error is found by ssa, after helpers are inlined.)
def indexes_a_tuple_by_a_variable(x, k):
    return pair_of(x)[k]  # MARK: tuple-variable-index


def sums_an_array_with_builtin_sum(x):
    y = sum(x)  # MARK: builtin-sum-array
    return ran(y)


def uses_range_as_a_value(x):
    r = np.sum(range(3)) * x  # MARK: range-value
    return ran(r)


# ---- methods ------------------------------------------------------------------------------

class Fitted:
    def __init__(self):
        self.exog = np.ones((3, 2))
        self.inner = self

    def predict(self, params):
        return self.exog @ params

    def keeps_its_fit(self, params):
        t = ran(params)
        self.fit = np.sum(self.exog @ t)  # MARK: assigns-self-attribute
        return self.fit

    def uses_a_method_as_a_value(self, params):
        z = np.sum(self.predict * params)  # MARK: method-as-value
        return ran(z)

    def reads_an_attribute_two_deep(self, params):
        z = np.sum(self.inner.exog @ params)  # MARK: attribute-two-deep
        return ran(z)


FITTED = Fitted()


# ---- has_aux=True: the function must return a pair (loss, aux) ----


def aux_returns_one_value(x):
    loss = x * x
    return loss  # MARK: aux-single


def aux_returns_three(x):
    return x * x, x, 2.0 * x  # MARK: aux-three


def aux_loss_is_a_tuple(x):
    return (x, x * x), x  # MARK: aux-tuple-loss


# ---- functions as values: known when astgrad transforms, or refused where they are not -----

def integrate(a, b, func):
    return (b - a) / 2 * (func(a) + func(b))


def calls_a_function_parameter(x, f):
    y = f(x)  # MARK: function-parameter
    return ran(y)


def passes_a_function_parameter(x, f):
    y = integrate(0.0, x, f)  # MARK: function-parameter-passed
    return ran(y)


def uses_a_nested_function_as_a_value(x):
    def scale(v):
        return 2.0 * v

    y = x + scale  # MARK: function-as-value
    return ran(y)


def calls_a_default_function_parameter(x, W, nonlinearity=np.tanh):
    y = np.sum(nonlinearity(W @ x))  # MARK: default-function-parameter
    return ran(y)
