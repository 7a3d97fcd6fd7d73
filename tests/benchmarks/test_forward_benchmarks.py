"""Speed of forward mode and of the Hessian, against hand-written code in the same process.

* ``forward_sin_cos``: ``astgrad.grad(f, mode="forward")`` for
  f(x, y) = sin(x) * cos(y), against the forward derivative written by hand
  (one tangent pass per input, unit tangents folded in). Target: 1.3x.
* ``hessian_quadratic``: ``astgrad.hessian`` of the quadratic form
  0.5 * x @ A @ x + b @ x of a 10-vector, against NumPy's closed form
  (A + A.T) / 2. No target: forward-over-reverse makes one forward pass of
  the gradient per element of x, which the closed form does not need; the
  figure says what that costs.

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


RNG = np.random.default_rng(10)
A10, B10, X10 = RNG.normal(size=(10, 10)), RNG.normal(size=10), RNG.normal(size=10)


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


def main(argv):
    from benchmark_runner import SHORT_CALL_OPTIONS, measure, print_hand_ratios

    code, groups = measure(__file__, SHORT_CALL_OPTIONS, argv)
    if code == 0:
        print_hand_ratios(groups, unit="µs", scale=1e6, digits=3)
    return code


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
