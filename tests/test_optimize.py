"""The optimize stage, rule by rule."""

import re

import gast
import numpy as np
import pytest

import astgrad
from astgrad import api, optimize
from astgrad.compile import to_source
from astgrad.ir import ADJOINT, PRIMAL, Conditional, ForLoop, Line, function_def, return_line, statement
from stages import program_of
from support import load_module


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


@pytest.mark.parametrize(
    "lines, folded",
    [
        # x * x: the first contribution assigns, the second adds the same term
        ("d_x = d_y * x\n d_x = d_x + d_y * x", "d_x = d_y * (2 * x)"),
        # ... or both add to a sum already there
        ("d_x = d_x + d_y * x\n d_x = d_x + d_y * x", "d_x = d_x + d_y * (2 * x)"),
        ("d_x = d_x - d_y * x\n d_x = d_x - d_y * x", "d_x = d_x - d_y * (2 * x)"),
        # x + x; the 2 goes into a product's last factor, and constants fold
        ("d_x = d_y\n d_x = d_x + d_y", "d_x = 2 * d_y"),
        ("d_x = d_y * 3.0\n d_x = d_x + d_y * 3.0", "d_x = d_y * 6.0"),
        ("d_x = f(d_y, x)\n d_x = d_x + f(d_y, x)", "d_x = 2 * f(d_y, x)"),
    ],
)
def test_a_contribution_made_twice_is_one_line(lines, folded):
    body = body_of(f"def f(x, d_x, d_y):\n {lines}\n return d_x")
    assert source_of(optimize.fold_repeated_contributions(body)) == f"{folded}\nreturn d_x"


@pytest.mark.parametrize(
    "lines",
    [
        "d_x = d_y * x\n d_x = d_x + d_y * z",  # different terms
        "d_x = d_x + d_y * x\n d_x = d_x - d_y * x",  # one adds, one subtracts
        "d_x = d_y * x\n d_x = d_x - d_y * x",  # a first contribution, then a subtraction
        "d_x = d_y * x\n d_z = d_z + d_y * x",  # different adjoints
        "d_x = d_y * x\n d_w = d_y\n d_x = d_x + d_y * x",  # not consecutive
        "d_x = d_x * x\n d_x = d_x + d_x * x",  # the term reads the adjoint it changes
        "d_x = d_x + d_x * x\n d_x = d_x + d_x * x",
        "d_x = x + d_x\n d_x = d_x + x",  # the first line is not `t` alone
    ],
)
def test_only_the_same_term_added_twice_in_a_row_is_folded(lines):
    body = body_of(f"def f(x, z, d_w, d_x, d_y, d_z):\n {lines}\n return d_x")
    assert source_of(optimize.fold_repeated_contributions(body)) == source_of(body)


def test_a_primal_line_is_not_folded():
    body = [Line("y", gast.parse("x * a").body[0].value, PRIMAL), *body_of("def f(x, a):\n y = y + x * a\n return y")]
    assert source_of(optimize.fold_repeated_contributions(body)) == source_of(body)


def square_times(x, c):
    return x * x * c


def test_the_gradient_of_x_times_x_has_one_line_and_the_value_of_two():
    d_square = astgrad.grad(square_times, wrt="x")
    assert astgrad.source(d_square).count("d_x = ") == 1
    assert "    d_x = d_x_times_x * (2 * x)\n" in astgrad.source(d_square)
    for x, c in [(0.1, 3.0), (-7.3, 1e-3), (1e150, 2.5), (3.0, -1e-300)]:
        assert d_square(x, c, d_out=0.7) == (0.7 * c) * x + (0.7 * c) * x


def temporaries_nested(text, temporaries):
    """`text`'s body after nest_temporaries, the lines assigning `temporaries` marked as temporaries."""
    body = [line if line.target not in temporaries else Line(line.target, line.value, line.role, temporary=True)
            for line in body_of(text)]  # fmt: skip
    return source_of(optimize.nest_temporaries(body))


@pytest.mark.parametrize(
    "lines, nested",
    [
        ("k = d_out / n\n y = 2 * k * a", "y = 2 * d_out / n * a"),  # 2 * (d_out / n): exact, as 2 is a power of two
        ("k = d_out / n\n y = 3 * k * a", "y = 3 * (d_out / n) * a"),  # 3 * d_out / n would round differently
        ("k = d_out * 100.0\n y = 2 * k * a", "y = 200.0 * d_out * a"),
        ("k = d_out * 0.5\n y = 2 * k * a", "y = d_out * a"),
        ("k = d_out * 0.3\n y = 3 * k * a", "y = 3 * (d_out * 0.3) * a"),  # neither a power of two
        ("k = d_out / n\n y = -k * a", "y = -d_out / n * a"),  # the sign on the first factor
        ("k = np.sum(a, axis=1)\n y = d_out / k.size * a", "k = np.sum(a, axis=1)\ny = d_out / k.size * a"),
        ("k = -np.sum(a)\n y = d_out + k / n", "y = d_out - np.sum(a) / n"),  # a negated adjoint: its sign joins in
        ("k = -a\n y = d_out + k * n", "y = d_out - a * n"),
        ("k = -a\n y = k / n", "y = -a / n"),
        ("k = -a\n y = (x == m) * k / n", "y = (x == m) * -a / n"),  # never a sign on a boolean array
        ("k = -a\n y = d_out - -k * n", "y = d_out - a * n"),
        ("k = d_out / n\n y = d_out + -a * k", "y = d_out + -a * (d_out / n)"),  # a sign not nested stays
    ],
)
def test_a_number_adjoint_nests_with_its_constants_together_and_a_size_stays_named(lines, nested):
    text = f"def f(d_out, n, a):\n {lines}\n return y"
    assert temporaries_nested(text, {"k"}) == nested + "\nreturn y"


@pytest.mark.parametrize("before", ["1.0 * (x > 0)", "(x == y) * 1.0", "0.0 + (not x)", "-1.0 * (x < y)", "flag * 1.0"])
def test_an_identity_that_makes_a_truth_value_a_number_is_kept(before):
    assert gast.unparse(optimize.simplify(gast.parse(before).body[0].value, frozenset({"flag"}))) == gast.unparse(
        gast.parse(before).body[0].value
    )


def test_names_holding_a_comparison_are_flags_through_not_and_and():
    body = body_of("def f(x):\n a = x > 0\n b = not a\n c = a and b\n d = x * 2\n return d")
    assert optimize.flag_names(body) == {"a", "b", "c"}


def times_its_own_test(w):
    return 2.0 + w * (w == -0.3)


def test_forward_mode_gives_a_number_for_a_factor_that_is_a_comparison():
    """Forward mode folded the unit tangent `1.0 * (w == -0.3)` into the comparison (random program 0:6615)."""
    for w, expected in ((0.2, 0.0), (-0.3, 1.0)):
        forward = astgrad.grad(times_its_own_test, mode="forward")(w)
        assert type(forward) is float and forward == expected
        assert astgrad.grad(times_its_own_test)(w) == expected
    assert "eq * 1.0" in astgrad.source(astgrad.grad(times_its_own_test, mode="forward"))


def test_a_temporary_in_a_block_is_nested_only_when_no_other_block_reads_it():
    def temporary(target, text):
        return Line(target, gast.parse(text).body[0].value, PRIMAL, temporary=True)

    def plain(target, text):
        return Line(target, gast.parse(text).body[0].value, ADJOINT)

    step = [temporary("s", "sin(x)"), plain("x", "x + dt * s")]
    loop = ForLoop("i", gast.parse("range(n)").body[0].value, tuple(step))
    nested = optimize.nest_temporaries([loop])[0]
    assert [gast.unparse(line.value) for line in nested.body] == ["x + dt * sin(x)"]
    test = gast.parse("x > 0").body[0].value
    read_elsewhere = [Conditional(test, (temporary("s", "sin(x)"), plain("y", "s * 2")), ()),
                      Conditional(test, (plain("z", "s * 3"),), ())]  # fmt: skip
    kept = optimize.nest_temporaries([ForLoop("i", loop.iterable, tuple(read_elsewhere))])[0]
    assert [gast.unparse(line.value) for arm in kept.body for line in arm.then] == ["sin(x)", "s * 2", "s * 3"]


# ---- adjoints accumulated in place ----------------------------------------------------------
def rnn_over_inputs(xs, w):
    h = 0.0
    for i in range(len(xs)):
        h = np.tanh(w * h + xs[i])
    return h + 0.1 * np.sum(xs ** 2)


def windows(xs, idx):
    total = 0.0
    for k in range(len(idx)):
        total = total + np.sum(xs[idx[k]] ** 2) * xs[k : k + 2].prod()
    return total


def finite_difference_gradient(f, x, *rest, h=1e-6):
    steps = np.eye(x.size).reshape((x.size,) + x.shape) * h
    return np.array([(f(x + step, *rest) - f(x - step, *rest)) / (2 * h) for step in steps]).reshape(x.shape)


def test_an_adjoint_a_loop_adds_one_element_to_per_step_is_added_in_place():
    d_rnn = astgrad.grad(rnn_over_inputs)
    text = astgrad.source(d_rnn)
    assert "    d_xs = 2 * d_sum_xs_pow_2 * xs\n" in text  # a new array: the loop may add into it
    assert "        d_xs = add_at(d_xs, i, d_xs_i)\n" in text
    assert "unindex" not in text
    xs = np.random.default_rng(0).normal(size=6)
    d_xs, d_w = d_rnn(xs, 0.7)
    np.testing.assert_allclose(d_xs, finite_difference_gradient(rnn_over_inputs, xs, 0.7), rtol=1e-7, atol=1e-9)
    by_differences = (rnn_over_inputs(xs, 0.7 + 1e-6) - rnn_over_inputs(xs, 0.7 - 1e-6)) / 2e-6
    np.testing.assert_allclose(d_w, by_differences, rtol=1e-7)


def test_slices_and_repeated_indices_added_in_place_give_the_gradient():
    d_windows = astgrad.grad(windows, wrt="xs")
    assert "d_xs = add_at(d_xs, " in astgrad.source(d_windows)
    xs, idx = np.random.default_rng(1).normal(size=5), np.array([[0, 2, 2], [1, 1, 3], [4, 0, 4]])
    np.testing.assert_allclose(d_windows(xs, idx), finite_difference_gradient(windows, xs, idx), rtol=1e-7, atol=1e-9)


def test_a_gradient_adding_in_place_is_differentiated_again_as_the_sum_it_stands_for():
    xs = np.random.default_rng(2).normal(size=5)
    d_rnn = astgrad.grad(rnn_over_inputs, wrt="xs")
    by_differences = np.array([finite_difference_gradient(lambda x: d_rnn(x, 0.7)[k], xs) for k in range(5)])
    np.testing.assert_allclose(astgrad.hessian(rnn_over_inputs, wrt="xs")(xs, 0.7), by_differences, atol=1e-7)
    seed = np.linspace(-1.0, 1.0, 5)
    d2_rnn = astgrad.grad(d_rnn, wrt="xs")  # reverse over reverse: a vector-Jacobian product with the seed
    second = astgrad.source(d2_rnn)
    assert re.search(r"\n        d_xs = d_xs \+ unindex\(d_xs_i, \w+, i_1\)\n", second)  # the first gradient's sum
    assert "\n        d2_xs = add_at(d2_xs, i, d2_xs_i)\n" in second  # the second gradient's own
    np.testing.assert_allclose(d2_rnn(xs, 0.7, 1.0, seed), seed @ by_differences, atol=1e-7)


def test_a_module_reaching_the_helpers_through_astgrad_runtime_differentiates_twice(tmp_path):
    module = load_module(tmp_path, """
        import numpy as np
        from astgrad import runtime  # so generated code spells its helpers runtime.add_at, runtime.unindex


        def last_state(xs, w):
            h = 0.0
            for i in range(len(xs)):
                h = np.tanh(w * h + xs[i])
            return h
    """)
    d_last = astgrad.grad(module.last_state, wrt="xs")
    assert "d_xs = runtime.add_at(d_xs, i, d_xs_i)" in astgrad.source(d_last)
    xs, seed = np.array([0.3, -0.2, 0.5]), np.array([1.0, -2.0, 0.5])
    by_differences = np.array([finite_difference_gradient(lambda x: d_last(x, 0.9)[k], xs) for k in range(3)])
    np.testing.assert_allclose(astgrad.grad(d_last, wrt="xs")(xs, 0.9, 1.0, seed), seed @ by_differences, atol=1e-7)


def test_add_at_in_the_users_own_code_is_refused_saying_what_to_write(tmp_path):
    module = load_module(tmp_path, """
        import numpy as np
        from astgrad.runtime import add_at


        def copied(d_xs, t):
            d_xs = add_at(d_xs, 0, t)
            return np.sum(d_xs)
    """)
    with pytest.raises(astgrad.NoDerivativeError) as error:
        astgrad.grad(module.copied)
    assert str(error.value).splitlines() == [
        f"{module.__file__}:7:12: `add_at` has no derivative: it adds into its first argument in place, "
        "which astgrad differentiates only in a gradient it generated",
        "        d_xs = add_at(d_xs, 0, t)",
        "               ^",
        "hint: differentiate the generated gradient itself (astgrad.grad(d_f), astgrad.hessian(f)), "
        "or write the sum it stands for: `whole + runtime.unindex(gradient, whole, index)`",
    ]


def rows_scaled(X, w):
    total = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            total = total + np.tanh(w * X[i, j]) * X[i, 0]
    return total


def rows_as_vectors(X, v):
    total = np.sum(X * X)
    for i in range(len(X)):
        total = total + np.sin(np.dot(X[i], v))
    return total


def running_mean_square(xs):
    m = 0.0
    for i in range(1, len(xs)):
        m = 0.5 * m + np.sum(xs[i - 1 : i + 1] ** 2)
    return m


def elements_read_twice(xs, w):
    h = xs[0]
    for i in range(len(xs)):
        if xs[i] > 0.0:
            h = h * w + xs[i] * xs[i]
        else:
            h = h - 0.3 * xs[i]
    return h


IN_PLACE_CASES = {
    "rows_scaled": (rows_scaled, (np.array([[0.3, -0.5, 0.2], [1.1, 0.4, -0.7]]), 0.8)),
    "rows_as_vectors": (rows_as_vectors, (np.array([[0.3, -0.5], [1.1, 0.4], [0.2, 0.9]]), np.array([0.7, -0.4]))),
    "running_mean_square": (running_mean_square, (np.array([0.3, -1.2, 0.5, 0.8]),)),
    "elements_read_twice": (elements_read_twice, (np.array([0.3, -1.2, 0.5, 0.8]), 0.6)),
}


@pytest.mark.parametrize("case", sorted(IN_PLACE_CASES))
def test_array_elements_read_in_loops_get_their_gradients_in_every_mode(case):
    f, args = IN_PLACE_CASES[case]
    d_f = astgrad.grad(f, wrt=0)
    assert "add_at(" in astgrad.source(d_f)
    expected = finite_difference_gradient(f, *args)
    np.testing.assert_allclose(d_f(*args), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(astgrad.grad(f, wrt=0, mode="forward")(*args), expected, rtol=1e-6, atol=1e-8)
    value, gradient = astgrad.value_and_grad(f, wrt=0)(*args)
    assert value == pytest.approx(f(*args)) and np.allclose(gradient, expected, rtol=1e-6, atol=1e-8)
    x, rest = args[0], args[1:]
    by_differences = np.array([finite_difference_gradient(lambda y: d_f(y, *rest).ravel()[k], x)
                               for k in range(x.size)]).reshape(x.shape + x.shape)  # fmt: skip
    np.testing.assert_allclose(astgrad.hessian(f, wrt=0)(*args), by_differences, rtol=1e-5, atol=1e-6)
    seed = np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    vjp = astgrad.grad(d_f, wrt=0)(*args, 1.0, seed)  # reverse over the gradient that adds in place
    np.testing.assert_allclose(vjp, np.tensordot(seed, by_differences, axes=x.ndim), rtol=1e-5, atol=1e-6)


def inputs_read_in_a_loop(xs, w):
    h = 0.0
    for i in range(len(xs)):
        h = np.tanh(w * h + xs[i])
    return h


def test_an_adjoint_another_line_reads_or_copies_is_not_added_in_place():
    naive = api.reverse_adjoint(program_of(inputs_read_in_a_loop), ("xs",), as_tuple=False)
    loop = next(line for line in naive.lines if isinstance(line, ForLoop))
    copy = Line("d_seen", gast.Name(id="d_xs", ctx=gast.Load(), annotation=None, type_comment=None), ADJOINT)
    copied_after = naive.with_lines([*naive.lines[:-1], copy, naive.lines[-1]])
    copied_inside = naive.with_lines([loop.with_body([*loop.body, copy]) if line is loop else line
                                      for line in naive.lines])  # fmt: skip

    def in_place(derivative):
        return "add_at(" in to_source(function_def(optimize.accumulated_in_place(derivative)))

    assert in_place(naive)
    assert not in_place(copied_after)  # d_seen would hold the array later steps add to
    assert not in_place(copied_inside)


@pytest.mark.parametrize(
    "whole, index, gradient, expected",
    [
        (np.zeros(4), 2, 1.5, [0.0, 0.0, 1.5, 0.0]),
        (np.zeros(4), slice(1, 3), np.array([1.0, 2.0]), [0.0, 1.0, 2.0, 0.0]),
        (np.zeros(4), np.array([1, 1, 3]), np.array([1.0, 2.0, 4.0]), [0.0, 3.0, 0.0, 4.0]),  # repeats add up
        (np.zeros((2, 3)), (1, 0), np.float32(2.0), [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]),
    ],
)
def test_add_at_adds_into_the_array_it_is_given(whole, index, gradient, expected):
    result = astgrad.runtime.add_at(whole, index, gradient)
    assert result is whole and result.dtype == np.float64
    np.testing.assert_array_equal(result, expected)


def test_add_at_makes_a_new_array_where_adding_in_place_would_differ_from_the_sum():
    view = np.broadcast_to(1.0, (3,))  # read-only
    np.testing.assert_array_equal(astgrad.runtime.add_at(view, 1, 2.0), [1.0, 3.0, 1.0])
    np.testing.assert_array_equal(view, [1.0, 1.0, 1.0])
    widened = astgrad.runtime.add_at(np.zeros(2), 0, 1j)  # a complex gradient: the sum is complex
    assert widened.dtype == np.complex128 and widened[0] == 1j
    single = np.zeros(2, dtype=np.float32)
    assert astgrad.runtime.add_at(single, 0, 1.0) is not single  # the sum of a float32 adjoint and unindex is float64
    np.testing.assert_array_equal(astgrad.runtime.add_at(np.zeros(2), 1, 2), [0.0, 2.0])  # a Python int fits a float64
