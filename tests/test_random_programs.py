"""Random programs (made by tests/random_programs.py) and the properties they must have.

The normal suite checks PROGRAMS straight-line programs of seed 0 against
every property (the fresh-import check on every fourth; test_determinism.py
does more of it), ARRAY_PROGRAMS NumPy-array programs
(tests/random_array_programs.py) and FLOW_PROGRAMS programs with control flow
likewise, two programs astgrad must refuse per kind of bad construct, and
that the generators and their checks do what they claim. Many more programs:
``python tests/random_programs.py --count 10000``,
``python tests/random_programs.py --control-flow --count 10000`` and
``python tests/random_programs.py --arrays --count 2000`` (see docs/reliability.md).

Failures the generator found are regression tests at the end of this file,
each a plain test with its program inline, named after what broke.
"""

import ast
import math

import numpy as np
import pytest

import astgrad
import random_array_programs as ra
import random_programs as rp
from support import load_module

SEED = 0
PROGRAMS = 200
ARRAY_PROGRAMS = 150
FLOW_PROGRAMS = 100  # programs with branches and loops (random_programs.CONTROL_FLOW)
ARRAY_FLOW_PROGRAMS = 60  # array programs with loops, when switched on there
REFUSED = 2 * len(rp.BAD_KINDS)  # every kind of bad construct twice, in different programs


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    return str(tmp_path_factory.mktemp("programs"))


def made_once(make, prepare, directory):
    """case(index): program `index` of seed 0 that `make` makes, written, imported and with a sample point (once)."""
    made = {}

    def case(index):
        if index not in made:
            made[index] = prepare(make(SEED, index), directory)
        return made[index]

    return case


@pytest.fixture(scope="module")
def case(directory):
    return made_once(rp.make_program, rp.prepare, directory)


def failure_report(program, exc, flags=""):
    return (
        f"program {program.label} breaks a property: {exc}\n"
        f"reproduce: python tests/random_programs.py {flags}--program {program.label}\n{program.source}"
    )


def check_program(case, index, all_properties, make, flags=""):
    """`case(index)` has `all_properties` (reproducibility checked for one program in four)."""
    properties = [p for p in all_properties if index % 4 == 0 or p is not rp.transform_is_reproducible]
    try:
        rp.check(case(index), properties)
    except Exception as exc:
        raise AssertionError(failure_report(make(SEED, index), exc, flags)) from exc


@pytest.mark.parametrize("index", range(PROGRAMS))
def test_random_program(index, case):
    check_program(case, index, rp.PROPERTIES, rp.make_program)


@pytest.mark.parametrize("index", range(REFUSED))
def test_refused_program(index, directory):
    bad = rp.bad_program(SEED, index)
    try:
        rp.check_refused(bad, directory)
    except rp.PropertyFailure as exc:
        raise AssertionError(f"{exc}\n{bad.source}") from None


# ---- the generator and its checks ----------------------------------------------------------------

def test_programs_are_made_again_from_their_label():
    assert rp.make_program(SEED, 7).source == rp.make_program(SEED, 7).source
    assert rp.make_program(SEED, 7).source != rp.make_program(SEED, 8).source
    assert rp.make_program(SEED, 7).source != rp.make_program(SEED + 1, 7).source


def test_programs_draw_on_every_primitive_and_construct(case):
    programs = [case(index).program for index in range(PROGRAMS)]
    used = {signature for program in programs for signature in program.used}
    assert used == {rule.signature for rule in rp.scalar_rules()}
    seen = set()
    for program in programs:
        tree = ast.parse(program.source)
        (f,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "f"]
        assert 1 <= len(f.args.args) <= 4
        assert 5 <= len([s for s in f.body if not isinstance(s, ast.Expr)]) <= 60
        helpers = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        for node in ast.walk(f):
            seen.add(type(node).__name__)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple):
                seen.add("unpacking")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
                seen.add("helper call with keywords" if node.keywords else "helper call")
        seen.add(f"{len(f.args.args)} parameters")
        seen.add("closure" if "def make_f(k):" in program.source else "module-level function")
        seen.add(f"{program.style} imports")
        seen.add("wrt=None" if program.wrt is None else f"wrt of type {type(program.wrt).__name__}")
    expected = {
        "AugAssign", "AnnAssign", "Pass", "Compare", "unpacking", "helper call", "helper call with keywords",
        "1 parameters", "4 parameters", "closure", "module-level function", "plain imports", "alias imports",
        "from imports", "wrt=None", "wrt of type int", "wrt of type str", "wrt of type tuple", "wrt of type list",
    }  # fmt: skip
    assert expected <= seen, expected - seen


def test_most_programs_have_a_sample_point_away_from_kinks(case):
    assert sum(case(index).where == "clean" for index in range(PROGRAMS)) >= 0.97 * PROGRAMS


def test_the_probe_tells_the_pieces_of_kinks_apart():
    probe = rp.Probe(
        "import math\nimport numpy as np\n\n"
        "def f(x):\n    return abs(x - 0.3) + math.floor(2 * x) + max(x, 0.6) * np.hypot(x, 0.0)\n"
    )
    assert probe.run([0.29]).pieces != probe.run([0.31]).pieces  # abs at 0.3
    assert probe.run([0.49]).pieces != probe.run([0.51]).pieces  # floor at 0.5
    assert probe.run([0.59]).pieces != probe.run([0.61]).pieces  # max at 0.6
    assert probe.run([0.1]).pieces == probe.run([0.2]).pieces
    assert probe.run([0.0]).singular and not probe.run([0.1]).singular  # hypot at the origin
    observed = probe.run([0.2])
    assert observed.value == abs(0.2 - 0.3) + 0 + 0.6 * 0.2
    assert observed.magnitude == 2.0  # the largest operand: the 2 of `2 * x`


def test_finite_differences_catch_a_gradient_off_by_one_part_in_a_hundred_thousand(case, monkeypatch):
    def gradient(case):
        return rp.gradient_list(astgrad.grad(case.f, wrt=case.program.wrt)(*case.args), case.program)

    cases = (case(index) for index in range(PROGRAMS))
    usable = (c for c in cases if c.where == "clean" and len(c.program.params) > 1)
    chosen = next(c for c in usable if min(map(abs, gradient(c))) > 0.1)
    rp.gradient_matches_finite_differences(chosen)
    grad = astgrad.grad

    def slightly_wrong(fn, wrt=None, mode="reverse"):
        d_f = grad(fn, wrt=wrt, mode=mode)
        return lambda *args: np.multiply(d_f(*args), 1 + 1e-5)

    monkeypatch.setattr(astgrad, "grad", slightly_wrong)
    with pytest.raises(rp.PropertyFailure, match="finite differences give"):
        rp.gradient_matches_finite_differences(chosen)


def test_a_refusal_is_checked_for_class_line_and_user_code_running(directory, monkeypatch):
    bad = rp.bad_program(SEED, rp.BAD_KINDS.index("try_statement"))
    rp.check_refused(bad, directory)
    for wrong in (dict(lineno=bad.lineno + 1), dict(error=astgrad.NoDerivativeError)):
        with pytest.raises(rp.PropertyFailure, match="expected"):
            rp.check_refused(rp.BadProgram(**dict(vars(bad), **wrong)), directory)
    grad = astgrad.grad

    def runs_the_function_first(fn, wrt=None):
        fn(*[0.5] * fn.__code__.co_argcount)
        return grad(fn, wrt=wrt)

    runnable = rp.bad_program(SEED, rp.BAD_KINDS.index("global_statement"))  # f can run: no loop or try
    monkeypatch.setattr(astgrad, "grad", runs_the_function_first)
    with pytest.raises(rp.PropertyFailure, match="user code ran"):
        rp.check_refused(runnable, directory)


# ---- programs with control flow ------------------------------------------------------------------

@pytest.fixture(scope="module")
def flow_case(directory):
    return made_once(rp.make_flow_program, rp.prepare, directory)


@pytest.mark.parametrize("index", range(FLOW_PROGRAMS))
def test_random_program_with_control_flow(index, flow_case):
    check_program(flow_case, index, rp.PROPERTIES, rp.make_flow_program, "--control-flow ")


def test_programs_with_control_flow_are_made_again_from_their_label():
    assert rp.make_flow_program(SEED, 7).source == rp.make_flow_program(SEED, 7).source
    assert rp.make_flow_program(SEED, 7).source != rp.make_flow_program(SEED, 8).source
    assert rp.make_flow_program(SEED, 7).source != rp.make_program(SEED, 7).source


def test_programs_with_control_flow_use_every_construct_switched_on(flow_case):
    programs = [flow_case(index).program for index in range(FLOW_PROGRAMS)]
    used = {construct for program in programs for construct in program.used}
    on = {name for name, switched in rp.CONTROL_FLOW.items() if switched}
    expected = {
        "if": {"if", "if without else"},
        "elif": {"elif"},
        "conditional_expression": {"conditional expression"},
        "boolean_test": {"and/or", "not", "chained comparison"},
        "for_range": {"for loop", "accumulator", "loop variable in arithmetic", "zero-trip loop"},
        "range_parameter": {"range of a parameter"},
        "nested": {"nested " + kind for kind, switch in (("if", "if"), ("for", "for_range")) if rp.CONTROL_FLOW[switch]},
        "break": {"break", "break two ifs deep"},
        "continue": {"continue", "continue two ifs deep"},
        "while_true": {"while True"},
    }
    for switch in on & set(expected):  # the switches that make a construct of their own
        assert expected[switch] <= used, (switch, expected[switch] - used)
    assert sum(flow_case(index).where == "clean" for index in range(FLOW_PROGRAMS)) >= 0.95 * FLOW_PROGRAMS
    for construct, switch in ((ast.If, "if"), ((ast.For, ast.comprehension), "for_range")):  # a generator sum loops too
        having = [p for p in programs if any(isinstance(n, construct) for n in ast.walk(ast.parse(p.source)))]
        assert len(having) >= (0.5 if rp.CONTROL_FLOW[switch] else 0) * FLOW_PROGRAMS


def test_the_probe_sees_both_comparisons_of_a_chain_and_the_branch_taken():
    probe = rp.Probe("def f(x):\n    if 0.2 < x < 0.6:\n        y = x * x\n    else:\n        y = -x\n    return y\n")
    assert probe.run([0.4]).value == 0.4 * 0.4
    assert probe.run([0.7]).value == -0.7
    assert probe.run([0.19]).pieces != probe.run([0.21]).pieces  # the first comparison
    assert probe.run([0.59]).pieces != probe.run([0.61]).pieces  # the second
    assert probe.run([0.3]).pieces == probe.run([0.5]).pieces


# ---- NumPy-array programs ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def array_case(directory):
    return made_once(ra.make_program, ra.prepare, directory)


@pytest.mark.parametrize("index", range(ARRAY_PROGRAMS))
def test_random_array_program(index, array_case):
    check_program(array_case, index, ra.PROPERTIES, ra.make_program, "--arrays ")


def test_array_programs_are_made_again_from_their_label():
    assert ra.make_program(SEED, 7).source == ra.make_program(SEED, 7).source
    assert ra.make_program(SEED, 7).source != ra.make_program(SEED, 8).source


def test_array_programs_draw_on_every_construct_and_shape(array_case):
    programs = [array_case(index).program for index in range(ARRAY_PROGRAMS)]
    used = {construct for program in programs for construct in program.used}
    assert used == set(ra.CONSTRUCTS), (set(ra.CONSTRUCTS) - used, used - set(ra.CONSTRUCTS))
    shapes = {shape for program in programs for shape in program.shapes}
    assert {None, (), (3,), (2, 3), (2, 1), (1, 3), (4, 2, 3)} <= shapes
    for program in programs:
        arrays = [shape for shape in program.shapes if shape is not None]
        assert 1 <= len(arrays) <= 4
        np.broadcast_shapes(*arrays)  # raises unless the inputs broadcast together
        assert 3 <= len(ast.parse(program.source).body[-1].body) <= 20


def test_most_array_programs_have_a_sample_point_away_from_kinks(array_case):
    assert sum(array_case(index).where == "clean" for index in range(ARRAY_PROGRAMS)) >= 0.97 * ARRAY_PROGRAMS


def test_the_array_probe_tells_which_element_each_max_picks():
    probe = ra.Probe(
        "import numpy as np\n\n"
        "def f(x, y):\n    return np.sum(np.max(x, axis=0) + x.max(axis=-1, keepdims=True) + np.maximum(x, y))\n"
    )
    x = np.array([[0.0, 1.0], [2.0, 0.5]])
    value, pieces, magnitude = probe.run([x, -1.0])
    assert value == np.sum(np.max(x, axis=0) + x.max(axis=-1, keepdims=True) + np.maximum(x, -1.0))
    assert magnitude == value  # the largest value is the sum itself

    def changed(x, y):  # which of the three maxima picks another element than at (x, -1)
        return [new != old for new, old in zip(probe.run([np.array(x), y])[1], pieces)]

    assert changed(x + 0.01, -1.0) == [False, False, False]
    assert changed([[0.0, 1.0], [2.0, 1.2]], -1.0) == [True, False, False]  # column 1: x[1, 1]
    assert changed([[0.0, 1.0], [0.4, 0.5]], -1.0) == [False, True, False]  # row 1: x[1, 1]
    assert changed(x, 0.7) == [False, False, True]  # y over x[0, 0] and x[1, 1]


def test_array_finite_differences_catch_one_element_off_by_a_part_in_a_hundred_thousand(array_case, monkeypatch):
    chosen = next(
        c for c in map(array_case, range(ARRAY_PROGRAMS))
        if c.where == "clean" and c.program.wrt is None and any(np.ndim(c.args[i]) == 2 for i in c.program.wrt_indices)
    )  # fmt: skip
    ra.gradient_matches_finite_differences(chosen)
    grad = astgrad.grad

    def one_element_wrong(fn, wrt=None, mode="reverse"):
        d_f = grad(fn, wrt=wrt, mode=mode)

        def wrong(*args):
            gradient = [np.array(g, copy=True) for g in rp.gradient_list(d_f(*args), chosen.program)]
            largest = max(gradient, key=np.size)
            largest.flat[np.argmax(np.abs(largest))] *= 1 + 1e-5
            return tuple(gradient) if chosen.program.as_tuple else gradient[0]

        return wrong

    monkeypatch.setattr(astgrad, "grad", one_element_wrong)
    with pytest.raises(rp.PropertyFailure, match=r"finite differences give"):
        ra.gradient_matches_finite_differences(chosen)


def test_an_array_gradient_sharing_an_arguments_memory_is_caught(array_case, monkeypatch):
    chosen = next(
        c for c in map(array_case, range(ARRAY_PROGRAMS))
        if not c.program.as_tuple and isinstance(c.args[c.program.wrt_indices[0]], np.ndarray)
    )  # fmt: skip
    ra.gradients_have_shapes_and_memory_of_their_own(chosen)
    index = chosen.program.wrt_indices[0]
    monkeypatch.setattr(astgrad, "grad", lambda fn, wrt=None, mode="reverse": lambda *args: args[index][...])
    with pytest.raises(rp.PropertyFailure, match="shares memory with the argument"):
        ra.gradients_have_shapes_and_memory_of_their_own(chosen)


if rp.CONTROL_FLOW["numpy_with_loops"]:  # array programs with loops, once astgrad differentiates them

    @pytest.fixture(scope="module")
    def array_flow_case(directory):
        return made_once(ra.make_flow_program, ra.prepare, directory)

    @pytest.mark.parametrize("index", range(ARRAY_FLOW_PROGRAMS))
    def test_random_array_program_with_loops(index, array_flow_case):
        check_program(array_flow_case, index, ra.PROPERTIES, ra.make_flow_program, "--arrays --control-flow ")

    def test_array_programs_with_loops_use_every_loop_construct(array_flow_case):
        used = {c for index in range(ARRAY_FLOW_PROGRAMS) for c in array_flow_case(index).program.used}
        assert set(ra.FLOW_CONSTRUCTS) <= used, set(ra.FLOW_CONSTRUCTS) - used
        clean = sum(array_flow_case(index).where == "clean" for index in range(ARRAY_FLOW_PROGRAMS))
        assert clean >= 0.95 * ARRAY_FLOW_PROGRAMS


# ---- regressions found by the generator ----------------------------------------------------------

def test_regression_fabs_of_a_numpy_scalar(tmp_path):
    """`math.fabs`'s partial ``(x > 0) - (x < 0)`` subtracted two NumPy booleans when `x` was a
    NumPy scalar, which NumPy refuses (TypeError: numpy boolean subtract)."""
    module = load_module(
        tmp_path,
        """
        import math
        import numpy as np


        def f(x):
            return math.fabs(np.sin(x))
        """,
    )
    d_f = astgrad.grad(module.f)
    assert d_f(0.5) == pytest.approx(math.cos(0.5), rel=1e-15)
    assert d_f(-0.5) == pytest.approx(-math.cos(0.5), rel=1e-15)


def test_regression_clip_with_the_lower_bound_above_the_upper_bound(tmp_path):
    """`np.clip(x, lo, hi)` with lo > hi returns hi wherever x is, so the gradient belongs to hi
    alone; the partials ``x < lo`` and ``x > hi`` give it to lo (x below both), to both (x
    between) or to hi (x above both)."""
    module = load_module(
        tmp_path,
        """
        import numpy as np


        def f(x, lo, hi):
            return np.clip(x, lo, hi)
        """,
    )
    d_f = astgrad.grad(module.f)
    for x in (0.0, 1.5, 3.0):  # below, between and above the bounds 2.0 > 1.0
        assert module.f(x, 2.0, 1.0) == 1.0
        assert d_f(x, 2.0, 1.0) == (0.0, 0.0, 1.0)


def test_regression_a_comparison_times_a_negative_constant(tmp_path):
    """The optimizer rewrote the user's ``flag * -2.0`` as ``-flag * 2.0``: it negates the
    comparison's value, which NumPy refuses for its booleans (TypeError: numpy boolean negative)."""
    module = load_module(
        tmp_path,
        """
        import numpy as np


        def f(x):
            return (np.sin(x) > 0.0) * -2.0 * x
        """,
    )
    d_f = astgrad.grad(module.f)
    assert module.f(0.5) == -1.0
    assert d_f(0.5) == -2.0
    assert d_f(-0.5) == 0.0


def test_regression_one_times_a_comparison_stays_a_number(tmp_path):
    """The optimizer dropped the ``1.0 *`` of ``1.0 * (x > 0.0)``, which makes the comparison's
    boolean a number: the generated code then negated a boolean (TypeError: numpy boolean negative)."""
    module = load_module(
        tmp_path,
        """
        import numpy as np


        def f(x):
            flag = 1.0 * (x > 0.0)
            return np.negative(flag) * x
        """,
    )
    d_f = astgrad.grad(module.f)
    assert module.f(0.5) == -0.5
    assert d_f(0.5) == -1.0
    assert d_f(-0.5) == 0.0


def test_regression_one_times_a_comparison_keeps_double_precision(tmp_path):
    """Dropping the ``1.0 *`` of ``1.0 * (x > 0.0)`` also changed the numbers, silently: NumPy
    computes `np.sin` of a boolean in float16, and the value and gradient kept that precision."""
    module = load_module(
        tmp_path,
        """
        import numpy as np


        def f(x):
            flag = 1.0 * (x > 0.0)
            return np.sin(flag) * x
        """,
    )
    value, gradient = astgrad.value_and_grad(module.f)(0.5)
    assert value == module.f(0.5) == pytest.approx(math.sin(1.0) * 0.5, rel=1e-15)
    assert gradient == pytest.approx(math.sin(1.0), rel=1e-15)
