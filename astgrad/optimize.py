"""Stage 6, optimize: make the generated function read as a person would write it.

Takes a generated function (an `ir.Derivative`: lines assigning names, then
the return) and gives an equivalent one after these rewrites, in order:

* algebra that is exact in floating point, on the derivative lines (adjoints
  and tangents): ``a * 1``,
  ``1 * a``, ``a / 1``, ``a ** 1``, ``a + 0``, ``a - 0`` become ``a``;
  ``a * -1`` becomes ``-a``; ``a * -b`` becomes ``-a * b``; ``a + -b * c``
  becomes ``a - b * c`` (and ``a + -b / c``, ``a - b / c``); ``--a`` becomes
  ``a``; ``a * (1 / b)`` and ``(1 / b) * a`` become ``a / b`` (one rounding
  instead of two); arithmetic on number constants is folded (``2 - 1`` is ``1``);
  an identity that turns a truth value into a number (``1.0 * (x > 0)``, or of
  a name holding a comparison) is kept;
* reuse of primal results: an expression already computed by a statement
  whose inputs never change is replaced by that statement's name (the adjoint
  of ``cos_x = cos(x)`` never calls ``cos(x)`` again);
* copy propagation: after ``a = b``, uses of ``a`` read ``b``; then the
  algebra, reuse and copy propagation once more, since a copied constant
  (forward mode's unit tangent ``dx = 1.0``) may now fold away;
* one line for a contribution made twice: ``d_x = d_y * x`` followed by
  ``d_x = d_x + d_y * x`` (the adjoint of ``x * x``) becomes
  ``d_x = d_y * (2 * x)`` (see `fold_repeated_contributions`);
* dead-code elimination: statements whose value is never used go (an `if`
  left with no statement too, a loop computing nothing read after it, a push
  onto a stack no later line pops, a copy of a name onto itself);
* an `if` of the primal sweep whose values only the mirrored `if` of the
  adjoint sweep reads (the same test, later) is joined to it: each branch's
  primal lines move to the top of the same branch (see
  `join_mirrored_branches`);
* in array code and in loops, a temporary (a part of a user's expression that
  got a name of its own, a number adjoint made of the seed and sizes, or an
  adjoint read as a term added) read once is written back into the line that reads it,
  unless that line reads it only for its size (see `nest_temporaries`); a
  nested negation's sign joins the addition it is a term of (`_sign_joined`);
* in a loop, ``d_x = d_x + unindex(d_x_i, x, i)`` becomes ``d_x = add_at(d_x,
  i, d_x_i)``, which adds in place, where no other line can see the difference
  (see `accumulated_in_place`).
"""

import bisect
import math
import numbers
from collections import Counter

from dataclasses import replace

import gast

from . import runtime
from .ir import ADJOINT, CHECK, DERIVATIVE_ROLES, Conditional, ForLoop, assigned_in, read_in
from .names import name, name_ids, substituted, with_children

FOLDED = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b, gast.Mult: lambda a, b: a * b}


def optimize(derivative):
    """An equivalent `Derivative` with the rewrites above applied."""
    # Only derivative lines are rewritten: the user's own arithmetic stays as written,
    # since `1.0 * flag` or `flag * -2.0` is not the same as `flag` or `-flag * 2.0`
    # when `flag` is a NumPy boolean (or `1.0 *` changes a float16 to a float64).
    body = simplify_derivative_lines(derivative.lines)
    body = reuse_computed(body)
    body = propagate_copies(body)
    # Once more: a copied constant (forward mode's unit tangent) may now fold away,
    # and what it folds to may have been computed before.
    body = simplify_derivative_lines(body)
    body = reuse_computed(body)
    body = propagate_copies(body)
    body = fold_repeated_contributions(body)
    body = eliminate_dead_code(body)
    body = _without_lines(coalesce_carried_copies(body), _copies_itself)
    if body is not derivative.lines and any(isinstance(line, Conditional) for line in body):
        body = eliminate_dead_code(join_mirrored_branches(body))  # a joined branch may compute what it does not use
    body = nest_temporaries(body)
    return accumulated_in_place(derivative.with_lines(body))


# ---- algebra ---------------------------------------------------------------------------------
def simplify_derivative_lines(lines, flags=None):
    """The lines with the algebra below applied to the derivative lines (adjoints and tangents).

    `flags` are the names holding a comparison's truth value (found in `lines` when not given).
    """
    flags = flag_names(lines) if flags is None else flags
    return [
        _in_blocks(line, lambda block: simplify_derivative_lines(block, flags))
        if isinstance(line, (Conditional, ForLoop))
        else _with_value(line, simplify(line.value, flags)) if line.role in DERIVATIVE_ROLES else line
        for line in lines
    ]  # fmt: skip


def flag_names(lines):
    """The names `lines` assign a truth value (a comparison, `not`, `and`/`or` of them) to."""
    flags = set()
    for line in _flat_lines(lines):
        if isinstance(line.target, str) and _is_flag(line.value, flags):
            flags.add(line.target)
    return frozenset(flags)


def _is_flag(node, flags):
    """Whether `node` is a truth value: ``1.0 * (x > 0)`` is a float, ``x > 0`` a bool (and ``-`` of it an error in NumPy)."""
    if isinstance(node, gast.Name):
        return node.id in flags
    if isinstance(node, gast.UnaryOp):
        return isinstance(node.op, gast.Not)
    return isinstance(node, (gast.Compare, gast.BoolOp))


def _in_blocks(compound, rewrite):
    """An `if` or a loop with `rewrite` applied to each of its blocks."""
    if isinstance(compound, ForLoop):
        return compound.with_body(rewrite(list(compound.body)))
    return compound.with_blocks(rewrite(list(compound.then)), rewrite(list(compound.orelse)))


def simplify(node, flags=frozenset()):
    """`node` with the exact algebraic rewrites applied bottom-up (`node` itself where none applies).

    An identity (``1.0 * c``, ``c + 0.0``) is kept where it turns a truth value (a comparison,
    or a name in `flags` holding one) into a number.
    """
    if isinstance(node, gast.BinOp):
        simplified = _simplify_binary(simplify(node.left, flags), node.op, simplify(node.right, flags), flags)
        unchanged = isinstance(simplified, gast.BinOp) and simplified.op is node.op
        return node if unchanged and simplified.left is node.left and simplified.right is node.right else simplified
    if isinstance(node, gast.UnaryOp):
        if not isinstance(node.op, gast.USub):
            return node
        operand = simplify(node.operand, flags)
        negated = _negate(operand)
        return node if operand is node.operand and _is_negation(negated) and negated.operand is operand else negated
    if isinstance(node, gast.Tuple):
        elts = [simplify(e, flags) for e in node.elts]
        return node if _same_nodes(elts, node.elts) else gast.Tuple(elts=elts, ctx=gast.Load())
    if isinstance(node, gast.Call):
        args = [simplify(a, flags) for a in node.args]
        values = [simplify(k.value, flags) for k in node.keywords]
        if _same_nodes(args, node.args) and _same_nodes(values, [k.value for k in node.keywords]):
            return node
        keywords = [gast.keyword(arg=k.arg, value=value) for k, value in zip(node.keywords, values)]
        return gast.Call(func=node.func, args=args, keywords=keywords)
    if isinstance(node, gast.Compare):
        left, comparators = simplify(node.left, flags), [simplify(c, flags) for c in node.comparators]
        if left is node.left and _same_nodes(comparators, node.comparators):
            return node
        return gast.Compare(left=left, ops=node.ops, comparators=comparators)
    return node


def _simplify_binary(left, op, right, flags=frozenset()):
    a, b = constant_value(left), constant_value(right)
    if a is not None and b is not None and type(op) in FOLDED:
        folded = FOLDED[type(op)](a, b)
        if math.isfinite(folded):  # inf and nan stay as the user wrote them
            return number(folded)
    if _is_flag(left, flags) or _is_flag(right, flags):
        return gast.BinOp(left=left, op=op, right=right)
    if isinstance(op, gast.Mult):
        if b == 1:
            return left
        if a == 1:
            return right
        if b == -1:
            return _negate(left)
        if a == -1:
            return _negate(right)
        if _is_negation(right):
            return _simplify_binary(_negate(left), op, right.operand, flags)
        if isinstance(right, gast.BinOp) and isinstance(right.op, gast.Div) and constant_value(right.left) == 1:
            return gast.BinOp(left=left, op=gast.Div(), right=right.right)
        if isinstance(left, gast.BinOp) and isinstance(left.op, gast.Div) and constant_value(left.left) == 1:
            return gast.BinOp(left=right, op=gast.Div(), right=left.right)
    elif isinstance(op, gast.Add):
        if b == 0:
            return left
        if a == 0:
            return right
        if _is_negative_product(right):
            return gast.BinOp(left=left, op=gast.Sub(), right=_negate(right))
    elif isinstance(op, gast.Sub):
        if b == 0:
            return left
        if a == 0:
            return _negate(right)
        if _is_negative_product(right):
            return gast.BinOp(left=left, op=gast.Add(), right=_negate(right))
    elif isinstance(op, (gast.Div, gast.Pow)):
        if b == 1:
            return left
    return gast.BinOp(left=left, op=op, right=right)


def _negate(node):
    if _is_negation(node):
        return node.operand
    value = constant_value(node)
    if value is not None:
        return number(-value)
    if _is_product(node) and _is_negative_product(node.left):  # -b / c * d: negate the first factor
        return gast.BinOp(left=_negate(node.left), op=node.op, right=node.right)
    return gast.UnaryOp(op=gast.USub(), operand=node)


def _is_negative_product(node):
    """`-b`, or a product or quotient whose first factor is `-b` (`-b * c`, `-b / c * d`),
    but not a negative constant (`x + -1` stays as written)."""
    if _is_product(node):
        return _is_negative_product(node.left)
    return _is_negation(node) and constant_value(node) is None


def _is_product(node):
    return isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Mult, gast.Div))


def _is_negation(node):
    return isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub)


def constant_value(node):
    """The number a constant node (`2`, `-0.5`) stands for, or None."""
    if isinstance(node, gast.Constant) and isinstance(node.value, numbers.Real) and not isinstance(node.value, bool):
        return node.value
    if _is_negation(node) and isinstance(node.operand, gast.Constant):
        value = constant_value(node.operand)
        return None if value is None else -value
    return None


def number(value):
    """A node for `value`; negative numbers as ``-(abs value)`` so printers keep ``(-1) ** 2`` right."""
    if value < 0:
        return gast.UnaryOp(op=gast.USub(), operand=gast.Constant(value=-value, kind=None))
    return gast.Constant(value=value, kind=None)


# ---- reuse of computed values --------------------------------------------------------------
def reuse_computed(body):
    """Replace expressions an earlier statement computed, while its inputs still hold."""
    # An accumulator (`d_x = d_x + ...`) is never a name to reuse: `d_y = d_x` would be a copy
    # that copy propagation cannot remove, where `d_y = d_out * cos_x` read better.
    assigned = Counter(line.target for line in _flat_lines(body) if isinstance(line.target, str))
    accumulators = {target for target, count in assigned.items() if count > 1}
    return _reuse_computed(body, {}, {}, accumulators, {})


def _reuse_computed(body, computed, depending, accumulators, memo):
    """`reuse_computed` on a block, given what is computed before it.

    `computed` maps structure(expression) to the name holding its value;
    `depending` a name to the keys in `computed` that a new value of it
    invalidates. What a branch's block computes is not known after the `if`.
    """
    out = []
    for line in body:
        if isinstance(line, ForLoop):  # what the loop assigns holds no value known before it
            for target in assigned_in(line):
                for key in depending.pop(target, ()):
                    computed.pop(key, None)
            inside = _reuse_computed(list(line.body), dict(computed), {k: set(v) for k, v in depending.items()},
                                     accumulators, memo)  # fmt: skip
            out.append(line.with_body(inside))
            continue
        if isinstance(line, Conditional):
            test = _replace_computed(line.test, computed, memo)
            arms = [
                _reuse_computed(list(block), dict(computed), {k: set(v) for k, v in depending.items()},
                                accumulators, memo)
                for block in (line.then, line.orelse)
            ]  # fmt: skip
            out.append(line.with_blocks(arms[0], arms[1], test))
            for target in assigned_in(line):
                for key in depending.pop(target, ()):
                    computed.pop(key, None)
            continue
        value = _replace_computed(line.value, computed, memo)
        out.append(_with_value(line, value))
        target = line.target
        if not isinstance(target, str):
            continue
        for key in depending.pop(target, ()):
            computed.pop(key, None)
        if not isinstance(value, (gast.Call, gast.BinOp, gast.UnaryOp)) or target in accumulators or _is_stack_call(value):
            continue
        inputs = used_names(value)
        if target not in inputs:
            key = structure(value, memo)
            computed.setdefault(key, target)
            for dependency in inputs | {target}:
                depending.setdefault(dependency, set()).add(key)
    return out


def structure(node, memo=None):
    """A hashable key equal for structurally equal expressions (cheaper than gast.dump).

    `memo` ({id(node): (node, key)}) keeps the keys computed: asked of an
    expression and then of its parts, they cost one pass over it, not one
    per level of nesting.
    """
    kind = type(node)
    if kind is gast.Name:
        return node.id
    if kind is gast.Constant:
        return (type(node.value), node.value)
    if isinstance(node, gast.AST):
        known = memo.get(id(node)) if memo is not None else None
        if known is not None:
            return known[1]
        # The commonest spelled out: no walk over their fields, nor over an operator's node.
        if kind is gast.BinOp:
            key = ("BinOp", structure(node.left, memo), type(node.op).__name__, structure(node.right, memo))
        elif kind is gast.UnaryOp:
            key = ("UnaryOp", type(node.op).__name__, structure(node.operand, memo))
        elif kind is gast.Attribute:
            key = ("Attribute", structure(node.value, memo), node.attr)
        elif kind is gast.Call and not node.keywords:
            key = ("Call", structure(node.func, memo), tuple([structure(a, memo) for a in node.args]))
        else:
            key = (kind.__name__,) + tuple(
                structure(getattr(node, field, None), memo) for field in node._fields if field != "ctx"
            )
        if memo is not None:
            memo[id(node)] = (node, key)  # holding the node keeps its id from being reused
        return key
    if isinstance(node, list):
        return tuple(structure(item, memo) for item in node)
    return node


def _replace_computed(node, computed, memo):
    """`node` with its parts that `computed` holds replaced by their names (`node` itself if none is)."""
    if isinstance(node, (gast.Call, gast.BinOp, gast.UnaryOp)):
        known = computed.get(structure(node, memo))
        if known is not None:
            return name(known)
    if isinstance(node, gast.BinOp):
        left, right = _replace_computed(node.left, computed, memo), _replace_computed(node.right, computed, memo)
        if left is node.left and right is node.right:
            return node
        return gast.BinOp(left=left, op=node.op, right=right)
    if isinstance(node, gast.UnaryOp):
        operand = _replace_computed(node.operand, computed, memo)
        return node if operand is node.operand else gast.UnaryOp(op=node.op, operand=operand)
    if isinstance(node, gast.Call):
        args = [_replace_computed(a, computed, memo) for a in node.args]
        values = [_replace_computed(k.value, computed, memo) for k in node.keywords]
        if _same_nodes(args, node.args) and _same_nodes(values, [k.value for k in node.keywords]):
            return node
        keywords = [gast.keyword(arg=k.arg, value=value) for k, value in zip(node.keywords, values)]
        return gast.Call(func=node.func, args=args, keywords=keywords)
    if isinstance(node, gast.Tuple):
        elts = [_replace_computed(e, computed, memo) for e in node.elts]
        return node if _same_nodes(elts, node.elts) else gast.Tuple(elts=elts, ctx=gast.Load())
    if isinstance(node, gast.Compare):
        left = _replace_computed(node.left, computed, memo)
        comparators = [_replace_computed(c, computed, memo) for c in node.comparators]
        if left is node.left and _same_nodes(comparators, node.comparators):
            return node
        return gast.Compare(left=left, ops=node.ops, comparators=comparators)
    return node


def _same_nodes(nodes, others):
    return all(node is other for node, other in zip(nodes, others))


# ---- a contribution made twice -------------------------------------------------------------
def fold_repeated_contributions(body):
    """One adjoint line where two consecutive lines add the same contribution to the same adjoint.

    The reverse stage gives each input of an equation its own line, so ``x * x``
    (or ``x + x``) contributes twice: ``d_x = t`` then ``d_x = d_x + t``, or
    ``d_x = d_x + t`` twice when ``d_x`` already held a sum. They become
    ``d_x = 2 t`` or ``d_x = d_x + 2 t`` (``d_x - 2 t`` for two subtractions),
    with ``2 t`` written into a product's last factor, ``d_y * (2 * x)``, the
    way the derivative of ``x ** 2`` reads. Doubling is exact, so the first form
    is the value of ``t + t`` (but where ``2 * x`` overflows, or ``d_y * x``
    is subnormal); the second adds once where the two lines rounded twice.
    """
    out = []
    for line in body:
        if isinstance(line, (Conditional, ForLoop)):
            out.append(_in_blocks(line, fold_repeated_contributions))
            continue
        previous = out[-1] if out and not isinstance(out[-1], (Conditional, ForLoop)) else None
        doubled = _doubled_contribution(previous, line) if previous is not None else None
        if doubled is None:
            out.append(line)
        else:
            out[-1] = previous.with_value(simplify(doubled))
    return out


def _doubled_contribution(previous, line):
    """The value folding `line` into `previous` (both adding `t` to one adjoint), or None."""
    target = line.target
    if not (isinstance(target, str) and target == previous.target and line.role == previous.role == ADJOINT):
        return None
    op, term = _added_term(line.value, target)
    if op is None or target in used_names(term):
        return None
    earlier_op, earlier_term = _added_term(previous.value, target)
    if earlier_op is None:  # the first contribution: ``d_x = t``
        if isinstance(op, gast.Add) and target not in used_names(previous.value):
            earlier_term = previous.value
        else:
            return None
    elif type(earlier_op) is not type(op):
        return None
    if structure(earlier_term) != structure(term):
        return None
    twice = _twice(term)
    return twice if earlier_op is None else gast.BinOp(left=name(target), op=op, right=twice)


def _added_term(value, target):
    """(operator, t) for ``target + t`` or ``target - t``, else (None, None)."""
    if (
        isinstance(value, gast.BinOp)
        and isinstance(value.op, (gast.Add, gast.Sub))
        and isinstance(value.left, gast.Name)
        and value.left.id == target
    ):
        return value.op, value.right
    return None, None


def _twice(term):
    """``2 * term``, written into a product's last factor: ``a * (2 * b)`` for ``a * b``."""
    if isinstance(term, gast.BinOp) and isinstance(term.op, gast.Mult):
        return gast.BinOp(left=term.left, op=gast.Mult(), right=_twice(term.right))
    return gast.BinOp(left=number(2), op=gast.Mult(), right=term)


# ---- copies and dead code ------------------------------------------------------------------
def propagate_copies(body):
    """After ``a = b`` (a name or a constant), read ``b`` wherever ``a`` still means it."""
    return _propagate_copies(body, {}, {})


def _propagate_copies(body, copies, copied_into):
    """`propagate_copies` on a block, given the copies made before it (`copies`: name -> atom;
    `copied_into`: name -> the names holding a copy of it). A branch's copies end with its block."""
    out = []
    for line in body:
        if isinstance(line, ForLoop):  # a copy whose name or source the loop assigns dies at its entry
            for target in assigned_in(line):
                _forget_copy(target, copies, copied_into)
            reads_copy = copies and not copies.keys().isdisjoint(name_ids(line.iterable))
            iterable = substituted(line.iterable, copies) if reads_copy else line.iterable
            inside = _propagate_copies(list(line.body), dict(copies), {k: set(v) for k, v in copied_into.items()})
            out.append(line.with_body(inside, iterable))
            continue
        if isinstance(line, Conditional):
            reads_copy = copies and not copies.keys().isdisjoint(name_ids(line.test))
            test = substituted(line.test, copies) if reads_copy else line.test
            arms = [
                _propagate_copies(list(block), dict(copies), {k: set(v) for k, v in copied_into.items()})
                for block in (line.then, line.orelse)
            ]
            out.append(line.with_blocks(arms[0], arms[1], test))
            for target in assigned_in(line):
                _forget_copy(target, copies, copied_into)
            continue
        reads_copy = copies and not copies.keys().isdisjoint(_expression_names(line.value))
        value = substituted(line.value, copies) if reads_copy else line.value
        target = line.target
        if isinstance(target, str) and isinstance(value, gast.Name) and value.id == target:
            continue  # ``d_x = d_x``: nothing changes
        out.append(_with_value(line, value))
        if isinstance(target, tuple):
            for each in target:
                _forget_copy(each, copies, copied_into)
        if not isinstance(target, str):
            continue
        _forget_copy(target, copies, copied_into)
        if isinstance(value, gast.Name) or constant_value(value) is not None:
            copies[target] = value
            if isinstance(value, gast.Name):
                copied_into.setdefault(value.id, set()).add(target)
    return out


def _forget_copy(target, copies, copied_into):
    """A new value of `target`: it is no longer a copy, nor are the copies of it."""
    source = copies.pop(target, None)
    if isinstance(source, gast.Name):
        copied_into[source.id].discard(target)
    for holder in copied_into.pop(target, ()):
        del copies[holder]


def eliminate_dead_code(body, live=None):
    """Drop assignments whose value no later line reads (a check is kept for what it refuses).

    `live` holds the names read after `body` (none for a function's body); it
    becomes the names read before it. An `if` left with no lines goes.
    """
    if live is None:
        return _without_unused_stacks(body)
    kept = []
    for line in reversed(body):
        if isinstance(line, ForLoop):
            if not eliminate_dead_code(list(line.body), set(_live_around_loop(line, live, with_test=False))):
                continue  # nothing it computes is read after it, but what runs the loop itself
            top = set(_live_around_loop(line, live))
            body_kept = eliminate_dead_code(list(line.body), top)
            if not body_kept:
                continue
            live |= top | used_names(line.iterable)
            kept.append(line.with_body(body_kept))
            continue
        if isinstance(line, Conditional):
            live_then, live_else = set(live), set(live)
            then = eliminate_dead_code(list(line.then), live_then)
            orelse = eliminate_dead_code(list(line.orelse), live_else)
            if not then and not orelse:
                continue
            live |= live_then | live_else | used_names(line.test)
            kept.append(line.with_blocks(then, orelse))
            continue
        if isinstance(line.target, str) and line.role != CHECK:
            if line.target not in live:
                continue
            live.discard(line.target)
        elif _is_stack_call(line.value, "append") and _stack_of(line.value) not in live:
            continue  # a push onto a stack no later line pops (one made again before it is: a new list)
        live |= used_names(line.value)
        kept.append(line)
    return kept[::-1]


def join_mirrored_branches(body, live_after=frozenset()):
    """Join an `if` to a later `if` with the same test when only that later `if` reads what the first assigns.

    ``if c: t = ...`` followed (perhaps after other lines) by ``if c: d_x = ... t ...``
    becomes one ``if c:`` whose branch computes `t` and then uses it. Nothing
    in between may read what the first assigns or assign what it reads (its
    test included), and nothing after the second may read what the first
    assigns (so `value_and_grad` keeps the user's `if` computing its value).
    `live_after` holds the names read after `body`.
    """
    out = list(body)
    if not any(isinstance(line, (ForLoop, Conditional)) for line in out):
        return out
    position = 0
    while position < len(out):
        line = out[position]
        if isinstance(line, Conditional):
            mirror = _mirrored(out, position, live_after)
            if mirror is not None:
                joined = line.with_blocks(line.then + out[mirror].then, line.orelse + out[mirror].orelse)
                out[mirror] = joined
                del out[position]
                continue
        position += 1
    read_later = set(live_after)
    for position in range(len(out) - 1, -1, -1):
        line = out[position]
        if isinstance(line, ForLoop):
            out[position] = line.with_body(join_mirrored_branches(list(line.body), frozenset(read_later | read_in(line))))
        elif isinstance(line, Conditional):
            then = join_mirrored_branches(list(line.then), frozenset(read_later))
            orelse = join_mirrored_branches(list(line.orelse), frozenset(read_later))
            out[position] = line.with_blocks(then, orelse)
        read_later |= read_in(line)
    return out


def _mirrored(lines, position, live_after):
    """The position of the `if` that the `if` at `position` can join, or None."""
    first = lines[position]
    assigned, read = assigned_in(first), read_in(first)
    test = structure(first.test)
    for later in range(position + 1, len(lines)):
        line = lines[later]
        if isinstance(line, Conditional) and structure(line.test) == test:
            after = set(live_after).union(*(read_in(other) for other in lines[later + 1:]))
            return later if assigned.isdisjoint(after) else None
        if not assigned.isdisjoint(read_in(line)) or not (assigned | read).isdisjoint(assigned_in(line)):
            return None
    return None


def _live_around_loop(loop, live_after, with_test=True):
    """The names live at the end of a loop's body: those live after it, and those its body reads first
    (live at its top, for the next iteration), to a fixpoint; `with_test`, those a ``while`` loop's test reads
    too (a ``for`` evaluates its range once, before the loop)."""
    live = set(live_after)
    test = set()
    if with_test and loop.variable is None:
        test = {n.id for n in gast.walk(loop.iterable) if isinstance(n, gast.Name)}
    while True:
        top = set(live)
        eliminate_dead_code(list(loop.body), top)
        grown = live | top | test
        if grown == live:
            return live
        live = grown


def _without_unused_stacks(body):
    """Dead-code elimination of a function's body; then a stack no line pops goes with its pushes, again."""
    while True:
        body = eliminate_dead_code(body, set())
        stacks = {line.target for line in _flat_lines(body) if _is_new_stack(line)}
        if not stacks:  # straight-line code: nothing to walk for
            return body
        popped = {_stack_of(node) for line in _flat_lines(body) for node in gast.walk(line.value)
                  if _is_stack_call(node, "pop")}  # fmt: skip
        read = {node.id for line in _flat_lines(body) if not _is_stack_call(line.value, "append")
                for node in gast.walk(line.value) if isinstance(node, gast.Name)}  # fmt: skip
        unused = stacks - popped - read
        if not unused:
            return body
        body = _without_lines(body, lambda line: (_is_new_stack(line) and line.target in unused) or (
            _is_stack_call(line.value, "append") and _stack_of(line.value) in unused))


def _copies_itself(line):
    """``x = x``, which coalescing a loop's carried copies can leave."""
    return isinstance(line.value, gast.Name) and line.value.id == line.target


def _without_lines(body, drop):
    out = []
    for line in body:
        if isinstance(line, (Conditional, ForLoop)):
            out.append(_in_blocks(line, lambda block: _without_lines(block, drop)))
        elif not drop(line):
            out.append(line)
    return out


def _is_stack_call(value, method=None):
    """Whether `value` is ``s.append(v)`` or ``s.pop()`` (`method` if given) on a name."""
    return (
        isinstance(value, gast.Call)
        and isinstance(value.func, gast.Attribute)
        and isinstance(value.func.value, gast.Name)
        and value.func.attr in ((method,) if method else ("append", "pop"))
    )


def _stack_of(value):
    return value.func.value.id


def _is_new_stack(line):
    return isinstance(line.target, str) and isinstance(line.value, gast.List) and not line.value.elts


def coalesce_carried_copies(body, live_after=frozenset()):
    """``x = x_2`` at the end of a loop's body becomes the line that computed ``x_2`` assigning ``x``.

    Allowed when `x_2` is assigned once in the body, and after that line
    nothing in the body reads or assigns `x` nor (outside the loop) reads
    `x_2`. The loop then reads as the user wrote it: ``x = x + dt_times_sin_x``.
    """
    return _coalesce_in_block(list(body), live_after, cyclic=False)


def _coalesce_in_block(out, live_after, cyclic):
    """`cyclic`: the block is a loop's body, whose lines before a line run again after it."""
    if not any(isinstance(line, (ForLoop, Conditional)) for line in out):
        return out
    before = [set()]  # before[i]: the names lines 0..i-1 read (for a loop's body)
    if cyclic:
        for line in out:
            before.append(before[-1] | read_in(line))
    after = set(live_after)  # the names read after the current position
    for position in range(len(out) - 1, -1, -1):  # last first: a later loop's copies must not block an earlier's
        line = out[position]
        if isinstance(line, ForLoop):  # what is live after it (a later loop may assign a name before reading it)
            after = set(live_after)
            eliminate_dead_code(out[position + 1:], after)
        later = after | before[position] if cyclic else set(after)
        if isinstance(line, ForLoop):
            inner = _coalesce_in_block(list(line.body), frozenset(later), cyclic=True)
            out[position] = line.with_body(_coalesced(inner, later))
        elif isinstance(line, Conditional):
            out[position] = line.with_blocks(_coalesce_in_block(list(line.then), frozenset(later), False),
                                             _coalesce_in_block(list(line.orelse), frozenset(later), False))  # fmt: skip
        after |= read_in(out[position])
    return out


def _coalesced(body, read_after_loop):
    body = list(body)
    position = len(body) - 1
    while position >= 0:
        line = body[position]
        if not (isinstance(line.target, str) and isinstance(line.value, gast.Name)) or line.target == line.value.id:
            position -= 1
            continue
        header, end = line.target, line.value.id
        defining = [i for i, other in enumerate(body) if end in assigned_in(other)]
        if (
            len(defining) == 1 and defining[0] < position and isinstance(body[defining[0]].target, str)
            and body[defining[0]].target == end and end not in read_after_loop
            and all(header not in read_in(other) and header not in assigned_in(other)
                    for other in body[defining[0] + 1:position])
            and all(end not in read_in(other) for other in body[:defining[0]])
        ):  # fmt: skip
            renaming = {end: header}
            start = defining[0]
            if all(end not in read_in(other) for other in body[position + 1:]):
                body[start:position] = [_renamed_line(other, renaming) for other in body[start:position]]
                del body[position]
            elif all(header not in assigned_in(other) for other in body[position + 1:]):
                # After the copy both names hold the same value to the end: the later reads read `header`.
                body[start:] = [_renamed_line(other, renaming) for other in body[start:]]
                del body[position]
        position -= 1
    return body


def _renamed_line(line, renaming):
    """`line` assigning and reading the names in `renaming` renamed."""
    loads = {old: name(new) for old, new in renaming.items()}
    if isinstance(line, ForLoop):
        return ForLoop(renaming.get(line.variable, line.variable), substituted(line.iterable, loads),
                       tuple(_renamed_line(inner, renaming) for inner in line.body), line.origin)  # fmt: skip
    if isinstance(line, Conditional):
        return line.with_blocks([_renamed_line(inner, renaming) for inner in line.then],
                                [_renamed_line(inner, renaming) for inner in line.orelse],
                                substituted(line.test, loads))  # fmt: skip
    target = line.target
    if isinstance(target, str):
        target = renaming.get(target, target)
    elif isinstance(target, tuple):
        target = tuple(renaming.get(t, t) for t in target)
    return replace(line, target=target, value=substituted(line.value, loads))


def nest_temporaries(body):
    """Write a temporary read once, by a later line, into that line.

    The reverse stage marks as temporary a part of a user's expression that got
    a name of its own (``X_matmul_W1 = X @ W1`` of ``np.tanh(X @ W1 + b1)``; in
    a loop, in scalar code too: ``x = x + dt * math.sin(x)``),
    a number adjoint made of the seed and sizes (``d_diff = d_out / diff.size``),
    and an adjoint read once as a term added (``d_e = d_e + d_sum_e``), or, if it
    only negates, as that term's first factor (``d_mu = -unbroadcast(d_c, mu)``
    in ``d_x = d_c + d_mu / n``, which becomes ``d_c - unbroadcast(d_c, mu) / n``).
    Nested again, it reads as the user wrote it, and its array is freed as soon
    as it is used instead of living until the function returns (no ``del``:
    generated code stays straight-line code astgrad can transform again). A
    temporary only a derivative line reads (``x ** 2`` of
    ``np.sum(np.exp(np.sin(x)) * x ** 2)``, whose product the gradient does
    not compute) is computed in that line, so it does not take memory before.
    """
    if not any(line.temporary for line in _flat_lines(body)):
        return list(body)  # (straight-line scalar code has none)
    if not any(isinstance(line, (Conditional, ForLoop)) for line in body):
        return _nested_block(body, None)
    # A name a loop's step computes may be computed again in its reversed loop: each computation must
    # have its one reader, in its own block, so the function reads the name as often as it assigns it.
    reads, assignments = Counter(), Counter()
    for line in _flat_lines(body):
        reads.update(name_ids(line.value) + ([] if line.guard is None else name_ids(line.guard)))
        assignments.update([line.target] if isinstance(line.target, str) else [])
    for test in _compounds(body):
        reads.update(name_ids(test))
    once_each = frozenset(target for target, count in assignments.items() if reads[target] == count)
    return _nested_block(body, once_each)


def _nested_block(body, once_each):
    """`nest_temporaries` on a block: each `if`'s and loop's blocks on their own, then this one's lines.

    `once_each` (None in straight-line code) are the names read once for each line assigning them.
    """
    body = [_in_blocks(line, lambda block: _nested_block(block, once_each))
            if isinstance(line, (Conditional, ForLoop)) else line for line in body]  # fmt: skip
    # The names each line reads, walked once (an `if` or a loop: each name once, from all its lines).
    line_reads = [read_in(line) if isinstance(line, (Conditional, ForLoop)) else name_ids(line.value) for line in body]
    reads = {}  # name -> positions of the lines reading it
    assigned = {}  # name -> positions of the lines assigning it, in order
    for position, line in enumerate(body):
        for identifier in line_reads[position]:
            reads.setdefault(identifier, []).append(position)
        compound = isinstance(line, (Conditional, ForLoop))
        for identifier in assigned_in(line) if compound else [line.target] if isinstance(line.target, str) else []:
            assigned.setdefault(identifier, []).append(position)

    def nestable(line, reach):
        if not line.temporary or (once_each is not None and line.target not in once_each):
            return False
        readers = reads.get(line.target, [])
        if len(readers) != 1 or len(assigned[line.target]) != 1:
            return False
        if not isinstance(body[readers[0]].target, str) or _read_for_its_shape(body[readers[0]].value, line.target):
            return False
        return reach >= readers[0]  # no name its expression reads is assigned before it is read

    pending = {}  # temporary -> its expression, waiting for the line that reads it
    # Pending temporary -> the first position after it that assigns a name its expression reads.
    # Kept per temporary, so a line does not walk the expressions nested into it again.
    reaches = {}
    negations = set()  # the ids of the negations nested so far (a temporary's own may go on into another line)
    out = []
    for position, line in enumerate(body):
        read = line_reads[position]
        nested = [n for n in read if n in pending]
        if nested:
            line = _with_value(line, _nested(line.value, pending, negations))
        reach = min([_next_assignment(assigned, n, position) for n in read] + [reaches.pop(n) for n in nested],
                    default=math.inf)  # fmt: skip
        if nestable(line, reach):
            pending[line.target] = line.value
            reaches[line.target] = reach
            continue
        out.append(line)
    return out


def _negated_first_factor(product):
    """``-a / b * c`` for ``a / b * c``: the same number (a sign commutes with * and /), without parentheses."""
    if _is_product(product.left):
        return gast.BinOp(left=_negated_first_factor(product.left), op=product.op, right=product.right)
    return gast.BinOp(left=_negate(product.left), op=product.op, right=product.right)


def _is_power_of_two(value):
    return value > 0 and math.isfinite(value) and math.frexp(value)[0] == 0.5


SHAPE_ATTRIBUTES = ("shape", "size", "ndim")


def _read_for_its_shape(node, identifier):
    """Whether `node` reads `identifier` as ``identifier.size`` (or shape, ndim, or ``np.size(identifier)``).

    Such a temporary stays on its own line: ``np.sum(Y * logp, axis=1).size``
    would hide what the count counts.
    """
    for child in gast.walk(node):
        if isinstance(child, gast.Attribute) and child.attr in SHAPE_ATTRIBUTES:
            if isinstance(child.value, gast.Name) and child.value.id == identifier:
                return True
        if isinstance(child, gast.Call) and isinstance(child.func, gast.Attribute) and child.func.attr in SHAPE_ATTRIBUTES:
            if any(isinstance(a, gast.Name) and a.id == identifier for a in child.args):
                return True
    return False


def _next_assignment(assigned, identifier, position):
    """The first position after `position` that assigns `identifier` (infinity if none)."""
    positions = assigned.get(identifier, ())
    index = bisect.bisect_right(positions, position)
    return positions[index] if index < len(positions) else math.inf


def _nested(node, pending, negations):
    """`node` with the pending temporaries it reads written in (`negations` collects the nested negations)."""
    if isinstance(node, gast.Name) and node.id in pending:
        value = pending.pop(node.id)
        if _is_negation(value):
            negations.add(id(value))
        return value
    if _is_negation(node) and isinstance(node.operand, gast.Name) and _is_product(pending.get(node.operand.id)):
        return _negated_first_factor(pending.pop(node.operand.id))  # -d_n for d_n = a / b: -a / b
    if _is_negation(node) and isinstance(node.operand, gast.Name) and _is_negation(pending.get(node.operand.id)):
        return pending.pop(node.operand.id).operand  # -d_n for d_n = -t: t
    if isinstance(node, (gast.Name, gast.Constant)):
        return node
    nested = _constants_together(with_children(node, lambda child: _nested(child, pending, negations)))
    return _sign_joined(nested, negations)


def _sign_joined(node, negations):
    """``a - t * c`` for ``a + -t * c`` (and ``a + t * c`` for ``a - -t * c``): a nested negated adjoint's sign.

    Only the sign of a nested adjoint that is the first factor moves (the user's
    own arithmetic stays as written), and onto no other factor:
    a sign moved onto another factor could meet a boolean array (``-(x == m)``
    is an error in NumPy). Exact: negation rounds nothing.
    """
    if not (isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Add, gast.Sub))):
        return node
    unsigned = _without_leading_sign(node.right, negations)
    if unsigned is None:
        return node
    op = gast.Sub() if isinstance(node.op, gast.Add) else gast.Add()
    return gast.BinOp(left=node.left, op=op, right=unsigned)


def _without_leading_sign(term, negations):
    """`term` without the nested negation that is its first factor (``t * c`` for ``-t * c``), or None."""
    if _is_negation(term) and id(term) in negations:
        return term.operand
    if _is_product(term):
        left = _without_leading_sign(term.left, negations)
        return None if left is None else gast.BinOp(left=left, op=term.op, right=term.right)
    return None


def _constants_together(node):
    """``200.0 * d_out`` for ``2 * (d_out * 100.0)``, and ``d_out`` for ``2 * (d_out * 0.5)``: a seed's factors in one.

    Where a number adjoint ``d_out * k`` or ``d_out / n`` was nested into
    ``c * d_k * a`` (``2 * d_out / n * a``), when c (or k) is a power of two,
    so that the result rounds exactly as before: no reassociation.
    """
    if not (isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult)):
        return node
    inner, c = node.right, constant_value(node.left)
    if c is None or not _is_product(inner):
        return node
    if isinstance(inner.op, gast.Div):  # 2 * d_out / n for 2 * (d_out / n): exact for a power of two
        if _is_power_of_two(c):
            return gast.BinOp(left=gast.BinOp(left=node.left, op=gast.Mult(), right=inner.left), op=inner.op, right=inner.right)
        return node
    k = constant_value(inner.right)
    if k is None or not math.isfinite(c * k) or not (_is_power_of_two(abs(c)) or _is_power_of_two(abs(k))):
        return node  # (c * k) * d rounds as c * (d * k) only when one of them is a power of two
    return inner.left if c * k == 1 else gast.BinOp(left=number(c * k), op=gast.Mult(), right=inner.left)


# ---- adjoints accumulated in place ---------------------------------------------------------
def accumulated_in_place(derivative):
    """`derivative` with each ``d_x = d_x + unindex(t, x, i)`` inside a loop written ``d_x = add_at(d_x, i, t)``.

    A loop reading ``x[i]`` adds one element to x's adjoint per step; written
    as a sum, each step makes a new array of x's size, so the gradient takes
    time quadratic in the length of x. `runtime.add_at` adds in place, which
    no line can tell apart from the sum when `d_x` holds an array the
    generated code made and nothing else sees: every line assigning `d_x`
    assigns ``zero_gradient(x)`` or arithmetic (a new array, or a number, into
    which `add_at` does not add) or ``d_x + t`` or ``d_x - t``, and no line
    but those sums and the return reads it.
    """
    def calls(value, helper):
        return isinstance(value, gast.Call) and derivative.namespace.refers_to(value.func, helper)

    def unindexed_sum(line):
        """(adjoint, t, x, i) of ``d_x = d_x + unindex(t, x, i)``, else None."""
        value = line.value
        if not (line.role == ADJOINT and isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add)
                and isinstance(value.left, gast.Name) and value.left.id == line.target
                and calls(value.right, runtime.unindex) and len(value.right.args) == 3):  # fmt: skip
            return None
        gradient, x, index = value.right.args
        if not isinstance(x, gast.Name) or line.target in used_names(gradient) | used_names(index):
            return None
        return line.target, gradient, x.id, index

    arrays = {}  # d_x -> the arrays its sums unindex into, one (x) where the rewrite applies
    for target, _, x, _ in filter(None, map(unindexed_sum, _lines_in_loops(derivative.lines))):
        arrays.setdefault(target, set()).add(x)
    owned = {target for target, (x, *others) in arrays.items()
             if not others and _owned_adjoint(derivative, target, x, calls)}  # fmt: skip
    if not owned:
        return derivative
    namespace = derivative.namespace.fork()
    add_at = namespace.reference(runtime.add_at)

    def rewritten(lines, in_loop):
        out = []
        for line in lines:
            if isinstance(line, (Conditional, ForLoop)):
                out.append(_in_blocks(line, lambda block: rewritten(block, in_loop or isinstance(line, ForLoop))))
                continue
            found = unindexed_sum(line) if in_loop and line.target in owned else None
            if found is not None:
                target, gradient, _, index = found
                line = line.with_value(gast.Call(func=add_at, args=[name(target), index, gradient], keywords=[]))
            out.append(line)
        return out

    return replace(derivative, lines=tuple(rewritten(derivative.lines, False)), namespace=namespace)


def _owned_adjoint(derivative, target, x, calls):
    """Whether `target` always holds a new array (or a number) no other name holds: only ``zero_gradient(x)``,
    arithmetic and sums ``target +/- t`` assign it, and only those sums and the return read it."""
    if target in name_ids(derivative.args):
        return False
    made = False
    for line in _flat_lines(derivative.lines):
        if line.target == target:
            value = line.value
            op, term = _added_term(value, target)
            if op is not None and target not in used_names(term):
                continue
            if not (calls(value, runtime.zero_gradient) and [structure(a) for a in value.args] == [x]
                    or isinstance(value, (gast.BinOp, gast.UnaryOp)) and target not in used_names(value)):
                return False  # a call may return one of its arguments, a name is a copy: the array may be shared
            made = True
        elif (line.target is not None and target in used_names(line.value)) or (
                isinstance(line.target, tuple) and target in line.target):
            return False
        if line.guard is not None and target in used_names(line.guard):
            return False
    return made and not any(target in used_names(test) for test in _compounds(derivative.lines))


def _lines_in_loops(lines, in_loop=False):
    """The lines inside loops (at any depth, in `if`s too)."""
    for line in lines:
        if isinstance(line, ForLoop):
            yield from _lines_in_loops(line.body, True)
        elif isinstance(line, Conditional):
            yield from _lines_in_loops(line.then + line.orelse, in_loop)
        elif in_loop:
            yield line


def _compounds(lines):
    """The tests of the `if`s and the iterables of the loops among `lines`, at any depth."""
    for line in lines:
        if isinstance(line, ForLoop):
            yield line.iterable
            yield from _compounds(line.body)
        elif isinstance(line, Conditional):
            yield line.test
            yield from _compounds(line.then + line.orelse)


def _flat_lines(lines):
    """Every line, those inside `if`s and loops too."""
    for line in lines:
        if isinstance(line, Conditional):
            yield from _flat_lines(line.then + line.orelse)
        elif isinstance(line, ForLoop):
            yield from _flat_lines(line.body)
        else:
            yield line


def used_names(node):
    """The ids of the names `node` reads, as a set."""
    return set(_expression_names(node))


def _expression_names(node):
    """`name_ids` of an expression, faster on the common nodes: the stage asks it of every line, more than once."""
    ids, stack = [], [node]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is gast.Name:
            ids.append(node.id)
        elif kind is gast.BinOp:
            stack.append(node.left)
            stack.append(node.right)
        elif kind is gast.Constant:
            continue
        elif kind is gast.UnaryOp:
            stack.append(node.operand)
        elif kind is gast.Attribute:
            stack.append(node.value)
        elif kind is gast.Call and not node.keywords:
            stack.append(node.func)
            stack.extend(node.args)
        else:
            ids.extend(name_ids(node))
    return ids


def _with_value(line, value):
    """`line` with `value` (`line` itself when the value is the same node)."""
    return line if value is line.value else line.with_value(value)
