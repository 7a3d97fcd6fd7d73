"""The names stage: unit tests on hand-built derivatives, then the review's examples end to end."""

import math

import gast
import numpy as np
import pytest

import astgrad
from astgrad import rename
from astgrad.ir import ADJOINT, CHECK, Derivative, Line, function_def, return_line
from astgrad.names import Namespace
from support import load_module


def derivative_of(text, made=(), globals=None, closure=None, names=None):
    """A `Derivative` with the def in `text` (adjoint lines, then the return); `made`: names made and since removed."""
    tree = gast.parse(text).body[0]
    lines = []
    for s in tree.body:
        if isinstance(s, gast.Return):
            lines.append(return_line(s.value))
        elif isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Tuple):
            lines.append(Line(tuple(t.id for t in s.targets[0].elts), s.value, ADJOINT))
        elif isinstance(s, gast.If):
            lines.append(Line((), s.body[0].value, CHECK, guard=s.test))
        else:
            lines.append(Line(s.targets[0].id, s.value, ADJOINT))
    namespace = Namespace(globals or {}, closure or {})
    namespace.locals.update(made)
    namespace.locals.update(t for line in lines if isinstance(line.target, str) for t in [line.target])
    return Derivative(tree.name, tree.args, tuple(lines), namespace, names or {})


def source_of(derivative):
    return gast.unparse(gast.fix_missing_locations(function_def(derivative)))


def renamed_source(text, keep=frozenset(), returned=None, **namespace):
    return source_of(rename.rename(derivative_of(text, **namespace), keep, returned))


def text(*lines):
    return "\n".join(lines)


# ---- returned values ---------------------------------------------------------------------------
COPY_RETURNED = text(
    "def d_f(w, b, x, d_out=1.0):",
    "    d_z = d_out * 2.0",
    "    d_w = d_z * x",
    "    return (d_w, d_z)",
)


def test_a_returned_copy_takes_the_wanted_name_everywhere():
    assert renamed_source(COPY_RETURNED, returned=("d_w", "d_b")) == text(
        "def d_f(w, b, x, d_out=1.0):",
        "    d_b = d_out * 2.0",
        "    d_w = d_b * x",
        "    return (d_w, d_b)",
    )


def test_the_name_map_follows_the_renaming():
    derivative = derivative_of(COPY_RETURNED, names={"z": "d_z", "w": "d_w", "b": "d_b"})
    assert rename.rename(derivative, returned=("d_w", "d_b")).names == {"z": "d_b", "w": "d_w", "b": "d_b"}


@pytest.mark.parametrize(
    "namespace",
    [
        {"globals": {"d_b": 1.0}},  # the user's module has a d_b
        {"closure": {"d_b": 1.0}},
    ],
    ids=["global", "closure"],
)
def test_no_rename_to_a_name_the_code_could_read_from_outside(namespace):
    assert renamed_source(COPY_RETURNED, returned=("d_w", "d_b"), **namespace) == COPY_RETURNED


@pytest.mark.parametrize("wanted", ["x", "d_out", "d_w", "sum", "lambda"])
def test_no_rename_to_a_name_in_use_a_builtin_or_a_keyword(wanted):
    assert renamed_source(COPY_RETURNED, returned=("d_w", wanted)) == COPY_RETURNED


def test_an_added_or_free_name_is_not_taken():
    derivative = derivative_of(COPY_RETURNED)
    derivative.namespace.added["d_b"] = math.cos
    assert source_of(rename.rename(derivative, returned=("d_w", "d_b"))) == COPY_RETURNED
    derivative = derivative_of(COPY_RETURNED)
    derivative.namespace.free.add("d_b")
    assert source_of(rename.rename(derivative, returned=("d_w", "d_b"))) == COPY_RETURNED


def test_parameters_and_the_users_names_are_never_renamed():
    returns_parameter = text("def d_f(x, d_out=1.0):", "    return d_out")
    assert renamed_source(returns_parameter, returned="d_x") == returns_parameter
    returns_users = text("def d_f(x, d_out=1.0):", "    y = x * 2.0", "    return y")
    assert renamed_source(returns_users, keep={"y"}, returned="d_x") == returns_users


def test_a_name_returned_twice_takes_the_first_wanted_name():
    twice = text("def d_f(x, y, d_out=1.0):", "    d_v = d_out * 2.0", "    return (d_v, d_v)")
    assert renamed_source(twice, returned=("d_x", "d_y")).endswith("return (d_x, d_x)")


def test_nested_returns_are_matched_position_by_position():
    matrix = text("def h(x, y):", "    a = x * 2.0", "    b = y * 3.0", "    return ((a, b), (b, 1.0))")
    wanted = (("d2_dx_dx", "d2_dx_dy"), ("d2_dy_dx", "d2_dy_dy"))
    assert renamed_source(matrix, returned=wanted) == text(
        "def h(x, y):",
        "    d2_dx_dx = x * 2.0",
        "    d2_dx_dy = y * 3.0",
        "    return ((d2_dx_dx, d2_dx_dy), (d2_dx_dy, 1.0))",
    )


def test_a_return_of_another_shape_is_left_alone():
    one = text("def d_f(x, y, d_out=1.0):", "    d_v = d_out * 2.0", "    return d_v")
    assert renamed_source(one, returned=("d_x", "d_y")) == one


# ---- numbers of names that vanished ------------------------------------------------------------
def test_a_number_whose_plain_name_vanished_goes():
    poly = text("def d_f(x, d_out=1.0):", "    d_prod_1 = -d_out", "    d_x = d_prod_1 * 2", "    return d_x")
    assert renamed_source(poly, made={"d_prod", "prod"}) == text(
        "def d_f(x, d_out=1.0):", "    d_prod = -d_out", "    d_x = d_prod * 2", "    return d_x"
    )


def test_a_number_that_is_part_of_the_name_stays():
    power = text("def d_f(x, d_out=1.0):", "    x_pow_2 = x ** 2", "    return x_pow_2 * d_out")
    assert renamed_source(power) == power


def test_a_number_stays_while_its_plain_name_is_there():
    both = text("def d_f(x, d_out=1.0):", "    total = x + 1", "    total_1 = total * x", "    return total_1 * d_out")
    assert renamed_source(both) == both


def test_a_number_stays_where_dropping_it_names_the_derivative_of_another():
    # d_t_1 is the adjoint of t_1; as d_t it would read as the adjoint of t.
    adjoint = text("def d_f(x, d_out=1.0):", "    t = x * x", "    d_t_1 = d_out * t", "    return d_t_1")
    assert renamed_source(adjoint, made={"d_t", "t_1"}) == adjoint


def test_a_number_stays_where_dropping_it_pairs_a_value_with_the_adjoint_of_another():
    # d_diff_1 (of a diff_1 optimize nested away) becomes d_diff: diff_2 as diff would read as its value.
    nested = text(
        "def d_f(e, c, d_out=1.0):",
        "    diff_2 = 1.0 - e * c",
        "    d_diff_1 = d_out / diff_2",
        "    d_diff_2 = d_out * diff_2",
        "    return (d_diff_1, d_diff_2)",
    )
    assert renamed_source(nested, made={"diff", "diff_1", "d_diff"}) == text(
        "def d_f(e, c, d_out=1.0):",
        "    diff_2 = 1.0 - e * c",
        "    d_diff = d_out / diff_2",
        "    d_diff_2 = d_out * diff_2",
        "    return (d_diff, d_diff_2)",
    )
    own = text("def d_f(x, d_out=1.0):", "    x_part_1 = x * 2", "    d_x_part_1 = d_out * x_part_1", "    return d_x_part_1")
    assert renamed_source(own, made={"x_part", "d_x_part"}) == text(  # a value and its own adjoint lose theirs together
        "def d_f(x, d_out=1.0):", "    x_part = x * 2", "    d_x_part = d_out * x_part", "    return d_x_part"
    )


def test_of_two_numbers_the_first_in_order_takes_the_plain_name():
    two = text("def d_f(x, d_out=1.0):", "    d_v_2 = d_out * x", "    d_v_1 = d_v_2 * x", "    return d_v_1")
    assert renamed_source(two, made={"d_v"}) == text(
        "def d_f(x, d_out=1.0):", "    d_v_2 = d_out * x", "    d_v = d_v_2 * x", "    return d_v"
    )


def test_a_number_inside_a_partial_derivative_goes_too():
    partial = text("def d2_f(x, d_out=1.0):", "    dd_x_1_dx = d_out * 2.0", "    return dd_x_1_dx * x")
    assert renamed_source(partial, made={"dd_x_dx"}) == text(
        "def d2_f(x, d_out=1.0):", "    dd_x_dx = d_out * 2.0", "    return dd_x_dx * x"
    )
    with_d_x = text(
        "def d2_f(x, d_out=1.0):", "    d_x = d_out * x", "    dd_x_1_dx = d_x * 2.0", "    return dd_x_1_dx"
    )
    assert renamed_source(with_d_x, made={"dd_x_dx"}) == with_d_x  # dd_x_dx would read as d_x's


def test_unpacked_targets_and_check_guards_are_renamed_with_the_rest():
    driver = text(
        "def d_f(x, d_out=1.0):",
        "    if type(x_1) is not float:",
        "        check_numbers(x_1)",
        "    value_1, gradient = helper(x)",
        "    x_1 = gradient",
        "    return (value_1, x_1)",
    )
    assert renamed_source(driver, made={"value"}, returned=(None, "d_x")) == text(
        "def d_f(x, d_out=1.0):",
        "    if type(d_x) is not float:",
        "        check_numbers(d_x)",
        "    value, gradient = helper(x)",
        "    d_x = gradient",
        "    return (value, d_x)",
    )


# ---- the function's name -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "before, after",
    [("d_f", "d_f"), ("d_d_f", "d2_f"), ("d_d2_f", "d3_f"), ("d_d_d_f", "d3_f"), ("hessian_f", "hessian_f"),
     ("value_and_d_d_f", "value_and_d_d_f"), ("jvp_d_f", "jvp_d_f"), ("d_d_", "d_d_")],
)  # fmt: skip
def test_a_derivative_of_a_derivative_says_its_order(before, after):
    assert rename.function_name(before) == after


def test_the_order_is_said_only_for_a_derivative_of_a_generated_derivative():
    user_d_f = text("def d_d_f(x, d_out=1.0):", "    return d_out * x")
    assert renamed_source(user_d_f).startswith("def d_d_f(")
    assert source_of(rename.rename(derivative_of(user_d_f), of_derivative=True)).startswith("def d2_f(")


# ---- purity ------------------------------------------------------------------------------------
def test_the_input_is_left_as_it_was_and_a_second_run_gives_the_same():
    derivative = derivative_of(COPY_RETURNED)
    before = source_of(derivative)
    first = rename.rename(derivative, returned=("d_w", "d_b"))
    assert source_of(derivative) == before
    assert source_of(rename.rename(derivative, returned=("d_w", "d_b"))) == source_of(first)


# ---- end to end: the review's examples ---------------------------------------------------------
FUNCTIONS = """\
from math import sin, exp, log


def softplus(z):
    return log(1 + exp(z))


def smooth_loss(w, b, x, t):
    return (softplus(w * x + b) - t) ** 2


def poly(x):
    return 3 * x ** 3 - 2 * x ** 2 + x - 7


def cubic_sin(x):
    return x ** 3 * sin(x)


def rosen2(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2
"""


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("rename"), FUNCTIONS)


def returned(generated):
    return astgrad.source(generated).rstrip("\n").splitlines()[-1].strip()


def test_bs_gradient_through_a_copy_is_returned_as_d_b(module):
    gradient = astgrad.grad(module.smooth_loss, wrt=("w", "b"))
    assert returned(gradient) == "return d_w, d_b"
    w, b, x, t = 0.3, -0.2, 1.5, 0.4
    z = w * x + b
    d_z = 2 * (math.log(1 + math.exp(z)) - t) * math.exp(z) / (1 + math.exp(z))
    assert gradient(w, b, x, t) == pytest.approx((d_z * x, d_z), rel=1e-12)


def test_no_number_left_on_an_adjoint_whose_plain_name_vanished(module):
    text = astgrad.source(astgrad.grad(module.poly))
    assert "d_prod = -d_out\n" in text and "_1" not in text
    assert astgrad.grad(module.poly)(2.0) == pytest.approx(9 * 4.0 - 4 * 2.0 + 1)


def test_forward_gradient_returns_the_outputs_tangents(module):
    gradient = astgrad.grad(module.rosen2, mode="forward")
    assert returned(gradient) == "return dout_dx, dout_dy"
    assert "    dout_dy = 100 * dpower_dy\n" in astgrad.source(gradient)
    x, y = 0.5, 0.7
    assert gradient(x, y) == pytest.approx((-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)))


def test_hessian_returns_second_derivatives_by_name(module):
    hessian = astgrad.hessian(module.rosen2)
    assert returned(hessian) == "return (d2_dx_dx, d2_dx_dy), (d2_dy_dx, d2_dy_dy)"
    x, y = 0.5, 0.7
    (h_xx, h_xy), (h_yx, h_yy) = hessian(x, y)
    assert (h_xx, h_xy, h_yx, h_yy) == pytest.approx((2 - 400 * (y - x * x) + 800 * x * x, -400 * x, -400 * x, 200.0))


def test_hessian_of_one_parameter_returns_d2(module):
    assert returned(astgrad.hessian(module.cubic_sin)) == "return d2_x"


def test_a_tangent_cannot_be_read_as_a_product(tmp_path):
    module = load_module(tmp_path, "import numpy as np\n\ndef loss(y, z):\n    return np.mean(y * z)\n")
    text = astgrad.source(astgrad.jvp(module.loss))
    assert text.startswith("def jvp_loss(y, z, y_dot, z_dot):\n")
    assert "    y_times_z_dot = " in text and "dy_times_z" not in text
    y, z, y_dot, z_dot = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 1.0]), np.array([2.0, 0.0])
    value, tangent = astgrad.jvp(module.loss)(y, z, y_dot, z_dot)
    assert (value, tangent) == pytest.approx((np.mean(y * z), np.mean(y_dot * z + y * z_dot)))


def test_gradient_of_a_gradient_is_d2(module):
    second = astgrad.grad(astgrad.grad(module.cubic_sin))
    assert astgrad.source(second).startswith("def d2_cubic_sin(x, d_out=1.0, d2_out=1.0):\n")
    assert returned(second) == "return d2_x"
    x = 0.8
    exact = 6 * x * math.sin(x) + 6 * x**2 * math.cos(x) - x**3 * math.sin(x)
    assert second(x) == pytest.approx(exact, rel=1e-12)
    forward_second = astgrad.grad(astgrad.grad(module.cubic_sin), mode="forward")
    assert returned(forward_second) == "return d2_x"
    assert forward_second(x) == pytest.approx(exact, rel=1e-12)


def test_explain_shows_the_renaming_as_its_own_stage(module):
    explanation = astgrad.explain(module.smooth_loss, wrt=("w", "b"), comments=False)
    assert explanation.names[-2:] == ("optimize", "names")
    assert explanation["optimize"].endswith("    return d_w, d_z\n")
    assert explanation["names"].endswith("    return d_w, d_b\n")
    assert explanation["names"] == astgrad.source(astgrad.grad(module.smooth_loss, wrt=("w", "b")))


def test_a_users_function_named_like_a_derivative_keeps_its_name(tmp_path):
    module = load_module(tmp_path, "def d_f(x):\n    return x * x * x\n")
    gradient = astgrad.grad(module.d_f)
    assert astgrad.source(gradient).startswith("def d_d_f(x, d_out=1.0):\n")
    assert returned(astgrad.grad(module.d_f, mode="forward")) == "return dout_dx"
    assert gradient(2.0) == 12.0
