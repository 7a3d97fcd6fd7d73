"""`*args` and `**kwargs` parameters (varargs.py): data passed through, made explicit for each call.

Every mode against analytic values and central differences, for the
differentiated function and for helpers inlined with what a call passes;
the code made per call, its names, and the refusals located at the read.
"""

import math

import numpy as np
import pytest

import astgrad
from astgrad import ArgumentsError, NoDerivativeError
from support import assert_close, central_difference


def check_every_mode(fn, args, gradient, kwargs=None):
    """grad, value_and_grad, forward mode, jvp, hessian and grad(grad(f)) of `fn`'s first parameter (a number)."""
    kwargs = kwargs or {}

    def of_first(x):
        return fn(x, *args[1:], **kwargs)

    x = args[0]
    difference = central_difference(of_first, (x,), 0)
    reverse = astgrad.grad(fn, wrt=0)(*args, **kwargs)
    assert_close(reverse, difference, rtol=1e-6)
    assert_close(reverse, gradient(*args, **kwargs), rtol=1e-12, atol=1e-12)
    value, with_value = astgrad.value_and_grad(fn, wrt=0)(*args, **kwargs)
    assert value == fn(*args, **kwargs) and with_value == reverse
    assert_close(astgrad.grad(fn, wrt=0, mode="forward")(*args, **kwargs), reverse, rtol=1e-12, atol=1e-12)
    jvp_value, tangent = astgrad.jvp(fn, wrt=0)(*args, 0.5, **kwargs)
    assert jvp_value == fn(*args, **kwargs)
    assert_close(tangent, 0.5 * reverse, rtol=1e-12, atol=1e-12)
    second = central_difference(lambda t: gradient(t, *args[1:], **kwargs), (x,), 0)
    assert_close(astgrad.hessian(fn, wrt=0)(*args, **kwargs), second, rtol=1e-6, atol=1e-8)
    assert_close(astgrad.grad(astgrad.grad(fn, wrt=0), wrt=0)(*args, **kwargs), second, rtol=1e-6, atol=1e-8)


# ---- the differentiated function ---------------------------------------------------------------
def read_by_index(x, *args):
    return args[0] * math.sin(x) + args[-1] * x * x


def read_by_key(x, **kwargs):
    return kwargs["scale"] * math.exp(kwargs.get("rate", 1.0) * x)


def model(x, a, scale=1.0):
    return scale * math.sin(a * x)


def passed_on(x, *args, **kwargs):
    return model(x, *args, **kwargs) + len(args) * x


def test_args_read_by_constant_index_in_every_mode():
    check_every_mode(read_by_index, (0.7, 2.0, 3.0), lambda x, a, b: a * math.cos(x) + 2 * b * x)


def test_kwargs_read_by_key_and_with_a_default_in_every_mode():
    gradient = lambda x, scale, rate=1.0: scale * rate * math.exp(rate * x)  # noqa: E731
    check_every_mode(read_by_key, (0.3,), gradient, {"scale": 2.0})
    check_every_mode(read_by_key, (0.3,), gradient, {"scale": 2.0, "rate": -1.5})


def test_args_and_kwargs_passed_on_to_a_helper_in_every_mode():
    gradient = lambda x, a, scale=1.0: scale * a * math.cos(a * x) + 1.0  # noqa: E731
    check_every_mode(passed_on, (0.7, 2.0), gradient, {"scale": 3.0})
    check_every_mode(passed_on, (0.7, 2.0), gradient)


def least_squares(w, *args):
    X, y = args
    r = X @ w - y
    return np.sum(r * r)


def test_unpacked_args_of_arrays_name_the_parameters_of_the_generated_code():
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3)
    gradient = astgrad.grad(least_squares)
    assert_close(gradient(w, X, y), 2 * X.T @ (X @ w - y), rtol=1e-12)
    assert_close(gradient(w, X, y), central_difference(least_squares, (w, X, y), 0), rtol=1e-6)
    assert astgrad.source(gradient).splitlines()[0] == "def d_least_squares(w, X, y, d_out=1.0):"
    assert_close(astgrad.grad(least_squares, mode="forward")(w, X, y), 2 * X.T @ (X @ w - y), rtol=1e-12)
    assert_close(astgrad.hessian(least_squares)(w, X, y), 2 * X.T @ X, rtol=1e-12)
    value, tangent = astgrad.jvp(least_squares)(w, X, y, np.ones(3))
    assert value == least_squares(w, X, y)
    assert_close(tangent, np.sum(2 * X.T @ (X @ w - y)), rtol=1e-12)
    assert_close(astgrad.hvp(least_squares)(w, X, y, np.ones(3)), 2 * X.T @ X @ np.ones(3), rtol=1e-12)


def test_the_code_is_made_for_each_number_of_values_and_keys_a_call_passes():
    def total(x, *args, **kwargs):
        return x * len(args) + x * x * len(kwargs)

    gradient = astgrad.grad(total)
    with pytest.raises(TypeError, match="call it once"):
        astgrad.source(gradient)
    assert gradient(2.0, 1, 2, 3) == 3.0
    assert astgrad.source(gradient).splitlines()[0] == "def d_total(x, args_0, args_1, args_2, d_out=1.0):"
    assert gradient(2.0, a=1, b=2) == 8.0
    assert astgrad.source(gradient).splitlines()[0] == "def d_total(x, *, a, b, d_out=1.0):"
    assert gradient(2.0, d_out=2.0) == 0.0
    assert gradient(2.0, 1, d_out=2.0) == 2.0
    assert len(gradient.cache) == 4


def test_wrt_none_differentiates_the_named_positional_parameters_only():
    def f(x, y, *args):
        return x * y * args[0]

    assert astgrad.grad(f)(2.0, 3.0, 5.0) == (15.0, 10.0)
    assert astgrad.grad(f, wrt="y")(2.0, 3.0, 5.0) == 10.0
    assert astgrad.jvp(f)(2.0, 3.0, 5.0, 1.0, 0.0) == (30.0, 15.0)


class Quadratic:
    """SciPy's callback signature: ``fun(self, x, *args)``."""

    def __init__(self, a):
        self.a = a

    def fun(self, x, *args):
        c, d = args
        return self.a * x * x + c * x + d


def test_a_method_with_scipys_callback_signature():
    problem = Quadratic(3.0)
    gradient = astgrad.grad(problem.fun)
    assert gradient(2.0, 5.0, 1.0) == 17.0
    assert_close(gradient(2.0, 5.0, 1.0), central_difference(problem.fun, (2.0, 5.0, 1.0), 0), rtol=1e-6)


# ---- helpers ------------------------------------------------------------------------------------
def shifted(x, *rest, **options):
    first, second = rest
    return first * x + second + options.get("shift", 0.5)


def calls_shifted(x, y):
    return shifted(x, y, 2.0, shift=y) * shifted(y, x, x)


def test_a_helper_with_args_and_kwargs_is_inlined_with_what_each_call_passes():
    gradient = astgrad.grad(calls_shifted)
    x, y = 1.3, -0.4
    u, v = y * x + 2.0 + y, x * y + x + 0.5
    analytic = (y * v + u * (y + 1.0), (x + 1.0) * v + u * x)
    assert_close(gradient(x, y), analytic, rtol=1e-12)
    for i in (0, 1):
        assert_close(gradient(x, y)[i], central_difference(calls_shifted, (x, y), i), rtol=1e-6)
    assert_close(astgrad.hessian(calls_shifted)(x, y)[0][1],
                 central_difference(lambda t: gradient(x, t)[0], (y,), 0), rtol=1e-6)  # fmt: skip
    assert "shifted(" not in astgrad.source(gradient).replace("def d_calls_shifted(", "")  # inlined, not called


# ---- refusals -----------------------------------------------------------------------------------
def assert_caret_under(error, fn, line_offset, text):
    """`error` is at line `line_offset` of `fn`, shows that line and puts its caret under `text`."""
    lineno = fn.__code__.co_firstlineno + line_offset
    with open(fn.__code__.co_filename, encoding="utf-8") as handle:
        line = handle.read().splitlines()[lineno - 1]
    assert (error.filename, error.lineno, error.col_offset) == (fn.__code__.co_filename, lineno, line.index(text))
    assert str(error).splitlines()[1:3] == ["    " + line, "    " + " " * line.index(text) + "^"]


def reads_past_the_end(x, *args):
    return x * args[2]


def unpacks(x, *args):
    a, b = args
    return a * x + b


def test_a_read_the_call_does_not_provide_is_located_at_the_read():
    gradient = astgrad.grad(reads_past_the_end)
    with pytest.raises(ArgumentsError) as info:
        gradient(1.0, 2.0, 3.0)
    error = info.value
    assert isinstance(error, TypeError)
    assert_caret_under(error, reads_past_the_end, 1, "args[2]")
    assert "`args[2]` is read, but this call passes 2 values to `*args`" in error.reason
    assert "at least 3 values" in error.hint
    assert gradient(1.0, 2.0, 3.0, 4.0) == 4.0


def test_unpacking_into_another_number_of_names_is_located_at_the_unpacking():
    with pytest.raises(ArgumentsError) as info:
        astgrad.grad(unpacks)(1.0, 2.0)
    assert_caret_under(info.value, unpacks, 1, "args")
    assert "`args` holds 1 value at this call, but is unpacked into 2 names" in info.value.reason


def test_a_key_the_call_does_not_pass_is_located_at_the_read():
    with pytest.raises(ArgumentsError) as info:
        astgrad.grad(read_by_key)(0.3, rate=1.0)
    assert_caret_under(info.value, read_by_key, 1, 'kwargs["scale"]')
    assert "`kwargs['scale']` is read, but this call passes no keyword `scale`" in info.value.reason
    assert "'rate'" in info.value.reason and "kwargs.get('scale', 1.0)" in info.value.hint


@pytest.mark.parametrize("wrt, stars", [("args", "*"), (("x", "kwargs"), "**")])
def test_wrt_naming_args_or_kwargs_is_refused_at_the_parameter(wrt, stars):
    with pytest.raises(NoDerivativeError) as info:
        astgrad.grad(passed_on, wrt=wrt)
    error = info.value
    packed = "args" if stars == "*" else "kwargs"
    assert_caret_under(error, passed_on, 0, packed + ("," if stars == "*" else ")"))
    assert f"wrt names `{packed}`, the `{stars}{packed}` parameter of passed_on" in error.reason
    assert "make it a parameter of its own" in error.hint


def test_wrt_past_the_named_positional_parameters_is_out_of_range():
    with pytest.raises(ValueError, match=r"wrt=1 is out of range: read_by_index has positional parameters \('x',\)"):
        astgrad.grad(read_by_index, wrt=1)


def test_a_forward_jacobian_is_made_per_call_and_a_reverse_one_and_check_grads_say_to_bind_the_values():
    def sines(x, *args):
        return args[0] * np.sin(x)

    x, a = np.array([0.1, 0.2]), np.array([2.0, 3.0])
    assert_close(astgrad.jacobian(sines, mode="forward")(x, a), np.diag(a * np.cos(x)), rtol=1e-12)
    for refused in (lambda: astgrad.jacobian(sines)(x, a), lambda: astgrad.check_grads(sines, x, a)):
        with pytest.raises(TypeError, match=r"sines, which takes \*args or \*\*kwargs, is not supported: bind"):
            refused()
    astgrad.check_grads(lambda x: np.sum(sines(x, a)), x)


def dict_loss(params, *args):
    X, y = args
    r = X @ params["w"] + params["b"] - y
    return np.sum(r * r)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_container_parameter_beside_args_gets_a_gradient_of_its_structure(mode):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(4, 3)), rng.normal(size=4)
    params = {"w": rng.normal(size=3), "b": 0.5}
    gradient = astgrad.grad(dict_loss, mode=mode)(params, X, y)
    r = X @ params["w"] + params["b"] - y
    assert set(gradient) == {"w", "b"}
    assert_close(gradient["w"], 2 * X.T @ r, rtol=1e-12)
    assert_close(gradient["b"], 2 * np.sum(r), rtol=1e-12)
    difference = central_difference(lambda b: dict_loss({"w": params["w"], "b": b}, X, y), (0.5,), 0)
    assert_close(gradient["b"], difference, rtol=1e-6)
    assert astgrad.source(astgrad.grad(dict_loss)).splitlines()[0] == "def d_dict_loss(params_w, params_b, X, y, d_out=1.0):"


def test_seeds_are_never_entries_of_kwargs():
    def f(x, d_out, **kwargs):
        return x * x * d_out * kwargs["scale"]

    gradient = astgrad.grad(f, wrt="x")
    assert gradient(3.0, 2.0, scale=5.0) == 60.0
    assert gradient(3.0, 2.0, scale=5.0, d_out_1=0.5) == 30.0
    second = astgrad.grad(astgrad.grad(read_by_key))
    assert_close(second(0.3, scale=2.0, d_out=1.0, d2_out=0.5), 0.5 * 2.0 * math.exp(0.3), rtol=1e-12)


def test_explain_shows_the_function_for_the_values_its_reads_imply():
    text = str(astgrad.explain(least_squares))
    assert "def least_squares(w, X, y):" in text
    assert "def d_least_squares(w, X, y, d_out=1.0):" in text
