"""Tests for the scripts in examples/.

Each example is run as a script (it must exit cleanly and print its key
numbers) and is also imported, so that its numbers can be checked against
analytic derivatives and central finite differences.
"""
import importlib.util
import inspect
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")

# Reference values for examples/relu_sigmoid.py at (a, b, c) = (2, 5, -3).
RELU_SIGMOID_VALUE = 0.44533482351666853
RELU_SIGMOID_GRAD = (0.4925564216709931, 0.3107593846787471, 0.06870937895756869)


def load_example(name):
    """Import examples/<name>.py as a module (examples/ is not a package)."""
    module_name = "astgrad_example_" + name
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(
        module_name, os.path.join(EXAMPLES, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def run_example(name):
    """Run examples/<name>.py as a script from the repository root."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    result = subprocess.run(
        [sys.executable, os.path.join("examples", name + ".py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        "examples/%s.py exited with %d\nstdout:\n%s\nstderr:\n%s"
        % (name, result.returncode, result.stdout, result.stderr))
    return result.stdout


def printed_rows(out, names):
    """Map each name to the numbers printed after it at the start of a line.

    Only the leading run of numbers is taken, so a trailing comment such as
    "cos(x) * cos(y)" is ignored.
    """
    rows = {}
    for line in out.splitlines():
        words = line.replace("=", " ").split()
        if words and words[0] in names:
            numbers = []
            for word in words[1:]:
                try:
                    numbers.append(float(word))
                except ValueError:
                    break
            rows[words[0]] = numbers
    assert sorted(rows) == sorted(names), out
    return rows


def central_difference(func, args, index, h=1e-6):
    plus = list(args)
    minus = list(args)
    plus[index] += h
    minus[index] -= h
    return (func(*plus) - func(*minus)) / (2 * h)


# ---------------------------------------------------------------- quickstart

def test_quickstart_runs():
    out = run_example("quickstart")
    x, y = 0.5, 1.2
    rows = printed_rows(out, ("df/dx", "df/dy"))
    expected = {"df/dx": math.cos(x) * math.cos(y),
                "df/dy": -math.sin(x) * math.sin(y)}
    for name, (by_astgrad, by_hand) in rows.items():
        assert by_hand == pytest.approx(expected[name], abs=1e-15)
        assert by_astgrad == pytest.approx(expected[name], rel=1e-12)
    assert "def d_f(" in out  # the generated source is printed


def test_quickstart_gradient_matches_analytic():
    quickstart = load_example("quickstart")
    x, y = 0.5, 1.2
    dfdx, dfdy = quickstart.f(x, y)
    assert isinstance(dfdx, float) and isinstance(dfdy, float)
    assert dfdx == pytest.approx(math.cos(x) * math.cos(y), rel=1e-12)
    assert dfdy == pytest.approx(-math.sin(x) * math.sin(y), rel=1e-12)


def test_quickstart_generated_function():
    quickstart = load_example("quickstart")
    d_f = quickstart.f
    assert d_f.__name__ == "d_f"
    source = astgrad_source(d_f)
    assert isinstance(source, str)
    assert "def d_f(" in source
    d_out = inspect.signature(d_f).parameters["d_out"]
    assert d_out.default == 1.0
    # The output seed scales the gradient.
    x, y = 0.5, 1.2
    seeded = d_f(x, y, d_out=2.5)
    assert seeded[0] == pytest.approx(2.5 * math.cos(x) * math.cos(y), rel=1e-12)
    assert seeded[1] == pytest.approx(-2.5 * math.sin(x) * math.sin(y), rel=1e-12)


def astgrad_source(func):
    import astgrad
    return astgrad.source(func)


# -------------------------------------------------------------- relu_sigmoid

def test_relu_sigmoid_runs():
    out = run_example("relu_sigmoid")
    rows = printed_rows(out, ("y", "dy/da", "dy/db", "dy/dc"))
    expected = (RELU_SIGMOID_VALUE,) + RELU_SIGMOID_GRAD
    for name, value in zip(("y", "dy/da", "dy/db", "dy/dc"), expected):
        assert rows[name] == [pytest.approx(value, abs=1e-12)]
    # The generated source is printed (with sigmoid and relu inlined).
    assert "d_model(a, b, c, d_out=1.0):" in out
    assert "max(" in out and "exp(" in out


def test_relu_sigmoid_values():
    example = load_example("relu_sigmoid")
    y, grad = example.d_model(2.0, 5.0, -3.0)
    assert y == pytest.approx(RELU_SIGMOID_VALUE, abs=1e-12)
    assert len(grad) == 3
    for got, expected in zip(grad, RELU_SIGMOID_GRAD):
        assert got == pytest.approx(expected, abs=1e-12)


def test_relu_sigmoid_matches_plain_function_and_differences():
    example = load_example("relu_sigmoid")
    args = (2.0, 5.0, -3.0)
    y, grad = example.d_model(*args)
    assert y == pytest.approx(example.model(*args), rel=1e-14)
    for i in range(3):
        numeric = central_difference(example.model, args, i)
        assert grad[i] == pytest.approx(numeric, rel=1e-6)


def test_relu_sigmoid_inactive_relu_gives_zero_gradient():
    # At (2, 2, -3) the relu argument is about -0.136: relu clamps it to 0
    # and the whole gradient vanishes.
    example = load_example("relu_sigmoid")
    args = (2.0, 2.0, -3.0)
    assert example.model(*args) == 0.0
    y, grad = example.d_model(*args)
    assert y == 0.0
    assert tuple(grad) == (0.0, 0.0, 0.0)


# ---------------------------------------------------------- gradient_descent

def dv7_dw_by_hand(x, w):
    """dv7/dw for v7 = exp(x w + sin(x w)) + sin(x w)**2 * w."""
    s, c = math.sin(x * w), math.cos(x * w)
    return math.exp(x * w + s) * x * (1 + c) + 2 * s * c * x * w + s * s


def test_gradient_descent_runs():
    out = run_example("gradient_descent")
    lines = [line.split() for line in out.splitlines()]
    rows = [line for line in lines if len(line) == 4 and line[0].isdigit()]
    assert [int(row[0]) for row in rows] == list(range(31))
    assert float(rows[0][1]) == 4.0
    assert float(rows[0][2]) == pytest.approx(27.9064966781, abs=1e-9)
    assert float(rows[0][3]) == pytest.approx(13.4022736592, abs=1e-9)


def test_gradient_descent_derivative():
    example = load_example("gradient_descent")
    x, w = 1.0, 4.0
    v7, dv7_dw = example.d_program(x, w)
    assert isinstance(dv7_dw, float)
    assert v7 == pytest.approx(example.program(x, w), rel=1e-14)
    assert v7 == pytest.approx(27.906496678143885, rel=1e-12)
    assert dv7_dw == pytest.approx(dv7_dw_by_hand(x, w), rel=1e-12)
    assert dv7_dw == pytest.approx(13.402273659200269, rel=1e-12)
    numeric = central_difference(example.program, (x, w), 1)
    assert dv7_dw == pytest.approx(numeric, rel=1e-6)


def test_gradient_descent_decreases_v7():
    example = load_example("gradient_descent")
    history = example.descend()
    assert len(history) == 31
    assert history[0].w == 4.0
    assert history[0].v7 == pytest.approx(27.906496678143885, rel=1e-12)
    for before, after in zip(history, history[1:]):
        assert after.step == before.step + 1
        # Each row's derivative is the hand-derived one ...
        assert before.dv7_dw == pytest.approx(
            dv7_dw_by_hand(1.0, before.w), rel=1e-10, abs=1e-12)
        # ... and the update is w <- w - 0.1 * dv7/dw.
        assert after.w == pytest.approx(before.w - 0.1 * before.dv7_dw, rel=1e-14)
    # On this path v7 goes down at every step, from about 27.9 to about -1.649.
    assert all(after.v7 < before.v7 for before, after in zip(history, history[1:]))
    assert history[-1].v7 < history[0].v7
    assert history[-1].v7 == pytest.approx(-1.6493827, abs=1e-6)
    assert history[-1].w == pytest.approx(-1.8469303, abs=1e-6)


# -------------------------------------------------------------- two_variables

def test_two_variables_runs():
    example = load_example("two_variables")
    out = run_example("two_variables")
    rows = printed_rows(out, ("df/dx", "df/dy"))
    by_hand = example.analytic_gradient(2.0, 3.0)
    for i, name in enumerate(("df/dx", "df/dy")):
        printed_astgrad, printed_by_hand, printed_difference = rows[name]
        # Printed with 15 decimals: compare to what rounding allows.
        assert printed_by_hand == pytest.approx(by_hand[i], abs=1e-14)
        assert printed_astgrad == pytest.approx(by_hand[i], abs=1e-13)
        assert printed_difference == pytest.approx(by_hand[i], rel=1e-6)


def test_two_variables_matches_analytic():
    example = load_example("two_variables")
    x, y = 2.0, 3.0
    got = example.d_f(x, y)
    expected = example.analytic_gradient(x, y)
    assert len(got) == 2
    assert got[0] == pytest.approx(expected[0], rel=1e-12)
    assert got[1] == pytest.approx(expected[1], rel=1e-12)


def test_two_variables_matches_central_differences():
    example = load_example("two_variables")
    for point in [(2.0, 3.0), (0.7, 1.9), (3.1, 0.6)]:
        got = example.d_f(*point)
        numeric = example.central_difference(*point)
        by_hand = example.analytic_gradient(*point)
        for i in range(2):
            assert got[i] == pytest.approx(numeric[i], rel=1e-6)
            assert got[i] == pytest.approx(by_hand[i], rel=1e-12)


def test_two_variables_analytic_formula_is_right():
    # The hand-derived gradient itself, checked without astgrad.
    example = load_example("two_variables")
    x, y = 2.0, 3.0
    by_hand = example.analytic_gradient(x, y)
    for i in range(2):
        numeric = central_difference(example.f, (x, y), i)
        assert by_hand[i] == pytest.approx(numeric, rel=1e-7)


# ------------------------------------------- linear_regression, logistic_regression, mlp
#
# The NumPy examples: each gradient against central differences on a small
# problem and against a gradient written by hand with NumPy, a shortened
# training run, and the script itself with few steps.

import numpy as np  # noqa: E402

import support  # noqa: E402


def run_example_with(name, *args):
    """Run examples/<name>.py as a script with command-line arguments."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    result = subprocess.run(
        [sys.executable, os.path.join("examples", name + ".py")] + list(args),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        "examples/%s.py exited with %d\nstdout:\n%s\nstderr:\n%s"
        % (name, result.returncode, result.stdout, result.stderr))
    return result.stdout


def printed_losses(out):
    """The (step, loss) rows of a training printout."""
    rows = []
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].isdigit():
            rows.append((int(words[0]), float(words[1])))
    return rows


def assert_gradient_matches_differences(loss, args, gradient):
    for index, got in enumerate(gradient):
        support.assert_close(got, support.central_difference(loss, args, index), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------- linear_regression

def linear_regression_gradient_by_hand(w, b, X, y):
    residual = X @ w + b - y
    return 2 * X.T @ residual / X.shape[0], 2 * np.mean(residual)


def small_linear_problem():
    example = load_example("linear_regression")
    X, y = example.make_data(n=12, seed=3)
    w = np.array([0.3, -0.2, 1.1])
    return example, (w, 0.4, X, y)


def test_linear_regression_fit_recovers_parameters():
    example = load_example("linear_regression")
    X, y = example.make_data()
    w, b, losses = example.fit(X, y, steps=60)
    assert len(losses) == 61
    assert all(after < before for before, after in zip(losses, losses[1:]))
    # The noise has variance 0.01: that is the loss left at the fit.
    assert losses[-1] < 0.011
    support.assert_close(w, example.TRUE_W, rtol=0, atol=0.02)
    assert b == pytest.approx(example.TRUE_B, abs=0.02)


def test_linear_regression_runs():
    out = run_example_with("linear_regression", "--steps", "40", "--show-source")
    losses = printed_losses(out)
    assert [step for step, _ in losses] == [0, 10, 20, 30, 40]
    assert losses[-1][1] < 0.02 < losses[0][1]
    rows = printed_rows(out, ("w[0]", "w[1]", "w[2]", "b"))
    for name, (fitted, true) in rows.items():
        assert fitted == pytest.approx(true, abs=0.05)
    assert "def value_and_d_loss(w, b, X, y, d_out=1.0):" in out


# -------------------------------------------------------- logistic_regression

def logistic_regression_gradient_by_hand(w, b, X, y):
    p = 1 / (1 + np.exp(-(X @ w + b)))
    d_z = (p - y) / X.shape[0]
    return X.T @ d_z, np.sum(d_z)


def small_logistic_problem():
    example = load_example("logistic_regression")
    X, y = example.make_blobs(n_per_class=6, seed=3)
    w = np.array([0.7, -0.4])
    return example, (w, 0.2, X, y)


REGRESSIONS = {  # example -> (a small problem, its gradient written by hand)
    "linear_regression": (small_linear_problem, linear_regression_gradient_by_hand),
    "logistic_regression": (small_logistic_problem, logistic_regression_gradient_by_hand),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression_gradient_matches_differences(name):
    example, args = REGRESSIONS[name][0]()
    value, gradient = example.d_loss(*args)
    assert value == pytest.approx(example.loss(*args), rel=1e-14)
    assert_gradient_matches_differences(example.loss, args, gradient)


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression_gradient_matches_hand_written(name):
    problem, gradient_by_hand = REGRESSIONS[name]
    example, args = problem()
    d_w, d_b = example.d_loss(*args)[1]
    by_hand = gradient_by_hand(*args)
    assert np.shape(d_w) == np.shape(args[0]) and np.ndim(d_b) == 0
    support.assert_close(d_w, by_hand[0], rtol=1e-12, atol=1e-14)
    support.assert_close(d_b, by_hand[1], rtol=1e-12, atol=1e-14)


def test_logistic_regression_loss_is_stable_for_large_logits():
    # logaddexp keeps the loss and its gradient finite where exp(z) overflows.
    example = load_example("logistic_regression")
    X = np.array([[1000.0, 0.0], [-1000.0, 0.0]])
    y = np.array([1.0, 0.0])
    value, (d_w, d_b) = example.d_loss(np.array([1.0, 0.0]), 0.0, X, y)
    assert value == 0.0
    assert np.all(np.isfinite(d_w)) and np.isfinite(d_b)


def test_logistic_regression_fit_separates_the_blobs():
    example = load_example("logistic_regression")
    X, y = example.make_blobs()
    w, b, losses = example.fit(X, y, steps=50)
    assert losses[0] == pytest.approx(math.log(2), rel=1e-12)  # w = 0, b = 0
    assert all(after < before for before, after in zip(losses, losses[1:]))
    assert losses[-1] < 0.1
    assert example.accuracy(w, b, X, y) >= 0.95


def test_logistic_regression_runs():
    out = run_example_with("logistic_regression", "--steps", "40", "--show-source")
    losses = printed_losses(out)
    assert [step for step, _ in losses] == [0, 20, 40]
    assert losses[0][1] == pytest.approx(math.log(2), abs=1e-6)
    assert losses[-1][1] < losses[1][1] < losses[0][1]
    assert float(out.split("training accuracy = ")[1].split()[0]) >= 0.95
    assert "def value_and_d_loss(w, b, X, y, d_out=1.0):" in out


# ------------------------------------------------------------------------ mlp

def mlp_gradient_by_hand(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    e = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    d_logits = (e / np.sum(e, axis=1, keepdims=True) - Y) / X.shape[0]
    d_a = (d_logits @ W2.T) * (1 - h * h)
    return X.T @ d_a, np.sum(d_a, axis=0), h.T @ d_logits, np.sum(d_logits, axis=0)


def small_mlp_problem():
    example = load_example("mlp")
    X, labels = example.make_spirals(n_per_class=4, seed=3)
    params = example.init_params(n_hidden=5, seed=4)
    params[1] = params[1] + 0.1  # biases away from zero
    params[3] = params[3] - 0.2
    return example, tuple(params) + (X, example.one_hot(labels))


def test_mlp_gradient_matches_differences():
    example, args = small_mlp_problem()
    value, gradient = example.d_loss(*args)
    assert value == pytest.approx(example.loss(*args), rel=1e-14)
    assert [np.shape(g) for g in gradient] == [(2, 5), (5,), (5, 3), (3,)]
    assert_gradient_matches_differences(example.loss, args, gradient)


def test_mlp_gradient_matches_hand_written():
    example, args = small_mlp_problem()
    gradient = example.d_loss(*args)[1]
    for got, by_hand in zip(gradient, mlp_gradient_by_hand(*args)):
        support.assert_close(got, by_hand, rtol=1e-10, atol=1e-14)


def test_mlp_training_fits_the_spirals():
    example = load_example("mlp")
    X, labels = example.make_spirals()
    params, losses = example.train(X, labels, steps=100)
    assert len(losses) == 101
    assert losses[-1] < 0.2 * losses[0]
    assert max(losses[50:]) < losses[0]
    assert example.accuracy(params, X, labels) > 0.9


def test_mlp_runs():
    out = run_example_with("mlp", "--steps", "90", "--show-source")
    rows = [line.split() for line in out.splitlines()]
    rows = [row for row in rows if len(row) == 3 and row[0].isdigit()]
    assert [int(row[0]) for row in rows] == [0, 30, 60, 90]
    assert float(rows[-1][1]) < 0.2 * float(rows[0][1])
    assert float(out.split("training accuracy = ")[1].split()[0]) > 0.9
    assert "def value_and_d_loss(W1, b1, W2, b2, X, Y, d_out=1.0):" in out


# ---------------------------------------------------------------------------
# newton.py: second derivatives by grad(grad(f))
# ---------------------------------------------------------------------------

def test_newton_second_derivative_matches_analytic_and_differences():
    example = load_example("newton")
    for x in (-1.0, 0.3, 1.7):
        assert math.isclose(example.d2f(x), example.analytic_second(x), rel_tol=1e-13)
        assert math.isclose(example.df(x), example.analytic_first(x), rel_tol=1e-13)
        by_differences = central_difference(example.df, [x], 0)
        assert math.isclose(example.d2f(x), by_differences, rel_tol=1e-7)


def test_newton_converges_to_a_minimum():
    example = load_example("newton")
    x, value, slope, curvature = example.newton(0.5)[-1]
    assert abs(slope) < 1e-12 and curvature > 0
    assert math.isclose(example.analytic_first(x), 0.0, abs_tol=1e-12)


def test_newton_runs_and_shows_both_derivatives():
    out = run_example_with("newton", "--show-source")
    assert "at the minimum x = 1.084466018586" in out
    assert "def d_f(x, d_out=1.0):" in out
    assert "def d2_f(x, d_out=1.0, d2_out=1.0):" in out
    assert "    return d2_x" in out


# ---------------------------------------------------------------------------
# forward_mode.py: jvp next to dual numbers
# ---------------------------------------------------------------------------

def test_forward_mode_example_agrees_with_dual_numbers_and_by_hand():
    example = load_example("forward_mode")
    x, y, dx, dy = 0.3, -0.8, 0.7, -1.1
    value, tangent = example.jvp_f(x, y, dx, dy)
    dual = example.dual_sin(example.Dual(x, dx)) * example.dual_cos(example.Dual(y, dy))
    assert (value, tangent) == (dual.value, dual.tangent)
    assert math.isclose(tangent, math.cos(x) * math.cos(y) * dx - math.sin(x) * math.sin(y) * dy, rel_tol=1e-15)
    assert example.d_f(x, y) == pytest.approx(example.astgrad.grad(example.f)(x, y), rel=1e-15)


def test_forward_mode_example_prints_the_tangent_code():
    out = run_example("forward_mode")
    # the product rule's line is too long for a comment at its end: the comments stand above the lines
    assert "    # from line 28: sin(x)\n    sin_x_dot = cos(x) * x_dot\n" in out
    assert "    out_dot = cos_y * sin_x_dot + sin_x * cos_y_dot\n" in out
    assert "    dout_dy = sin_x * dcos_y_dy" in out
    rows = printed_rows(out, ["jvp", "dual", "hand"])
    assert rows["jvp"] == rows["dual"]
    assert rows["jvp"] == pytest.approx(rows["hand"], rel=1e-14)


# ---------------------------------------------------------------------------
# integrator.py: the gradient of an Euler loop, and shooting with it
# ---------------------------------------------------------------------------

def tangent_of_final_angle(theta, omega, damping, dt, steps, gravity):
    """d theta(T) / d (omega(0), damping) by the tangent recurrence, carried forwards by hand."""
    d_theta, d_omega = [0.0, 0.0], [1.0, 0.0]  # derivatives with respect to omega(0) and damping
    for _ in range(steps):
        for k in (0, 1):
            d_omega[k] = d_omega[k] - dt * (gravity * math.cos(theta) * d_theta[k] + damping * d_omega[k]
                                            + (omega if k == 1 else 0.0))
        omega = omega - dt * (gravity * math.sin(theta) + damping * omega)
        for k in (0, 1):
            d_theta[k] = d_theta[k] + dt * d_omega[k]
        theta = theta + dt * omega
    return tuple(d_theta)


def test_integrator_gradient_matches_the_tangent_recurrence_and_differences():
    example = load_example("integrator")
    for args in ((0.2, 3.0, 0.5, 0.001, 500), (1.1, -0.4, 0.0, 0.01, 37), (0.3, 0.2, 0.5, 0.001, 0)):
        gradient = example.d_final_angle(*args)
        exact = tangent_of_final_angle(*args, example.GRAVITY)
        assert gradient == pytest.approx(exact, rel=1e-11, abs=1e-15)
        for k, index in enumerate((1, 2)):
            assert gradient[k] == pytest.approx(central_difference(example.final_angle, list(args), index), rel=1e-6, abs=1e-9)
    assert example.d_final_angle(0.3, 0.2, 0.5, 0.001, 0) == (0.0, 0.0)  # no steps: theta(T) is theta(0), whatever omega


def test_integrator_shooting_reaches_the_target_quadratically():
    example = load_example("integrator")
    history = example.shoot(1.0, 0.2, 0.5, 0.001, 500)
    misses = [abs(miss) for _, miss, _ in history]
    assert misses[-1] < 1e-13 and len(history) <= 6
    assert misses[2] < misses[1] ** 2 * 10  # Newton's quadratic convergence needs the right slope
    omega = history[-1][0]
    assert example.final_angle(0.2, omega, 0.5, 0.001, 500) == pytest.approx(1.0, abs=1e-13)


def test_integrator_runs_and_shows_the_reversed_loop():
    out = run_example_with("integrator", "--show-source")
    assert "at omega(0) = 3.272947972521" in out
    assert "def d_final_angle(theta, omega, damping, dt, steps, d_out=1.0):" in out
    assert "reversed(range(steps))" in out


# ---------------------------------------------------------------------------
# rnn.py: backpropagation through time
# ---------------------------------------------------------------------------

def test_rnn_gradient_matches_differences():
    example = load_example("rnn")
    rng = np.random.default_rng(5)
    W, U, b, v = (0.5 * rng.normal(size=shape) for shape in ((3, 3), (3,), (3,), (3,)))
    h, xs, ys = 0.1 * rng.normal(size=3), rng.normal(size=6), rng.normal(size=6)
    args = (W, U, b, v, h, xs, ys)
    gradient = example.d_loss(*args)
    assert [np.shape(g) for g in gradient] == [(3, 3), (3,), (3,), (3,)]
    assert_gradient_matches_differences(example.loss, args, gradient)


def test_rnn_training_continues_the_wave():
    example = load_example("rnn")
    _, losses = example.train(epochs=100)
    assert len(losses) == 101
    assert losses[-1] < 0.01 * losses[0]


def test_rnn_runs():
    out = run_example_with("rnn", "--epochs", "60", "--show-source")
    first, last = (float(word) for word in out.split("loss  ")[1].split()[::2][:2])
    assert last < 0.05 * first
    assert "def d_loss(W, U, b, v, h, xs, ys, d_out=1.0):" in out


# ---------------------------------------------------------------------------
# jacobians.py: has_aux, jacobian, hvp, check_grads
# ---------------------------------------------------------------------------

def test_jacobians_example_values_against_closed_forms():
    example = load_example("jacobians")
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.5]])
    y = np.array([1.0, 0.0, 1.0])
    w = np.array([0.2, -0.3])
    p = 1.0 / (1.0 + np.exp(-X @ w))
    gradient, predictions = example.astgrad.grad(example.loss_and_predictions, wrt="w", has_aux=True)(w, X, y)
    np.testing.assert_allclose(gradient, X.T @ (p - y) / 3, rtol=1e-14)
    np.testing.assert_allclose(predictions, p, rtol=1e-15)
    v = np.array([1.0, 0.0])
    hessian = X.T @ (X * (p * (1 - p))[:, None]) / 3
    np.testing.assert_allclose(example.astgrad.hvp(example.loss, wrt="w")(w, X, y, v), hessian @ v, rtol=1e-14)


def test_jacobians_example_runs_and_prints_the_hvp_code():
    out = run_example("jacobians")
    assert "the same in forward mode (a column per input): True\n" in out
    assert "check_grads: loss agrees with central differences to order 2 in both modes\n" in out
    assert "def hvp_loss(w, X, y, w_dot, d_out=1.0):\n" in out
    assert "    return d_w_dot\n" in out
