"""The ssa stage: three-address form, user names kept, readable temporaries."""

import math
from math import cos, exp, sin

import gast

from stages import equations_text, program_of


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
