"""Speed and memory of gradients of loops against hand-written reversed loops.

Four groups, each with a function written as people write it and a gradient
written by hand as a careful person reverses the loop:

* ``euler``: an Euler integrator of a scalar state, ``x = x + dt * sin(x)``
  over 1,000 steps, gradient with respect to ``x`` and ``dt``;
* ``euler_until``: the same with a ``break`` when ``x`` passes 1.2 (after
  986 of at most 2,000 steps): a loop astgrad writes as a ``while`` loop;
* ``rnn``: a tanh RNN with hidden size 32, inputs of size 16 and 100 steps,
  a squared-error loss summed over the steps, gradient with respect to the
  weights ``W``, ``U``, the bias ``b`` and the initial state ``h``;
* ``sequence``: a scalar recurrence ``h = tanh(w * h + xs[i])`` over 5,000
  inputs, gradient with respect to the inputs ``xs`` (one element of their
  adjoint per step: linear only when it is added in place) and ``w``.

The hand-written gradients are checked against central differences and
against exact reference values (the Euler tangent recurrence), so the
comparison is between right answers.  In the normal suite
(``--benchmark-disable``) each benchmark runs once as a correctness test.
Timings are never asserted.

Measure, and print the astgrad/hand ratios of medians, the RNN gradients'
peak extra memory (``tracemalloc``) and, where autograd is installed, the
Euler gradient's time under autograd, with::

    python tests/benchmarks/test_loop_benchmarks.py
    python tests/benchmarks/test_loop_benchmarks.py --interleaved  # alternating blocks, under load

(see docs/performance.md).
"""
import math
import os

if __name__ == "__main__":
    # One BLAS thread, unless the caller says otherwise (see test_numpy_benchmarks.py).
    for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

import numpy as np
import pytest

import astgrad

# --------------------------------------------------------------------------
# Group 1: an Euler integrator of a scalar state, 1,000 steps
# --------------------------------------------------------------------------


def euler(x, dt, n):
    for i in range(n):
        x = x + dt * math.sin(x)
    return x


def hand_euler(x, dt, n):
    """d euler / d(x, dt): the states saved on the way forward, read back in reverse."""
    states = []
    for i in range(n):
        states.append(x)
        x = x + dt * math.sin(x)
    d_x = 1.0
    d_dt = 0.0
    for x in reversed(states):
        d_dt += d_x * math.sin(x)
        d_x += d_x * dt * math.cos(x)
    return d_x, d_dt


def tangent_euler(x, dt, n):
    """The same derivatives by the tangent recurrence, one sweep forward (the exact reference)."""
    dx_dx, dx_ddt = 1.0, 0.0
    for i in range(n):
        dx_ddt = dx_ddt * (1 + dt * math.cos(x)) + math.sin(x)
        dx_dx = dx_dx * (1 + dt * math.cos(x))
        x = x + dt * math.sin(x)
    return dx_dx, dx_ddt


EULER_ARGS = (0.5, 0.001, 1000)


def euler_until(x, dt, n):
    for i in range(n):
        x = x + dt * math.sin(x)
        if x > 1.2:
            break
    return x


def hand_euler_until(x, dt, n):
    """d euler_until / d(x, dt): the loop with its break, then backwards over the states it saved."""
    states = []
    for i in range(n):
        states.append(x)
        x = x + dt * math.sin(x)
        if x > 1.2:
            break
    d_x = 1.0
    d_dt = 0.0
    for x in reversed(states):
        d_dt += d_x * math.sin(x)
        d_x += d_x * dt * math.cos(x)
    return d_x, d_dt


def tangent_euler_until(x, dt, n):
    dx_dx, dx_ddt = 1.0, 0.0
    for i in range(n):
        dx_ddt = dx_ddt * (1 + dt * math.cos(x)) + math.sin(x)
        dx_dx = dx_dx * (1 + dt * math.cos(x))
        x = x + dt * math.sin(x)
        if x > 1.2:
            break
    return dx_dx, dx_ddt


EULER_UNTIL_ARGS = (0.5, 0.001, 2000)  # x passes 1.2 after 986 steps

# --------------------------------------------------------------------------
# Group 2: an RNN, hidden size 32, inputs of size 16, 100 steps
# --------------------------------------------------------------------------


def rnn(W, U, b, h, xs, targets):
    loss = 0.0
    for t in range(len(xs)):
        h = np.tanh(W @ h + U @ xs[t] + b)
        loss = loss + 0.5 * np.sum((h - targets[t]) ** 2)
    return loss


def hand_rnn(W, U, b, h, xs, targets):
    """d rnn / d(W, U, b, h): every state kept on the way forward, the loop run backwards."""
    states = [h]
    for t in range(len(xs)):
        h = np.tanh(W @ h + U @ xs[t] + b)
        states.append(h)
    d_W = np.zeros_like(W)
    d_U = np.zeros_like(U)
    d_b = np.zeros_like(b)
    d_h = np.zeros_like(h)
    for t in reversed(range(len(xs))):
        h = states[t + 1]
        d_h += h - targets[t]
        d_a = d_h * (1 - h * h)
        d_W += np.outer(d_a, states[t])
        d_U += np.outer(d_a, xs[t])
        d_b += d_a
        d_h = W.T @ d_a
    return d_W, d_U, d_b, d_h


def rnn_data(hidden=32, inputs=16, steps=100, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(hidden, hidden)) / np.sqrt(hidden)
    U = rng.normal(size=(hidden, inputs)) / np.sqrt(inputs)
    b = 0.1 * rng.normal(size=hidden)
    h = 0.1 * rng.normal(size=hidden)
    xs = rng.normal(size=(steps, inputs))
    targets = 0.5 * rng.normal(size=(steps, hidden))
    return W, U, b, h, xs, targets


RNN_WRT = ("W", "U", "b", "h")

# --------------------------------------------------------------------------
# Group 3: a scalar recurrence over 5,000 inputs, gradient w.r.t. the inputs
# --------------------------------------------------------------------------


def sequence(xs, w):
    h = 0.0
    for i in range(len(xs)):
        h = np.tanh(w * h + xs[i])
    return h


def hand_sequence(xs, w):
    """d sequence / d(xs, w): the states kept, the loop run backwards writing one input's adjoint per step."""
    states = [0.0]
    for x in xs:
        states.append(np.tanh(w * states[-1] + x))
    d_xs = np.zeros_like(xs)
    d_w = 0.0
    d_h = 1.0
    for i in reversed(range(len(xs))):
        d_a = d_h * (1 - states[i + 1] ** 2)
        d_xs[i] = d_a
        d_w += d_a * states[i]
        d_h = d_a * w
    return d_xs, d_w


def sequence_data(steps=5000, seed=0):
    return np.random.default_rng(seed).normal(size=steps), 0.8

# --------------------------------------------------------------------------
# The pairs: (function, hand-written gradient, wrt, arguments)
# --------------------------------------------------------------------------

GROUPS = {
    "euler": (euler, hand_euler, ("x", "dt"), lambda: EULER_ARGS),
    "euler_until": (euler_until, hand_euler_until, ("x", "dt"), lambda: EULER_UNTIL_ARGS),
    "rnn": (rnn, hand_rnn, RNN_WRT, rnn_data),
    "sequence": (sequence, hand_sequence, ("xs", "w"), sequence_data),
}


# The groups whose function astgrad differentiates (all, since loops, break and NumPy in loops are).
GENERATED = ("euler", "euler_until", "rnn", "sequence")


def check(result, expected, rtol):
    assert len(result) == len(expected)
    for got, want in zip(result, expected):
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-13)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_hand(benchmark, group):
    primal, hand, wrt, data = GROUPS[group]
    benchmark.group = group
    benchmark.extra_info["impl"] = "hand"
    args = data()
    result = benchmark(hand, *args)
    if group == "euler":
        check(result, tangent_euler(*args), rtol=1e-12)
    elif group == "euler_until":
        check(result, tangent_euler_until(*args), rtol=1e-12)
    elif group == "sequence":
        xs, w = args
        for i in (0, len(xs) - 2, len(xs) - 1):  # the early inputs' adjoints underflow to 0 after 5,000 steps
            step = np.zeros_like(xs)
            step[i] = 1e-6
            by_differences = (sequence(xs + step, w) - sequence(xs - step, w)) / 2e-6
            np.testing.assert_allclose(result[0][i], by_differences, rtol=1e-6, atol=1e-12)
        by_differences = (sequence(xs, w + 1e-6) - sequence(xs, w - 1e-6)) / 2e-6
        np.testing.assert_allclose(result[1], by_differences, rtol=1e-6)
    else:
        assert [np.shape(g) for g in result] == [np.shape(a) for a in args[:4]]


@pytest.fixture(scope="module", params=GENERATED)
def generated(request):
    """(group, astgrad's gradient, hand-written gradient, arguments), generated once."""
    primal, hand, wrt, data = GROUPS[request.param]
    return request.param, astgrad.grad(primal, wrt=wrt), hand, data()


def test_astgrad(benchmark, generated):
    group, gradient, hand, args = generated
    benchmark.group = group
    benchmark.extra_info["impl"] = "astgrad"
    result = benchmark(gradient, *args)
    check(result, hand(*args), rtol=1e-10 if group == "rnn" else 1e-12)


# --------------------------------------------------------------------------
# The hand-written gradients are right
# --------------------------------------------------------------------------


def central_difference(f, args, index, h):
    x = np.array(args[index], dtype=float)
    result = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[position] += h
        down[position] -= h
        result[position] = (f(*args[:index], up[()], *args[index + 1:])
                            - f(*args[:index], down[()], *args[index + 1:])) / (2 * h)
    return result


def test_hand_euler_is_the_tangent_recurrence_and_central_differences():
    x, dt, n = EULER_ARGS
    by_hand = hand_euler(x, dt, n)
    check(by_hand, tangent_euler(x, dt, n), rtol=1e-12)
    for index, step in ((0, 1e-6), (1, 1e-8)):  # dt is 0.001: its step is smaller
        numeric = central_difference(euler, (x, dt, n), index, h=step)
        assert by_hand[index] == pytest.approx(float(numeric), rel=1e-6)
    # Large steps: the derivative is far from 1 and from sin(x) * n.
    assert hand_euler(1.0, 0.3, 7) == pytest.approx(tangent_euler(1.0, 0.3, 7), rel=1e-14)
    assert hand_euler(1.0, 0.3, 7)[0] == pytest.approx(float(central_difference(euler, (1.0, 0.3, 7), 0, 1e-6)), rel=1e-8)


def test_hand_euler_until_stops_where_the_function_does_and_matches_central_differences():
    x, dt, n = EULER_UNTIL_ARGS
    assert euler_until(x, dt, n) > 1.2 and euler_until(x, dt, 986) > 1.2 and euler_until(x, dt, 985) < 1.2
    by_hand = hand_euler_until(x, dt, n)
    check(by_hand, tangent_euler_until(x, dt, n), rtol=1e-12)
    for index, step in ((0, 1e-7), (1, 1e-9)):
        numeric = central_difference(euler_until, (x, dt, n), index, h=step)
        assert by_hand[index] == pytest.approx(float(numeric), rel=1e-5)


def test_hand_euler_of_zero_steps_is_the_identity():
    assert hand_euler(0.5, 0.1, 0) == (1.0, 0.0)


def test_hand_rnn_matches_central_differences():
    args = rnn_data(hidden=3, inputs=2, steps=4, seed=1)
    by_hand = hand_rnn(*args)
    for index, got in enumerate(by_hand):
        numeric = central_difference(rnn, args, index, h=1e-6)
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-9)
    assert all(np.abs(g).max() > 1e-3 for g in by_hand)


# --------------------------------------------------------------------------
# Memory: the peak of what a gradient call allocates, measured with tracemalloc
# --------------------------------------------------------------------------


def peak_extra_memory(gradient, args):
    """Bytes allocated at the peak of one call of `gradient`, above what was allocated before it."""
    import tracemalloc

    gradient(*args)  # caches and lazy imports are not the call's memory
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        gradient(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - before


def test_the_hand_rnn_keeps_every_state_and_little_else():
    args = rnn_data()
    W, U, b, h, xs, targets = args
    states = (len(xs) + 1) * h.nbytes
    peak = peak_extra_memory(hand_rnn, args)
    assert states < peak < 2 * states + W.nbytes + U.nbytes + 64 * h.nbytes


def test_the_generated_rnn_gradient_needs_at_most_half_again_the_hand_written_memory():
    args = rnn_data()
    hand = peak_extra_memory(hand_rnn, args)
    generated = peak_extra_memory(astgrad.grad(rnn, wrt=RNN_WRT), args)
    assert generated <= 1.5 * hand, (generated, hand)


# --------------------------------------------------------------------------
# Not a test: measure and print
# --------------------------------------------------------------------------


def print_memory():
    print("\npeak extra memory of one RNN gradient call (tracemalloc), bytes")
    args = rnn_data()
    peaks = {"hand": peak_extra_memory(hand_rnn, args)}
    if "rnn" in GENERATED:
        peaks["astgrad"] = peak_extra_memory(astgrad.grad(rnn, wrt=RNN_WRT), args)
    for impl, peak in peaks.items():
        print("%-8s %10d  %.2f x hand" % (impl, peak, peak / peaks["hand"]))


def autograd_euler():
    """autograd's gradient of `euler` with respect to (x, dt), or None where autograd is not installed."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None

    def traced(x, dt, n):  # `euler` with autograd's sin, which it can trace
        for i in range(n):
            x = x + dt * anp.sin(x)
        return x

    return autograd.grad(traced, argnum=(0, 1))


def interleaved_medians(functions, args, rounds, calls):
    """Median seconds per call of each function, timed in alternating blocks under the same load."""
    import time

    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            start = time.perf_counter()
            for _ in range(calls[name]):
                fn(*args)
            times[name].append((time.perf_counter() - start) / calls[name])
    return {name: float(np.median(values)) for name, values in times.items()}


def print_autograd(rounds=15):
    gradient = autograd_euler()
    if gradient is None:
        print("\nautograd is not installed: `pip install autograd` to compare with it")
        return
    check(tuple(gradient(*EULER_ARGS)), hand_euler(*EULER_ARGS), rtol=1e-12)
    functions = {"hand": hand_euler, "autograd": gradient}
    if "euler" in GENERATED:
        functions["astgrad"] = astgrad.grad(euler, wrt=("x", "dt"))
    calls = {"hand": 100, "astgrad": 100, "autograd": 1}
    medians = interleaved_medians(functions, EULER_ARGS, rounds, calls)
    print("\nEuler gradient, 1,000 steps, alternating blocks: median us per call over %d rounds" % rounds)
    for name, median in medians.items():
        print("%-8s %10.1f  autograd / %s: %.0f" % (name, median * 1e6, name, medians["autograd"] / median))


def print_interleaved(rounds=21):
    """astgrad, hand and primal of each group timed in alternating blocks (steadier under load)."""
    calls = {"euler": 50, "euler_until": 50, "rnn": 10, "sequence": 5}
    print("\nalternating blocks: median us per call over %d rounds; ratios of medians" % rounds)
    print("%-6s %10s %10s %10s %13s %15s" % ("group", "astgrad", "hand", "primal", "astgrad/hand", "astgrad/primal"))
    for group in sorted(GROUPS):
        primal, hand, wrt, data = GROUPS[group]
        functions = {"astgrad": astgrad.grad(primal, wrt=wrt), "hand": hand, "primal": primal}
        medians = interleaved_medians(functions, data(), rounds, dict.fromkeys(functions, calls[group]))
        print("%-6s %10.1f %10.1f %10.1f %13.2f %15.2f" % (
            group, medians["astgrad"] * 1e6, medians["hand"] * 1e6, medians["primal"] * 1e6,
            medians["astgrad"] / medians["hand"], medians["astgrad"] / medians["primal"]))  # fmt: skip


def main(argv):
    if argv == ["--interleaved"]:
        print_interleaved()
        print_memory()
        print_autograd()
        return 0
    from benchmark_runner import measure, print_hand_ratios

    code, groups = measure(__file__, [
        "--benchmark-warmup=on",
        "--benchmark-warmup-iterations=20",
        "--benchmark-min-rounds=50",
        "--benchmark-max-time=2.0",
        "--benchmark-columns=min,median,mean,rounds",
    ], argv)  # fmt: skip
    if code != 0:
        return code
    print_hand_ratios({group: stats for group, stats in groups.items() if "astgrad" in stats}, unit="us", scale=1e6)
    print_memory()
    print_autograd()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
