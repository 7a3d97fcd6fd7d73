"""A proof for the reverse stage: a max subtracted before a softmax has an adjoint of exactly zero.

Takes a `Program` in array code and the rules of its equations, and gives
(`shift_invariant`) the names ``m = np.max(x, axis=A, keepdims=True)`` or
``m = np.max(x)`` (or min) that the output provably does not depend on; the reverse stage leaves
them out of the adjoint sweep (see docs/performance.md).
"""

import operator

import gast
import numpy as np

from .rules import static_value
from .ir import atoms


EXTREMA = ("max", "min")  # reduction kinds


SUMS = ("sum",)


ADD, MUL, UNKNOWN = "+", "*", "unknown"


WHOLE = "whole"  # the axis of a max over every axis (a number, whichever keepdims)


BINARY = {  # a binary primitive -> (the form of change it keeps, the sign of its second input's coefficient)
    operator.add: (ADD, 1), np.add: (ADD, 1), operator.sub: (ADD, -1), np.subtract: (ADD, -1),
    operator.mul: (MUL, 1), np.multiply: (MUL, 1), operator.truediv: (MUL, -1), np.divide: (MUL, -1),
}  # fmt: skip


NEGATIONS = {operator.neg: -1, np.negative: -1, operator.pos: 1}


def shift_invariant(program, rules):
    """Targets ``m = np.max(x, axis=A, keepdims=True)`` (or min) whose adjoint is exactly zero.

    The stable softmax subtracts the row maximum first: ``shifted = x - m``,
    then ``shifted - np.log(np.sum(np.exp(shifted), axis=A, keepdims=True))``.
    In exact arithmetic the output does not change when `m` does, so the
    adjoint of `m` is zero and need not be computed (docs/performance.md).

    The proof is an abstract interpretation: add to `m` any array `c` of its
    shape (so constant along the axes A) and follow the program forward. Each
    value then becomes, exactly, itself + k*c (``(ADD, k)``), itself *
    exp(k*c) (``(MUL, k)``), stays as it was (no entry), or is UNKNOWN:

        a - m: (ADD, -1)            (ADD, k) +/- (ADD, j): (ADD, k +/- j)
        np.exp((ADD, k)): (MUL, k)  np.log((MUL, k)): (ADD, k)
        -(ADD, k): (ADD, -k)        -(MUL, k): (MUL, k)
        (MUL, k) * or / (MUL, j): (MUL, k +/- j)
        np.sum((MUL, k), axis=A, keepdims=True): (MUL, k)
        np.max or np.min of (ADD, k) or (MUL, k), axis=A, keepdims=True: the same

    A max over every axis (``np.max(z)``, a number) shifts every value by the
    same number, so there any sum, max or min keeps the form, over any axes.
    where an unchanged value counts as ``(ADD, 0)`` and ``(MUL, 0)``, and k = 0
    is unchanged. A reduction keeps the form only over the same axes A, written
    the same way (``axis=1`` and ``axis=-1`` differ), and of a value known to
    have no more axes than `m`, so that A means the same axes of both. Any
    other primitive reading a changed value gives UNKNOWN. If the output is
    unchanged, its derivative in every direction of `m` is zero, and so is
    `m`'s adjoint; the templates agree (a max's tied elements share a gradient
    that sums back to the shift's).
    """
    zero = set()
    equations = list(zip(program.equations, rules))
    for index, (equation, rule) in enumerate(equations):
        reduction = _full_reduction(rule, equation.inputs) or _keepdims_reduction(rule, equation.inputs, EXTREMA)
        if reduction is not None:
            reduced, axis = reduction
            if _output_unchanged(program, equations[index + 1 :], equation.target, reduced, axis):
                zero.add(equation.target)
    return zero


def _keepdims_reduction(rule, inputs, kinds):
    """(reduced atom, axis) for ``np.f(x, axis=A, keepdims=True)`` with a reduction of one of `kinds`, else None."""
    if rule.reduction not in kinds:
        return None
    reduced, axis, keepdims = rule.reduction_inputs(inputs)
    if keepdims is not True:
        return None
    return reduced, axis


def _full_reduction(rule, inputs):
    """(reduced atom, `WHOLE`) for ``np.max(x)`` or ``np.min(x)`` over every axis, else None."""
    if rule.reduction not in EXTREMA:
        return None
    reduced, axis, _ = rule.reduction_inputs(inputs)
    return (reduced, WHOLE) if axis is None else None


def _output_unchanged(program, equations, extremum, reduced, axis):
    """Whether adding to `extremum`, a reduction of `reduced` over `axis`, leaves the output unchanged."""
    change = {extremum: (ADD, 1)}  # name -> (ADD, k), (MUL, k) or (UNKNOWN, None); no entry: unchanged
    few_axes = {extremum, getattr(reduced, "id", None)}  # names with no more axes than `extremum`
    for equation, rule in equations:
        read = atoms(rule, equation.inputs)
        reduction = _keepdims_reduction(rule, equation.inputs, EXTREMA + SUMS)
        if (rule.elementwise and all(_is_number(atom) or _name_in(atom, few_axes) for atom in read)) or (
            reduction and _name_in(reduction[0], few_axes)
        ):
            few_axes.add(equation.target)
        if any(_name_in(atom, change) for atom in read):
            if axis is WHOLE:  # the shift is a number: it is constant along every axis of every value
                over_axis = rule.reduction in EXTREMA + SUMS
            else:
                over_axis = reduction is not None and _name_in(reduction[0], few_axes) and _same_axis(reduction[1], axis)
            form, k = _changed(rule, equation.inputs, change, over_axis)
            if k != 0:
                change[equation.target] = (form, k)
    outputs = program.output if isinstance(program.output, tuple) else (program.output,)
    return not any(_name_in(atom, change) for atom in _flat(outputs))


def _changed(rule, inputs, change, over_axis):
    """(form, k) of an equation's result from those of its inputs in `change` (see `shift_invariant`).

    `over_axis`: the equation is a keepdims reduction over the shift's axes.
    """
    fn = rule.fn

    def coefficient(atom, form):  # k if the atom is (form, k) or unchanged (k = 0), else None
        found, k = change.get(atom.id, (form, 0)) if isinstance(atom, gast.Name) else (form, 0)
        return k if found == form else None

    if fn in BINARY:
        form, sign = BINARY[fn]
        left, right = (coefficient(atom, form) for atom in inputs)
        if left is not None and right is not None:
            return form, left + sign * right
    elif fn in NEGATIONS:  # -(v + k*c) = -v - k*c; -(v * exp(k*c)) = -v * exp(k*c)
        form, k = change[inputs[0].id]
        if form != UNKNOWN:
            return form, (NEGATIONS[fn] * k if form == ADD else k)
    elif fn is np.exp or fn is np.log:
        source, form = (ADD, MUL) if fn is np.exp else (MUL, ADD)
        k = coefficient(inputs[0], source)
        if k is not None:
            return form, k
    elif over_axis:
        form, k = change[inputs[0].id]
        if form == MUL or (form == ADD and rule.reduction in EXTREMA):  # a sum scales by exp(k*c), but adds n*k*c
            return form, k
    return UNKNOWN, None


def _same_axis(axis, other):
    """Whether two constant `axis` arguments are written the same way (``1`` is not ``(1,)``, ``-1`` or ``True``)."""
    return type(axis) is type(other) and axis == other


def _name_in(atom, names):
    return isinstance(atom, gast.Name) and atom.id in names


def _flat(values):
    for atom in values:
        yield from _flat(atom) if isinstance(atom, tuple) else (atom,)


def _is_number(atom):
    """Whether `atom` is a number written in the source (it has no axes)."""
    try:
        value = static_value(atom)
    except (ValueError, TypeError, SyntaxError):
        return False
    return isinstance(value, (int, float))
