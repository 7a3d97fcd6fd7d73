"""The shared IR (astgrad/ir.py): equations' inputs, programs' facts, lines and how they print."""

import math

import gast
import numpy as np
import pytest

from astgrad import ir
from astgrad.compile import to_source
from astgrad.names import name
from stages import program_of


def expression(text):
    return gast.parse(text).body[0].value


def printed(line):
    return to_source(ir.statement(line))


def scalar(x, y, z):
    a = math.sin(x) + abs(y)
    return a * 2.0


def joined(a, b):
    return np.concatenate([a, b * 2.0])


def test_atoms_lists_what_an_equation_reads_with_a_sequence_argument_one_by_one():
    program = program_of(joined)
    concatenate = program.equations[-1]
    assert concatenate.rule.sequence == "xs"
    assert [gast.unparse(a) for a in ir.atoms(concatenate.rule, concatenate.inputs)] == ["a", "prod", "0"]


def test_each_input_numbers_the_elements_of_a_sequence_only():
    concatenate = program_of(joined).equations[-1]
    elements = ir.each_input(concatenate.rule, "xs", concatenate.inputs[0])
    assert [(i, gast.unparse(a)) for i, a in elements] == [(0, "a"), (1, "prod")]
    axis = ir.each_input(concatenate.rule, "axis", concatenate.inputs[1])
    assert [(i, gast.unparse(a)) for i, a in axis] == [(None, "0")]


def test_parameter_names_are_positional_only_positional_and_keyword_only_not_star_args():
    tree = gast.parse("def h(a, /, b, *c, d, **e): pass").body[0]
    assert ir.parameter_names(tree) == ["a", "b", "d"]


def test_a_program_is_array_code_only_when_it_calls_numpy():
    assert program_of(joined).arrays is True
    assert program_of(scalar).arrays is False
    assert ir.uses_arrays(program_of(joined).equations) and not ir.uses_arrays(program_of(scalar).equations)


def test_equations_refuses_a_body_with_a_statement_that_is_not_an_equation():
    program = program_of(scalar)
    assert [eq.target for eq in program.equations] == ["sin_x", "abs_y", "a", "out"]
    program.body.append("a loop")
    with pytest.raises(TypeError, match="str in a straight-line stage"):
        program.equations


def test_an_origin_has_the_columns_of_a_one_line_expression():
    first = scalar.__code__.co_firstlineno
    filename = scalar.__code__.co_filename
    origins = [ir.origin(eq) for eq in program_of(scalar).equations]
    assert origins == [
        (filename, first + 1, 8, 19),  # math.sin(x)
        (filename, first + 1, 22, 28),  # abs(y)
        (filename, first + 1, 8, 28),  # math.sin(x) + abs(y)
        (filename, first + 2, 11, 18),  # a * 2.0
    ]


def test_an_origin_spanning_lines_has_no_columns():
    def f(x):
        return (x
                * 2.0)  # fmt: skip

    (equation,) = program_of(f).equations
    assert ir.origin(equation)[2:] == (None, None)


def test_scalar_code_checks_the_parameters_math_functions_do_not_read_alone():
    program = program_of(scalar)
    # x is read by math.sin only, which refuses an array itself; y by abs; z by nothing.
    assert ir.parameters_to_check(program, ("x", "y", "z")) == ["y", "z"]
    assert ir.parameters_to_check(program, ("x",)) == []


def test_the_number_check_is_one_type_test_per_checked_parameter_under_one_guard():
    program = program_of(scalar)
    (check,) = ir.number_check(program, ("x", "y", "z"), program.namespace.fork())
    assert check.role == ir.CHECK and check.target == () and check.printed_lines == 2
    assert printed(check) == "if type(y) is not float or type(z) is not float:\n    check_numbers(y, z)\n"
    assert ir.number_check(program, ("x",), program.namespace.fork()) == []


def test_a_number_check_names_the_runtime_helper_as_a_closure_name_without_touching_the_program():
    program = program_of(scalar)
    namespace = program.namespace.fork()
    ir.number_check(program, ("y",), namespace)
    assert "check_numbers" in namespace.added and "check_numbers" not in program.namespace.added


def test_each_kind_of_line_prints_as_its_statement():
    assert printed(ir.Line("y", expression("x + 1"), ir.PRIMAL)) == "y = x + 1\n"
    assert printed(ir.Line(("a", "b"), expression("f(x)"), ir.CALL)) == "a, b = f(x)\n"
    assert printed(ir.Line((), expression("check(x)"), ir.CHECK)) == "check(x)\n"
    assert printed(ir.return_line(expression("(d_x, d_y)"))) == "return d_x, d_y\n"


def test_a_primal_line_carries_the_origin_and_role_as_fields():
    equation = program_of(scalar).equations[0]
    line = ir.primal_line(equation, temporary=True)
    assert (line.target, line.role, line.temporary) == ("sin_x", ir.PRIMAL, True)
    assert line.origin == ir.origin(equation)
    assert not hasattr(line.value, "origin") and not hasattr(line.value, "temporary")


def test_with_value_and_with_lines_give_new_records_and_leave_the_old_ones():
    line = ir.Line("d_x", expression("d_out * 2.0"), ir.ADJOINT)
    other = line.with_value(name("d_out"))
    assert printed(line) == "d_x = d_out * 2.0\n" and printed(other) == "d_x = d_out\n"
    args = gast.parse("def d_f(x, d_out=1.0): pass").body[0].args
    derivative = ir.Derivative("d_f", args, (line, ir.return_line(name("d_x"))), namespace=None)
    shorter = derivative.with_lines([other, ir.return_line(name("d_x"))])
    assert to_source(ir.function_def(derivative)) == (
        "def d_f(x, d_out=1.0):\n    d_x = d_out * 2.0\n    return d_x\n"
    )
    assert to_source(ir.function_def(shorter)) == "def d_f(x, d_out=1.0):\n    d_x = d_out\n    return d_x\n"
    assert isinstance(shorter.lines, tuple)


def test_a_parameter_the_output_does_not_depend_on_gets_a_zero_of_its_own_kind():
    assert gast.unparse(ir.zero_gradient("x", False, None)) == "0.0"
    namespace = program_of(joined).namespace.fork()
    assert gast.unparse(ir.zero_gradient("x", True, namespace)) == "zero_gradient(x)"


def stepped(x, dt, n):
    y = x * dt
    for i in range(n):
        x = x + dt * math.sin(x)
        if x > 1.0:
            x = x - 0.5 * math.cos(x)
    return x + y * y


def test_loop_temporaries_are_the_parts_of_a_loops_expressions_read_once_by_them():
    program = program_of(stepped)
    made_in = {e.target: gast.unparse(e.value) for e in ir.all_equations(program.body)}
    # not x * dt (before the loop), y * y (after it), nor the user's x the test reads
    assert sorted((t, made_in[t]) for t in ir.loop_temporaries(program)) == [
        ("cos_x_2", "math.cos(x_2)"), ("dt_times_sin_x_1", "dt * sin_x_1"), ("prod", "0.5 * cos_x_2"),
        ("sin_x_1", "math.sin(x_1)"),
    ]
