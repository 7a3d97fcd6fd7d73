"""Speed of astgrad's generated gradients against careful hand-written ones.

Each pair shares a benchmark group, so pytest-benchmark reports them side by
side.  Every test also checks the numbers its function returns, so in the
normal suite (``--benchmark-disable``, set in pyproject.toml) each benchmark
runs once as an ordinary correctness test.  Timings are never asserted.

Measure, and print the astgrad/hand ratio of medians for each pair, with::

    python tests/benchmarks/test_scalar_benchmarks.py

(see docs/performance.md).
"""
from math import cos, exp, log, sin

import pytest

import astgrad

REL = 1e-12


# --------------------------------------------------------------------------
# Pair 1: f(x, y) = sin(x) * cos(y) at (0.5, 1.2)
# --------------------------------------------------------------------------

def sin_cos(x, y):
    return sin(x) * cos(y)


def hand_sin_cos(x, y):
    return cos(x) * cos(y), -sin(x) * sin(y)


X, Y = 0.5, 1.2
SIN_COS_EXPECTED = (cos(X) * cos(Y), -sin(X) * sin(Y))


# --------------------------------------------------------------------------
# Pair 2: y = relu(log(sin(a*b) - exp(c) + 5) ** a / b * cos(c) + sigmoid(a))
# at (a, b, c) = (2., 5., -3.)
# --------------------------------------------------------------------------

def sigmoid(x):
    return 1 / (1 + exp(-x))


def relu(x):
    return max(x, 0.0)


def relu_sigmoid(a, b, c):
    return relu(log(sin(a * b) - exp(c) + 5) ** a / b * cos(c) + sigmoid(a))


def hand_relu_sigmoid(a, b, c):
    # forward pass, one named temporary per intermediate value
    ab = a * b
    ec = exp(c)
    u = sin(ab) - ec + 5
    lu = log(u)
    p = lu ** a
    q = p / b
    cc = cos(c)
    r = q * cc
    sg = 1 / (1 + exp(-a))
    if r + sg <= 0.0:  # relu is flat here
        return 0.0, 0.0, 0.0
    # reverse pass, relu' = 1; each adjoint computed once
    dq = cc                  # d(q * cc)/dq
    dp = dq / b              # q = p / b
    du = dp * a * p / lu / u  # p = log(u) ** a
    dab = du * cos(ab)       # u = sin(ab) - ec + 5
    da = dp * p * log(lu) + dab * b + sg * (1 - sg)
    db = dab * a - dq * q / b
    dc = -du * ec - q * sin(c)
    return da, db, dc


A, B, C = 2.0, 5.0, -3.0
RELU_SIGMOID_EXPECTED = (0.4925564216709931, 0.3107593846787471,
                         0.06870937895756869)


# --------------------------------------------------------------------------
# Gradients are generated once, outside the timed calls.
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def astgrad_sin_cos():
    return astgrad.grad(sin_cos)


@pytest.fixture(scope="module")
def astgrad_relu_sigmoid():
    return astgrad.grad(relu_sigmoid)


def check(result, expected):
    assert len(result) == len(expected)
    for got, want in zip(result, expected):
        assert got == pytest.approx(want, rel=REL, abs=0.0)


@pytest.mark.benchmark(group="sin_cos")
def test_sin_cos_astgrad(benchmark, astgrad_sin_cos):
    benchmark.extra_info["impl"] = "astgrad"
    check(benchmark(astgrad_sin_cos, X, Y), SIN_COS_EXPECTED)


@pytest.mark.benchmark(group="sin_cos")
def test_sin_cos_hand(benchmark):
    benchmark.extra_info["impl"] = "hand"
    check(benchmark(hand_sin_cos, X, Y), SIN_COS_EXPECTED)


@pytest.mark.benchmark(group="relu_sigmoid")
def test_relu_sigmoid_astgrad(benchmark, astgrad_relu_sigmoid):
    benchmark.extra_info["impl"] = "astgrad"
    check(benchmark(astgrad_relu_sigmoid, A, B, C), RELU_SIGMOID_EXPECTED)


@pytest.mark.benchmark(group="relu_sigmoid")
def test_relu_sigmoid_hand(benchmark):
    benchmark.extra_info["impl"] = "hand"
    check(benchmark(hand_relu_sigmoid, A, B, C), RELU_SIGMOID_EXPECTED)


def test_relu_active_at_benchmark_point():
    # relu's argument is positive here, so the gradient is not trivially zero.
    assert relu_sigmoid(A, B, C) > 0.0


# --------------------------------------------------------------------------
# Not a test: measure and print astgrad/hand ratios of median call times.
# --------------------------------------------------------------------------

def main(argv):
    from benchmark_runner import SHORT_CALL_OPTIONS, measure, print_hand_ratios

    code, groups = measure(__file__, SHORT_CALL_OPTIONS, argv)
    if code == 0:
        print_hand_ratios(groups)
    return code


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
