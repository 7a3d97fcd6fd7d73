"""Speed of astgrad's gradients of NumPy code against hand-written NumPy gradients.

Three groups, each with three functions called on the same arguments:

* ``astgrad``: the gradient astgrad generates (``astgrad.grad``);
* ``hand``: the gradient as a careful person writes it with NumPy;
* ``primal``: the function itself, so that the gradient's cost can be read as
  a multiple of one evaluation.

The groups: a logistic-regression loss (X 1000x50, gradient with respect to w
and b), a two-layer MLP with a softmax cross-entropy (X 256x64, W1 64x128,
W2 128x10, gradient with respect to W1, b1, W2, b2), and
``np.sum(np.exp(np.sin(x)) * x**2)`` on 10**6 elements.

Every benchmark also checks the numbers it returns, so in the normal suite
(``--benchmark-disable``, set in pyproject.toml) each one runs once as an
ordinary correctness test; the hand-written gradients are checked against
astgrad's and against central differences.  Timings are never asserted.

Measure, and print the ratios astgrad/hand and astgrad/primal of medians,
with::

    python tests/benchmarks/test_numpy_benchmarks.py

which runs BLAS on one thread and fixes glibc's malloc thresholds (see
docs/performance.md; ``--default-allocator`` keeps glibc's defaults). With
``--interleaved`` it instead times the three functions of each group in
alternating blocks, which is less sensitive to a changing load.
"""
import os

if __name__ == "__main__":
    import sys

    # One BLAS thread, unless the caller says otherwise: on a busy machine a
    # second BLAS thread makes matrix products wait for a free core, and the
    # medians then measure the load instead of the code.
    for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")
    # Fixed thresholds for glibc's malloc, unless the caller sets them or asks
    # for --default-allocator. By default glibc moves its mmap threshold as
    # arrays are freed and hands memory at the top of the heap back to the
    # system, so whether a call's arrays fault in fresh pages depends on what
    # ran before: medians of the same code moved by 40 % between runs. With
    # these, arrays under 32 MB come from the heap and freed memory stays for
    # reuse. glibc reads them at start-up, hence the restart.
    if "--default-allocator" in sys.argv:
        sys.argv.remove("--default-allocator")
    elif sys.platform.startswith("linux") and "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        os.environ.update(MALLOC_MMAP_THRESHOLD_=str(32 * 2**20), MALLOC_TRIM_THRESHOLD_=str(2**30))
        os.execv(sys.executable, [sys.executable, *sys.argv])

import numpy as np
import pytest

import astgrad

REL = 1e-10


# --------------------------------------------------------------------------
# Group 1: logistic regression, X 1000x50, gradient w.r.t. (w, b)
# --------------------------------------------------------------------------

def logistic(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def hand_logistic(w, b, X, y):
    z = X @ w + b
    p = 1 / (1 + np.exp(-z))
    d_z = (p - y) / X.shape[0]
    return X.T @ d_z, d_z.sum()


def logistic_data(n=1000, d=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + rng.normal(size=n) > 0).astype(float)
    w = 0.1 * rng.normal(size=d)
    return w, 0.1, X, y


# --------------------------------------------------------------------------
# Group 2: a two-layer MLP with softmax cross-entropy, X 256x64,
# W1 64x128, b1 128, W2 128x10, b2 10; gradient w.r.t. (W1, b1, W2, b2)
# --------------------------------------------------------------------------

def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * log_probs) / X.shape[0]


def hand_mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    e = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    d_logits = (e / e.sum(axis=1, keepdims=True) - Y) / X.shape[0]
    d_a = (d_logits @ W2.T) * (1 - h * h)
    return X.T @ d_a, d_a.sum(axis=0), h.T @ d_logits, d_logits.sum(axis=0)


def mlp_data(n=256, d=64, hidden=128, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.eye(classes)[rng.integers(0, classes, size=n)]
    W1 = rng.normal(size=(d, hidden)) / np.sqrt(d)
    b1 = 0.1 * rng.normal(size=hidden)
    W2 = rng.normal(size=(hidden, classes)) / np.sqrt(hidden)
    b2 = 0.1 * rng.normal(size=classes)
    return W1, b1, W2, b2, X, Y


# --------------------------------------------------------------------------
# Group 3: np.sum(np.exp(np.sin(x)) * x**2) on 10**6 elements
# --------------------------------------------------------------------------

def sin_exp(x):
    return np.sum(np.exp(np.sin(x)) * x ** 2)


def hand_sin_exp(x):
    # d/dx exp(sin x) x**2 = exp(sin x) (cos x x**2 + 2 x)
    e = np.exp(np.sin(x))
    return e * x * (x * np.cos(x) + 2)


def sin_exp_data(n=10 ** 6, seed=0):
    return (np.random.default_rng(seed).uniform(-2.0, 2.0, size=n),)


# --------------------------------------------------------------------------
# The pairs, their arguments, and the reference gradients.
# --------------------------------------------------------------------------

GROUPS = {
    "logistic": (logistic, hand_logistic, ("w", "b"), logistic_data),
    "mlp": (mlp, hand_mlp, ("W1", "b1", "W2", "b2"), mlp_data),
    "sin_exp": (sin_exp, hand_sin_exp, "x", sin_exp_data),
}


def as_tuple(gradient, wrt):
    return (gradient,) if isinstance(wrt, str) else tuple(gradient)


def check(result, expected):
    assert len(result) == len(expected)
    for got, want in zip(result, expected):
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=REL, atol=1e-14)


@pytest.fixture(scope="module", params=sorted(GROUPS))
def case(request):
    """(group, primal, hand, astgrad's gradient, wrt, arguments), generated once."""
    primal, hand, wrt, data = GROUPS[request.param]
    return request.param, primal, hand, astgrad.grad(primal, wrt=wrt), wrt, data()


def benchmark_in_group(benchmark, group, impl):
    benchmark.group = group
    benchmark.extra_info["impl"] = impl


# --------------------------------------------------------------------------
# The benchmarks: three per group.
# --------------------------------------------------------------------------

def test_astgrad(benchmark, case):
    group, primal, hand, gradient, wrt, args = case
    benchmark_in_group(benchmark, group, "astgrad")
    result = benchmark(gradient, *args)
    check(as_tuple(result, wrt), as_tuple(hand(*args), wrt))


def test_hand(benchmark, case):
    group, primal, hand, gradient, wrt, args = case
    benchmark_in_group(benchmark, group, "hand")
    result = benchmark(hand, *args)
    check(as_tuple(result, wrt), as_tuple(gradient(*args), wrt))


def test_primal(benchmark, case):
    group, primal, hand, gradient, wrt, args = case
    benchmark_in_group(benchmark, group, "primal")
    result = benchmark(primal, *args)
    assert np.ndim(result) == 0 and np.isfinite(result)


# --------------------------------------------------------------------------
# The hand-written gradients are right: against central differences, on
# small problems of the same form.
# --------------------------------------------------------------------------

def central_differences(f, args, index, h=1e-6):
    x = np.array(args[index], dtype=float)
    result = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[position] += h
        down[position] -= h
        result[position] = (f(*args[:index], up[()], *args[index + 1:])
                            - f(*args[:index], down[()], *args[index + 1:])) / (2 * h)
    return result


SMALL = {
    "logistic": lambda: logistic_data(n=20, d=3),
    "mlp": lambda: mlp_data(n=6, d=3, hidden=4, classes=3),
    "sin_exp": lambda: sin_exp_data(n=7),
}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_hand_gradient_matches_central_differences(group):
    primal, hand, wrt, _ = GROUPS[group]
    args = SMALL[group]()
    names = (wrt,) if isinstance(wrt, str) else wrt
    by_hand = as_tuple(hand(*args), wrt)
    assert len(by_hand) == len(names)
    for index, got in enumerate(by_hand):
        numeric = central_differences(primal, args, index)
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)
    check(as_tuple(astgrad.grad(primal, wrt=wrt)(*args), wrt), by_hand)


# --------------------------------------------------------------------------
# Not a test: measure and print the ratios of median call times.
# --------------------------------------------------------------------------

def print_ratios(groups):
    print("\nmedian (min) us per call; ratios of medians (of mins)")
    print("%-9s %18s %18s %18s %14s %14s" % (
        "group", "astgrad", "hand", "primal", "astgrad/hand", "astgrad/primal"))
    for group, stats in sorted(groups.items()):
        ours, hand, primal = stats["astgrad"], stats["hand"], stats["primal"]
        print("%-9s %9.1f (%6.1f) %9.1f (%6.1f) %9.1f (%6.1f) %6.2f (%5.2f) %6.2f (%5.2f)" % (
            group,
            ours["median"] * 1e6, ours["min"] * 1e6,
            hand["median"] * 1e6, hand["min"] * 1e6,
            primal["median"] * 1e6, primal["min"] * 1e6,
            ours["median"] / hand["median"], ours["min"] / hand["min"],
            ours["median"] / primal["median"], ours["min"] / primal["min"]))


def interleaved(rounds=41, calls=None):
    """Median time per call of astgrad, hand and primal, timed in alternating blocks in one process.

    On a shared machine the load changes between pytest-benchmark's
    benchmarks, which run one after the other; alternating short blocks puts
    the three functions of a group under the same load.
    """
    import time

    calls = calls or {"logistic": 200, "mlp": 20, "sin_exp": 2}
    print("\nalternating blocks: median us per call over %d rounds; ratios of medians" % rounds)
    print("%-9s %10s %10s %10s %14s %14s" % ("group", "astgrad", "hand", "primal", "astgrad/hand", "astgrad/primal"))
    for group in sorted(GROUPS):
        primal, hand, wrt, data = GROUPS[group]
        functions = {"astgrad": astgrad.grad(primal, wrt=wrt), "hand": hand, "primal": primal}
        args = data()
        times = {impl: [] for impl in functions}
        for _ in range(rounds):
            for impl, fn in functions.items():
                start = time.perf_counter()
                for _ in range(calls[group]):
                    fn(*args)
                times[impl].append((time.perf_counter() - start) / calls[group])
        median = {impl: float(np.median(values)) for impl, values in times.items()}
        print("%-9s %10.1f %10.1f %10.1f %14.2f %14.2f" % (
            group, median["astgrad"] * 1e6, median["hand"] * 1e6, median["primal"] * 1e6,
            median["astgrad"] / median["hand"], median["astgrad"] / median["primal"]))


def main(argv):
    if argv == ["--interleaved"]:
        interleaved()
        return 0
    from benchmark_runner import measure

    code, groups = measure(__file__, [
        # Warm up (allocator, caches) for a bounded number of calls.
        "--benchmark-warmup=on",
        "--benchmark-warmup-iterations=200",
        "--benchmark-min-rounds=100",
        "--benchmark-max-time=2.0",
        "--benchmark-columns=min,median,mean,rounds",
    ], argv)
    if code == 0:
        print_ratios(groups)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
