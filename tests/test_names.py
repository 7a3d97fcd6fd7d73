"""Names (astgrad/names.py): fresh local names, references to objects, and small tree helpers."""

import math

import gast
import numpy as np
import pytest

from astgrad.names import Namespace, copy_atom, root_name, substituted


def expression(text):
    return gast.parse(text).body[0].value


def reference_text(namespace, obj, hint=None):
    return gast.unparse(namespace.reference(obj, hint))


# ---- fresh names ------------------------------------------------------------------------
def test_a_fresh_name_is_the_base_itself_when_free():
    namespace = Namespace({}, {})
    assert namespace.fresh("sin_x") == "sin_x"
    assert "sin_x" in namespace.locals


def test_collisions_get_numbered_suffixes_in_order():
    namespace = Namespace({}, {})
    namespace.locals.add("x")
    assert [namespace.fresh("x") for _ in range(3)] == ["x_1", "x_2", "x_3"]
    assert [namespace.fresh("y") for _ in range(2)] == ["y", "y_1"]


def test_a_suffix_skips_names_already_taken():
    namespace = Namespace({}, {})
    namespace.locals.update({"x", "x_2"})
    assert [namespace.fresh("x") for _ in range(3)] == ["x_1", "x_3", "x_4"]


def test_builtins_keywords_free_and_added_names_are_taken():
    namespace = Namespace({}, {})
    namespace.free.add("math")
    namespace.added["scale"] = 2.0
    assert [namespace.fresh(base) for base in ("sum", "lambda", "math", "scale")] == [
        "sum_1", "lambda_1", "math_1", "scale_1",
    ]  # fmt: skip


def test_a_global_the_generated_code_does_not_read_may_be_a_local_name():
    namespace = Namespace({"y": 1.0}, {"c": math.cos})
    assert namespace.fresh("y") == "y" and namespace.fresh("c") == "c"


def test_a_fork_makes_its_names_without_touching_the_original():
    namespace = Namespace({}, {})
    namespace.locals.add("x")
    fork = namespace.fork()
    assert fork.fresh("x") == "x_1" and fork.reference(math.cos) is not None
    assert namespace.locals == {"x"} and namespace.added == {} and namespace.free == set()
    assert namespace.fresh("x") == "x_1"  # the same name the fork made: each fork counts on its own


# ---- references -------------------------------------------------------------------------
def test_a_reference_prefers_the_name_the_user_bound_the_object_to():
    namespace = Namespace({"math": math, "cos": math.cos}, {})
    assert reference_text(namespace, math.cos) == "cos"
    assert namespace.free == {"cos"}


def test_a_reference_goes_through_a_module_the_user_imported():
    namespace = Namespace({"math": math}, {})
    assert reference_text(namespace, math.cos) == "math.cos"
    assert namespace.free == {"math"} and namespace.added == {}


def test_a_reference_prefers_a_module_alias_the_generated_code_already_reads():
    namespace = Namespace({"m": math, "math": math}, {})
    assert reference_text(namespace, math.cos) == "m.cos"  # the first alias in sorted order
    namespace = Namespace({"m": math, "math": math}, {})
    namespace.free.add("math")
    assert reference_text(namespace, math.cos) == "math.cos"


def test_an_object_the_user_cannot_name_is_added_as_a_closure_name():
    namespace = Namespace({}, {})
    assert reference_text(namespace, math.log) == "log"
    assert namespace.added == {"log": math.log}
    assert "log" not in namespace.locals and namespace.fresh("log") == "log_1"


def test_an_added_name_avoids_locals_and_a_shadowed_builtin():
    namespace = Namespace({"abs": None}, {})
    namespace.locals.add("cos")
    assert reference_text(namespace, math.cos) == "cos_1"
    assert reference_text(namespace, abs) == "abs_1"
    assert namespace.added == {"cos_1": math.cos, "abs_1": abs}


def test_an_object_without_a_name_is_known_by_its_hint():
    namespace = Namespace({}, {})
    assert reference_text(namespace, np.s_, hint="np.s_") == "s_"
    assert namespace.added["s_"] is np.s_


def test_a_builtin_is_referred_to_by_its_own_name():
    namespace = Namespace({}, {})
    assert reference_text(namespace, abs) == "abs" and namespace.added == {}


def test_asking_twice_gives_the_same_reference_as_a_new_node():
    namespace = Namespace({"math": math}, {})
    first, second = namespace.reference(math.exp), namespace.reference(math.exp)
    assert gast.unparse(first) == gast.unparse(second) == "math.exp" and first is not second


# ---- looking names up -------------------------------------------------------------------
def test_evaluate_follows_a_dotted_chain_through_closure_globals_and_builtins():
    namespace = Namespace({"np": np, "scale": 3.0}, {"scale": 4.0})
    assert namespace.evaluate(expression("np.linalg.norm")) is np.linalg.norm
    assert namespace.evaluate(expression("scale")) == 4.0  # the closure shadows the global
    assert namespace.evaluate(expression("len")) is len
    with pytest.raises(LookupError):
        namespace.evaluate(expression("np.no_such_function"))
    with pytest.raises(LookupError):
        namespace.evaluate(expression("undefined"))


def test_a_value_attribute_is_one_of_a_local_or_an_expression_not_of_a_module():
    namespace = Namespace({"math": math}, {})
    namespace.locals.add("x")
    assert namespace.is_value_attribute(expression("x.T"))
    assert namespace.is_value_attribute(expression("f(x).T"))
    assert not namespace.is_value_attribute(expression("math.pi"))
    assert not namespace.is_value_attribute(expression("x"))


# ---- trees ------------------------------------------------------------------------------
def test_root_name_is_the_start_of_a_chain():
    assert root_name(expression("np.linalg.norm")) == "np" and root_name(expression("x")) == "x"


def test_copy_atom_gives_fresh_nodes_for_each_kind_of_atom():
    for text in ("x", "2.5", "math.pi", "-2"):
        atom = expression(text)
        copied = copy_atom(atom)
        assert gast.unparse(copied) == text and copied is not atom
    pair = (expression("a"), expression("1.0"))
    assert gast.unparse(copy_atom(pair)) == "(a, 1.0)"


def test_substituted_replaces_loads_of_names_and_leaves_the_original():
    original = expression("x * sin(y + x)")
    replaced = substituted(original, {"x": expression("a.b"), "sin": expression("np.sin")})
    assert gast.unparse(replaced) == "a.b * np.sin(y + a.b)"
    assert gast.unparse(original) == "x * sin(y + x)"
