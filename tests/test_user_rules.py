"""The public rule API (`astgrad.derivative`, `astgrad.adjoint`) and `astgrad.check_rule`.

Each test registers its rules from a user-style module written to a real file
(so that errors point into it) and restores the table afterwards. Gradients
are checked against analytic values and central differences, in both modes,
and a second derivative where the rule's templates are themselves
differentiable.
"""

import math
import re

import numpy as np
import pytest

import astgrad
from astgrad import NoDerivativeError, RuleError, RuleReplacedWarning
from support import assert_close, central_difference, load_module, restored_rule_table


@pytest.fixture(autouse=True)
def table():
    with restored_rule_table():
        yield


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# A numerically stable softplus, written with a branch: a primitive with a known derivative.
SOFTPLUS = """
import math
import astgrad

def sigmoid(x):
    return 1 / (1 + math.exp(-x))

@astgrad.derivative(x="sigmoid(x)")
def softplus(x):
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))

def f(x, w):
    return softplus(w * x) * x
"""


SOFTPLUS_GRADIENT = """\
def d_f(x, w, d_out=1.0):
    if type(x) is not float:
        check_numbers(x)
    w_times_x = w * x
    softplus_w_times_x = softplus(w_times_x)
    d_softplus_w_times_x = d_out * x
    d_x = d_out * softplus_w_times_x
    d_w_times_x = d_softplus_w_times_x * sigmoid(w_times_x)
    d_x = d_x + d_w_times_x * w
    return d_x
"""


def test_a_decorated_function_becomes_a_primitive_with_its_derivative(tmp_path):
    module = load_module(tmp_path, SOFTPLUS)
    for mode in ("reverse", "forward"):
        gradient = astgrad.grad(module.f, mode=mode)
        for x, w in ((0.7, 1.5), (-2.0, 0.5), (30.0, -1.0)):
            dx, dw = gradient(x, w)
            assert_close(dx, math.log1p(math.exp(w * x)) + w * x * sigmoid(w * x))
            assert_close(dw, x * x * sigmoid(w * x))
            assert_close(dx, central_difference(module.f, [x, w], 0), rtol=1e-6)
    assert astgrad.source(astgrad.grad(module.f, wrt="x")) == SOFTPLUS_GRADIENT  # called, not inlined
    # The partial is plain Python astgrad inlines, so the rule has a second derivative.
    hessian = astgrad.hessian(module.softplus)
    for x in (-1.3, 0.2, 2.5):
        assert_close(hessian(x), sigmoid(x) * (1 - sigmoid(x)))
    report = astgrad.check_rule(module.softplus)
    assert report.splitlines()[0] == "y = softplus(x)"
    assert all(line.endswith("reverse, forward, second") for line in report.splitlines()[1:])


DIGAMMA = """
import math
import astgrad

def digamma(x):
    total = 0.0
    while x < 6.0:
        total -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    return total + math.log(x) - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))

def log_gamma(x):
    return math.lgamma(x)

astgrad.derivative("y = log_gamma(x)", x="digamma(x)", domain=(0.5, 4.0))

def log_beta(a, b):
    return log_gamma(a) + log_gamma(b) - log_gamma(a + b)
"""


def test_a_spelled_rule_resolves_its_names_in_the_registering_module(tmp_path):
    module = load_module(tmp_path, DIGAMMA)
    for mode in ("reverse", "forward"):
        da, db = astgrad.grad(module.log_beta, mode=mode)(1.5, 2.5)
        assert_close(da, module.digamma(1.5) - module.digamma(4.0))
        assert_close(db, module.digamma(2.5) - module.digamma(4.0))
        assert_close(da, central_difference(module.log_beta, [1.5, 2.5], 0))
        assert_close(db, central_difference(module.log_beta, [1.5, 2.5], 1))
    # digamma has a `while` loop, which astgrad differentiates: the partial's own derivative too.
    report = astgrad.check_rule(module.log_gamma).splitlines()
    assert report[0] == "y = log_gamma(x)"
    assert len(report) == 4  # three points of the domain; math.lgamma takes no arrays
    for line in report[1:]:
        value = float(re.match(r"  x = ([-0-9.e]+): ", line).group(1))
        assert 0.5 <= value <= 4.0
        assert line.endswith(": reverse, forward, second")


SOLVE = """
import numpy as np
import astgrad

def solve(a, b):
    return np.linalg.solve(a, b)

astgrad.adjoint("z = solve(a, b)", a="-np.outer(solve(a.T, d_z), z)", b="solve(a.T, d_z)",
                tangent="solve(a, d_b - d_a @ z)")

def energy(a, b):
    x = solve(a, b)
    return np.sum(x * x) + b @ x
"""


def test_an_adjoint_rule_in_both_modes_and_its_second_derivative(tmp_path):
    module = load_module(tmp_path, SOLVE)
    rng = np.random.default_rng(0)
    a = np.eye(3) * 3 + rng.uniform(-0.5, 0.5, (3, 3))
    b = rng.normal(size=3)
    x = np.linalg.solve(a, b)
    adjoint_x = 2 * x + b
    lam = np.linalg.solve(a.T, adjoint_x)
    for mode in ("reverse", "forward"):
        da, db = astgrad.grad(module.energy, mode=mode)(a, b)
        assert_close(da, -np.outer(lam, x))
        assert_close(db, lam + x)
        assert_close(da, central_difference(module.energy, [a, b], 0))
        assert_close(db, central_difference(module.energy, [a, b], 1))
    value, tangent = astgrad.jvp(module.solve)(a, b, np.ones((3, 3)), np.zeros(3))
    assert_close(tangent, -np.linalg.solve(a, np.ones((3, 3)) @ x))
    # The templates call solve, which has this rule: the Hessian is differentiated through it.
    report = astgrad.check_rule(module.solve, a, b).splitlines()
    assert report == ["z = solve(a, b)", "  a: (3, 3), b: (3,): reverse, forward, second"]
    hessian_b = astgrad.hessian(module.energy, wrt="b")(a, b)
    inverse = np.linalg.inv(a)
    assert_close(hessian_b, 2 * inverse.T @ inverse + inverse + inverse.T)


SMOOTH_MAX = """
import numpy as np
import astgrad

def smooth_max(a, b):
    top = np.maximum(a, b)
    return top + np.log(np.exp(a - top) + np.exp(b - top))

astgrad.derivative("y = smooth_max(a, b)", a="np.exp(a - y)", b="np.exp(b - y)", array_code=True)

def total(a, b):
    return np.sum(smooth_max(a, b) ** 2)
"""


def test_an_elementwise_rule_unbroadcasts_and_is_checked_on_broadcasting_shapes(tmp_path):
    module = load_module(tmp_path, SMOOTH_MAX)
    a, b = np.array([[0.5], [-1.0]]), np.array([0.2, 0.9, -0.4])
    for mode in ("reverse", "forward"):
        da, db = astgrad.grad(module.total, mode=mode)(a, b)
        assert da.shape == (2, 1) and db.shape == (3,)
        assert_close(da, central_difference(module.total, [a, b], 0))
        assert_close(db, central_difference(module.total, [a, b], 1))
    report = astgrad.check_rule("smooth_max", namespace=vars(module)).splitlines()
    assert report[0] == "y = smooth_max(a, b)"
    assert report[4:6] == [
        "  a: (3, 1), b: (1, 4): reverse, forward, second",
        "  a: (5,), b: (2, 5): reverse, forward, second",
    ]
    assert re.fullmatch(r"  a = [-0-9.e]+, b: \(3,\): reverse, forward, second", report[6])


def test_check_rule_fails_on_a_wrong_rule(tmp_path):
    module = load_module(tmp_path, SOFTPLUS.replace('x="sigmoid(x)"', 'x="sigmoid(x) * 1.01"'))
    with pytest.raises(astgrad.GradientCheckError, match=r"y = softplus\(x\) at x = .*: the reverse-mode derivative for x is wrong"):
        astgrad.check_rule(module.softplus)


def test_check_rule_checks_the_tables_own_entries():
    report = astgrad.check_rule(np.arctan2).splitlines()
    assert report[0] == "z = np.arctan2(y, x)" and len(report) == 7
    assert astgrad.check_rule(math.hypot, 3.0, 4.0) == "z = math.hypot(x, y)\n  x = 3, y = 4: reverse, forward, second"


def test_check_rule_wants_arguments_for_a_rule_that_is_not_elementwise(tmp_path):
    module = load_module(tmp_path, SOLVE)
    with pytest.raises(RuleError, match=r"'z = solve\(a, b\)' is checked at arguments you give"):
        astgrad.check_rule(module.solve)


def test_a_second_rule_replaces_the_first_with_a_warning_and_old_gradients_keep_theirs(tmp_path):
    module = load_module(tmp_path, SOFTPLUS)
    before = astgrad.grad(module.f, wrt="w")
    with pytest.warns(RuleReplacedWarning, match="the rule 'y = softplus.x.' replaces 'y = softplus.x.'") as caught:
        astgrad.derivative("y = softplus(x)", x="2 * sigmoid(x)", namespace=vars(module))
    assert caught[0].filename == __file__  # the warning points at the registering line
    after = astgrad.grad(module.f, wrt="w")
    assert_close(after(0.5, 1.0), 2 * before(0.5, 1.0))
    assert_close(before(0.5, 1.0), 0.25 * sigmoid(0.5))


def test_a_rule_can_replace_a_table_entry():
    with pytest.warns(RuleReplacedWarning, match=r"replaces 'y = np.expm1\(x\)'"):
        astgrad.derivative("y = np.expm1(x)", x="exp(x)")
    assert "math.expm1(x)" in astgrad.primitive_table()  # the entry keeps its other spelling
    assert "| `y = np.expm1(x)` | ∂y/∂x = `exp(x)` |" in astgrad.primitive_table()
    assert astgrad.check_rule(np.expm1).count("reverse, forward, second") == 5


def test_the_primitive_table_lists_registered_rules_in_a_section_of_their_own(tmp_path):
    assert "Registered by this program" not in astgrad.primitive_table()
    load_module(tmp_path, SOLVE)
    text = astgrad.primitive_table()
    section = text[text.index("## Registered by this program"):]
    assert "| `z = solve(a, b)` | d_a = `-np.outer(solve(a.T, d_z), z)`<br>d_b = `solve(a.T, d_z)` " \
           "| `d_z = solve(a, d_b - d_a @ z)` |  |" in section  # fmt: skip


def test_no_derivative_hint_points_to_the_rule_api(tmp_path):
    module = load_module(tmp_path, "import math\n\ndef f(x):\n    return math.lgamma(x) * x\n")
    with pytest.raises(NoDerivativeError) as info:
        astgrad.grad(module.f)
    assert info.value.hint == (
        "use a function from the primitive table (`astgrad.primitive_table()`, or `astgrad primitives` in a shell), "
        'or give `math.lgamma` a derivative: astgrad.derivative("out = math.lgamma(x)", x="...") with the partial '
        "for each input, or astgrad.adjoint(...) if it is not elementwise (see help(astgrad.derivative))"
    )


# ---- bad rules: a RuleError at the registering call, naming the rule, with a hint ----------------
BAD_RULES = """
import math
import astgrad

def f(x, n=2):
    return x ** n

def unknown_input():
    astgrad.derivative("y = f(x, n=2)", x="n * x ** (n - 1)", n="ZERO", z="1")  # MARK: unknown input

def missing_partial():
    astgrad.derivative("y = f(x, n=2)", x="n * x ** (n - 1)")  # MARK: missing partial

def unparsable_partial():
    astgrad.derivative("y = f(x, n=2)", x="n * x ** (n - 1", n="ZERO")  # MARK: unparsable partial

def undefined_name():
    astgrad.derivative("y = f(x, n=2)", x="n * pow_(x, n - 1)", n="ZERO")  # MARK: undefined name

def undefined_function():
    astgrad.derivative("y = g(x)", x="1")  # MARK: undefined function

def not_a_call():
    astgrad.derivative("y = x + 1", x="1")  # MARK: not a call

def adjoint_without_tangent():
    astgrad.adjoint("y = f(x, n=2)", x="d_y * n * x ** (n - 1)", n="ZERO")  # MARK: no tangent

def adjoint_with_a_wrong_tangent():
    astgrad.adjoint("y = f(x, n=2)", x="d_y * n * x ** (n - 1)", n="ZERO", tangent="d_n")  # MARK: wrong tangent

def misspelled_module_function():
    astgrad.derivative("y = f(x, n=2)", x="n * math.pw(x, n - 1)", n="ZERO")  # MARK: misspelled attribute

def derivative_naming_the_adjoint():
    astgrad.derivative("y = f(x, n=2)", x="d_y * n", n="ZERO")  # MARK: adjoint in a partial

def decorator_naming_a_parameter_the_function_lacks():
    @astgrad.derivative(x="math.cos(x)", t="1")  # MARK: decorator mismatch
    def g(x):
        return math.sin(x)

def decorator_missing_a_parameter():
    @astgrad.derivative(x="math.cos(x) * y")  # MARK: decorator missing
    def h(x, y):
        return math.sin(x) * y

def decorator_over_star_args():
    @astgrad.derivative(x="1")  # MARK: decorator star
    def k(*x):
        return x[0]
"""

BAD_CASES = [
    # (function, mark, caret under, message, hint)
    ("unknown_input", "unknown input", 'z="1"', "the rule 'y = f(x, n=2)' has no input `z`",
     "give one partial (or \"ZERO\" or \"NOT_DIFFERENTIABLE\") for each input: x, n"),
    ("missing_partial", "missing partial", "astgrad.derivative(", "the rule 'y = f(x, n=2)' gives no partial for its input `n`",
     "give one partial (or \"ZERO\" or \"NOT_DIFFERENTIABLE\") for each input: x, n"),
    ("unparsable_partial", "unparsable partial", 'x="n', "the template for `x` in the rule 'y = f(x, n=2)', "
     "'n * x ** (n - 1', is not a Python expression", 'write one Python expression, such as "cos(x)"'),
    ("undefined_name", "undefined name", 'x="n', "the template for `x` in the rule 'y = f(x, n=2)' names `pow_`, "
     "which is neither an input nor defined where the rule is registered", "a template may name n, x, y, "),
    ("undefined_function", "undefined function", '"y = g(x)"',
     "the rule 'y = g(x)' names `g`, which is not defined where the rule is registered",
     "import it in this module, or pass namespace={...}"),
    ("not_a_call", "not a call", '"y = x + 1"', "the rule 'y = x + 1' must spell a call of a function by its name",
     "write the spelling as Python: the output, `=`, then the call"),
    ("adjoint_without_tangent", "no tangent", "astgrad.adjoint(",
     "the rule 'y = f(x, n=2)' gives no tangent for forward mode", "add tangent=... in terms of d_x"),
    ("adjoint_with_a_wrong_tangent", "wrong tangent", 'tangent="d_n"', "the rule 'y = f(x, n=2)': the tangent must "
     "name exactly the tangents ['d_x']", "write tangent=... as a sum of terms, each linear in one of d_x"),
    ("misspelled_module_function", "misspelled attribute", 'x="n', "the rule 'y = f(x, n=2)': math.pw does not exist",
     "the primitive table (astgrad.primitive_table()) shows the template vocabulary"),
    ("derivative_naming_the_adjoint", "adjoint in a partial", 'x="d_y', "the template for `x` in the rule "
     "'y = f(x, n=2)' names `d_y`, which is neither an input nor defined", "a template may name n, x, y, "),
    ("decorator_naming_a_parameter_the_function_lacks", "decorator mismatch", 't="1"',
     "the rule for `g` names `t`, which `g` does not take",
     "give one partial (or \"ZERO\" or \"NOT_DIFFERENTIABLE\") for each input: x"),
    ("decorator_missing_a_parameter", "decorator missing", "astgrad.derivative(",
     "the rule 'z = h(x, y)' gives no partial for its input `y`",
     "give one partial (or \"ZERO\" or \"NOT_DIFFERENTIABLE\") for each input: x, y"),
    ("decorator_over_star_args", "decorator star", "astgrad.derivative(",
     "the rule for `k` cannot cover its `*x` parameter", "give the function a fixed list of parameters"),
]  # fmt: skip


@pytest.fixture(scope="module")
def bad_rules(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("bad_rules"), BAD_RULES)


@pytest.mark.parametrize("function, mark, caret, message, hint", BAD_CASES, ids=[case[0] for case in BAD_CASES])
def test_a_bad_rule_is_a_located_error_naming_the_rule(bad_rules, function, mark, caret, message, hint):
    with open(bad_rules.__file__) as file:
        lines = file.read().splitlines()
    lineno = next(number for number, line in enumerate(lines, 1) if line.endswith(f"# MARK: {mark}"))
    line = lines[lineno - 1]
    with pytest.raises(RuleError) as info:
        getattr(bad_rules, function)()
    error = info.value
    assert (error.filename, error.lineno, error.col_offset) == (bad_rules.__file__, lineno, line.index(caret))
    assert error.reason.startswith(message), error.reason
    assert error.hint.startswith(hint), error.hint
    text = str(error).splitlines()
    assert text[0].startswith(f"{bad_rules.__file__}:{lineno}:{line.index(caret) + 1}: {message}")
    assert text[1:3] == ["    " + line, "    " + " " * line.index(caret) + "^"]
    assert "Registered by this program" not in astgrad.primitive_table()  # nothing was registered


POWER = """
import math
import astgrad

@astgrad.derivative(x="n * x ** (n - 1)", n="y * log(x)", domain=(0.5, 2.0))
def power(x, n=2.0):
    return math.exp(n * math.log(x))

def f(x, n):
    return power(x) + power(x, n) + power(x, n=n)
"""


def test_a_decorated_function_with_a_default_takes_it_as_an_optional_input(tmp_path):
    module = load_module(tmp_path, POWER)
    for mode in ("reverse", "forward"):
        dx, dn = astgrad.grad(module.f, mode=mode)(1.3, 0.7)
        assert_close(dx, 2 * 1.3 + 2 * 0.7 * 1.3 ** (0.7 - 1))
        assert_close(dn, 2 * 1.3 ** 0.7 * math.log(1.3))
        assert_close(dn, central_difference(module.f, [1.3, 0.7], 1))
    assert "power(x, n=n)" in astgrad.source(astgrad.grad(module.f))
    assert astgrad.check_rule(module.power, 1.5, 3.0) == "y = power(x, n=2.0)\n  x = 1.5, n = 3: reverse, forward, second"


def test_names_of_a_rule_registered_in_a_function_are_its_locals_too(tmp_path):
    module = load_module(tmp_path, "import math\n\ndef cube(x):\n    return x * x * x\n\ndef f(x):\n    return cube(x) * 2\n")

    def three_squares(x):
        return 3 * x * x

    astgrad.derivative("y = cube(x)", x="three_squares(x)", namespace={**vars(module), "three_squares": three_squares})
    assert "three_squares(x)" in astgrad.source(astgrad.grad(module.f))
    assert astgrad.grad(module.f)(2.0) == 24.0

    def register_with_locals():
        cube, helper = module.cube, three_squares  # noqa: F841 (read by the rule, by name)
        astgrad.derivative("y = cube(x)", x="0.5 * helper(x)")

    with pytest.warns(RuleReplacedWarning):
        register_with_locals()
    assert astgrad.grad(module.f)(2.0) == 12.0


def test_a_helper_that_cannot_be_inlined_is_pointed_to_the_decorator(tmp_path):
    # A branch and an early return are differentiated now: a `try` is what cannot be inlined.
    source = SOFTPLUS.replace('@astgrad.derivative(x="sigmoid(x)")\n', "").replace(
        "    if x > 0:\n        return x + math.log1p(math.exp(-x))\n",
        "    try:\n        return x + math.log1p(math.exp(-x))\n    except OverflowError:\n        pass\n",
    )
    module = load_module(tmp_path, source)
    with pytest.raises(astgrad.NotStraightLineError) as info:
        astgrad.grad(module.f)
    lines = source.splitlines()
    assert (info.value.lineno, info.value.col_offset) == (lines.index("    try:") + 1, 4)
    assert info.value.reason == "a `try` statement is not supported"
    assert info.value.hint.endswith(
        "; or give `softplus` its derivative, making it a primitive: @astgrad.derivative(x=...) above its def"
    )


ROW_SUMS = """
import numpy as np
import astgrad

@astgrad.adjoint(m="np.broadcast_to(d_y[:, None], np.shape(m))", tangent="np.sum(d_m, axis=1)")
def row_sums(m):
    total = np.zeros(m.shape[0])
    for column in m.T:
        total = total + column
    return total

def f(m):
    return np.sum(np.sin(row_sums(m)))
"""


def test_the_adjoint_decorator_makes_a_primitive_of_a_function_with_a_loop(tmp_path):
    module = load_module(tmp_path, ROW_SUMS)
    m = np.arange(6.0).reshape(2, 3) / 7
    for mode in ("reverse", "forward"):
        gradient = astgrad.grad(module.f, mode=mode)(m)
        assert_close(gradient, np.cos(m.sum(axis=1))[:, None] * np.ones((2, 3)))
        assert_close(gradient, central_difference(module.f, [m], 0))
    report = astgrad.check_rule(module.row_sums, m)
    assert report == "y = row_sums(m)\n  m: (2, 3): reverse, forward, second"


def test_grad_of_a_function_without_source_uses_its_registered_rule(tmp_path):
    module = load_module(tmp_path, DIGAMMA + "\nastgrad.derivative('y = math.lgamma(x)', x='digamma(x)')\n")
    for mode in ("reverse", "forward"):
        assert_close(astgrad.grad(math.lgamma, mode=mode)(3.5), module.digamma(3.5))
    assert astgrad.source(astgrad.grad(math.lgamma)) == (
        "def d_lgamma(x, d_out=1.0):\n"
        "    d_x = d_out * digamma(x)\n"
        "    return d_x\n"
    )  # math.lgamma refuses arrays itself: no check is written
