"""The cse stage: each distinct value computed once, the user's names kept, exact and pure."""

import copy
from dataclasses import replace
from math import cos, sin

import gast
import numpy as np
import pytest

import astgrad
from astgrad import cse
from stages import equations_text, program_of


def merged(fn):
    return cse.eliminate_common_subexpressions(program_of(fn))


def test_a_repeated_computation_reads_the_first_result():
    def rosenbrock(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    assert equations_text(program_of(rosenbrock))[6:8] == ["x_part_2 = x[:-1]", "diff_1 = 1 - x_part_2"]
    assert equations_text(merged(rosenbrock)) == [
        "x_part = x[1:]",
        "x_part_1 = x[:-1]",
        "x_part_1_pow_2 = x_part_1 ** 2",
        "diff = x_part - x_part_1_pow_2",
        "diff_pow_2 = diff ** 2",
        "prod = 100.0 * diff_pow_2",
        "diff_1 = 1 - x_part_1",
        "diff_1_pow_2 = diff_1 ** 2",
        "total = prod + diff_1_pow_2",
        "out = np.sum(total)",
    ]


def test_merging_reaches_the_computations_built_on_a_merged_value():
    def f(x, y):
        a = sin(x * y) + 1.0
        b = sin(x * y) + 1.0
        return a * b

    assert equations_text(merged(f)) == ["x_times_y = x * y", "sin_x_times_y = sin(x_times_y)",
                                         "a = sin_x_times_y + 1.0", "out = a * a"]  # fmt: skip


def test_a_value_the_user_names_later_keeps_the_users_name():
    def f(x):
        t = sin(x) * 2.0 + x
        s = sin(x)
        return s * t

    assert equations_text(program_of(f))[0] == "sin_x = sin(x)"
    assert equations_text(merged(f)) == ["s = sin(x)", "prod = s * 2.0", "t = prod + x",
                                         "out = s * t"]  # fmt: skip


def test_the_first_of_two_user_names_is_kept_and_the_output_follows():
    def f(x):
        a = cos(x)
        b = cos(x)
        return b

    program = merged(f)
    assert equations_text(program) == ["a = cos(x)"]
    assert program.output.id == "a"


@pytest.mark.parametrize(
    "body",
    [
        "return np.mean(x, axis=0) + np.mean(x, axis=1)",  # different static arguments
        "return x * 2 + x * 2.0",  # an int and a float constant
        "return x * True + x * 1",
        "return np.sum(x) + x.sum()",  # two spellings: two rules
        "return x * y + y * x",  # not reordered
        "return x[1:] + x[:1]",
        "return x ** -0.0 + x ** 0.0",
    ],
)
def test_different_computations_stay_apart(tmp_path, body):
    from support import load_module

    module = load_module(tmp_path, f"import numpy as np\n\ndef f(x, y):\n    {body}\n")
    assert equations_text(merged(module.f)) == equations_text(program_of(module.f))


def test_the_stage_is_pure_and_keeps_what_it_does_not_merge():
    def f(x, y):
        u = x * y
        return sin(x * y) + sin(u) + cos(y)

    program = program_of(f)
    before = copy.deepcopy(equations_text(program))
    first, second = cse.eliminate_common_subexpressions(program), cse.eliminate_common_subexpressions(program)
    assert equations_text(program) == before  # the input is not changed
    assert equations_text(first) == equations_text(second) == [
        "u = x * y",
        "sin_x_times_y = sin(u)",  # named by ssa from the `x * y` it read there
        "total = sin_x_times_y + sin_x_times_y",
        "cos_y = cos(y)",
        "out = total + cos_y",
    ]
    untouched = program_of(lambda x: sin(x) * cos(x))
    assert cse.eliminate_common_subexpressions(untouched) is untouched


def test_a_merged_line_keeps_the_users_line_for_origin_comments():
    def f(x):
        t = sin(x) * 2.0 + x
        s = sin(x)
        return s * t

    equation = merged(f).equations[0]
    assert (equation.target, equation.origin[1], equation.value.lineno) == ("s", f.__code__.co_firstlineno + 1,
                                                                            f.__code__.co_firstlineno + 1)  # fmt: skip


def layer_norm(x, gamma, beta):
    mu = np.mean(x, axis=-1, keepdims=True)
    x_minus_mu = x - mu
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
    y = gamma * (x_minus_mu / np.sqrt(var + 1e-5)) + beta
    return np.sum(y**2)


def test_layer_norm_has_one_adjoint_of_x_minus_mu_and_the_same_gradient():
    text = astgrad.source(astgrad.grad(layer_norm))
    assert text.count("x - mu") == 1
    assert text.count("    d_x_minus_mu = ") == 2 and "d_x_minus_mu_1 = " not in text  # one adjoint, two contributions
    rng = np.random.default_rng(6)
    x, gamma, beta = rng.normal(size=(3, 5)), rng.normal(size=5), rng.normal(size=5)
    gradient = astgrad.grad(layer_norm)(x, gamma, beta)
    step = 1e-6
    for argument, analytic in zip((0, 1, 2), gradient):
        args = [x, gamma, beta]
        numeric = np.zeros_like(args[argument])
        for index in np.ndindex(numeric.shape):
            up, down = [a.copy() for a in args], [a.copy() for a in args]
            up[argument][index] += step
            down[argument][index] -= step
            numeric[index] = (layer_norm(*up) - layer_norm(*down)) / (2 * step)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)
