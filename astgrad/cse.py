"""Stage 5, cse: each distinct value of the primal computed once.

Takes a `Program` from ssa and gives an equivalent `Program` in which no two
equations apply the same rule to the same inputs: the later one is dropped and
what read its target reads the first one's. Then every value has one adjoint
(``x - mu`` written twice in a layer norm is one ``d_x_minus_mu``, not a second
``d_x_minus_mu_1`` besides it).

This is exact: every primitive in the table is a pure function of its inputs
(random numbers are refused before this stage), and single assignment means an
input name holds one value throughout. Two equations are the same computation
when they have the same rule (the same spelling: ``np.sum(x)`` and
``x.sum()`` are kept apart) and the same expression once their inputs are
renamed, static arguments included (``np.mean(x, axis=0)`` is not
``np.mean(x, axis=1)``); constants compare by type and value, so ``x * 2`` is
not ``x * 2.0``.

Names: a merged value keeps the first name the user gave it. When ``t = 2 * x``
is computed first as a temporary (``2 * x`` nested in an earlier line) and
then as the user's ``t``, the one equation is called ``t``. (No line reads ``t``
before: check refuses a name used before it is assigned, and resolve renames a
free name an inlined helper reads when the function assigns it.)

One pass over the equations with a dictionary keyed by (rule, expression):
linear in the program's size.

Inside a branch of an `if`, a computation made before the `if` is reused;
one made in a branch is not seen after it or in the other branch, and a
name a branch gives a value read after the `if` (a merged name) keeps its
equation.
"""

from dataclasses import replace

import gast

from .ir import STACK_STATEMENTS, Branch, Loop, Push, has_branches, loop_headers
from .names import name, substituted


def eliminate_common_subexpressions(program):
    """`program` with each repeated computation replaced by a read of its first result."""
    if has_branches(program.body):
        return _with_branches(program)
    body = program.equations
    representative = _representatives(body)
    if not representative:
        return program
    final = _final_names(body, representative, program.user_names)
    renaming = {target: final[first] for target, first in representative.items()}
    renaming.update({first: new for first, new in final.items() if new != first})
    loads = _NameLoads(renaming)
    kept = [
        _renamed_equation(equation, renaming, loads)
        for equation in body
        if representative.get(equation.target, equation.target) == equation.target
    ]
    return replace(program, body=kept, output=_renamed_atoms(program.output, renaming))


def _with_branches(program):
    """The same for a body with branches (no merged value is renamed to a later user's name)."""
    representative = {}
    kept_apart = _merge_targets(program.body)
    _nested_representatives(program.body, {}, representative, kept_apart, loop_headers(program.body))
    if not representative:
        return program
    loads = _NameLoads(representative)
    return replace(program, body=_kept(program.body, representative, loads),
                   output=_renamed_atoms(program.output, representative))  # fmt: skip


def _merge_targets(body):
    """The names a branch merges or a loop carries out of its body: their equations stay."""
    targets = set()
    for statement in body:
        if isinstance(statement, Branch):
            targets |= {target for target, _, _ in statement.merges}
            targets |= _merge_targets(statement.then) | _merge_targets(statement.orelse)
        elif isinstance(statement, Loop):
            targets |= {end.id for _, _, end in statement.carried if isinstance(end, gast.Name)}
            targets |= _merge_targets(statement.body)
    return targets



def _nested_representatives(body, first_by_key, representative, merge_targets, headers):
    for statement in body:
        if isinstance(statement, STACK_STATEMENTS):
            continue
        if isinstance(statement, Loop):
            _nested_representatives(statement.body, dict(first_by_key), representative, merge_targets, headers)
            continue
        if isinstance(statement, Branch):
            for block in (statement.then, statement.orelse):
                _nested_representatives(block, dict(first_by_key), representative, merge_targets, headers)
            continue
        if statement.target in headers:
            continue
        key = (statement.rule, _key(statement.value, representative))
        first = first_by_key.setdefault(key, statement.target)
        if first != statement.target and statement.target not in merge_targets:
            representative[statement.target] = first


def _kept(body, renaming, loads):
    kept = []
    for statement in body:
        if isinstance(statement, STACK_STATEMENTS):
            if isinstance(statement, Push):
                statement = replace(statement, atom=_renamed_atoms(statement.atom, renaming))
            kept.append(statement)
            continue
        if isinstance(statement, Loop):
            kept.append(replace(  # a while loop keeps its test, and the equations computing its parts
                statement,
                bounds=tuple(_renamed_atoms(atom, renaming) for atom in statement.bounds),
                carried=[(h, _renamed_atoms(init, renaming), _renamed_atoms(end, renaming))
                         for h, init, end in statement.carried],
                body=_kept(statement.body, renaming, loads),
                test=None if statement.test is None else substituted(statement.test, loads),
                test_block=_kept(statement.test_block, renaming, loads),
            ))  # fmt: skip
            continue
        if isinstance(statement, Branch):
            kept.append(Branch(
                substituted(statement.test, loads),
                _kept(statement.then, renaming, loads),
                _kept(statement.orelse, renaming, loads),
                [(target, *(_renamed_atoms(atom, renaming) for atom in atoms)) for target, *atoms in statement.merges],
                statement.origin,
            ))  # fmt: skip
        elif statement.target not in renaming:
            kept.append(_renamed_equation(statement, renaming, loads))
    return kept


def _representatives(body):
    """{target of a repeated computation: target of its first one}, for the repeats only."""
    first_by_key = {}  # (rule, expression key) -> the first target computing it
    representative = {}
    for equation in body:
        key = (equation.rule, _key(equation.value, representative))
        first = first_by_key.setdefault(key, equation.target)
        if first != equation.target:
            representative[equation.target] = first
    return representative


def _final_names(body, representative, user_names):
    """{first target of a merged computation: the name it keeps} (the first user's name, if any)."""
    final = {first: first for first in representative.values()}
    for equation in body:
        first = representative.get(equation.target)
        if first is not None and final[first] not in user_names and equation.target in user_names:
            final[first] = equation.target
    return final


def _renamed_equation(equation, renaming, loads):
    """`equation` reading and assigning the renamed names (the same record if nothing changes)."""
    if equation.target not in renaming and not (_names_read(equation.value) & renaming.keys()):
        return equation
    value = gast.copy_location(substituted(equation.value, loads), equation.value)
    return replace(
        equation,
        target=renaming.get(equation.target, equation.target),
        value=value,
        inputs=tuple(_renamed_input(value, loads) for value in equation.inputs),
    )


def _renamed_input(value, loads):
    """An equation's input (an atom, an index, a display, or a sequence of them) with names renamed."""
    if isinstance(value, (tuple, list)):
        return type(value)(_renamed_input(item, loads) for item in value)
    if isinstance(value, gast.AST):
        return substituted(value, loads)
    return value


def _renamed_atoms(output, renaming):
    """The output atom, or tuple of atoms, with names renamed."""
    if isinstance(output, tuple):
        return tuple(_renamed_atoms(atom, renaming) for atom in output)
    if isinstance(output, gast.Name) and output.id in renaming:
        return name(renaming[output.id])
    return output


class _NameLoads(dict):
    """old name -> a fresh load of its new name, for `substituted` (no node shared between lines)."""

    def __init__(self, renaming):
        super().__init__(renaming)

    def __getitem__(self, old):
        return name(super().__getitem__(old))


def _key(node, representative):
    """A hashable key equal for the same expression of the same values (names read through `representative`)."""
    if isinstance(node, gast.Name):
        return ("Name", representative.get(node.id, node.id))
    if isinstance(node, gast.Constant):
        return ("Constant", type(node.value), repr(node.value))
    if isinstance(node, gast.AST):
        return (type(node).__name__,) + tuple(
            _key(value, representative) for field, value in gast.iter_fields(node) if field != "ctx"
        )
    if isinstance(node, list):
        return tuple(_key(item, representative) for item in node)
    return node


def _names_read(node):
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name)}
