"""The resolve stage: calls resolved in the user's spelling, helpers inlined, free names kept meaning the same.

Its refusals (recursion, a name used before it is assigned, a callee with no
derivative) are error cases in tests/test_errors.py.
"""

import math
import os
from math import cos
from math import sin as s

import gast
import numpy as np

import astgrad
from astgrad import resolve
from astgrad.compile import to_source
from stages import front_of
from support import load_module

SCALE = 3.0


def square(v):
    w = v * v
    return w


def affine(x, a=2.0):
    y = a * x
    return y + 1.0


def resolved_text(fn):
    """The resolved statements of `fn` as source lines."""
    resolved, _ = front_of(fn)
    return [to_source(statement).rstrip("\n") for statement in resolved.statements]


def test_calls_keep_the_users_spelling_and_docstrings_and_pass_go():
    def f(x):
        """A docstring."""
        y = s(x) + math.cos(x) * SCALE
        pass
        return np.sum(y) + cos(y)

    assert resolved_text(f) == ["y = s(x) + math.cos(x) * SCALE", "return np.sum(y) + cos(y)"]
    resolved, _ = front_of(f)
    assert resolved.namespace.free == {"s", "math", "SCALE", "np", "cos"}
    assert resolved.namespace.locals == {"x", "y"} and resolved.namespace.added == {}


def test_methods_and_reassignments_are_left_for_ssa():
    def f(x):
        y = x
        y += 2.0
        a, b = y.sum(axis=0), np.mean(x, 0)
        return a * b

    assert resolved_text(f) == ["y = x", "y += 2.0", "a, b = y.sum(axis=0), np.mean(x, 0)", "return a * b"]


def test_a_helper_is_inlined_its_locals_renamed_and_its_result_named_after_the_call():
    def f(x):
        w = 1.0
        y = square(x + w)
        return square(y)

    assert resolved_text(f) == [
        "w = 1.0",
        "v = x + w",  # an argument that is not a name or constant is bound to the parameter's name
        "w_1 = v * v",  # the helper's `w` would collide with the caller's
        "square_v = w_1",
        "y = square_v",
        "w_2 = y * y",  # a name argument stands for the parameter directly
        "square_y = w_2",
        "return square_y",
    ]


def test_a_keyword_argument_binds_the_helpers_parameter_and_defaults_are_filled_in():
    def f(x, y):
        z = affine(x * y, a=y)
        return z + affine(x)

    assert resolved_text(f) == [
        "x_1 = x * y",
        "y_1 = y * x_1",
        "affine_x_1_y = y_1 + 1.0",
        "z = affine_x_1_y",
        "y_2 = 2.0 * x",
        "affine = y_2 + 1.0",  # named for the call only when every argument is a name
        "return z + affine",
    ]


def test_inlined_statements_remember_the_file_and_line_they_came_from():
    def f(x):
        return square(x)

    resolved, _ = front_of(f)
    here = f.__code__.co_filename
    helper_line = square.__code__.co_firstlineno
    places = [(filename, st.lineno) for st, filename in zip(resolved.statements, resolved.statement_files)]
    assert places == [(here, helper_line + 1), (here, helper_line + 2), (here, f.__code__.co_firstlineno + 1)]


def test_a_helper_from_another_module_brings_its_globals_as_closure_names(tmp_path):
    load_module(
        tmp_path,
        """
        import math as m
        FACTOR = 4.0

        def bump(t):
            return FACTOR * m.exp(t)
        """,
        name="resolve_helpers",
    )
    user = load_module(
        tmp_path,
        """
        import math
        from resolve_helpers import bump

        def f(x):
            return bump(x) + math.exp(x)

        def g(x, bump_x):
            return bump(x) * bump_x
        """,
    )
    resolved, _ = front_of(user.f)
    # m.exp is spelled as the caller spells math.exp; FACTOR, unknown to the caller, is added.
    assert resolved_text(user.f) == ["bump_x = FACTOR * math.exp(x)", "return bump_x + math.exp(x)"]
    assert resolved.namespace.added == {"FACTOR": 4.0}
    files = [os.path.basename(path) for path in resolved.statement_files]
    assert files == ["resolve_helpers.py", f"{user.__name__}.py"]
    # The result's name avoids the caller's parameter of that name.
    assert resolved_text(user.g) == ["bump_x_1 = FACTOR * math.exp(x)", "return bump_x_1 * bump_x"]


def test_a_closure_value_and_a_global_defined_later_are_read_where_the_code_runs():
    scale = 2.0

    def f(x):
        return scale * x + LATER  # not defined when f is differentiated: looked up when the gradient runs

    assert resolved_text(f) == ["return scale * x + LATER"]
    resolved, _ = front_of(f)
    assert resolved.namespace.closure == {"scale": 2.0}
    assert resolved.namespace.free == {"scale", "LATER"}


def test_a_helper_calling_a_helper_is_inlined_all_the_way_down():
    def f(x):
        return twice_squared(x)

    assert resolved_text(f) == [
        "w = x * x", "square_x = w", "twice_squared_x = 2.0 * square_x", "return twice_squared_x",
    ]  # fmt: skip


def twice_squared(u):
    return 2.0 * square(u)


def test_resolving_leaves_the_parsed_function_unchanged():
    def f(x):
        return square(x) + SCALE

    function, location = front_of(f, stage="parse")
    before = to_source(function.tree)
    resolve.resolve(function, location)
    assert to_source(function.tree) == before


def calls_in(resolved):
    """The call nodes of the resolved statements, in order of a walk."""
    return [node for statement in resolved.statements for node in gast.walk(statement) if isinstance(node, gast.Call)]


def test_each_call_carries_its_matched_rule_with_its_inputs_bound_to_the_calls_own_arguments():
    def f(x, y):
        a = s(x) + np.sum(x * y, axis=0)
        return np.stack([a, y]).mean()

    resolved, _ = front_of(f)
    calls = calls_in(resolved)
    assert len(calls) == len(resolved.matches) == 4
    by_text = {to_source(call).strip(): resolved.matches.of(call) for call in calls}
    assert {text: m.rule.expression for text, m in by_text.items()} == {
        "s(x)": "math.sin(x)",
        "np.sum(x * y, axis=0)": "np.sum(x, axis=None, keepdims=False)",
        "np.stack([a, y]).mean()": "x.mean(axis=None, keepdims=False)",
        "np.stack([a, y])": "np.stack([*xs], axis=0)",
    }  # fmt: skip
    total = next(call for call in calls if to_source(call).startswith("np.sum"))
    bound = resolved.matches.of(total).bound
    assert bound["x"] is total.args[0] and bound["axis"] is total.keywords[0].value  # the call's own nodes
    assert isinstance(bound["keepdims"], gast.Constant) and bound["keepdims"].value is False  # a default
    stack = next(call for call in calls if to_source(call).strip() == "np.stack([a, y])")
    assert resolved.matches.of(stack).bound["xs"] == tuple(stack.args[0].elts)  # a sequence: its elements
    mean = next(call for call in calls if getattr(call.func, "attr", None) == "mean")
    assert resolved.matches.of(mean).bound["x"] is mean.func.value  # a method's receiver is its first input


def total_over(v, axis):
    return np.sum(v, axis=axis)


def test_a_constant_a_helper_passes_on_is_matched_where_it_is_used():
    def f(x):
        return np.sum(total_over(x * x, 0))

    resolved, _ = front_of(f)
    inner = next(call for call in calls_in(resolved) if "axis" in to_source(call))
    assert to_source(inner).strip() == "np.sum(v, axis=0)"
    assert resolved.matches.of(inner).bound["axis"].value == 0
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    assert np.allclose(astgrad.grad(f)(x), 2.0 * x)
