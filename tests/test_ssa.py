"""The ssa stage: three-address form, user names kept, readable temporaries."""

import math
from math import cos, exp, sin

import gast
import numpy as np

from astgrad import rules, ssa
from astgrad.ir import Match
from stages import equations_text, front_of, program_of


def test_each_equation_applies_one_primitive_to_atoms():
    def f(x, y):
        return sin(x * y) + exp(-x) / 2.0

    assert equations_text(program_of(f)) == [
        "x_times_y = x * y",
        "sin_x_times_y = sin(x_times_y)",
        "neg_x = -x",
        "exp_neg_x = exp(neg_x)",
        "ratio = exp_neg_x / 2.0",
        "out = sin_x_times_y + ratio",
    ]


def test_reassigned_names_get_readable_suffixes():
    def f(x):
        y = x * x
        y = y + 1.0
        y += x
        x = y * 2.0
        return x

    program = program_of(f)
    assert equations_text(program) == ["y = x * x", "y_1 = y + 1.0", "y_2 = y_1 + x", "x_1 = y_2 * 2.0"]
    assert program.output.id == "x_1"


def test_suffixes_avoid_names_the_user_has():
    def f(x, x_1):
        y = x * x_1
        y = y * 2.0
        y_1 = y + x
        return y_1

    assert equations_text(program_of(f)) == ["y = x * x_1", "y_2 = y * 2.0", "y_1 = y_2 + x"]


def test_copies_and_tuples_make_no_equations():
    def f(a, b):
        a, b = b, a
        c = a
        return c * b

    assert equations_text(program_of(f)) == ["out = b * a"]


def test_long_descriptions_fall_back_to_the_operation():
    def f(first, second):
        return math.atan2(first * second, second) * cos(first)

    assert equations_text(program_of(f)) == [
        "first_times_second = first * second",
        "atan2 = math.atan2(first_times_second, second)",
        "cos_first = cos(first)",
        "out = atan2 * cos_first",
    ]


def test_origins_point_at_the_users_lines():
    def f(x):
        y = sin(x)
        return y * 2.0

    first_line = f.__code__.co_firstlineno
    assert [eq.origin[1] for eq in program_of(f).equations] == [first_line + 1, first_line + 2]
    assert all(isinstance(eq.value, gast.AST) for eq in program_of(f).equations)


def test_ssa_takes_each_calls_rule_from_resolve_and_matches_nothing_again(monkeypatch):
    def f(x):
        return sin(x) * np.sum(x, axis=0)

    resolved, location = front_of(f)
    sine = next(n for n in gast.walk(resolved.statements[0]) if isinstance(n, gast.Call) and n.func.id == "sin")
    cosine_rule = rules.rules_for(cos)[0]
    resolved.matches.add(sine, Match(cosine_rule, {"x": sine.args[0]}))  # what resolve handed on, changed

    def no_match(*args):
        raise AssertionError("ssa matched a call again")

    monkeypatch.setattr(rules, "match", no_match)
    monkeypatch.setattr(rules, "bind", no_match)
    program = ssa.to_ssa(resolved, location)
    by_target = {eq.target: eq for eq in program.equations}
    # The rule it was handed (as array code's twin), which names the temporary too.
    assert by_target["cos_x"].rule is cosine_rule.array_twin
    assert [gast.dump(atom) for atom in by_target["cos_x"].inputs] == [gast.dump(name_of("x"))]
    total = by_target["sum_x"]
    assert total.rule.expression == "np.sum(x, axis=None, keepdims=False)"
    assert [gast.dump(atom) for atom in total.inputs] == [gast.dump(n) for n in (name_of("x"), constant(0), constant(False))]


def name_of(identifier):
    return gast.Name(id=identifier, ctx=gast.Load(), annotation=None, type_comment=None)


def constant(value):
    return gast.Constant(value=value, kind=None)


def test_a_tuple_of_arrays_is_unpacked_by_index():
    """``np.split`` and ``np.linalg.slogdet`` give tuples known only at run time: one index per name, as shapes."""

    def f(coords):
        q, p = np.split(coords, 2)
        sign, logdet = np.linalg.slogdet(np.outer(q, p))
        return logdet * sign

    assert equations_text(program_of(f)) == [
        "split_coords_2 = np.split(coords, 2)",
        "q = split_coords_2[0]",
        "p = split_coords_2[1]",
        "outer_q_p = np.outer(q, p)",
        "slogdet_outer_q_p = np.linalg.slogdet(outer_q_p)",
        "sign = slogdet_outer_q_p[0]",
        "logdet = slogdet_outer_q_p[1]",
        "out = logdet * sign",
    ]
