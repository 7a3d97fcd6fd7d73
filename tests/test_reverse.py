"""The reverse stage: naive adjoint code, before optimize cleans it."""

from math import cos, sin

from stages import adjoint_source


def f(x, y):
    return sin(x) * cos(y)


def test_unoptimized_adjoint_is_a_literal_instantiation_of_the_templates():
    assert adjoint_source(f, ("x", "y"), optimized=False) == (
        "def d_f(x, y, d_out=1.0):\n"
        "    sin_x = sin(x)\n"
        "    cos_y = cos(y)\n"
        "    out = sin_x * cos_y\n"
        "    d_sin_x = d_out * cos_y\n"
        "    d_cos_y = d_out * sin_x\n"
        "    d_y = d_cos_y * -sin(y)\n"
        "    d_x = d_sin_x * cos(x)\n"
        "    return d_x, d_y\n"
    )


def test_later_contributions_add_to_the_first():
    def g(x):
        return x * x + sin(x)

    text = adjoint_source(g, ("x",), optimized=False)
    assert text.endswith(
        "    d_x = d_sin_x * cos(x)\n"
        "    d_x = d_x + d_x_times_x * x\n"
        "    d_x = d_x + d_x_times_x * x\n"
        "    return d_x\n"
    )


def test_inactive_values_get_no_adjoint():
    def g(x, y):
        return sin(x) * cos(y)

    text = adjoint_source(g, ("x",))
    assert "d_y" not in text and "d_cos_y" not in text and "sin(y)" not in text
