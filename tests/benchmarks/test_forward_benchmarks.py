"""Speed of forward mode and of the Hessian, against hand-written code in the same process.

* ``forward_sin_cos``: ``astgrad.grad(f, mode="forward")`` for
  f(x, y) = sin(x) * cos(y), against the forward derivative written by hand
  (one tangent pass per input, unit tangents folded in). Target: 1.3x.
* ``hessian_quadratic``: ``astgrad.hessian`` of the quadratic form
  0.5 * x @ A @ x + b @ x of a 10-vector, against NumPy's closed form
  (A + A.T) / 2. Target: 10x. Forward over reverse runs the gradient's
  tangent function once, with the 10 directions along a leading axis.
* ``hessian_logistic``: ``astgrad.hessian`` of the mean logistic loss of a
  50-parameter linear model on 200 samples, against the closed form
  X.T @ (X * (p * (1 - p))[:, None]) / n. Target: 10x.

In the normal suite (``--benchmark-disable``) each benchmark runs once as a
correctness test. Measure, and print the ratios, with::

    python tests/benchmarks/test_forward_benchmarks.py

(see docs/performance.md).
"""
from math import cos, sin

import numpy as np
import pytest

import astgrad

REL = 1e-12


def sin_cos(x, y):
    return sin(x) * cos(y)


def hand_forward_sin_cos(x, y):
    sin_x, cos_y = sin(x), cos(y)
    dsin_x_dx = cos(x)  # pass 1: x_dot = 1, y_dot = 0
    dcos_y_dy = -sin(y)  # pass 2: x_dot = 0, y_dot = 1
    return cos_y * dsin_x_dx, sin_x * dcos_y_dy


X, Y = 0.5, 1.2
SIN_COS_EXPECTED = (cos(X) * cos(Y), -sin(X) * sin(Y))


def quadratic(x, A, b):
    return 0.5 * x @ A @ x + b @ x


def hand_hessian_quadratic(x, A, b):
    return (A + A.T) / 2


def logistic_loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def hand_hessian_logistic(w, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    return X.T @ (X * (p * (1.0 - p))[:, None]) / len(y)


RNG = np.random.default_rng(10)
A10, B10, X10 = RNG.normal(size=(10, 10)), RNG.normal(size=10), RNG.normal(size=10)
W50, DATA, LABELS = 0.1 * RNG.normal(size=50), RNG.normal(size=(200, 50)), (RNG.random(200) > 0.5) * 1.0
LOGISTIC_EXPECTED = hand_hessian_logistic(W50, DATA, LABELS)


@pytest.fixture(scope="module")
def forward_sin_cos():
    return astgrad.grad(sin_cos, mode="forward")


@pytest.fixture(scope="module")
def hessian_quadratic():
    return astgrad.hessian(quadratic, wrt=0)


@pytest.mark.benchmark(group="forward_sin_cos")
def test_forward_sin_cos_astgrad(benchmark, forward_sin_cos):
    benchmark.extra_info["impl"] = "astgrad"
    assert benchmark(forward_sin_cos, X, Y) == pytest.approx(SIN_COS_EXPECTED, rel=REL, abs=0.0)


@pytest.mark.benchmark(group="forward_sin_cos")
def test_forward_sin_cos_hand(benchmark):
    benchmark.extra_info["impl"] = "hand"
    assert benchmark(hand_forward_sin_cos, X, Y) == pytest.approx(SIN_COS_EXPECTED, rel=REL, abs=0.0)


@pytest.mark.benchmark(group="hessian_quadratic")
def test_hessian_quadratic_astgrad(benchmark, hessian_quadratic):
    benchmark.extra_info["impl"] = "astgrad"
    result = benchmark(hessian_quadratic, X10, A10, B10)
    np.testing.assert_allclose(result, (A10 + A10.T) / 2, rtol=1e-12, atol=1e-12)


@pytest.mark.benchmark(group="hessian_quadratic")
def test_hessian_quadratic_hand(benchmark):
    benchmark.extra_info["impl"] = "hand"
    np.testing.assert_allclose(benchmark(hand_hessian_quadratic, X10, A10, B10), (A10 + A10.T) / 2, rtol=0)


@pytest.fixture(scope="module")
def hessian_logistic():
    return astgrad.hessian(logistic_loss, wrt="w")


@pytest.mark.benchmark(group="hessian_logistic")
def test_hessian_logistic_astgrad(benchmark, hessian_logistic):
    benchmark.extra_info["impl"] = "astgrad"
    result = benchmark(hessian_logistic, W50, DATA, LABELS)
    np.testing.assert_allclose(result, LOGISTIC_EXPECTED, rtol=1e-12, atol=1e-15)


@pytest.mark.benchmark(group="hessian_logistic")
def test_hessian_logistic_hand(benchmark):
    benchmark.extra_info["impl"] = "hand"
    np.testing.assert_allclose(benchmark(hand_hessian_logistic, W50, DATA, LABELS), LOGISTIC_EXPECTED, rtol=0)


def main(argv):
    from benchmark_runner import SHORT_CALL_OPTIONS, measure, print_hand_ratios

    code, groups = measure(__file__, SHORT_CALL_OPTIONS, argv)
    if code == 0:
        print_hand_ratios(groups, unit="µs", scale=1e6, digits=3)
    return code


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
