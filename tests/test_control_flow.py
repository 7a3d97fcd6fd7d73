"""Loops and branches end to end: every mode against analytic values and central differences.

Each function is differentiated with `grad`, `value_and_grad` (whose value
must be exactly the function's), `mode="forward"`, `jvp`, `hessian` and
`grad(grad(f))`, at points away from the switches of its branches.
"""

import math
import re

import gast
import numpy as np
import pytest

import astgrad
import control_flow_corpus
from astgrad import desugar
from support import assert_close, central_difference


def check_every_mode(fn, args, gradient=None, wrt=None):
    """Every mode of `fn` at `args`: against `gradient` (analytic) and central differences of `fn`."""
    positions = tuple(range(len(args))) if wrt is None else wrt
    differences = [central_difference(fn, args, i) for i in positions]
    reverse = astgrad.grad(fn, wrt=positions)(*args)
    assert_close(reverse, differences, rtol=1e-5)
    if gradient is not None:
        assert_close(reverse, gradient, rtol=1e-12, atol=1e-12)
    value, with_value = astgrad.value_and_grad(fn, wrt=positions)(*args)
    assert value == fn(*args)
    assert_close(with_value, reverse, rtol=0, atol=0)
    assert_close(astgrad.grad(fn, wrt=positions, mode="forward")(*args), reverse, rtol=1e-12, atol=1e-12)
    direction = [0.3 + 0.2 * i for i in range(len(positions))]
    jvp_value, tangent = astgrad.jvp(fn, wrt=positions)(*args, *direction)
    assert jvp_value == fn(*args)
    assert_close(tangent, sum(d * g for d, g in zip(direction, reverse)), rtol=1e-12, atol=1e-12)
    first = positions[0]
    gradient_of_first = astgrad.grad(fn, wrt=first)
    second = [central_difference(gradient_of_first, args, i) for i in positions]
    hessian = astgrad.hessian(fn, wrt=positions)(*args)
    assert_close(hessian[0], second, rtol=1e-5, atol=1e-7)
    assert_close(astgrad.grad(gradient_of_first, wrt=first)(*args), second[0], rtol=1e-5, atol=1e-7)
    return reverse


# ---- branches ----------------------------------------------------------------------------------
def relu(x):
    if x > 0:
        y = x
    else:
        y = 0.0
    return y


def branch_on_computed_value(x, y):
    a = math.sin(x)
    if a > 0 and y < 2:
        b = a * y
        c = b * b
    else:
        c = y * 3.0
    return c + a


def cubic_or_sine(x):
    return x * x * x if x > 1 else math.sin(x)


def nested(x, k):
    y = x * x
    if k > 0:
        if x > 1.0:
            y = y * x
        elif not x > -1.0:
            y = -y
        z = y + k
    else:
        z = math.exp(x)
    return z * x


def chained(x):
    if 0.0 < x <= 1.0 or x > 5.0:
        return_value = math.log(x)
    else:
        return_value = x * 0.5
    return return_value


def test_relu_with_an_if_is_the_derivative_of_the_branch_taken():
    assert astgrad.grad(relu)(1.3) == 1.0
    assert astgrad.grad(relu)(-0.4) == 0.0
    assert astgrad.grad(relu, mode="forward")(-0.4) == 0.0
    assert astgrad.value_and_grad(relu)(-0.4) == (0.0, 0.0)


@pytest.mark.parametrize("x", [-2.0, -0.4, 0.3, 2.5])
def test_huber_with_elif_in_every_mode(x):
    slope = -1.0 if x < -1.0 else x if x <= 1.0 else 1.0
    check_every_mode(control_flow_corpus.huber, (x,), gradient=(slope,))


@pytest.mark.parametrize("x, y", [(0.5, 1.0), (0.5, 3.0), (-0.5, 1.0)])
def test_a_test_on_a_differentiated_value_with_and(x, y):
    a = math.sin(x)
    if a > 0 and y < 2:
        analytic = (2 * a * y * y * math.cos(x) + math.cos(x), 2 * a * a * y)
    else:
        analytic = (math.cos(x), 3.0)
    check_every_mode(branch_on_computed_value, (x, y), gradient=analytic)


@pytest.mark.parametrize("x", [2.0, 0.5])
def test_a_conditional_expression(x):
    analytic = 3 * x * x if x > 1 else math.cos(x)
    check_every_mode(cubic_or_sine, (x,), gradient=(analytic,))


@pytest.mark.parametrize("x, k", [(1.5, 2.0), (0.5, 2.0), (-1.5, 2.0), (0.7, -1.0)])
def test_nested_branches_and_a_branch_on_a_parameter_that_only_selects(x, k):
    gradient = check_every_mode(nested, (x, k))
    if k <= 0:
        assert gradient[1] == 0.0


@pytest.mark.parametrize("x", [0.5, 3.0, 6.0])
def test_chained_comparisons_and_or_in_a_test(x):
    analytic = 1 / x if 0.0 < x <= 1.0 or x > 5.0 else 0.5
    check_every_mode(chained, (x,), gradient=(analytic,))


def test_the_reverse_sweep_evaluates_the_test_again_and_fills_the_other_branch_with_zero():
    assert astgrad.source(astgrad.grad(relu)) == (
        "def d_relu(x, d_out=1.0):\n"
        "    if type(x) is not float:\n"
        "        check_numbers(x)\n"
        "    if x > 0:\n"
        "        d_x = d_out\n"
        "    else:\n"
        "        d_x = 0.0\n"
        "    return d_x\n"
    )


def test_value_and_grad_keeps_the_users_if_before_the_reverse_one():
    text = astgrad.source(astgrad.value_and_grad(relu))
    assert text.count("if x > 0:") == 2
    assert "        y = x\n" in text and "        y = 0.0\n" in text


def test_explain_shows_every_stage_of_a_branch():
    explanation = astgrad.explain(control_flow_corpus.huber, comments=False)
    assert "    if x < -1.0:\n" in explanation["resolve"]
    assert explanation["ssa"] == (
        "def huber(x):\n"
        "    if x < -1.0:\n"
        "        neg_x = -x\n"
        "        y = neg_x - 0.5\n"
        "    elif x <= 1.0:\n"
        "        prod = 0.5 * x\n"
        "        y = prod * x\n"
        "    else:\n"
        "        y = x - 0.5\n"
        "    return y\n"
    )
    assert explanation["names"] == astgrad.source(astgrad.grad(control_flow_corpus.huber))


def test_graph_draws_each_branch_as_a_cluster_and_merges_its_values():
    text = astgrad.graph(control_flow_corpus.huber)
    assert 'subgraph "cluster_then1" {' in text and 'label="if x < -1.0";' in text
    assert '"y|then2" -> "y|else1" [label="then"];' in text
    assert '"y|else1" -> "y" [label="else"];' in text
    assert '"y" [label="merge\\ny", shape=diamond];' in text
    assert '"y" -> "return";' in text
    assert '"adjoint neg_x" -> "adjoint y";' in astgrad.graph(control_flow_corpus.huber, adjoint=True)


# ---- loops -------------------------------------------------------------------------------------
def accumulate(w, x, n):
    total = 0.0
    for i in range(n):
        total += w * x * x * i
        x = x * 0.9
    return total


def swap(a, b, n):
    for i in range(n):
        a, b = b, a * 0.5 + b
    return a * b


def reads_before_the_loop(x, n):
    y = math.sin(x)
    z = x
    for i in range(2, n):
        z = z * y + x / i
    return z + y


def branch_in_a_loop(x, n):
    for i in range(n):
        if x > 1.0:
            x = math.sqrt(x)
        else:
            x = x * 1.5 + 0.1
    return x


def loop_in_a_branch(x, n):
    if x > 0.0:
        for i in range(n):
            x = x * math.cos(x)
    else:
        x = -x
    return x


def euler_reference(x, dt, n):
    """The Euler integrator's gradient, written by hand: (d x_n / d x_0, d x_n / d dt)."""
    d_x0, d_dt = 1.0, 0.0
    for _ in range(n):
        d_dt = d_dt * (1 + dt * math.cos(x)) + math.sin(x)
        d_x0 = d_x0 * (1 + dt * math.cos(x))
        x = x + dt * math.sin(x)
    return d_x0, d_dt


@pytest.mark.parametrize("n", [0, 1, 10])
def test_euler_in_every_mode_against_the_hand_written_gradient(n):
    gradient = check_every_mode(control_flow_corpus.euler, (0.5, 0.1, n), wrt=(0, 1))
    assert_close(gradient, euler_reference(0.5, 0.1, n), rtol=1e-12)


def test_a_trip_count_parameter_gets_a_zero_gradient():
    assert astgrad.grad(control_flow_corpus.euler)(0.5, 0.1, 4)[2] == 0.0
    assert astgrad.grad(control_flow_corpus.euler, mode="forward")(0.5, 0.1, 4)[2] == 0.0


@pytest.mark.parametrize("x", [0.7, -1.3])
def test_horner_with_the_loop_variable_in_the_arithmetic(x):
    analytic = sum(p * x ** (p - 1) / (5 - p) for p in range(1, 5))  # x**p has the coefficient 1 / (5 - p)
    check_every_mode(control_flow_corpus.horner, (x, 5), gradient=(analytic,), wrt=(0,))


def test_nested_loops_in_first_order_modes_and_forward_over_reverse():
    args = (0.5, 0.1, 4, 3)
    differences = [central_difference(control_flow_corpus.euler_substeps, args, i) for i in (0, 1)]
    gradient = astgrad.grad(control_flow_corpus.euler_substeps, wrt=(0, 1))(*args)
    assert_close(gradient, differences, rtol=1e-6)
    assert_close(astgrad.grad(control_flow_corpus.euler_substeps, wrt=(0, 1), mode="forward")(*args), gradient,
                 rtol=1e-12)  # fmt: skip
    first = astgrad.grad(control_flow_corpus.euler_substeps, wrt=0)
    second = [central_difference(first, args, i) for i in (0, 1)]
    assert_close(astgrad.hessian(control_flow_corpus.euler_substeps, wrt=(0, 1))(*args)[0], second, rtol=1e-5)


def three_deep(x, n):
    s = 0.0
    for i in range(n):
        for j in range(2):
            t = x * (i + 1)
            for k in range(2):
                t = math.sin(t) + 0.1 * x
            s = s + t * t
    return s


def while_in_a_for(x):
    total = 0.0
    for i in range(3):
        y = x + i
        while y < 5.0:
            y = y * 1.7 + 0.1 * x
        total = total + math.log(y) * x
    return total


def branches_in_nested_loops(x, n):
    s = x
    for i in range(n):
        y = s
        for j in range(3):
            if y > 0.5:
                y = y * 0.8 + math.cos(x)
            else:
                y = y + x * x
        s = s + 0.3 * y
    return s


def break_in_an_inner_loop(x):
    s = 0.0
    for i in range(4):
        y = x
        for j in range(10):
            y = y * 1.3
            if y > 3.0:
                break
        s = s + y * x
    return s


def nested_array_loops(w, steps):
    h = np.array([0.1, -0.2, 0.3])
    for i in range(steps):
        for j in range(2):
            h = np.tanh(w * h + 0.1 * j)
    return np.sum(h * h)


@pytest.mark.parametrize("fn, args", [
    (control_flow_corpus.euler_substeps, (0.5, 0.1, 4, 3)),
    (three_deep, (0.3, 3)),
    (while_in_a_for, (0.7,)),
    (branches_in_nested_loops, (0.4, 3)),
    (break_in_an_inner_loop, (0.9,)),
    (nested_array_loops, (0.8, 3)),
], ids=["euler substeps", "three deep", "while in a for", "branches", "break", "arrays"])  # fmt: skip
def test_a_gradient_with_nested_loops_is_differentiated_again_in_reverse_mode(fn, args):
    """The reversed outer loop makes the inner loop's stack again; the second gradient saves what it pops there."""
    first = astgrad.grad(fn, wrt=0)
    second = astgrad.grad(first, wrt=0)(*args)
    assert_close(second, central_difference(first, args, 0), rtol=1e-6)
    assert_close(second, astgrad.hessian(fn, wrt=0)(*args), rtol=1e-12)


@pytest.mark.parametrize("fn, args", [
    (control_flow_corpus.euler, (0.5, 0.1, 4)),
    (control_flow_corpus.euler_substeps, (0.5, 0.1, 3, 2)),
    (three_deep, (0.3, 2)),
], ids=["euler", "euler substeps", "three deep"])  # fmt: skip
def test_the_third_derivative_of_loops_in_reverse_mode(fn, args):
    """The second gradient adds what it pops (`d2_x = d2_x + d2_x_stack.pop()`); read back, the pop is a statement."""
    second = astgrad.grad(astgrad.grad(fn, wrt=0), wrt=0)
    third = astgrad.grad(second, wrt=0)(*args)
    assert_close(third, central_difference(second, args, 0), rtol=1e-6)
    assert_close(astgrad.grad(second, wrt=0, mode="forward")(*args), third, rtol=1e-12)


@pytest.mark.parametrize("fn", [three_deep, control_flow_corpus.euler_substeps])
def test_the_second_gradient_of_nested_loops_pops_every_stack_it_makes(fn):
    """The first gradient's inner loops, made again in its reversed loop, are not run in the second's primal sweep."""
    source = astgrad.source(astgrad.grad(astgrad.grad(fn, wrt=0), wrt=0))
    stacks = re.findall(r"(\w+) = \[\]", source)
    assert stacks and all(f"{stack}.pop()" in source for stack in stacks), source
    assert not re.search(r"^ *(\w+) = \1$", source, re.MULTILINE), source  # no copy onto itself


def test_a_loop_computing_nothing_read_after_it_is_not_run():
    """The primal sweep's loop over `i` saves nothing (its inner `while` is run again by the reversed loop): it goes."""
    first = astgrad.source(astgrad.grad(break_in_an_inner_loop, wrt=0))
    assert first.count("while ") == 1 and first.count("for i in") == 1, first
    second = astgrad.source(astgrad.grad(astgrad.grad(break_in_an_inner_loop, wrt=0), wrt=0))
    assert second.count("while ") == 1 and second.count("for i in") == 1, second


@pytest.mark.parametrize("fn, args", [
    (accumulate, (1.3, 0.8, 6)),
    (swap, (0.3, 0.7, 5)),
    (reads_before_the_loop, (0.4, 6)),
    (control_flow_corpus.bounce, (0.3, -1.0, 0.1, 10)),
    (branch_in_a_loop, (3.0, 6)),
    (loop_in_a_branch, (0.8, 4)),
    (loop_in_a_branch, (-0.8, 4)),
], ids=["accumulator", "swap", "read before the loop", "bounce", "branch in a loop", "loop in a branch",
        "loop in the other branch"])  # fmt: skip
def test_loops_in_every_mode(fn, args):
    floats = tuple(i for i, a in enumerate(args) if isinstance(a, float))
    check_every_mode(fn, args, wrt=floats)


def test_euler_reads_like_a_hand_reversed_loop():
    assert astgrad.source(astgrad.grad(control_flow_corpus.euler, wrt=(0, 1))) == (
        "def d_euler(x, dt, n, d_out=1.0):\n"
        "    if type(x) is not float or type(dt) is not float:\n"
        "        check_numbers(x, dt)\n"
        "    x_stack = []\n"
        "    for i in range(n):\n"
        "        x_stack.append(x)\n"
        "        x = x + dt * math.sin(x)\n"
        "    d_dt = 0.0\n"
        "    d_x = d_out\n"
        "    for i in reversed(range(n)):\n"
        "        x = x_stack.pop()\n"
        "        d_dt = d_dt + d_x * math.sin(x)\n"
        "        d_sin_x = d_x * dt\n"
        "        d_x = d_x + d_sin_x * math.cos(x)\n"
        "    return d_x, d_dt\n"
    )


def test_a_loop_variable_read_after_its_loop_is_refused():
    def last_index(x, n):
        for i in range(n):
            x = x * 2.0
        return x * i

    with pytest.raises(astgrad.UnsupportedSyntaxError, match="loop variable `i` is read after its loop"):
        astgrad.grad(last_index)


def test_graph_draws_a_loop_body_as_a_cluster_with_its_carried_values():
    text = astgrad.graph(control_flow_corpus.euler)
    assert 'subgraph "cluster_loop1" {' in text and 'label="for i in range(n)";' in text
    assert '"x" -> "x|loop1" [label="initial"];' in text
    assert '"x_1|loop1" -> "x|loop1" [label="next", style=dashed, constraint=false];' in text
    assert '"x|loop1" -> "x|after1" [label="last"];' in text
    assert '"x|after1" -> "return";' in text
    assert 'label="d_dt"' in astgrad.graph(control_flow_corpus.euler, adjoint=True)


def test_explain_shows_every_stage_of_a_loop():
    explanation = astgrad.explain(control_flow_corpus.euler, wrt=(0, 1), comments=False)
    assert "    for i in range(n):\n        x = x + dt * math.sin(x)\n" in explanation["resolve"]
    assert "        x_1 = x + dt_times_sin_x\n        x = x_1\n" in explanation["ssa"]
    assert "    for i in reversed(range(n)):\n        x = x_stack.pop()\n" in explanation["reverse"]
    assert explanation["names"] == astgrad.source(astgrad.grad(control_flow_corpus.euler, wrt=(0, 1)))


# ---- NumPy in loops and branches ---------------------------------------------------------------
def rnn_arguments(batch=None):
    r = np.random.default_rng(3)
    H, D, T = 4, 3, 5
    column = (H,) if batch is None else (H, 1)
    steps = (T, D) if batch is None else (T, D, batch)
    targets = (T, H) if batch is None else (T, H, batch)
    return [r.normal(size=(H, H)) * 0.5, r.normal(size=(H, D)) * 0.5, r.normal(size=column), r.normal(size=column),
            r.normal(size=steps), r.normal(size=targets)]  # fmt: skip


@pytest.mark.parametrize("batch", [None, 4], ids=["vectors", "a state broadcast to a batch after the first step"])
def test_an_rnn_over_time_steps_in_every_mode(batch):
    args = rnn_arguments(batch)
    fn = control_flow_corpus.rnn_loss
    gradient = astgrad.grad(fn, wrt=(0, 1, 2, 3))(*args)
    for i in range(4):
        assert gradient[i].shape == args[i].shape
        assert_close(gradient[i], central_difference(fn, args, i), rtol=1e-5, atol=1e-8)
    value, with_value = astgrad.value_and_grad(fn, wrt=(0, 1, 2, 3))(*args)
    assert value == fn(*args)
    forward = astgrad.grad(fn, wrt=(0, 1, 2, 3), mode="forward")(*args)
    for computed, expected in zip(forward, gradient):
        assert_close(computed, expected, rtol=1e-10, atol=1e-12)
    if batch is not None:
        return
    of_b = astgrad.grad(fn, wrt=2)
    hessian = astgrad.hessian(fn, wrt=2)(*args)
    differences = [central_difference(lambda bb, j=j: of_b(*args[:2], bb, *args[3:])[j], [args[2]], 0)
                   for j in range(4)]  # fmt: skip
    assert_close(np.reshape(hessian, (4, 4)), np.reshape(differences, (4, 4)), rtol=1e-5, atol=1e-7)


def scaled_rnn(W, h, b, n):
    for i in range(n):
        h = np.tanh(W @ h + b) * 2.0
    return np.sum(h**2)


def test_a_loop_saves_what_is_expensive_to_compute_again_and_computes_no_step_twice():
    source = astgrad.source(astgrad.grad(scaled_rnn, wrt=(0, 1, 2)))
    primal, reversed_loop = source.split("for i in reversed(range(n)):")
    assert "        tanh_stack.append(tanh)\n" in primal
    assert reversed_loop.startswith("\n        h = h_stack.pop()\n        tanh = tanh_stack.pop()\n        d_tanh = d_h * 2.0\n")
    assert "np.tanh" not in reversed_loop and " @ " not in reversed_loop
    assert "unbroadcast(d_W_matmul_h_plus_b, b)" in reversed_loop  # b may be broadcast: its shape is not h's


@pytest.mark.parametrize("batch", [None, 3], ids=["vectors", "a state broadcast to a batch after the first step"])
def test_a_loop_saving_values_is_right_in_every_mode(batch):
    r = np.random.default_rng(5)
    column = (4,) if batch is None else (4, 1)
    bias = (4,) if batch is None else (4, batch)
    args = [r.normal(size=(4, 4)) * 0.4, r.normal(size=column), r.normal(size=bias) * 0.5, 3]
    gradient = astgrad.grad(scaled_rnn, wrt=(0, 1, 2))(*args)
    for i in range(3):
        assert gradient[i].shape == args[i].shape
        assert_close(gradient[i], central_difference(scaled_rnn, args, i), rtol=1e-6, atol=1e-9)
    assert np.abs(gradient[1]).max() > 1e-2
    value, with_value = astgrad.value_and_grad(scaled_rnn, wrt=(0, 1, 2))(*args)
    assert value == scaled_rnn(*args)
    for computed, expected in zip(with_value, gradient):
        assert_close(computed, expected, rtol=0, atol=0)
    forward = astgrad.grad(scaled_rnn, wrt=(0, 1, 2), mode="forward")(*args)
    for computed, expected in zip(forward, gradient):
        assert_close(computed, expected, rtol=1e-12, atol=1e-12)
    of_b = astgrad.grad(scaled_rnn, wrt=2)
    size = np.size(args[2])
    differences = np.reshape([central_difference(lambda bb, j=j: np.ravel(of_b(*args[:2], bb, 3))[j], [args[2]], 0)
                              for j in range(size)], (size, size))  # fmt: skip
    assert_close(np.reshape(astgrad.hessian(scaled_rnn, wrt=2)(*args), (size, size)), differences, rtol=1e-5, atol=1e-7)
    seed = np.ones(np.shape(args[2]))  # grad(grad(f)) with a seed of the inner gradient's shape: a sum of rows
    second = astgrad.grad(of_b, wrt=2)(*args, 1.0, seed)
    assert_close(np.ravel(second), differences.sum(axis=0), rtol=1e-5, atol=1e-7)


def clipped(x, w):
    s = np.sum(w * x)
    if s > 0.0:
        y = np.tanh(w * x)
    else:
        y = w * x * 0.5
    return np.sum(y**2)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_branch_in_numpy_code(sign):
    r = np.random.default_rng(5)
    x, w = sign * np.abs(r.normal(size=3)), np.abs(r.normal(size=3))
    gradient = astgrad.grad(clipped, wrt=(0, 1))(x, w)
    for i, component in enumerate(gradient):
        assert_close(component, central_difference(clipped, [x, w], i), rtol=1e-6, atol=1e-9)
    forward = astgrad.grad(clipped, wrt=(0, 1), mode="forward")(x, w)
    for computed, expected in zip(forward, gradient):
        assert_close(computed, expected, rtol=1e-12, atol=1e-14)


# ---- early returns -----------------------------------------------------------------------------
def relu_with_returns(x):
    if x > 0:
        return x
    return 0.0


def piecewise_with_returns(x):
    if x < 0.0:
        return -x
    elif x < 1.0:
        y = x * x
        return y
    z = math.sqrt(x)
    return z


def helper_with_returns(v):
    if v > 0:
        return v * v
    return -v


def calls_a_helper_with_returns(x):
    return helper_with_returns(x) + helper_with_returns(-x * 2.0)


@pytest.mark.parametrize("fn, x, slope", [
    (relu_with_returns, 1.3, 1.0), (relu_with_returns, -0.4, 0.0),
    (piecewise_with_returns, -2.0, -1.0), (piecewise_with_returns, 0.5, 1.0), (piecewise_with_returns, 4.0, 0.25),
    (calls_a_helper_with_returns, 0.7, 1.4 + 2.0), (calls_a_helper_with_returns, -0.3, -1.0 - 2.4),
])  # fmt: skip
def test_an_early_return_inside_a_branch_is_one_result(fn, x, slope):
    check_every_mode(fn, (x,), gradient=(slope,))


def test_an_early_return_reads_as_an_if_else():
    assert astgrad.source(astgrad.grad(piecewise_with_returns)) == (
        "def d_piecewise_with_returns(x, d_out=1.0):\n"
        "    if type(x) is not float:\n"
        "        check_numbers(x)\n"
        "    if x < 0.0:\n"
        "        d_x = -d_out\n"
        "    elif x < 1.0:\n"
        "        d_x = d_out * (2 * x)\n"
        "    else:\n"
        "        out = math.sqrt(x)\n"
        "        d_x = d_out * (0.5 / out)\n"
        "    return d_x\n"
    )


# ---- while loops -------------------------------------------------------------------------------
@pytest.mark.parametrize("a", [2.0, 0.3, 7.5])
def test_a_newton_iteration_in_every_mode(a):
    check_every_mode(control_flow_corpus.newton_sqrt, (a,), gradient=(0.5 / math.sqrt(a),))


def test_newton_differentiates_the_iterate_computed_not_the_limit():
    # At a = 1 the start is already converged: no iteration runs, and the iterate is a itself.
    assert astgrad.grad(control_flow_corpus.newton_sqrt)(1.0) == 1.0


def decay_until_small(x, rate):
    steps = 0.0
    while x > 0.01:
        x = x * rate
        steps = steps + x
    return steps


def test_a_while_loop_carrying_two_values():
    check_every_mode(decay_until_small, (1.5, 0.7))


def test_while_true_is_refused_at_its_test():
    def forever(x):
        while True:
            x = x * 0.5
        return x

    with pytest.raises(astgrad.UnsupportedSyntaxError, match="has no way out") as info:
        astgrad.grad(forever)
    assert info.value.reason.startswith("`while True` has no way out")


# ---- break and continue ------------------------------------------------------------------------
def grow_until(x, n):
    for k in range(n):
        x = x * 1.5
        if x > 4.0:
            break
    return x


@pytest.mark.parametrize("x, n, trips", [(1.0, 10, 4), (1.0, 2, 2), (1.0, 0, 0), (5.0, 10, 1)],
                         ids=["breaks", "runs out first", "zero trips", "breaks at once"])  # fmt: skip
def test_a_for_loop_left_by_a_break_in_every_mode(x, n, trips):
    check_every_mode(grow_until, (x, n), gradient=(1.5**trips,), wrt=(0,))


def test_a_for_loop_with_a_break_reads_as_a_while_loop_and_reverses_the_iterations_it_ran():
    """The loop's own index counts the iterations that ran, so the reversed loop runs `range(k)` times."""
    assert astgrad.source(astgrad.grad(grow_until, wrt=0)) == (
        "def d_grow_until(x, n, d_out=1.0):\n"
        "    if type(x) is not float:\n"
        "        check_numbers(x)\n"
        "    stopped = False\n"
        "    k = 0\n"
        "    while k < n and not stopped:\n"
        "        x = x * 1.5\n"
        "        stopped = x > 4.0\n"
        "        k = k + 1\n"
        "    d_x = d_out\n"
        "    for _ in range(k):\n"
        "        d_x = d_x * 1.5\n"
        "    return d_x\n"
    )


def skips_some_steps(x, n):
    total = 0.0
    for k in range(n):
        if k > 1:
            if x * k > 3.0:
                continue
            total = total + 0.5 * x
        total = total + x * x
    return total


def test_a_continue_two_ifs_deep_skips_the_rest_of_its_iteration():
    # k = 0, 1 add x*x; k = 2 adds 0.5x + x*x; k = 3, 4 have x*k > 3 and add nothing
    x = 1.2
    check_every_mode(skips_some_steps, (x, 5), gradient=(6.0 * x + 0.5,), wrt=(0,))


def test_a_continue_keeps_the_for_loop_and_skips_with_an_if():
    text = astgrad.source(astgrad.grad(skips_some_steps, wrt=0))
    assert "    for k in range(n):\n" in text and "            if not x_times_k > 3.0:\n" in text
    assert "while" not in text and "stopped" not in text


def fills_rows(x, n, m):
    for i in range(n):
        for j in range(m):
            x = x * 1.1
            if x > 2.0 + i:
                break
        x = x + 0.5
    return x


def fills_rows_reference(x, n, m):
    """(value, derivative) of `fills_rows`: each product multiplies the derivative by 1.1."""
    derivative = 1.0
    for i in range(n):
        for j in range(m):
            x, derivative = x * 1.1, derivative * 1.1
            if x > 2.0 + i:
                break
        x = x + 0.5
    return x, derivative


@pytest.mark.parametrize("x", [1.0, 1.9, 3.3])
def test_a_break_leaves_the_innermost_loop_only(x):
    value, derivative = fills_rows_reference(x, 4, 5)
    assert fills_rows(x, 4, 5) == value
    check_every_mode(fills_rows, (x, 4, 5), gradient=(derivative,), wrt=(0,))


def breaks_both_loops(x, n, m):
    for i in range(n):
        for j in range(m):
            x = x * 1.1
            if x > 3.0 + i:
                break
        if x > 6.0:
            break
        x = x + 0.5
    return x


def damped(x, rate):
    steps = 0.0
    while x > 0.01:
        x = x * rate
        if x < 0.05:
            break
        if x > 1.0:
            continue
        steps = steps + x
    return steps + x


def breaks_from_either_branch(x, n):
    for k in range(n):
        if x > 3.0:
            x = x - 0.25 * x
            break
        else:
            x = x * 1.3
            if x < 0.5:
                break
        x = x + 0.1 * k
    return x


def walks_down(x, n):
    for k in range(n, 0, -1):
        x = x + 0.1 * k * x
        if x > 2.0:
            break
    return x


def stops_after_one(x, n):
    for k in range(n):
        x = math.sin(x) + k
        break
    return x


@pytest.mark.parametrize("fn, args", [
    (breaks_both_loops, (1.0, 5, 4)), (breaks_both_loops, (2.9, 5, 4)), (damped, (1.5, 0.7)), (damped, (3.0, 0.9)),
    (breaks_from_either_branch, (1.0, 6)), (breaks_from_either_branch, (0.3, 6)), (breaks_from_either_branch, (3.5, 6)),
    (walks_down, (1.0, 5)), (walks_down, (0.1, 5)), (stops_after_one, (0.4, 3)),
], ids=["both loops", "both loops, outer at once", "while with break and continue", "while, continue first",
        "from the else branch", "breaks early", "from the then branch", "negative step", "negative step runs out",
        "unconditional break"])  # fmt: skip
def test_break_and_continue_in_every_mode(fn, args):
    floats = tuple(i for i, a in enumerate(args) if isinstance(a, float))
    check_every_mode(fn, args, wrt=floats)


def test_an_unconditional_break_runs_one_iteration():
    x = 0.4
    check_every_mode(stops_after_one, (x, 3), gradient=(math.cos(x),), wrt=(0,))


def test_a_convergence_loop_with_a_break_gives_the_implicit_derivative():
    """Kepler's equation E - e sin E = M: dE/dM = 1 / (1 - e cos E), dE/de = sin E / (1 - e cos E)."""
    mean_anomaly, e = 1.2, 0.3
    E = control_flow_corpus.kepler(mean_anomaly, e)
    assert abs(E - e * math.sin(E) - mean_anomaly) < 1e-15
    denominator = 1.0 - e * math.cos(E)
    gradient = check_every_mode(control_flow_corpus.kepler, (mean_anomaly, e))
    assert_close(gradient, (1.0 / denominator, math.sin(E) / denominator), rtol=1e-12)


def product_until_large(x, xs):
    for v in xs:
        if v > 2.0:
            break
        x = x * v
    return x


def positive_terms(t, xs):
    total = 0.0
    for i, v in enumerate(xs):
        if v < 0.0:
            continue
        total = total + i * v * t * t
    return total


def paired_until(t, xs, ys):
    total = t
    for a, b in zip(xs, ys):
        total = total + a * b * t
        if total > 3.0:
            break
    return total


def test_break_and_continue_in_loops_over_sequences():
    xs = [1.1, 1.2, 3.0, 0.5]
    check_every_mode(product_until_large, (1.5, xs), gradient=(1.1 * 1.2,), wrt=(0,))
    signed = [0.5, -1.0, 2.0, -0.5, 1.5]
    check_every_mode(positive_terms, (0.7, signed), gradient=(2 * 0.7 * (2 * 2.0 + 4 * 1.5),), wrt=(0,))
    t = 0.8  # the total crosses 3 at the second pair: 0.8 + (1 + 2) * 0.8 = 3.2
    check_every_mode(paired_until, (t, [1.0, 2.0, 1.5, 4.0], [1.0, 1.0, 1.0, 1.0]), gradient=(1 + 3.0,), wrt=(0,))


def first_crossing(x, limit):
    while True:
        x = x * 1.5
        if x > limit:
            break
    return x


def calls_a_helper_with_a_break(x):
    return first_crossing(x, 4.0) + first_crossing(x * x, 9.0)


def test_a_helper_with_a_break_is_inlined():
    x = 1.1  # 1.1 -> 5.57 in four steps; 1.21 -> 9.19 in five
    check_every_mode(calls_a_helper_with_a_break, (x,), gradient=(1.5**4 + 2 * x * 1.5**5,))


def grows_in_a_nested_def(x):
    def grow(y):
        while True:
            y = y * 1.5
            if y > 4.0:
                break
        return y

    return grow(x) + x


def test_a_nested_def_with_a_break_is_inlined():
    check_every_mode(grows_in_a_nested_def, (1.1,), gradient=(1.5**4 + 1.0,))


def one_more(n):
    return n + 1


def breaks_within_a_computed_count(x, n):
    for k in range(one_more(n)):
        x = x * 1.5
        if x > 4.0:
            break
    return x


def test_a_computed_range_bound_is_read_once_before_the_loop():
    """The bound is not part of the `while` test, where a helper could not be called."""
    check_every_mode(breaks_within_a_computed_count, (1.0, 2), gradient=(1.5**3,), wrt=(0,))
    text = astgrad.source(astgrad.grad(breaks_within_a_computed_count, wrt=0))
    assert "    one_more_n = n + 1\n" in text and "    while k < one_more_n and not stopped:\n" in text


def reuses_the_loop_variable(x, n):
    for k in range(n):
        x = x * 1.2 + 0.01 * k
        if x > 2.0:
            break
    for k in range(2):
        x = x + 0.1 * k * x
    return x


def test_a_loop_variable_used_by_another_loop_leaves_the_while_loop_an_index_of_its_own():
    check_every_mode(reuses_the_loop_variable, (1.0, 6), wrt=(0,))
    text = astgrad.source(astgrad.grad(reuses_the_loop_variable, wrt=0))
    assert "    while k_1 < n and not stopped:\n" in text and "    for _ in range(k_1):\n" in text
    assert "    for k in reversed(range(2)):\n" in text


def shrinks_until_small(w, x):
    for k in range(20):
        x = np.tanh(w * x)
        if np.sum(x * x) < 0.1:
            break
    return np.sum(x)


def test_a_break_in_numpy_code():
    w, x = np.array([0.9, 0.8, 0.7]), np.array([1.0, -0.5, 2.0])
    gradient = astgrad.grad(shrinks_until_small, wrt=(0, 1))(w, x)
    for i, component in enumerate(gradient):
        assert_close(component, central_difference(shrinks_until_small, [w, x], i), rtol=1e-6, atol=1e-9)
    forward = astgrad.grad(shrinks_until_small, wrt=(0, 1), mode="forward")(w, x)
    for computed, expected in zip(forward, gradient):
        assert_close(computed, expected, rtol=1e-12, atol=1e-14)
    value, _ = astgrad.value_and_grad(shrinks_until_small, wrt=(0, 1))(w, x)
    assert value == shrinks_until_small(w, x)


def test_a_loop_variable_read_after_a_loop_with_a_break_is_refused():
    def last_index(x, n):
        for k in range(n):
            x = x * 1.5
            if x > 4.0:
                break
        return x * k

    with pytest.raises(astgrad.UnsupportedSyntaxError) as info:
        astgrad.grad(last_index, wrt=0)
    assert info.value.lineno == last_index.__code__.co_firstlineno + 5
    assert "`k`" in info.value.reason


def test_while_true_left_only_by_an_inner_loops_break_is_refused():
    def inner_break_only(x, n):
        while True:
            for k in range(n):
                x = x * 0.5
                if x < 1.0:
                    break
        return x

    with pytest.raises(astgrad.UnsupportedSyntaxError, match="has no way out") as info:
        astgrad.grad(inner_break_only)
    assert info.value.lineno == inner_break_only.__code__.co_firstlineno + 1


def test_a_break_in_a_loop_whose_step_is_not_written_out_is_refused_at_the_step():
    def steps_by(x, n, s):
        for k in range(0, n, s):
            x = x * 1.5
            if x > 4.0:
                break
        return x

    with pytest.raises(astgrad.UnsupportedSyntaxError, match="step") as info:
        astgrad.grad(steps_by, wrt=0)
    assert info.value.lineno == steps_by.__code__.co_firstlineno + 1
    assert "write the step as a number" in info.value.hint


# ---- loops over sequences ----------------------------------------------------------------------
def sum_of_squares(w, xs):
    total = 0.0
    for x in xs:
        total += w * x * x
    return total


def weighted_by_position(xs, t):
    total = 0.0
    for i, x in enumerate(xs):
        total = total + math.sin(x * t) * i
    return total


def paired(xs, ys, t):
    total = 0.0
    for x, y in zip(xs, ys):
        total = total * t + x * y
    return total


def backwards(xs, t):
    acc = 0.0
    for x in reversed(xs):
        acc = acc * t + x
    return acc


@pytest.mark.parametrize("fn, args, wrt", [
    (sum_of_squares, (1.5, [1.0, 2.0, 3.0]), (0,)),
    (control_flow_corpus.horner_coefficients, ((1.0, -2.0, 0.5), 0.7), (1,)),
    (weighted_by_position, ([0.1, 0.2, 0.3], 1.3), (1,)),
    (paired, ([1.0, 2.0, 3.0], [0.5, -1.0, 2.0, 7.0], 0.4), (2,)),
    (backwards, ([1.0, 2.0, 3.0], 0.5), (1,)),
], ids=["for x in a list", "for c in a tuple", "enumerate", "zip (the shorter length)", "reversed"])  # fmt: skip
def test_loops_over_sequences_in_every_mode(fn, args, wrt):
    check_every_mode(fn, args, wrt=wrt)


def test_the_gradient_of_a_sequence_a_loop_walks():
    coefficients = np.array([1.0, -2.0, 0.5])
    gradient = astgrad.grad(control_flow_corpus.horner_coefficients, wrt=(0, 1))(coefficients, 0.7)
    assert_close(gradient[0], [0.49, 0.7, 1.0], rtol=1e-12)
    assert_close(gradient[1], 2 * 0.7 * 1.0 - 2.0, rtol=1e-12)


def test_an_mlp_over_a_list_of_layers():
    r = np.random.default_rng(2)
    layers = [(r.normal(size=(3, 3)), r.normal(size=3)) for _ in range(3)]
    x = r.normal(size=3)
    fn = control_flow_corpus.mlp
    gradient = astgrad.grad(fn, wrt=0)(x, layers)
    assert_close(gradient, central_difference(fn, [x, layers], 0), rtol=1e-6, atol=1e-9)
    assert_close(astgrad.grad(fn, wrt=0, mode="forward")(x, layers), gradient, rtol=1e-12, atol=1e-14)
    of_x = astgrad.grad(fn, wrt=0)
    differences = [central_difference(lambda v, j=j: of_x(v, layers)[j], [x], 0) for j in range(3)]
    assert_close(astgrad.hessian(fn, wrt=0)(x, layers), differences, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_an_mlp_differentiated_with_respect_to_its_list_of_layers(mode):
    r = np.random.default_rng(2)
    layers = [(r.normal(size=(3, 3)), r.normal(size=3)) for _ in range(3)]
    x = r.normal(size=3)
    fn = control_flow_corpus.mlp
    d_layers = astgrad.grad(fn, wrt="layers", mode=mode)(x, layers)
    assert isinstance(d_layers, list) and len(d_layers) == 3
    for k, (d_W, d_b) in enumerate(d_layers):
        for part, gradient in ((0, d_W), (1, d_b)):
            def of_leaf(leaf, k=k, part=part):
                changed = [tuple(leaf if (j, q) == (k, part) else layer[q] for q in (0, 1))
                           for j, layer in enumerate(layers)]  # fmt: skip
                return fn(x, changed)

            assert_close(gradient, central_difference(of_leaf, [layers[k][part]], 0), rtol=1e-5, atol=1e-9)


def test_a_loop_over_a_computed_sequence_is_refused_with_a_hint():
    def nested(xs, ys):
        total = 0.0
        for i, (x, y) in enumerate(zip(xs, ys)):
            total = total + x * y * i
        return total

    with pytest.raises(astgrad.UnsupportedSyntaxError, match="computed sequence") as info:
        astgrad.grad(nested)
    assert info.value.hint == "assign the sequence to a name before the loop"


# ---- regressions found by the random programs ----------------------------------------------------


def carries_a_repeated_value(x):
    y = x - x
    s = x - x  # the same value as y: the loop's header `s` is not `y`
    for i in range(3):
        s = s + x * 0.5 + y
    return s


def pair(y):
    return y * 2.0, y * 3.0


def unpacks_a_pair_before_a_loop(x):
    a, b = pair(x)
    for i in range(2):
        a = a * b
    return a


def test_a_header_computed_as_an_earlier_value_is_kept_apart_from_it():
    """Common-subexpression elimination once read `s` as `y` inside the loop: a silent 0.0."""
    check_every_mode(carries_a_repeated_value, [0.7], gradient=[1.5])


SCALE = 0.5


def carries_a_module_constant(x):
    p = SCALE
    for i in range(2):
        p = p * x + SCALE
    return p


def test_a_value_carried_from_a_module_constant_does_not_take_its_name():
    """The loop's header once took the constant's name, `SCALE`, making it a local read before assignment."""
    x = 0.9
    check_every_mode(carries_a_module_constant, [x], gradient=[0.5 * 2 * x + 0.5])


def test_a_helpers_pair_unpacked_before_a_loop():
    x = 0.8
    check_every_mode(unpacks_a_pair_before_a_loop, [x], gradient=[54.0 * x * x])


def doubles_then_means(x, k):
    for i in range(2):
        x = x * 2.0
    return np.sum(x) + np.mean(k) * k


def test_a_number_parameter_of_array_code_with_a_loop_gets_a_number_gradient():
    """A reduction's adjoint is an array, 0-d for a number: returned, it is a float again."""
    for mode in ("reverse", "forward"):
        d_x, d_k = astgrad.grad(doubles_then_means, mode=mode)(np.ones(3), 1.5)
        assert isinstance(d_k, float) and d_k == 3.0
        assert_close(d_x, [4.0, 4.0, 4.0], rtol=0, atol=0)


def tanh_pair(a):
    return (+a, math.tanh(-0.49))


def computes_a_headers_start_again_after_its_loop(z):
    x, d = tanh_pair(math.asinh(z))  # d starts as tanh(-0.49); the loop keeps its name for d
    for i in range(3):
        d = 0.12 + 0.6 * math.atan(z) + x
    c, t = tanh_pair(2.0)  # tanh(-0.49) again: not the name the loop overwrote
    return t * d


def test_a_value_computed_again_after_a_loop_is_not_read_from_the_loops_header():
    """cse once read `t` from the header holding `d` (random program 0:2005): a silent wrong gradient."""
    z = 0.5
    expected = math.tanh(-0.49) * (0.6 / (1 + z * z) + 1 / math.sqrt(1 + z * z))
    check_every_mode(computes_a_headers_start_again_after_its_loop, [z], gradient=[expected])


def repeats_beside_a_while_loop(x):
    y = math.sin(x) + 2.0
    while y < 10.0:
        y = y * 1.5
    if x > 0.0:
        z = math.sin(x) * y
    else:
        z = y
    return z


def test_a_while_loop_beside_a_repeated_value_keeps_its_test():
    """Common-subexpression elimination rebuilt the loop without its test: `while range():` failed in the gradient."""
    x = 0.5  # y goes 2.48 -> 12.55 in four iterations
    gradient = math.cos(x) * (2.0 * math.sin(x) + 2.0) * 1.5**4
    check_every_mode(repeats_beside_a_while_loop, [x], gradient=[gradient])


def ends_on_a_value_from_before(rate):
    r, d = rate, math.atan(rate)
    for i in range(3):
        r = d  # the end value is a name from before the loop, taken as it is
    return r * rate


def test_an_end_value_taken_from_before_the_loop_gets_its_adjoint():
    """The reversed loop once dropped `d`'s adjoint (random program 0:2833): a silent wrong gradient."""
    x = -0.46
    check_every_mode(ends_on_a_value_from_before, [x], gradient=[math.atan(x) + x / (1 + x * x)])


def overwrites_its_parameter_after_a_loop(scale, x):
    for i in range(2):
        scale = np.cos(scale + x)  # an array after the first step, and never read after the loop
    scale = x ** 2
    return np.mean(scale) + np.mean(scale * 0.0 + 1.0)


def test_a_parameter_a_loop_carries_gets_a_zero_of_its_own_shape():
    """The zero gradient once read the parameter's name after its loop, an array (array program 0:605)."""
    x = np.array([0.1, 0.2])
    for mode in ("reverse", "forward"):
        d_scale, d_x = astgrad.grad(overwrites_its_parameter_after_a_loop, mode=mode)(0.3, x)
        assert isinstance(d_scale, float) and d_scale == 0.0
        assert_close(d_x, x, rtol=1e-12, atol=0)
    text = astgrad.source(astgrad.grad(overwrites_its_parameter_after_a_loop))
    assert "for i in range" not in text  # the loop no gradient needs is gone with it


def test_a_generated_functions_pops_inside_expressions_become_statements():
    tree = gast.parse(
        "def d2_f(x, d_out=1.0, d2_out=1.0):\n"
        "    for i in reversed(range(3)):\n"
        "        d2_x = d2_x + d2_x_stack.pop() * d2_popped\n"
        "        x = x_stack.pop()\n"
        "    return d2_x\n"
    ).body[0]
    assert gast.unparse(desugar.pops_as_statements(tree)).splitlines()[1:5] == [
        "    for i in reversed(range(3)):",
        "        d2_x_popped = d2_x_stack.pop()",
        "        d2_x = d2_x + d2_x_popped * d2_popped",
        "        x = x_stack.pop()",
    ]
