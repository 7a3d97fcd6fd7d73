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

Loops over sequences become loops over their indices (`element_loops`), and
comprehensions loops appending to a list (`comprehensions`).
"""

import copy as copying

import gast


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
            if len(call.args) == 1 and not call.keywords and isinstance(call.args[0], COMPREHENSIONS):
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
