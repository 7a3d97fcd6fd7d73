"""The optimize stage, rule by rule."""

import gast
import pytest

from astgrad import optimize
from astgrad.ir import ADJOINT, Line, return_line, statement


def simplified(text):
    return gast.unparse(optimize.simplify(gast.parse(text).body[0].value))


@pytest.mark.parametrize(
    "before, after",
    [
        ("a * 1", "a"),
        ("1.0 * a", "a"),
        ("a / 1", "a"),
        ("a ** 1", "a"),
        ("a + 0", "a"),
        ("0.0 + a", "a"),
        ("a - 0", "a"),
        ("0 - a", "-a"),
        ("a * -1", "-a"),
        ("a * -b", "-a * b"),
        ("-a * -b", "a * b"),
        ("a + -b", "a - b"),
        ("a + -b * c", "a - b * c"),
        ("a - -b", "a + b"),
        ("--a", "a"),
        ("a * (1 / b)", "a / b"),
        ("2 * x ** (2 - 1)", "2 * x"),
        ("0.5 * x ** (0.5 - 1)", "0.5 * x ** (-0.5)"),
        ("a * (b * c)", "a * (b * c)"),  # not reassociated: rounding would change
        ("x + -1", "x + -1"),
        ("x * (1e308 * 10.0)", "x * (1e+308 * 10.0)"),  # an overflow is not folded into inf
    ],
)
def test_exact_algebra(before, after):
    assert simplified(before) == after


def body_of(text):
    """The lines of a def's body, as a derivative stage would hand them on."""
    return [
        return_line(s.value) if isinstance(s, gast.Return) else Line(s.targets[0].id, s.value, ADJOINT)
        for s in gast.parse(text).body[0].body
    ]


def source_of(lines):
    return "\n".join(gast.unparse(gast.fix_missing_locations(statement(line))) for line in lines)


def test_copies_are_propagated_until_either_side_changes():
    body = body_of("def f(a, b):\n c = a\n d = c * 2\n a = b\n e = c * a\n return d + e")
    assert source_of(optimize.propagate_copies(body)) == (
        "c = a\nd = a * 2\na = b\ne = c * b\nreturn d + e"
    )


def test_copy_then_accumulate_becomes_one_statement():
    body = body_of("def f(s, t, u):\n d = s\n d = d + t * u\n return d")
    optimized = optimize.eliminate_dead_code(optimize.propagate_copies(body))
    assert source_of(optimized) == "d = s + t * u\nreturn d"


def test_dead_statements_go():
    body = body_of("def f(x):\n a = x * 2\n b = a * 3\n c = x + 1\n c = c * 2\n return c")
    assert source_of(optimize.eliminate_dead_code(body)) == "c = x + 1\nc = c * 2\nreturn c"


def test_computed_values_are_reused_only_while_their_inputs_hold():
    body = body_of("def f(x):\n c = cos(x)\n d = cos(x) * 2\n x = d\n e = cos(x)\n return c + d + e")
    assert source_of(optimize.reuse_computed(body)) == (
        "c = cos(x)\nd = c * 2\nx = d\ne = cos(x)\nreturn c + d + e"
    )
