"""Instantiating templates (astgrad/templates.py): placeholders, module references, static parts folded."""

import math
import operator

import gast
import numpy as np
import pytest

from astgrad import rules, runtime, templates
from astgrad.names import Namespace, name


def expression(text):
    return gast.parse(text).body[0].value


def user_namespace():
    return Namespace({"math": math, "np": np}, {})


def instance(rule, param, placeholders, namespace=None):
    """The template of `param` instantiated, as text."""
    namespace = namespace or user_namespace()
    return gast.unparse(templates.instantiate(rule.templates[param], placeholders, rule, namespace))


def bound_call(fn, args, keywords=()):
    """The rule matching a call written as source text, and its placeholders bound to the arguments."""
    rule, bound = rules.match(fn, [expression(a) for a in args], [(k, expression(v)) for k, v in keywords])
    assert rule is not None, bound
    return rule, bound


def test_a_partial_gets_the_atoms_and_the_function_of_the_spellings_module():
    placeholders = {"x": name("a"), "y": name("sin_a")}
    assert instance(rules.lookup(math.sin, 1), "x", placeholders) == "math.cos(a)"
    assert instance(rules.lookup(np.sin, 1), "x", placeholders) == "np.cos(a)"


def test_an_operator_takes_math_in_scalar_code_and_numpy_through_its_array_twin():
    power = rules.lookup(operator.pow, 2)
    placeholders = {"x": name("a"), "y": name("b"), "z": name("a_pow_b")}
    assert instance(power, "y", placeholders) == "a_pow_b * math.log(a)"
    assert instance(power.array_twin, "y", placeholders) == "a_pow_b * np.log(a)"


def test_a_placeholder_may_stand_for_a_constant():
    power = rules.lookup(operator.pow, 2)
    placeholders = {"x": name("a"), "y": expression("3"), "z": name("p")}
    assert instance(power, "x", placeholders) == "3 * a ** (3 - 1)"


def test_module_names_become_references_valid_where_the_code_runs():
    power = rules.lookup(operator.pow, 2)
    placeholders = {"x": name("a"), "y": name("b"), "z": name("p")}
    namespace = Namespace({"m": math}, {})
    assert instance(power, "y", placeholders, namespace) == "p * m.log(a)"
    namespace = Namespace({}, {})
    assert instance(power, "y", placeholders, namespace) == "p * log(a)"
    assert namespace.added == {"log": math.log}


def test_a_reduction_shows_only_the_branch_its_static_arguments_choose():
    def summed(keywords):
        rule, bound = bound_call(np.sum, ["x"], keywords)
        return instance(rule, "x", {**bound, "y": name("s"), "d_y": name("d_s")})

    assert summed([]) == "np.broadcast_to(d_s, np.shape(x))"
    assert summed([("axis", "0")]) == "np.broadcast_to(np.expand_dims(d_s, 0), np.shape(x))"
    assert summed([("axis", "0"), ("keepdims", "True")]) == "np.broadcast_to(d_s, np.shape(x))"


def test_a_mean_over_all_axes_divides_by_the_size_and_over_one_scales_by_the_ratio():
    rule, bound = bound_call(np.mean, ["x"])
    assert instance(rule, "x", {**bound, "y": name("m"), "d_y": name("d_m")}) == (
        "np.broadcast_to(d_m / np.size(x), np.shape(x))"
    )
    rule, bound = bound_call(np.mean, ["x"], [("axis", "1")])
    assert instance(rule, "x", {**bound, "y": name("m"), "d_y": name("d_m")}) == (
        "np.broadcast_to(np.expand_dims(d_m * (np.size(m) / np.size(x)), 1), np.shape(x))"
    )


def test_static_helpers_are_evaluated_to_constants():
    rule, bound = bound_call(np.einsum, ["'ij,jk->ik'", "a", "b"])
    placeholders = {**bound, "z": name("c"), "d_z": name("d_c")}
    assert instance(rule, "x", placeholders) == "np.einsum('ik,jk->ij', d_c, b)"
    assert instance(rule, "y", placeholders) == "np.einsum('ij,ik->jk', a, d_c)"


def test_check_static_refuses_arguments_the_static_helpers_refuse():
    rule, bound = bound_call(np.einsum, ["'ii,i->'", "a", "b"])
    with pytest.raises(ValueError, match="repeat an index"):
        templates.check_static(rule, bound)
    rule, bound = bound_call(np.einsum, ["'i,i->'", "a", "b"])
    templates.check_static(rule, bound)  # a form with an adjoint passes


def test_an_index_is_passed_as_itself_or_through_np_s_when_it_slices():
    index = rules.lookup(operator.getitem, 2)

    namespace = user_namespace()

    def unindexed(index_text):
        placeholders = {"x": name("a"), "index": expression(f"a[{index_text}]").slice, "y": name("b")}
        placeholders["d_y"] = name("d_b")
        return instance(index, "x", placeholders, namespace)

    assert unindexed("0") == "unindex(d_b, a, 0)"
    assert unindexed("1:, 0") == "unindex(d_b, a, np.s_[1:, 0])"
    assert namespace.added == {"unindex": runtime.unindex}  # a run-time helper is a closure name


def test_an_instance_shares_no_node_with_its_template_or_its_placeholders():
    rule = rules.lookup(operator.mul, 2)
    atom = name("b")
    placeholders = {"x": name("a"), "y": atom, "z": name("ab")}
    tree = templates.instantiate(rule.templates["x"], placeholders, rule, user_namespace())
    assert gast.unparse(tree) == "b" and tree is not atom
    tree.id = "changed"
    assert atom.id == "b" and gast.unparse(rule.templates["x"]) == "y"


def test_fold_static_leaves_a_template_without_static_parts_unchanged():
    template = expression("d_y if keepdims else np.expand_dims(d_y, axis)")
    assert gast.unparse(templates.fold_static(template, {"keepdims": False, "axis": 2})) == "np.expand_dims(d_y, axis)"
    assert gast.unparse(templates.fold_static(template, {})) == gast.unparse(template)


def test_a_list_of_inputs_is_spliced_into_a_display_and_its_element_is_itself():
    """``max(a, b, c, d)``: ``[x, y, *xs]`` is ``[a, b, c, d]``, and ``xs[i]`` the element at ``i``."""
    rule, bound = bound_call(max, ["a", "b", "c", "d"])
    placeholders = {**bound, "z": name("m"), "i": gast.Constant(value=1, kind=None)}
    namespace = Namespace({"math": math, "np": np, "runtime": runtime}, {})
    assert rule.signature == "z = max(x, y, *xs)"
    assert instance(rule, "x", placeholders, namespace) == "runtime.tie_share(m, a, [a, b, c, d])"
    assert instance(rule, "xs", placeholders, namespace) == "runtime.tie_share(m, d, [a, b, c, d])"
