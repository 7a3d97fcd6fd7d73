"""Between check and resolve: an early ``return`` inside an ``if`` becomes one result returned at the end.

    if x > 0:                    if x > 0:
        return x          ->         out = x
    y = x * 0.5                  else:
    return y                         y = x * 0.5
                                     out = y
                                 return out

The statements after an `if` whose branch returns move into the branch that
does not (so each path assigns the result once); the result is called `out`
(`out_1`, ... if the function has an `out` of its own). A function without an
early return is given back as it is.

Comprehensions become loops appending to a list (`comprehensions`), loops
over sequences loops over their indices (`element_loops`), and ``break`` and
``continue`` structured code (`loop_exits`); `desugared` applies the four in
turn.
"""

import copy as copying

import gast


def desugared(tree, generated=False):
    """`tree` (a checked FunctionDef) with its comprehensions, early returns, loops over sequences and loop exits
    desugared; in a function astgrad `generated`, its pops made statements of their own (`pops_as_statements`)."""
    tree = pops_as_statements(tree) if generated else tree
    return loop_exits(element_loops(early_returns(comprehensions(tree))))


def pops_as_statements(tree):
    """A generated function's ``d_x = d_x + d_x_stack.pop()`` as ``d_x_popped = d_x_stack.pop()`` and
    ``d_x = d_x + d_x_popped``: a gradient read back pops only in statements of their own, as it pushes."""
    taken = set(_name_counts(tree))

    def rewritten(statements):
        out = []
        for statement in statements:
            for field in ("body", "orelse"):
                if isinstance(getattr(statement, field, None), list) and not isinstance(statement, gast.FunctionDef):
                    statement = gast.copy_location(_with(statement, **{field: rewritten(getattr(statement, field))}),
                                                   statement)
            if isinstance(statement, (gast.Assign, gast.AugAssign)) and not _is_pop(statement.value):
                pops = _PopsNamed(taken)
                value = pops.visit(copying.deepcopy(statement.value))
                statement = gast.copy_location(_with(statement, value=value), statement)
                out += [_assign(popped, pop, statement) for popped, pop in pops.named]
            out.append(statement)
        return out

    return gast.copy_location(_with(tree, body=rewritten(tree.body)), tree)


def in_place_adds_as_sums(tree, is_add_at, unindex, is_zero_gradient):
    """A generated function's ``d_x = add_at(d_x, i, t)`` as ``d_x = d_x + unindex(t, x, i)``, `x` the
    array of ``d_x = zero_gradient(x)`` (else `d_x`, whose shape it has): read back to be differentiated again,
    the in-place add is the sum it stands for, which has a derivative and changes no value in place.
    `is_add_at` and `is_zero_gradient` tell whether a call's function is that run-time helper; `unindex` is
    a name of `runtime.unindex`."""
    made_like = {}  # d_x -> x, from d_x = zero_gradient(x)
    for node in gast.walk(tree):
        if (isinstance(node, gast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], gast.Name)
                and isinstance(node.value, gast.Call) and is_zero_gradient(node.value.func)
                and len(node.value.args) == 1):  # fmt: skip
            made_like[node.targets[0].id] = node.value.args[0]

    class Sums(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if not (is_add_at(node.func) and len(node.args) == 3 and not node.keywords):
                return node
            whole, index, gradient = node.args
            like = made_like.get(whole.id, whole) if isinstance(whole, gast.Name) else whole
            placed = lambda new: gast.copy_location(new, node)  # noqa: E731
            function = placed(gast.Name(id=unindex, ctx=gast.Load(), annotation=None, type_comment=None))
            call = placed(gast.Call(func=function, args=[gradient, copying.deepcopy(like), index], keywords=[]))
            return placed(gast.BinOp(left=whole, op=gast.Add(), right=call))

    return Sums().visit(copying.deepcopy(tree))


def _is_pop(node):
    return (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and node.func.attr == "pop"
            and isinstance(node.func.value, gast.Name) and not node.args and not node.keywords)  # fmt: skip


class _PopsNamed(gast.NodeTransformer):
    """Replaces each pop in an expression (in the order they run) by a fresh name, listing (name, pop) in `named`."""

    def __init__(self, taken):
        self.taken, self.named = taken, []

    def visit_Call(self, node):
        node = self.generic_visit(node)
        if not _is_pop(node):
            return node
        popped = _fresh(node.func.value.id.replace("_stack", "") + "_popped", self.taken)
        self.named.append((popped, node))
        return gast.copy_location(gast.Name(id=popped, ctx=gast.Load(), annotation=None, type_comment=None), node)


def early_returns(tree):
    """`tree` (a checked FunctionDef) with its early returns replaced by assignments to one result."""
    if not any(isinstance(s, gast.If) and _returns_inside(s) for s in tree.body):
        return tree
    taken = {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)} | {a.id for a in tree.args.args}
    result, counter = "out", 0
    while result in taken:
        counter += 1
        result = f"out_{counter}"
    body = _assigning(tree.body, result)
    last = _last_return(tree.body)
    returned = gast.copy_location(gast.Return(value=_load(result, last.value)), last)
    new = gast.FunctionDef(name=tree.name, args=tree.args, body=body + [returned], decorator_list=tree.decorator_list,
                           returns=tree.returns, type_comment=None, type_params=getattr(tree, "type_params", []))
    return gast.copy_location(new, tree)


def _returns_inside(statement):
    return any(isinstance(n, gast.Return) for n in gast.walk(statement))


def always_returns(statements):
    """Whether every path through `statements` ends in a ``return``."""
    for statement in statements:
        if isinstance(statement, gast.Return):
            return True
        if isinstance(statement, gast.If) and always_returns(statement.body) and always_returns(statement.orelse):
            return True
    return False


def _assigning(statements, result):
    """`statements` with each return made ``result = value`` (the statements after a return left out)."""
    out = []
    for index, statement in enumerate(statements):
        if isinstance(statement, gast.Return):
            store = gast.Name(id=result, ctx=gast.Store(), annotation=None, type_comment=None)
            out.append(gast.copy_location(gast.Assign(targets=[gast.copy_location(store, statement.value)],
                                                      value=statement.value, type_comment=None), statement))
            return out
        if isinstance(statement, gast.If) and _returns_inside(statement):
            rest = statements[index + 1:]
            then = statement.body if always_returns(statement.body) else statement.body + rest
            orelse = statement.orelse if always_returns(statement.orelse) else statement.orelse + rest
            branch = gast.If(test=statement.test, body=_assigning(then, result), orelse=_assigning(orelse, result))
            out.append(gast.copy_location(branch, statement))
            return out
        out.append(statement)
    return out


def _last_return(statements):
    returns = [n for s in statements for n in gast.walk(s) if isinstance(n, gast.Return)]
    return max(returns, key=lambda r: (r.lineno, r.col_offset))


def _load(identifier, where):
    return gast.copy_location(gast.Name(id=identifier, ctx=gast.Load(), annotation=None, type_comment=None), where)


def element_loops(tree):
    """`tree` with its loops over sequences written over their indices (the functions' bodies nested too).

        for x in xs:                  for i in range(len(xs)):
            ...                ->         x = xs[i]
                                          ...

    ``enumerate(xs)`` gives its index to the user's name, ``zip(a, b)`` reads
    each sequence at one index (``range(min(len(a), len(b)))``),
    ``reversed(xs)`` walks the indices down, and a tuple target unpacks the
    element by position (``for W, b in layers``: ``W = layers[i][0]``).
    """
    taken = {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)} | {a.id for a in tree.args.args}
    body = _element_loops_in(tree.body, taken)
    if body is tree.body:
        return tree
    new = gast.FunctionDef(name=tree.name, args=tree.args, body=body, decorator_list=tree.decorator_list,
                           returns=tree.returns, type_comment=None, type_params=getattr(tree, "type_params", []))
    return gast.copy_location(new, tree)


def _element_loops_in(statements, taken):
    out, changed = [], False
    for statement in statements:
        new = statement
        if isinstance(statement, gast.For):
            body = _element_loops_in(statement.body, taken)
            if not is_range_loop(statement):
                new = _over_indices(statement, body, taken)
            elif body is not statement.body:
                new = gast.copy_location(gast.For(target=statement.target, iter=statement.iter, body=body,
                                                  orelse=[], type_comment=None), statement)  # fmt: skip
        elif isinstance(statement, (gast.If, gast.While)):
            body = _element_loops_in(statement.body, taken)
            orelse = _element_loops_in(statement.orelse, taken)
            if body is not statement.body or orelse is not statement.orelse:
                new = gast.copy_location(type(statement)(test=statement.test, body=body, orelse=orelse), statement)
        changed |= new is not statement
        out.append(new)
    return out if changed else statements


def is_range_loop(statement):
    iterable = statement.iter
    return isinstance(iterable, gast.Call) and isinstance(iterable.func, gast.Name) and iterable.func.id in (
        "range", "reversed") and (iterable.func.id == "range" or _is_range_call(iterable.args[0]))


def _is_range_call(node):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == "range"


def _over_indices(statement, body, taken):
    """``for target in <sequence>`` as a loop over the indices (see `element_loops`)."""
    where = statement
    iterable, target = statement.iter, statement.target
    kind = iterable.func.id if isinstance(iterable, gast.Call) and isinstance(iterable.func, gast.Name) else None
    if kind == "enumerate":
        index_target, target = target.elts[0], target.elts[1]
        sequences = [iterable.args[0]]
    else:
        index_target = gast.Name(id=_fresh("i", taken), ctx=gast.Store(), annotation=None, type_comment=None)
        sequences = list(iterable.args) if kind in ("zip", "reversed") else [iterable]
    index = _load(index_target.id, where)
    lengths = [_call("len", [copying.deepcopy(s)], where) for s in sequences]
    length = lengths[0] if len(lengths) == 1 else _call("min", lengths, where)
    if kind == "reversed":
        minus_one = gast.UnaryOp(op=gast.USub(), operand=gast.Constant(value=1, kind=None))
        length_minus_one = gast.BinOp(left=length, op=gast.Sub(), right=gast.Constant(value=1, kind=None))
        indices = _call("range", [length_minus_one, minus_one, minus_one], where)
    else:
        indices = _call("range", [length], where)
    if kind == "zip":
        reads = [(element, _item(sequence, index, where)) for element, sequence in zip(target.elts, sequences)]
    else:
        reads = [(target, _item(sequences[0], index, where))]
    assignments = []
    for element, value in reads:
        assignments += _unpacked(element, value, where)
    loop = gast.For(target=index_target, iter=indices, body=assignments + list(body), orelse=[], type_comment=None)
    return gast.copy_location(loop, statement)


def _unpacked(target, value, where):
    """``target = value``, a tuple target element by element (``W = layer[0]``, ``b = layer[1]``)."""
    if isinstance(target, gast.Name):
        store = gast.copy_location(gast.Name(id=target.id, ctx=gast.Store(), annotation=None, type_comment=None), target)
        return [gast.copy_location(gast.Assign(targets=[store], value=value, type_comment=None), where)]
    return [assignment for position, element in enumerate(target.elts)
            for assignment in _unpacked(element, _item(value, gast.Constant(value=position, kind=None), where),
                                        where)]  # fmt: skip


def _item(sequence, index, where):
    node = gast.Subscript(value=copying.deepcopy(sequence), slice=copying.deepcopy(index), ctx=gast.Load())
    return _located(node, where)


def _call(function, args, where):
    return _located(gast.Call(func=_load(function, where), args=args, keywords=[]), where)


def _located(node, where):
    for child in gast.walk(node):
        if getattr(child, "lineno", None) is None and hasattr(child, "_attributes") and "lineno" in child._attributes:
            gast.copy_location(child, where)
    return node


def _fresh(base, taken):
    name, counter = base, 0
    while name in taken:
        counter += 1
        name = f"{base}_{counter}"
    taken.add(name)
    return name


COMPREHENSIONS = (gast.ListComp, gast.GeneratorExp)


def comprehensions(tree):
    """`tree` with each comprehension made a loop appending to a list, before the statement reading it.

        total = sum(w * x for w, x in zip(ws, xs))      terms = []
                                                  ->    for w, x in zip(ws, xs):
                                                            terms.append(w * x)
                                                        total = sum(terms)

    The list is called ``terms`` when ``sum`` reads it, else ``items``
    (``terms_1``, ... if taken); ``ys = [...]`` fills ``ys`` itself, and
    ``list(...)`` of a comprehension is the list. Each ``if`` of the
    comprehension guards what follows it, and several ``for``s nest. A
    comprehension's target keeps its name unless the function uses that name
    elsewhere (Python keeps it local to the comprehension).
    """
    if not any(isinstance(n, COMPREHENSIONS) for n in gast.walk(tree)):
        return tree
    taken = {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)} | {a.id for a in tree.args.args}
    outside = _names_outside_comprehensions(tree) | {a.id for a in tree.args.args}
    body = _hoisted(tree.body, taken, outside)
    new = gast.FunctionDef(name=tree.name, args=tree.args, body=body, decorator_list=tree.decorator_list,
                           returns=tree.returns, type_comment=None, type_params=getattr(tree, "type_params", []))
    return gast.copy_location(new, tree)


def _names_outside_comprehensions(tree):
    names, stack = set(), list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, COMPREHENSIONS):
            continue
        if isinstance(node, gast.Name):
            names.add(node.id)
        stack.extend(gast.iter_child_nodes(node))
    return names


def _hoisted(statements, taken, outside):
    """`statements` with their comprehensions made loops before the statements that read them."""
    out = []
    for statement in statements:
        comprehension = _assigned_comprehension(statement)
        if comprehension is not None:
            out += _filled(statement.targets[0].id, comprehension, statement, taken, outside)
            continue
        if isinstance(statement, (gast.For, gast.While)):
            body = _hoisted(statement.body, taken, outside)
            out.append(gast.copy_location(_with(statement, body=body), statement))
            continue
        if isinstance(statement, gast.If):
            prelude, test = _lifted(statement.test, statement, taken, outside)
            body, orelse = _hoisted(statement.body, taken, outside), _hoisted(statement.orelse, taken, outside)
            out += prelude + [gast.copy_location(gast.If(test=test, body=body, orelse=orelse), statement)]
            continue
        prelude, new = _lifted(statement, statement, taken, outside)
        out += prelude + [new]
    return out


def _assigned_comprehension(statement):
    """The comprehension of ``ys = [...]`` or ``ys = list(...)``, else None."""
    if not (isinstance(statement, gast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], gast.Name)):  # fmt: skip
        return None
    value = statement.value
    if isinstance(value, gast.ListComp):
        return value
    if (isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and value.func.id == "list"
            and len(value.args) == 1 and not value.keywords and isinstance(value.args[0], COMPREHENSIONS)):  # fmt: skip
        return value.args[0]
    return None


def _with(statement, **fields):
    values = {f: getattr(statement, f) for f in statement._fields}
    values.update(fields)
    return type(statement)(**values)


def _lifted(node, where, taken, outside):
    """(the loops filling the lists of the comprehensions passed to calls in `node`, `node` reading the lists)."""
    prelude = []

    class Lift(gast.NodeTransformer):
        def visit_Call(self, call):
            if len(call.args) == 1 and isinstance(call.args[0], COMPREHENSIONS):
                for keyword in call.keywords:  # their own comprehensions, if any, filled first
                    keyword.value = self.visit(keyword.value)
                consumer = call.func.id if isinstance(call.func, gast.Name) else None
                items = _fresh("terms" if consumer == "sum" else "items", taken)
                prelude.extend(_filled(items, call.args[0], where, taken, outside))
                if consumer == "list":
                    return _load(items, call)
                call.args = [_load(items, call.args[0])]
                return call
            self.generic_visit(call)
            return call

    new = Lift().visit(copying.deepcopy(node))
    return prelude, new


def _filled(items, comprehension, where, taken, outside):
    """``items = []`` and the loops appending the comprehension's elements to it."""
    renaming = {}
    for generator in comprehension.generators:
        for target in gast.walk(generator.target):
            if isinstance(target, gast.Name) and target.id in outside and target.id not in renaming:
                renaming[target.id] = _fresh(target.id, taken)
    renamed = _Renamed(renaming)
    element = renamed.visit(copying.deepcopy(comprehension.elt))
    append = gast.Call(func=gast.Attribute(value=_load(items, where), attr="append", ctx=gast.Load()), args=[element],
                       keywords=[])  # fmt: skip
    statement = gast.copy_location(gast.Expr(value=_located(append, comprehension)), comprehension)
    body = [_located(statement, comprehension)]
    for generator in reversed(comprehension.generators):
        for condition in reversed(generator.ifs):
            body = [gast.copy_location(gast.If(test=renamed.visit(copying.deepcopy(condition)), body=body, orelse=[]),
                                       condition)]  # fmt: skip
        target = renamed.visit(copying.deepcopy(generator.target))
        iterable = renamed.visit(copying.deepcopy(generator.iter))
        loop = gast.For(target=target, iter=iterable, body=body, orelse=[], type_comment=None)
        body = [gast.copy_location(loop, generator.iter)]
    store = gast.copy_location(gast.Name(id=items, ctx=gast.Store(), annotation=None, type_comment=None), where)
    new = gast.Assign(targets=[store], value=gast.List(elts=[], ctx=gast.Load()), type_comment=None)
    return [_located(gast.copy_location(new, where), where)] + _hoisted(body, taken, outside)


class _Renamed(gast.NodeTransformer):
    def __init__(self, renaming):
        self.renaming = renaming

    def visit_Name(self, node):
        if node.id in self.renaming:
            return gast.copy_location(gast.Name(id=self.renaming[node.id], ctx=node.ctx, annotation=None,
                                                type_comment=None), node)  # fmt: skip
        return node


def loop_exits(tree):
    """`tree` with its ``break`` and ``continue`` statements written as structured code (nested loops too).

        for k in range(n):                stopped = False
            x = x * 0.5                   k = 0
            if x < tol:           ->      while k < n and not stopped:
                break                         x = x * 0.5
            x = x + 1.0                       if x < tol:
                                                  stopped = True
                                              else:
                                                  x = x + 1.0
                                              k = k + 1

        while True:                       stopped = False
            x = x * 0.5           ->      while not stopped:
            if x < tol:                       x = x * 0.5
                break                         stopped = x < tol

    The statements after an ``if`` whose branch leaves the iteration move into
    the branch that does not (as `early_returns` does for a ``return``); a
    ``continue`` leaves nothing behind it (``if c: continue`` then ``B`` is
    ``if not c: B``), a ``break`` sets a flag (``stopped``, or ``stopped_1``
    ... when taken) that the loop's test reads, so a ``while True`` with a
    ``break`` is ``while not stopped``; a body ending in ``if a < b: break``
    (one comparison) ends in ``stopped = a < b``. A ``for`` loop with a ``break``
    becomes a ``while`` loop over its index (keeping the user's name for it
    unless the function uses that name elsewhere), so the primal loop stops
    where the user's loop stopped and the reversed loop runs the iterations it
    counted. A ``break`` leaves its innermost loop only.
    """
    if not any(isinstance(n, (gast.Break, gast.Continue)) for n in gast.walk(tree)):
        return tree
    taken = {n.id for n in gast.walk(tree) if isinstance(n, gast.Name)} | {a.id for a in tree.args.args}
    used = _name_counts(tree)
    new = gast.FunctionDef(name=tree.name, args=tree.args, body=_exits_in(tree.body, taken, used),
                           decorator_list=tree.decorator_list, returns=tree.returns, type_comment=None,
                           type_params=getattr(tree, "type_params", []))  # fmt: skip
    return gast.copy_location(new, tree)


def _name_counts(tree):
    counts = {}
    for node in gast.walk(tree):
        if isinstance(node, gast.Name):
            counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _exits_in(statements, taken, used):
    """`statements` with the loops among them (at any depth) free of ``break`` and ``continue``."""
    out = []
    for statement in statements:
        if isinstance(statement, (gast.For, gast.While)):
            out += _loop_without_exits(statement, taken, used)
        elif isinstance(statement, gast.If):
            branch = gast.If(test=statement.test, body=_exits_in(statement.body, taken, used),
                             orelse=_exits_in(statement.orelse, taken, used))  # fmt: skip
            out.append(gast.copy_location(branch, statement))
        else:
            out.append(statement)
    return out


def breaks_in(body):
    """The ``break`` statements that leave the loop whose body is `body` (not those of loops nested in it)."""
    found = []
    for statement in body:
        if isinstance(statement, gast.Break):
            found.append(statement)
        elif isinstance(statement, gast.If):
            found += breaks_in(statement.body) + breaks_in(statement.orelse)
    return found


def _leaves(statement):
    """Whether `statement` holds a ``break`` or ``continue`` of the loop it is in."""
    if isinstance(statement, (gast.Break, gast.Continue)):
        return True
    return isinstance(statement, gast.If) and any(_leaves(s) for s in statement.body + statement.orelse)


def _always_leaves(statements):
    for statement in statements:
        if isinstance(statement, (gast.Break, gast.Continue)):
            return True
        if isinstance(statement, gast.If) and _always_leaves(statement.body) and _always_leaves(statement.orelse):
            return True
    return False


def _loop_without_exits(loop, taken, used):
    """`loop` (its nested loops first) with its own exits rewritten: the statements replacing it."""
    flag = _fresh("stopped", taken) if breaks_in(loop.body) else None
    body = _without_exits(_exits_in(loop.body, taken, used), flag, last_test=True)
    if not body:
        body = [gast.copy_location(gast.Pass(), loop)]
    if flag is None:
        if isinstance(loop, gast.While):
            return [gast.copy_location(gast.While(test=loop.test, body=body, orelse=[]), loop)]
        return [gast.copy_location(gast.For(target=loop.target, iter=loop.iter, body=body, orelse=[],
                                            type_comment=None), loop)]  # fmt: skip
    before = [_assign(flag, gast.Constant(value=False, kind=None), loop)]
    not_stopped = gast.UnaryOp(op=gast.Not(), operand=_load(flag, loop))
    if isinstance(loop, gast.While):
        test = not_stopped if isinstance(loop.test, gast.Constant) else _and(loop.test, not_stopped)
        return before + [_located(gast.While(test=test, body=body, orelse=[]), loop)]
    start, comparison, end, step = range_parts(loop.iter)
    user = loop.target.id
    index = user if used.get(user, 0) == _count_in(loop, user) and user not in _assigned_in(loop.body) else None
    if index is None:
        index = _fresh(user, taken)
        body = [_assign(user, _load(index, loop), loop)] + body
    # `range` reads its bounds once: a computed one (`len(xs)`), or one the body assigns, is bound before the loop.
    if not isinstance(end, (gast.Name, gast.Constant, gast.UnaryOp)) or any(
            n.id in _assigned_in(loop.body) for n in gast.walk(end) if isinstance(n, gast.Name)):  # fmt: skip
        bound = _fresh("end", taken)
        before.append(_assign(bound, end, loop))
        end = _load(bound, loop)
    before.append(_assign(index, start, loop))
    compare = gast.Compare(left=_load(index, loop), ops=[comparison], comparators=[end])
    step_node = gast.Constant(value=abs(step), kind=None)
    advance = gast.BinOp(left=_load(index, loop), op=gast.Add() if step > 0 else gast.Sub(), right=step_node)
    body = body + [_assign(index, advance, loop)]
    return before + [_located(gast.While(test=_and(compare, not_stopped), body=body, orelse=[]), loop)]


def range_parts(iterable):
    """(start, comparison, end, step) of ``range(...)`` with a literal step: the index runs from `start`
    while ``index <comparison> end``."""
    args = iterable.args
    if len(args) == 1:
        return gast.Constant(value=0, kind=None), gast.Lt(), copying.deepcopy(args[0]), 1
    step = literal_step(args[2]) if len(args) == 3 else 1
    return copying.deepcopy(args[0]), gast.Lt() if step > 0 else gast.Gt(), copying.deepcopy(args[1]), step


def literal_step(node):
    """The value of a range's step written as a whole number (``2``, ``-1``), else None."""
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        inner = literal_step(node.operand)
        return None if inner is None else -inner
    if isinstance(node, gast.Constant) and type(node.value) is int and node.value != 0:
        return node.value
    return None


def _without_exits(statements, flag, last_test=False):
    """A loop body's `statements` with its ``break`` setting `flag` and its exits skipping what follows them.

    With `last_test`, a body ending in ``if a < b: break`` (one comparison) ends in ``stopped = a < b``.
    """
    out = []
    for index, statement in enumerate(statements):
        if last_test and index == len(statements) - 1 and _is_last_test(statement):
            return out + [_assign(flag, statement.test, statement)]
        if isinstance(statement, gast.Break):
            return out + [_assign(flag, gast.Constant(value=True, kind=None), statement)]
        if isinstance(statement, gast.Continue):
            return out
        if isinstance(statement, gast.If) and _leaves(statement):
            rest = statements[index + 1:]
            then = statement.body if _always_leaves(statement.body) else statement.body + rest
            again = copying.deepcopy(rest) if then is not statement.body else rest  # no node in two places
            orelse = statement.orelse if _always_leaves(statement.orelse) else statement.orelse + again
            return out + _branch(statement, _without_exits(then, flag), _without_exits(orelse, flag))
        out.append(statement)
    return out


def _is_last_test(statement):
    """``if a < b: break``: the test a body ends with, its one comparison a value of its own."""
    return (isinstance(statement, gast.If) and len(statement.body) == 1 and isinstance(statement.body[0], gast.Break)
            and not statement.orelse and isinstance(statement.test, gast.Compare) and len(statement.test.ops) == 1)


def _branch(statement, then, orelse):
    """``if test: then else: orelse``, as ``if not test: orelse`` when `then` is empty (none when both are)."""
    if not then and not orelse:
        return []
    if not then:
        test = gast.copy_location(gast.UnaryOp(op=gast.Not(), operand=statement.test), statement.test)
        return [gast.copy_location(gast.If(test=test, body=orelse, orelse=[]), statement)]
    return [gast.copy_location(gast.If(test=statement.test, body=then, orelse=orelse), statement)]


def _and(left, right):
    values = (left.values if isinstance(left, gast.BoolOp) and isinstance(left.op, gast.And) else [left]) + [right]
    return gast.BoolOp(op=gast.And(), values=values)


def _assign(identifier, value, where):
    store = gast.Name(id=identifier, ctx=gast.Store(), annotation=None, type_comment=None)
    return _located(gast.Assign(targets=[store], value=value, type_comment=None), where)


def _assigned_in(statements):
    return {n.id for s in statements for n in gast.walk(s) if isinstance(n, gast.Name) and isinstance(
        n.ctx, gast.Store)}  # fmt: skip


def _count_in(loop, identifier):
    return sum(1 for n in gast.walk(loop) if isinstance(n, gast.Name) and n.id == identifier)
