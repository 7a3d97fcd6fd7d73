"""Comprehensions, generator expressions and lists built with `append`, end to end in every mode.

A comprehension is a loop appending to a list (desugar), and a list is read
whole by `sum`, `max`, `min`, `len`, `np.stack` or `np.array`; its adjoint is
a list the reversed loop pops. Scalar code goes through `check_every_mode`
(grad, value_and_grad, forward mode, jvp, hessian, grad(grad(f))); NumPy code
through every mode but the gradient of a gradient (an array).
"""

import math

import numpy as np
import pytest

import astgrad
import control_flow_corpus
from astgrad import rules
from support import assert_close, central_difference
from test_control_flow import check_every_mode


# ---- math code -----------------------------------------------------------------------------------
def weighted_sines(a, b, ws=(1.0, 2.0, 0.5), xs=(0.3, -0.4, 0.9)):
    return a * sum(w * math.sin(a * x + b) for w, x in zip(ws, xs))


def squares_of_a_list_comprehension(a):
    return sum([a * k for k in range(4)]) * a


def appended_then_summed(a, b):
    ys = []
    for k in range(3):
        y = math.sin(a * k + b)
        ys.append(y * a)
    return sum(ys)


def filtered(a):
    return sum(a**k for k in range(6) if k != 2)


def largest_and_smallest(a, b):
    return max(math.sin(a * k) + b * k for k in range(1, 4)) + min(a * k for k in range(2, 4))


def over_enumerate(a, cs):
    return sum(c * a**i for i, c in enumerate(cs))


def made_with_list(a):
    ys = list(a * k * k for k in range(3))
    return sum(ys) + a


def mean_of_a_list(a):
    ys = [math.exp(a * k) for k in range(3)]
    return sum(ys) / len(ys)


def shadowing_a_parameter(x, xs):
    return x * sum(x * x for x in xs)


def tuple_targets(a, pairs):
    return sum(p * math.cos(a * q) for p, q in pairs)


def over_a_parameter_count(a, n):
    return sum(a / (k + 1) for k in range(n))


def a_helper_in_the_element(a):
    return sum(squared(a + k) for k in range(3))


def squared(v):
    return v * v


def appended_outside_a_loop(a, b):
    ys = []
    ys.append(a * b)
    ys.append(math.sin(b))
    return sum(ys) * a


def two_lists(a):
    ys = [a * k for k in range(3)]
    zs = [math.sin(a + k) for k in range(2)]
    return sum(ys) * max(zs)


def a_list_nothing_reads(a):
    ys = []
    ys.append(a)
    return a * 2.0


@pytest.mark.parametrize("fn, args, wrt, gradient", [
    (weighted_sines, (0.7, 0.2, (1.0, 2.0, 0.5), (0.3, -0.4, 0.9)), (0, 1), None),
    (squares_of_a_list_comprehension, (0.9,), None, [2 * 0.9 * 6]),
    (appended_then_summed, (0.7, 0.3), None, None),
    (filtered, (1.1,), None, [sum(k * 1.1 ** (k - 1) for k in (1, 3, 4, 5))]),
    (largest_and_smallest, (0.7, 0.3), None, None),
    (over_enumerate, (0.9, [1.0, 2.0, 3.0]), (0,), [2.0 + 2 * 3.0 * 0.9]),
    (made_with_list, (0.8,), None, [1.0 + 5.0]),
    (mean_of_a_list, (0.4,), None, [(math.exp(0.4) + 2 * math.exp(0.8)) / 3]),
    (shadowing_a_parameter, (1.5, [1.0, 2.0]), (0,), [5.0]),
    (tuple_targets, (0.6, [(1.0, 2.0), (3.0, -1.0)]), (0,), None),
    (over_a_parameter_count, (0.6, 3), (0,), [1 + 1 / 2 + 1 / 3]),
    (a_helper_in_the_element, (0.3,), None, [2 * (0.3 + 1.3 + 2.3)]),
    (appended_outside_a_loop, (0.7, 0.4), None, [2 * 0.7 * 0.4 + math.sin(0.4), 0.7 * (0.7 + math.cos(0.4))]),
    (two_lists, (0.4,), None, [3 * math.sin(1.4) + 1.2 * math.cos(1.4)]),
    (a_list_nothing_reads, (0.3,), None, [2.0]),
], ids=["sum of a generator over zip", "sum of a list comprehension", "append in a loop, then sum",
        "an if filter", "max and min", "enumerate", "list(...) of a generator", "sum / len",
        "the target shadows a parameter", "tuple targets", "range(n)", "a helper in the element",
        "appended outside a loop", "two lists", "a list nothing reads"])  # fmt: skip
def test_comprehensions_in_every_mode(fn, args, wrt, gradient):
    check_every_mode(fn, args, gradient=gradient, wrt=wrt)


def test_the_value_is_pythons_own_sum_of_the_same_terms():
    terms = (0.1, 1e16, -1e16, 0.3)  # Python 3.12's sum is compensated: an accumulator would differ

    def total(a, ts):
        return sum(a * t for t in ts)

    value, _ = astgrad.value_and_grad(total, wrt=0)(1.0, terms)
    assert value == total(1.0, terms) == sum(terms)


def appended_in_a_while_loop(a):
    ys = []
    x = a
    while x < 5.0:
        x = x * 1.5 + 0.1
        ys.append(x * x)
    return sum(ys)


def test_a_list_appended_in_a_while_loop():
    fn = appended_in_a_while_loop
    gradient = astgrad.grad(fn)(1.2)
    assert_close(gradient, central_difference(fn, [1.2], 0), rtol=1e-7)
    assert_close(astgrad.grad(fn, mode="forward")(1.2), gradient, rtol=1e-12)
    value, _ = astgrad.value_and_grad(fn)(1.2)
    assert value == fn(1.2)


def test_ties_of_max_share_the_gradient():
    def tied(a):
        return max(a * k * (3 - k) for k in range(4))  # k = 1 and k = 2 give 2a

    assert astgrad.grad(tied)(0.5) == 2.0
    assert astgrad.grad(tied, mode="forward")(0.5) == 2.0


def nested_sums(a):
    return sum(sum(a * i * j for j in range(3)) for i in range(3)) * a


def a_comprehension_in_a_loop(a):
    t = 0.0
    for s in range(3):
        t = t + sum(a * s * k for k in range(3))
    return t * a


@pytest.mark.parametrize("fn, expected", [(nested_sums, 2 * 9 * 0.6), (a_comprehension_in_a_loop, 2 * 9 * 0.6)],
                         ids=["a comprehension in a comprehension", "a comprehension in a loop"])
def test_a_list_built_inside_a_loop_is_built_again_by_the_reversed_loop(fn, expected):
    assert_close(astgrad.grad(fn)(0.6), expected, rtol=1e-12)
    assert_close(astgrad.grad(fn, mode="forward")(0.6), expected, rtol=1e-12)
    assert_close(astgrad.hessian(fn)(0.6), 2 * 9, rtol=1e-12)
    value, _ = astgrad.value_and_grad(fn)(0.6)
    assert value == fn(0.6)
    source = astgrad.source(astgrad.grad(fn))
    assert source.count("terms = []") == 2 or source.count("terms_1 = []") == 2, source
    assert_close(astgrad.grad(astgrad.grad(fn))(0.6), 2 * 9, rtol=1e-12)  # the list is made again, its pops saved


def test_the_generated_sum_reads_as_a_loop_and_its_reverse():
    source = astgrad.source(astgrad.grad(control_flow_corpus.weighted_squares, wrt=2))
    assert "    terms.append(prod)\n" in source
    assert "    out = sum(terms)\n" in source
    assert "    d_terms = repeated(d_out, terms)\n" in source
    assert "    for i in reversed(range(min_len_ws_len_xs)):\n" in source
    assert "        d_prod = d_terms.pop()\n" in source


# ---- NumPy code ----------------------------------------------------------------------------------
def stacked(W, xs):
    return np.sum(np.stack([np.tanh(W @ x) for x in xs]) ** 2)


def stacked_as_columns(W, xs):
    H = np.stack([np.tanh(W @ x) for x in xs], axis=1)
    return np.sum(H * np.arange(1.0, 1.0 + len(xs)))


def appended_stacked_last(W, xs):
    ys = []
    for x in xs:
        ys.append(np.sin(W @ x))
    return np.sum(np.stack(ys, -1) ** 2)


def as_an_array(w, xs):
    return np.sum(np.array([np.dot(w, x) for x in xs]) ** 2)


def appended_arrays(W, xs):
    ys = []
    for x in xs:
        y = np.tanh(W @ x)
        ys.append(y)
    return np.sum(np.sum(np.stack(ys), axis=0) ** 2)


def appended_then_made_an_array(W, xs):
    ys = []
    for x in xs:
        ys.append(np.tanh(W @ x))
    return np.sum(np.array(ys) * 2.0)


def sum_of_arrays(W, xs):
    return np.sum(sum(np.sin(W @ x) for x in xs) ** 2)


def over_the_rows_of_an_array(W, X):
    return sum(np.sum(np.tanh(W @ x)) for x in X)


def sum_of_a_list_in_a_name(W, X):
    ys = []
    for x in X:
        ys.append(np.sum(W @ x))
    return sum(ys)


def filtered_rows(W, X, keep):
    return np.sum(np.stack([np.tanh(W @ X[i]) for i in range(len(X)) if keep[i] > 0]))


def check_numpy_modes(fn, args):
    gradient = astgrad.grad(fn, wrt=0)(*args)
    assert np.shape(gradient) == np.shape(args[0])
    assert_close(gradient, central_difference(fn, list(args), 0), rtol=1e-6, atol=1e-9)
    value, with_value = astgrad.value_and_grad(fn, wrt=0)(*args)
    assert value == fn(*args)
    assert_close(with_value, gradient, rtol=0, atol=0)
    assert_close(astgrad.grad(fn, wrt=0, mode="forward")(*args), gradient, rtol=1e-10, atol=1e-12)
    direction = np.linspace(0.1, 0.7, np.size(args[0])).reshape(np.shape(args[0]))
    _, tangent = astgrad.jvp(fn, wrt=0)(*args, direction)
    assert_close(tangent, np.sum(gradient * direction), rtol=1e-10, atol=1e-12)
    size = np.size(args[0])
    of_first = astgrad.grad(fn, wrt=0)
    second = np.array([central_difference(lambda a, j=j: np.ravel(of_first(a, *args[1:]))[j], [args[0]], 0).ravel()
                       for j in range(size)])  # fmt: skip
    assert_close(np.reshape(astgrad.hessian(fn, wrt=0)(*args), (size, size)), second, rtol=1e-5, atol=1e-7)


R = np.random.default_rng(0)
W, X, w = R.normal(size=(3, 2)), R.normal(size=(4, 2)), R.normal(size=2)
XS = [R.normal(size=2) for _ in range(3)]


@pytest.mark.parametrize("fn, args", [
    (stacked, (W, XS)), (as_an_array, (w, XS)), (appended_arrays, (W, XS)), (appended_then_made_an_array, (W, XS)),
    (sum_of_arrays, (W, XS)), (over_the_rows_of_an_array, (W, X)), (sum_of_a_list_in_a_name, (W, X)),
    (filtered_rows, (W, X, [1, -1, 1, 1])),
    (control_flow_corpus.stacked_layer, (W, XS)),
], ids=["np.stack of a list comprehension", "np.array of a list comprehension", "append, then np.stack",
        "append, then np.array", "sum of arrays", "over the rows of an array", "sum of a list in a name",
        "an if filter on data", "the golden stacked layer"])  # fmt: skip
def test_numpy_comprehensions_in_every_mode(fn, args):
    check_numpy_modes(fn, args)


def test_states_appended_by_an_integrator():
    fn = control_flow_corpus.appended_states
    args = [0.3, 0.1, 4]
    gradient = astgrad.grad(fn, wrt=(0, 1))(*args)
    assert_close(gradient, [central_difference(fn, args, i) for i in (0, 1)], rtol=1e-7)
    assert_close(astgrad.grad(fn, wrt=(0, 1), mode="forward")(*args), gradient, rtol=1e-12)
    value, _ = astgrad.value_and_grad(fn, wrt=(0, 1))(*args)
    assert value == fn(*args)


def test_elements_that_broadcast_in_a_sum_get_adjoints_of_their_own_shapes():
    def mixed(W, x):
        return np.sum(sum(W * x**k if k > 0 else x for k in range(3)))

    args = [R.normal(size=(2, 3)), R.normal(size=3)]
    for i in (0, 1):
        gradient = astgrad.grad(mixed, wrt=i)(*args)
        assert np.shape(gradient) == np.shape(args[i])
        assert_close(gradient, central_difference(mixed, args, i), rtol=1e-7, atol=1e-9)


def test_an_array_where_math_code_takes_a_number_is_refused_when_called():
    def series(x, n):
        return sum(x**k / (k + 1) for k in range(n))

    with pytest.raises(astgrad.ArrayInputError, match="argument x is an array of shape"):
        astgrad.grad(series, wrt=0)(np.array([0.5, 0.6]), 3)


def appends_a_constant_in_one_branch(x):
    c = np.cos(0.3)
    ys = []
    for k in range(3):
        if k > 1:
            ys.append(x * k)
        else:
            ys.append(c)
    return sum(ys)


def test_a_value_without_a_tangent_pushed_beside_one_with_in_array_code():
    """Forward mode pushed `zeros_like(c)` through the copy of an atom and failed (random programs 0:1236, 0:2658)."""
    check_every_mode(appends_a_constant_in_one_branch, [0.7], gradient=[2.0])


# ---- every rule over lists, generated from the rules themselves ----------------------------------
def as_asarray(w, xs):
    return np.sum(np.asarray([np.dot(w, x) for x in xs]) ** 2)


def mean_of_arrays(W, xs):
    ys = [np.sin(W @ x) for x in xs]
    return np.sum(sum(ys) / len(ys))


# signature -> cases (function, arguments); a rule only generated code calls (its `runtime.` helpers,
# `list(d_y)`) is read back from a first gradient that must call it: (function, arguments, call seen, the
# mode of that gradient), which is differentiated again in reverse mode
LIST_RULE_CASES = {
    "n = len(xs)": [(mean_of_a_list, (0.4,)), (mean_of_arrays, (W, XS))],
    "y = sum(xs)": [(squares_of_a_list_comprehension, (0.7,)), (appended_then_summed, (0.3, 0.2)),
                    (sum_of_arrays, (W, XS))],
    "y = max(xs)": [(largest_and_smallest, (0.6, 0.3))],
    "y = min(xs)": [(largest_and_smallest, (0.6, 0.3))],
    "y = np.stack(xs)": [(stacked, (W, XS)), (appended_arrays, (W, XS))],
    "y = np.stack(xs, axis)": [(stacked_as_columns, (W, XS)), (appended_stacked_last, (W, XS))],
    "y = np.array(xs)": [(as_an_array, (w, XS)), (appended_then_made_an_array, (W, XS))],
    "y = np.asarray(xs)": [(as_asarray, (w, XS))],
    "ys = list(x)": [(made_with_list, (0.5,)), (stacked, (W, XS), "list(d_", "reverse")],
    "ys = runtime.repeated(x, xs)": [(squares_of_a_list_comprehension, (0.7,), "repeated(", "reverse"),
                                     (sum_of_arrays, (W, XS), "repeated(", "reverse")],
    "ys = runtime.tie_shares(g, y, xs)": [(largest_and_smallest, (0.6, 0.3), "tie_shares(", "reverse")],
    "t = runtime.tied_tangent(ts, y, xs)": [(largest_and_smallest, (0.6, 0.3), "tied_tangent(", "forward")],
}  # fmt: skip


def test_every_rule_over_lists_has_cases():
    """Adding a rule over lists without cases here fails."""
    rules.list_rules_for(sum)  # (the table, which adds them, loaded)
    signatures = {rule.signature for candidates in rules.LIST_RULES.values() for rule in candidates}
    assert set(LIST_RULE_CASES) == signatures


@pytest.mark.parametrize("signature, case", [(s, c) for s, cases in LIST_RULE_CASES.items() for c in cases],
                         ids=lambda value: value if isinstance(value, str) else value[0].__name__)
def test_rule_over_lists_in_every_mode(signature, case):
    """Each case in every mode: scalar code also reverse over reverse, array code forward over reverse."""
    fn, args, *called = case
    if called:  # the rule is read back from the first gradient
        needle, mode = called
        first = astgrad.grad(fn, wrt=0, mode=mode)
        assert needle in astgrad.source(first), signature
        if mode == "forward":  # (reverse over reverse is in the modes below)
            assert_close(astgrad.grad(first, wrt=0)(*args), central_difference(first, list(args), 0), rtol=1e-6)
    if any(isinstance(a, np.ndarray) for a in args):
        check_numpy_modes(fn, args)
    else:
        check_every_mode(fn, list(args), wrt=(0,))
