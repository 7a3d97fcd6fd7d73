"""Stage 7, names: the generated function's local names tidied once optimize has settled which remain.

Takes a generated function (an `ir.Derivative`) and gives an equivalent one
whose generated local names say what they are:

* a returned value is named for what it is: ``return d_w, d_z``, where
  ``d_z`` is b's gradient through a copy, becomes ``return d_w, d_b``. The
  caller says which name each returned position should have (`returned`,
  shaped like the return value: see `gradient_names`, `hessian_names`);
* a name numbered because its plain form was taken when it was made, where
  the plain form no longer occurs, loses its number: ``d_prod_1`` becomes
  ``d_prod`` once optimize has removed ``d_prod`` and ``prod``. A number that
  is part of the name stays (``x_pow_2``: ``x_pow`` was never made), and so
  does one that tells a derivative from another's: ``d_t_1``, the adjoint
  of ``t_1``, stays while ``t`` is there, and ``t_2`` stays when ``d_t_1``
  (of a ``t_1`` optimize removed) becomes ``d_t``;
* the function of a derivative of a derivative says its order:
  ``d_d_f`` becomes ``d2_f``.

A name is renamed only to a name that occurs nowhere in the function and
that the function could read from elsewhere in no way (the user's globals,
closure and builtins, the names astgrad added, keywords), and only names the
function assigns are renamed: never a parameter nor a name the user's
function assigns (`keep`). So the renamed function computes what the given
one did. Each name is renamed once, all its occurrences together: the pass
reads the lines' targets, then rewrites the lines once if anything is
renamed, linear in the size of the function.
"""

import re
from dataclasses import replace

import gast

from .ir import Conditional, ForLoop, assigned_in, parameter_names
from .names import with_children

# `d_prod_1`; also the numbered name inside a partial derivative, `dd_x_1_dx`
NUMBERED = re.compile(r"^(?P<base>.+?)_(?P<number>[1-9][0-9]*)(?P<partial>_d[A-Za-z][A-Za-z0-9]*)?$")
PARTIAL = re.compile(r"_d[A-Za-z][A-Za-z0-9]*$")
ORDER_PREFIX = re.compile(r"^(?:d_|d(?P<order>[2-9]|[1-9][0-9]+)_)")


def rename(derivative, keep=frozenset(), returned=None, of_derivative=False):
    """`derivative` with its generated local names tidied (see the module docstring).

    `keep` holds the names that must not change besides the parameters (the
    names the user's function assigns). `returned` is the wanted name of the
    returned value, or a tuple of them shaped like a returned tuple; None
    where a position has no wanted name. `of_derivative`: whether the
    function differentiated was itself generated, so that the name says the
    order (``d2_f``); a user's own ``d_f`` keeps its ``d_d_f``.
    """
    used = names_used(derivative)
    assigned = names_assigned(derivative.lines)
    renamable = assigned - set(parameter_names(derivative.args)) - set(keep)
    renaming = {}

    derivatives_of = {}  # what a name given in this pass reads as a derivative of -> what it was a derivative of

    def claim(old, new):
        if old in renamable and old not in renaming and new not in used:
            if not derivative.namespace.is_readable(new):
                renaming[old] = new
                used.add(new)  # old stays in `used` too: no other name takes it
                for reading in derived_from(new):
                    derivatives_of.setdefault(reading, set()).update(derived_from(old))

    return_value = derivative.lines[-1].value if derivative.lines and derivative.lines[-1].target is None else None
    for old, new in returned_pairs(return_value, returned):
        claim(old, new)
    made = derivative.namespace.locals
    for old in sorted(renamable - set(renaming)):  # sorted: the same names on every run
        match = NUMBERED.match(old)
        plain = match and match["base"] + (match["partial"] or "")
        # Numbered because its plain form was taken (not `x_pow_2`), not to be read as another's derivative,
        # and not the name another's derivative was just given reads as (`d_diff_1` became `d_diff`, the
        # adjoint of a `diff_1` optimize removed: `diff_2` stays).
        taken_by_another = plain in derivatives_of and old not in derivatives_of[plain]
        if match and plain in made and not any(v in used for v in derived_from(plain)) and not taken_by_another:
            claim(old, plain)
    return replace(
        derivative,
        name=function_name(derivative.name) if of_derivative else derivative.name,
        lines=tuple(renamed_line(line, renaming) for line in derivative.lines) if renaming else derivative.lines,
        names={variable: renaming.get(adjoint, adjoint) for variable, adjoint in derivative.names.items()},
    )


# ---- what may be renamed, and to what ---------------------------------------------------------
def derived_from(name):
    """The names `name` reads as a derivative of: ``t`` for ``d_t`` (an adjoint), ``d_x`` for ``dd_x_dx`` (a partial).

    ``d_t_1``, the adjoint of ``t_1``, must not become ``d_t`` while ``t`` is there.
    """
    adjoint_of = [name[len("d_"):]] if name.startswith("d_") else []  # also when `d_diff` looks like a partial
    name = PARTIAL.sub("", name) if name.startswith("d") else name
    match = ORDER_PREFIX.match(name)
    readings = [name[match.end():]] if match else []
    return adjoint_of + readings + ([name[1:]] if name.startswith("d") else [])


def names_used(derivative):
    """Every local name of the function: its parameters and the names it assigns.

    The names a line reads need no walk over the expressions: each is one of
    these or a name the function reads from outside, which
    `Namespace.is_readable` refuses as a new name.
    """
    return set(parameter_names(derivative.args)) | names_assigned(derivative.lines)


def names_assigned(lines):
    assigned = set()
    for line in lines:
        assigned |= assigned_in(line)
    return assigned


def returned_pairs(value, wanted):
    """(returned local name, wanted name) for each position of the return value that has a wanted name."""
    if wanted is None or value is None:
        return []
    if isinstance(wanted, str):
        return [(value.id, wanted)] if isinstance(value, gast.Name) else []
    if not isinstance(value, gast.Tuple) or len(value.elts) != len(wanted):
        return []
    return [pair for element, name in zip(value.elts, wanted) for pair in returned_pairs(element, name)]


def function_name(name):
    """``d2_f`` for ``d_d_f``, ``d3_f`` for ``d_d2_f``; other names as they are."""
    order, rest = derivative_order(name)
    return f"d{order}_{rest}" if order > 1 and rest.isidentifier() else name


def derivative_order(name):
    """(n, f) for the name of an n-th derivative of f: (1, "f") for ``d_f``, (2, "f") for ``d2_f`` or ``d_d_f``."""
    order, rest = 0, name
    match = ORDER_PREFIX.match(rest)
    while match:
        order += int(match["order"] or 1)
        rest = rest[match.end():]
        match = ORDER_PREFIX.match(rest)
    return order, rest


# ---- the wanted names of returned values ------------------------------------------------------
def gradient_names(wrt, adjoint_names, as_tuple, with_value, order=1):
    """The wanted return names of a gradient of order `order`: each parameter's name in `adjoint_names`, else
    ``d_<p>`` (``d2_<p>`` for a second derivative, the gradient of a gradient).
    """
    prefix = "d_" if order == 1 else f"d{order}_"
    names = tuple(adjoint_names.get(p, prefix + p) for p in wrt)
    gradient = names if as_tuple else names[0]
    return (None, gradient) if with_value else gradient


def hessian_names(wrt, as_tuple, with_value):
    """The wanted return names of a Hessian: ``d2_x`` for one parameter, ``d2_dx_dy`` in a matrix."""
    names = tuple(tuple(f"d2_d{p}_d{q}" for q in wrt) for p in wrt) if as_tuple else f"d2_{wrt[0]}"
    return (None, names) if with_value else names


# ---- applying a renaming ----------------------------------------------------------------------
def renamed_line(line, renaming):
    if isinstance(line, ForLoop):
        body = tuple(renamed_line(inner, renaming) for inner in line.body)
        return ForLoop(renaming.get(line.variable, line.variable), renamed(line.iterable, renaming), body, line.origin)
    if isinstance(line, Conditional):
        then, orelse = [renamed_line(inner, renaming) for inner in line.then], [
            renamed_line(inner, renaming) for inner in line.orelse]
        return line.with_blocks(then, orelse, renamed(line.test, renaming))
    target = line.target
    if isinstance(target, str):
        target = renaming.get(target, target)
    elif isinstance(target, tuple):
        target = tuple(renaming.get(t, t) for t in target)
    guard = None if line.guard is None else renamed(line.guard, renaming)
    return replace(line, target=target, value=renamed(line.value, renaming), guard=guard)


def renamed(node, renaming):
    """`node` with each name in `renaming` replaced (a new tree; `node` is left as it was)."""
    if isinstance(node, gast.Name):
        return gast.Name(id=renaming.get(node.id, node.id), ctx=node.ctx, annotation=None, type_comment=None)
    if isinstance(node, gast.Constant):
        return node
    return with_children(node, lambda child: renamed(child, renaming))
