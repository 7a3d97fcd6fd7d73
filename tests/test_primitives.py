"""The generated test of the primitive table: every entry, against central differences.

For each rule the test writes a one-line user function calling the primitive
(the signature's right-hand side, e.g. ``math.atan2(y, x)``) into a module
file, differentiates it with astgrad and compares with central differences at
several points of the rule's domain. NumPy entries and operators are also
checked on arrays, as vector-Jacobian products with a random output seed.
A rule added to the table is tested here without further edits.
"""

import math
import zlib

import numpy as np
import pytest

import astgrad
from astgrad import primitives
from astgrad.primitives import NOT_DIFFERENTIABLE, ZERO, TableError
from support import assert_close, central_difference, load_module

RULES = primitives.all_rules()
INTEGER_ARGUMENTS = {"i": 3, "ndigits": 2}  # values for inputs marked NOT_DIFFERENTIABLE


def differentiable(rule):
    return [p for p in rule.params if rule.partials[p] is not NOT_DIFFERENTIABLE]


@pytest.fixture(scope="module")
def table_module(tmp_path_factory):
    """One module with a function `rule_<n>` per rule, calling its primitive."""
    lines = ["import math", "import numpy as np", "from astgrad import runtime", ""]
    for number, rule in enumerate(RULES):
        lines += [f"def rule_{number}({', '.join(rule.params)}):", f"    return {rule.expression}", ""]
    return load_module(tmp_path_factory.mktemp("table"), "\n".join(lines))


def sample(rule, rng, shape=()):
    args = []
    for param in rule.params:
        if rule.partials[param] is NOT_DIFFERENTIABLE:
            args.append(INTEGER_ARGUMENTS[param])
        else:
            low, high = rule.domain[param]
            value = rng.uniform(low, high, size=shape)
            args.append(float(value) if shape == () else value)
    return args


def rng_for(rule):
    return np.random.default_rng(zlib.crc32(rule.signature.encode()))


@pytest.mark.parametrize("number", range(len(RULES)), ids=[rule.signature for rule in RULES])
def test_rule_against_central_differences(table_module, number):
    rule = RULES[number]
    f = getattr(table_module, f"rule_{number}")
    wrt = tuple(differentiable(rule))
    value_and_gradient = astgrad.value_and_grad(f, wrt=wrt)
    rng = rng_for(rule)
    for _ in range(4):
        args = sample(rule, rng)
        value, gradient = value_and_gradient(*args)
        assert value == f(*args)
        for param, derivative in zip(wrt, gradient):
            expected = central_difference(f, args, rule.params.index(param))
            assert isinstance(derivative, float), (param, type(derivative))
            if rule.partials[param] is ZERO:
                assert derivative == 0.0 and expected == 0.0
            else:
                assert_close(derivative, expected)


# Operators and NumPy functions also take arrays; rules whose partials call
# `math` functions (the operator `**`) are scalar-only until NumPy support.
ARRAY_RULES = [
    (number, rule)
    for number, rule in enumerate(RULES)
    if not rule.is_constant
    and (primitives.is_numpy(rule) or primitives.is_operator(rule))
    and not any(reference.startswith("math.") for reference in rule.references)
]


@pytest.mark.parametrize("number", [n for n, _ in ARRAY_RULES], ids=[r.signature for _, r in ARRAY_RULES])
@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_numpy_rule_on_arrays_as_vector_jacobian_product(table_module, number, shape):
    rule = RULES[number]
    f = getattr(table_module, f"rule_{number}")
    rng = rng_for(rule)
    args = sample(rule, rng, shape)
    seed = rng.normal(size=shape)
    wrt = tuple(differentiable(rule))
    gradient = astgrad.grad(f, wrt=wrt)(*args, d_out=seed)

    def weighted(*point):
        return float(np.sum(seed * f(*point)))

    for param, vjp in zip(wrt, gradient):
        assert np.shape(vjp) == shape
        assert_close(vjp, central_difference(weighted, args, rule.params.index(param)))


def test_every_rule_is_exercised():
    """The parametrization above comes from the table itself: nothing is left out."""
    signatures = {rule.signature for rule in RULES}
    assert len(signatures) == len(RULES) > 80
    for expected in ("z = x ** y", "y = math.erf(x)", "z = max(x, y)", "y = np.tanh(x)", "y = math.log(x, base)"):
        assert expected in signatures


# ---- kinks and ties: the conventions written beside the rules ---------------------------------
SPECIAL_VALUES = [
    # (source of f, arguments, expected gradient)
    ("abs(x)", (0.0,), 0.0),  # sign convention: 0 at the kink
    ("math.fabs(x)", (0.0,), 0.0),
    ("np.abs(x)", (0.0,), 0.0),
    ("abs(x)", (-2.0,), -1.0),
    ("max(x, y)", (1.5, 1.5), (0.5, 0.5)),  # a tie shares the gradient equally
    ("min(x, y)", (1.5, 1.5), (0.5, 0.5)),
    ("np.maximum(x, y)", (1.5, 1.5), (0.5, 0.5)),
    ("np.minimum(x, y)", (1.5, 1.5), (0.5, 0.5)),
    ("max(x, y)", (2.0, 1.0), (1.0, 0.0)),
    ("min(x, y)", (2.0, 1.0), (0.0, 1.0)),
    ("x ** 2", (0.0,), 0.0),
    ("x * (x > 0)", (-1.0,), 0.0),
    ("x * (x > 0)", (3.0,), 1.0),
]


@pytest.mark.parametrize("expression, args, expected", SPECIAL_VALUES)
def test_special_values(tmp_path, expression, args, expected):
    params = ["x", "y"][: len(args)]
    module = load_module(
        tmp_path, f"import math\nimport numpy as np\ndef f({', '.join(params)}):\n    return {expression}\n"
    )
    gradient = astgrad.grad(module.f)(*args)
    assert gradient == expected


# ---- the checker catches a wrong rule --------------------------------------------------------
def test_a_deliberately_wrong_rule_fails_the_check(tmp_path):
    module = load_module(
        tmp_path,
        """
        import math

        def my_sin(x):
            return math.sin(x)

        def f(x):
            return my_sin(x)
        """,
    )
    namespace = {"my_sin": module.my_sin, "math": math}
    primitives.derivative("y = my_sin(x)", namespace=namespace, x="math.sin(x)")  # wrong: should be cos
    try:
        gradient = astgrad.grad(module.f)(0.7)
        assert gradient == math.sin(0.7)  # the wrong rule is really used, not inlined
        with pytest.raises(AssertionError):
            assert_close(gradient, central_difference(module.f, [0.7], 0))
    finally:
        del primitives.RULES[module.my_sin]


# ---- the table refuses malformed entries -----------------------------------------------------
def _fresh_function():
    def fresh(x, y):
        return x

    return fresh


@pytest.mark.parametrize(
    "signature, partials, message",
    [
        ("y = fresh(x, y)", {"x": "1"}, "give exactly one partial"),
        ("y = fresh(x, y)", {"x": "1", "y": "cos(x)"}, "neither an input nor a dotted module name"),
        ("y = fresh(x + 1, y)", {"x": "1", "y": "1"}, "inputs must be placeholder names"),
        ("y = missing.attr(x)", {"x": "1"}, ""),
        ("fresh(x, y)", {"x": "1", "y": "1"}, "a signature reads like"),
    ],
)
def test_malformed_entries_are_refused_naming_the_entry(signature, partials, message):
    namespace = {"fresh": _fresh_function(), "missing": math}
    with pytest.raises(TableError) as error:
        primitives.derivative(signature, namespace=namespace, **partials)
    assert signature in str(error.value)
    assert message in str(error.value)


def test_a_duplicate_entry_is_refused():
    with pytest.raises(TableError, match="already in the table"):
        primitives.derivative("y = math.sin(x)", x="math.cos(x)")
