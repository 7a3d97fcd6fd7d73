"""Loops and branches end to end: every mode against analytic values and central differences.

Each function is differentiated with `grad`, `value_and_grad` (whose value
must be exactly the function's), `mode="forward"`, `jvp`, `hessian` and
`grad(grad(f))`, at points away from the switches of its branches.
"""

import math

import pytest

import astgrad
import corpus
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
    check_every_mode(corpus.huber, (x,), gradient=(slope,))


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
    explanation = astgrad.explain(corpus.huber, comments=False)
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
    assert explanation["names"] == astgrad.source(astgrad.grad(corpus.huber))


def test_graph_draws_each_branch_as_a_cluster_and_merges_its_values():
    text = astgrad.graph(corpus.huber)
    assert 'subgraph "cluster_then1" {' in text and 'label="if x < -1.0";' in text
    assert '"y|then2" -> "y|else1" [label="then"];' in text
    assert '"y|else1" -> "y" [label="else"];' in text
    assert '"y" [label="merge\\ny", shape=diamond];' in text
    assert '"y" -> "return";' in text
    assert '"adjoint neg_x" -> "adjoint y";' in astgrad.graph(corpus.huber, adjoint=True)
