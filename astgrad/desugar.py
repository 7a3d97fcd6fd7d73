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
"""

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
