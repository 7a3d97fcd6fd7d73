"""Instantiating the primitive table's templates: shared by the derivative stages.

`instantiate` takes a template (a gast expression from `primitives`), the
atoms each placeholder stands for, and the `Namespace` of the generated
function, and gives a new expression: placeholders replaced by copies of
their atoms, dotted module names (``np.cos``) by references valid in the
generated function, and parts that depend on STATIC arguments only (``axis``,
``keepdims``, an einsum's subscripts) evaluated, so generated code shows one
branch of ``d_y if keepdims else np.expand_dims(d_y, axis)``.
"""

import ast
import copy

import gast

from .names import copy_atom, dotted_name, with_children
from .rules import MARKERS, STATIC, STATIC_HELPERS, constant_node, static_value


def instantiate(template, placeholders, rule, namespace):
    """A new tree for `template`: placeholders replaced by atoms, module names by references.

    Parts that depend on STATIC inputs only are evaluated first; ValueError if
    the static helpers refuse their arguments (an einsum form with no adjoint).
    """
    statics = {p: static_value(placeholders[p]) for p in rule.params if rule.templates[p] is STATIC}
    folded = fold_static(template, statics) if statics else template  # nothing to fold without them
    return _substitute(folded, placeholders, rule.references, namespace)


def check_static(rule, bound):
    """ValueError if a template of `rule` cannot be instantiated for these STATIC arguments."""
    statics = {p: static_value(bound[p]) for p in rule.params if rule.templates[p] is STATIC}
    if statics:
        for template in rule.templates.values():
            if template not in MARKERS:
                fold_static(template, statics)


def _substitute(template, placeholders, references, namespace):
    if isinstance(template, gast.Name) and template.id in placeholders:
        return copy_expression(placeholders[template.id])
    if isinstance(template, gast.Name):  # a builtin, such as float
        return namespace.reference(references[template.id], hint=template.id)
    if isinstance(template, gast.Attribute) and dotted_name(template) in references:
        dotted = dotted_name(template)
        return namespace.reference(references[dotted], hint=dotted)
    if isinstance(template, (gast.List, gast.Tuple)):  # `[x, y, *xs]`: the elements of `xs` spliced in
        elements = []
        for element in template.elts:
            if isinstance(element, gast.Starred) and isinstance(placeholders.get(_name(element.value)), tuple):
                elements += [copy_expression(atom) for atom in placeholders[element.value.id]]
            else:
                elements.append(_substitute(element, placeholders, references, namespace))
        return type(template)(elts=elements, ctx=gast.Load())
    if isinstance(template, gast.Subscript) and isinstance(placeholders.get(_name(template.value)), tuple):
        position = _substitute(template.slice, placeholders, references, namespace)
        if isinstance(position, gast.Constant) and isinstance(position.value, int):  # `xs[i]`: the element itself
            return copy_expression(placeholders[template.value.id][position.value])
    if isinstance(template, gast.Subscript) and dotted_name(template.value) == "np.s_":
        index = _substitute(template.slice, placeholders, references, namespace)
        if not any(isinstance(node, gast.Slice) for node in gast.walk(index)):
            return index  # np.s_[0] is just 0
    return with_children(template, lambda child: _substitute(child, placeholders, references, namespace))


def _name(node):
    return node.id if isinstance(node, gast.Name) else None


def copy_expression(value):
    """A fresh tree for an atom, a tuple of atoms, or an index expression (``x[:, 1]``'s ``:, 1``)."""
    if isinstance(value, (tuple, gast.Name)):
        return copy_atom(value)
    return copy.deepcopy(value)


def fold_static(template, statics):
    """`template` with its parts that depend on STATIC inputs only evaluated."""
    if isinstance(template, gast.IfExp) and _is_static(template.test, statics):
        branch = template.body if _evaluate(template.test, statics) else template.orelse
        return fold_static(branch, statics)
    if isinstance(template, gast.Call) and _is_static(template, statics):
        return constant_node(_evaluate(template, statics))
    return with_children(template, lambda child: fold_static(child, statics))


def _is_static(node, statics):
    names = {n.id for n in gast.walk(node) if isinstance(n, gast.Name)}
    return bool(names) and names <= set(statics) | set(STATIC_HELPERS)


def _evaluate(node, statics):
    expression = ast.Expression(gast.gast_to_ast(gast.fix_missing_locations(copy.deepcopy(node))))
    code = compile(ast.fix_missing_locations(expression), "<template>", "eval")
    return eval(code, {"__builtins__": {}}, {**STATIC_HELPERS, **statics})
