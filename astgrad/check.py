"""Stage 2, check: is the function in the subset astgrad differentiates?

Takes the `gast.FunctionDef` from the source stage and returns it unchanged,
or raises an `UnsupportedSyntaxError` listing every construct outside this
subset (`survey` gives them to resolve, which goes on past them):

Parameters
    plain positional parameters (with or without defaults), keyword-only
    ones, ``*args`` and ``**kwargs`` (data, made explicit for each call by
    `varargs`); no positional-only markers.
Statements, in order
    * an optional docstring;
    * assignments ``name = expr``, tuple unpacking ``a, b = expr`` (nested
      tuples too), annotated ``name: T = expr``;
    * augmented assignments ``name op= expr`` for ``+ - * / **``;
    * ``pass``;
    * nested ``def`` helpers, inlined where called;
    * ``if``/``elif``/``else`` statements whose branches are made of these
      statements (at any depth); the test is a condition (below);
    * ``for i in range(...)`` loops (one to three arguments, no ``else``),
      loops over a sequence held in a name (``for x in xs``, ``for i, x in
      enumerate(xs)``, ``for a, b in zip(as_, bs)``, ``for x in reversed(xs)``,
      with a name or a tuple of names as the target), and ``while condition:``
      loops (no ``else``; ``while True`` only with a ``break``) whose body is
      made of these statements (at any depth), and ``break`` and
      ``continue`` in a loop's body (desugar makes them structured code; a
      ``break`` in a ``range`` loop needs a step written as a number);
    * lists the function builds: ``ys = []`` and ``ys.append(expr)`` (read
      whole by ``sum``, ``max``, ``min``, ``len``, ``np.stack`` or
      ``np.array``, which resolve checks), and ``ys = [expr for ...]``;
    * one ``return expr`` (or ``return a, b``) as the last statement of the
      function, and any number inside ``if`` branches (desugar makes them one
      result), so that every path ends in a ``return``.
Expressions
    names, numeric constants, tuples, the operators ``+ - * / ** @ // %``,
    unary ``- +``, single comparisons with ``< <= > >= == !=`` (their value
    has zero derivative), calls ``f(a, b, key=c)`` whose target is a name or
    a module attribute (``math.sin``), lambdas bound to a name or passed to
    a call, method calls and attributes of values
    (``x.sum(axis=0)``, ``x.T``), attribute references to modules
    (``math.pi``), and indexing reads (``x[0]``, ``x[:, 1]``, ``x[..., None]``,
    ``x[idx]``), conditional expressions ``a if condition else b``, and a
    list comprehension or generator expression as the one positional argument of a call
    (``sum(w * x for w, x in zip(ws, xs))``, ``np.stack([f(x) for x in xs], axis=1)``):
    each ``for`` of it as a loop's header, each ``if`` a condition. Call
    arguments and indices may also be ``None``, ``...``, strings
    (``np.einsum("ij,j->i", a, b)``) and list displays
    (``np.concatenate([a, b])``).
Conditions (the test of an ``if`` or of a conditional expression)
    an expression, comparisons chained or not (``0 < x <= 1``), and these
    combined with ``and``, ``or`` and ``not``. A condition has zero derivative.

Everything else (loops over computed sequences, ``try``,
``with``, set and dict comprehensions, a comprehension anywhere else, lambdas used as values other than bound to a name or
passed to a call, a ``return`` inside a loop, ``yield``, ``global``/``nonlocal``,
item or attribute assignment, ``del``, in-place method calls, ...) is rejected,
with its line, column and a hint of what to write instead.
"""

from dataclasses import dataclass

import gast

from .desugar import always_returns, breaks_in, literal_step
from .errors import UnsupportedSyntaxError, all_obstacles
from .names import dotted_name
from .rules import COMPARISONS

ONE_RETURN = "keep a single `return` at the end of the function"
UNROLL = "write the iterations out as separate statements, or use NumPy operations on whole arrays"
OUTSIDE = "move it outside the differentiated function and pass the values in as parameters"
NEW_VALUE = "build a new value instead of changing one in place, e.g. `y = ...`"

# Statement and expression types that are rejected outright: (what, hint).
REJECTED = {
    gast.AsyncFor: ("an `async for` loop", UNROLL),
    gast.Try: ("a `try` statement", OUTSIDE),
    gast.With: ("a `with` statement", OUTSIDE),
    gast.AsyncWith: ("an `async with` statement", OUTSIDE),
    gast.Raise: ("a `raise` statement", OUTSIDE),
    gast.Assert: ("an `assert` statement", OUTSIDE),
    gast.Global: ("a `global` statement", "pass the value in as a parameter and return the new value"),
    gast.Nonlocal: ("a `nonlocal` statement", "pass the value in as a parameter and return the new value"),
    gast.Delete: ("a `del` statement", "remove it: local names go away when the function returns"),
    gast.Import: ("an `import` statement", "import at module level"),
    gast.ImportFrom: ("an `import` statement", "import at module level"),
    gast.FunctionDef: ("a decorated nested function definition", "define the helper without decorators; astgrad inlines it"),
    gast.AsyncFunctionDef: ("a nested function definition", "define helpers at module level"),
    gast.ClassDef: ("a class definition", OUTSIDE),
    gast.Lambda: ("a lambda used as a value here", "bind it to a name, `f = lambda t: ...`, or pass it to a helper"),
    gast.BoolOp: ("`and`/`or` outside a condition", "use them in the test of an `if` statement"),
    gast.ListComp: ("a list comprehension here", "use it as the one positional argument of a call, e.g. "
                    "`np.stack([W @ x for x in xs], axis=1)`, or assign it to a name"),
    gast.SetComp: ("a set comprehension", UNROLL),
    gast.DictComp: ("a dict comprehension", UNROLL),
    gast.GeneratorExp: ("a generator expression here", "use it as the one positional argument of a call, e.g. "
                        "`sum(x ** 2 for x in xs)`"),
    gast.Yield: ("`yield`", "return a single value at the end"),
    gast.YieldFrom: ("`yield from`", "return a single value at the end"),
    gast.Await: ("`await`", OUTSIDE),
    gast.NamedExpr: ("an assignment expression (`:=`)", "assign with a separate statement"),
    gast.Starred: ("a starred argument", "pass the arguments one by one"),
    gast.List: ("a list display", "use separate names or a tuple; lists are allowed as call arguments"),
    gast.Dict: ("a dict display", "use separate names"),
    gast.Set: ("a set display", "use separate names"),
    gast.JoinedStr: ("an f-string", OUTSIDE),
}

COMPREHENSIONS = (gast.ListComp, gast.GeneratorExp)  # accepted as a call's one positional argument (desugar makes a loop)
ALLOWED_AUGMENTED = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)


def check(tree, location, generated=False):
    """`tree` if it is in the subset, else an `UnsupportedSyntaxError` listing every construct outside it.

    A function astgrad `generated` (a gradient differentiated again) may also
    use the stacks its reversed loops use: ``s = []``, ``s.append(v)``,
    ``v = s.pop()``, and loops over ``reversed(range(...))``.
    """
    found = survey(tree, location, generated)
    if found.obstacles:
        raise all_obstacles(in_source_order(found.obstacles), first=found.obstacles[0])
    return tree


@dataclass(frozen=True)
class Survey:
    """What the check found in a function: every obstacle, and how far later stages may still look.

    `flagged` holds the `id`s of the statements of the surveyed tree that an
    obstacle is in (a compound statement when the obstacle is in its header):
    resolve passes over them. `stops` is set by an obstacle in the shape of
    the function itself (its parameters, a misplaced or missing ``return``),
    after which no later stage can look.
    """

    obstacles: tuple  # UnsupportedSyntaxErrors, in the order the check meets them (`in_source_order` sorts them)
    flagged: frozenset = frozenset()
    stops: bool = False


def survey(tree, location, generated=False):
    """The `Survey` of `tree`: every construct outside the subset."""
    found, flagged, stops = [], set(), False
    for error in _check_parameters(tree, location):
        found.append(error)
        stops = True
    body = tree.body
    if body and is_docstring(body[0]):
        body = body[1:]
    for index, statement in enumerate(body):
        is_last = index == len(body) - 1
        if isinstance(statement, gast.Return) and not is_last:
            found.append(location.error(
                UnsupportedSyntaxError, statement, "an early `return` is not supported", hint=ONE_RETURN
            ))  # fmt: skip
            stops = True
            continue
        stops = _survey_statement(statement, is_last, location, generated, found, flagged) or stops
    if not body or not (isinstance(body[-1], gast.Return) or isinstance(body[-1], gast.If) and always_returns(
            [body[-1]])):  # fmt: skip
        last = body[-1] if body else tree
        found.append(location.error(
            UnsupportedSyntaxError,
            last,
            "the function does not end with a `return` of its value",
            hint="end the function with `return <expression>`",
        ))  # fmt: skip
        stops = True
    return Survey(tuple(found), frozenset(flagged), stops)


def in_source_order(errors):
    """`errors` of one file by line and column (those found at one place keep their order)."""
    return sorted(errors, key=lambda error: (error.lineno or 0, error.col_offset or 0))


def _survey_statement(statement, is_last, location, generated, found, flagged, in_loop=False):
    """Add the obstacles of `statement` (and of the statements inside it) to `found`; whether one stops the survey."""
    if _is_nested_helper(statement, is_last):  # its statements holding obstacles are passed over, or all of it
        nested = survey(statement, location)
        found += nested.obstacles
        flagged.update({id(statement)} if nested.stops else nested.flagged)
        return False
    own = list(_check_statement(statement, is_last, location, generated)) + list(
        _check_header(statement, location, generated)
    )
    if own:
        found += own
        flagged.add(id(statement))
    stops = False
    for block, where in _blocks(statement):
        inside_a_loop = in_loop or where == "a loop"
        for inner in block:
            if isinstance(inner, gast.Return) and not inside_a_loop:  # made one result by desugar
                errors = list(_check_return(inner, location))
                found += errors
                flagged.update([id(inner)] if errors else [])
                continue
            if isinstance(inner, gast.Return):
                found.append(location.error(
                    UnsupportedSyntaxError,
                    inner,
                    "a `return` inside a loop is not supported",
                    hint="assign the value to a name and `break`, then return it after the loop",
                ))  # fmt: skip
                stops = True
                continue
            stops = _survey_statement(inner, False, location, generated, found, flagged, inside_a_loop) or stops
    return stops


def _is_nested_helper(statement, is_last):
    """A nested ``def`` (not decorated, not last): a helper, inlined where it is called."""
    return isinstance(statement, gast.FunctionDef) and not statement.decorator_list and not is_last


def _check_parameters(tree, location):
    args = tree.args
    if args.posonlyargs:
        yield location.error(
            UnsupportedSyntaxError,
            args.posonlyargs[0],
            "a positional-only parameter (`/`)",
            hint="remove the `/` marker",
        )


def is_docstring(statement):
    """Whether `statement` is a string on its own (a docstring)."""
    return isinstance(statement, gast.Expr) and isinstance(statement.value, gast.Constant) and isinstance(
        statement.value.value, str
    )


def _check_header(statement, location, generated=False):
    """The obstacles in the test of an `if` or `while`, or in the target and sequence of a `for`."""
    if isinstance(statement, gast.If):
        yield from _check_condition(statement.test, location)
    elif isinstance(statement, gast.For):
        yield from _check_for(statement, location, generated)
    elif isinstance(statement, gast.While):
        yield from _check_while(statement, location)


def _blocks(statement):
    """The blocks of statements inside `statement` (an `if`'s branches, a loop's body), with what holds them."""
    if isinstance(statement, gast.If):
        return [(statement.body, "an `if`"), (statement.orelse, "an `if`")]
    if isinstance(statement, (gast.For, gast.While)):
        return [(statement.body, "a loop")]
    return []


def _check_while(statement, location):
    """``while condition:`` with no ``else``, and a condition that can become false."""
    if statement.orelse:
        yield location.error(
            UnsupportedSyntaxError,
            statement.orelse[0],
            "a `while` loop's `else` is not supported",
            hint="run that code after the loop",
        )
    if isinstance(statement.test, gast.Constant) and not (statement.test.value and breaks_in(statement.body)):
        runs = bool(statement.test.value)
        yield location.error(
            UnsupportedSyntaxError,
            statement.test,
            f"`while {statement.test.value!r}` " + ("has no way out: no `break` leaves it" if runs else
                                                    "never runs its body"),
            hint="add `if <condition>: break` to its body, or write the condition to stop at as the loop's test, "
            "e.g. `while error > tolerance:`" if runs else "remove the loop",
        )
        return
    for node in gast.walk(statement.test):
        if any(isinstance(child, COMPREHENSIONS) for child in gast.iter_child_nodes(node)):
            yield location.error(
                UnsupportedSyntaxError,
                node,
                "a comprehension in a `while` loop's test would be computed once, not before each iteration",
                hint="compute it into a name before the loop and again at the end of its body",
            )
            return
    yield from _check_condition(statement.test, location)


def _check_for(statement, location, generated=False):
    """``for i in range(...)``, or over a sequence: ``for x in xs``, ``enumerate``, ``zip``, ``reversed``."""
    if statement.orelse:
        yield location.error(
            UnsupportedSyntaxError,
            statement.orelse[0],
            "a `for` loop's `else` is not supported",
            hint="run that code after the loop",
        )
    iterable, target = statement.iter, statement.target
    called = iterable.func.id if isinstance(iterable, gast.Call) and isinstance(iterable.func, gast.Name) else None
    if called == "reversed" and len(iterable.args) == 1 and _is_range(iterable.args[0]) and generated:
        iterable, called = iterable.args[0], "range"
    if called == "range" and 1 <= len(iterable.args) <= 3 and not iterable.keywords:
        yield from _check_loop_target(target, location, names=1)
        if breaks_in(statement.body):
            yield from _check_range_with_a_break(iterable, location)
        for argument in iterable.args:
            yield from _check_expression(argument, location)
        return
    if called in ("enumerate", "zip", "reversed") and not iterable.keywords and iterable.args and (
            called == "zip" or len(iterable.args) == 1):  # fmt: skip
        sequences = iterable.args
        if called == "enumerate":
            errors = list(_check_loop_target(target, location, names=2))
            yield from errors or _check_loop_target(target.elts[0], location, names=1)
        elif called == "zip":
            yield from _check_loop_target(target, location, names=len(sequences))
        else:
            yield from _check_loop_target(target, location)
    elif called is None:
        sequences = [iterable]
        yield from _check_loop_target(target, location)
    else:
        yield location.error(
            UnsupportedSyntaxError,
            iterable,
            "a loop over a computed sequence is not supported (only over `range(...)`, a sequence, "
            "`enumerate`, `zip` or `reversed` of sequences)",
            hint="assign the sequence to a name before the loop",
        )
        return
    for sequence in sequences:
        if isinstance(sequence, (gast.Call, gast.GeneratorExp, gast.ListComp)):
            yield location.error(
                UnsupportedSyntaxError,
                sequence,
                "a loop over a computed sequence is not supported",
                hint="assign the sequence to a name before the loop",
            )
            continue
        yield from _check_expression(sequence, location)


def _check_range_with_a_break(iterable, location):
    """A loop left by a ``break`` becomes a ``while`` over its index, which needs the step's sign."""
    args = iterable.args
    if len(args) == 3 and literal_step(args[2]) is None:
        yield location.error(
            UnsupportedSyntaxError,
            args[2],
            "a `break` in a loop whose step is not a whole number written out is not supported",
            hint="write the step as a number, e.g. `range(a, b, 2)`, or write a `while` loop with its own test",
        )


def _is_range(node):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == "range"


def _check_loop_target(target, location, names=None):
    """A loop's target: a name, or a tuple of them (of `names` if given)."""
    if isinstance(target, gast.Name) and names in (None, 1):
        return
    if isinstance(target, (gast.Tuple, gast.List)) and names != 1 and (names is None or len(target.elts) == names):
        for element in target.elts:
            yield from _check_loop_target(element, location)
        return
    yield location.error(
        UnsupportedSyntaxError,
        target,
        "this loop target is not supported",
        hint="use one name, or a tuple of names that unpacks each element",
    )


def _check_return(statement, location):
    if statement.value is None:
        yield location.error(
            UnsupportedSyntaxError, statement, "`return` without a value", hint="return the function's value"
        )
        return
    yield from _check_expression(statement.value, location)


def _check_condition(test, location):
    """A condition: comparisons (chained or not) and expressions, combined with `and`, `or`, `not`."""
    if isinstance(test, gast.BoolOp):
        for value in test.values:
            yield from _check_condition(value, location)
    elif isinstance(test, gast.UnaryOp) and isinstance(test.op, gast.Not):
        yield from _check_condition(test.operand, location)
    elif isinstance(test, gast.Compare):
        if any(type(op) not in COMPARISONS for op in test.ops):
            yield location.error(
                UnsupportedSyntaxError,
                test,
                "only comparisons with < <= > >= == != are supported",
                hint="compare numbers with < <= > >= == !=",
            )
        for operand in [test.left] + test.comparators:
            yield from _check_expression(operand, location)
    else:
        yield from _check_expression(test, location)


def is_stack_statement(statement):
    """``s = []``, ``s.append(v)`` or ``v = s.pop()``: a stack of generated code."""
    if isinstance(statement, gast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], gast.Name):
        value = statement.value
        if isinstance(value, gast.List) and not value.elts:
            return True
        return _is_method_call(value, "pop", 0)
    return isinstance(statement, gast.Expr) and _is_method_call(statement.value, "append", 1)


def _is_method_call(value, method, count):
    return (
        isinstance(value, gast.Call)
        and isinstance(value.func, gast.Attribute)
        and isinstance(value.func.value, gast.Name)
        and value.func.attr == method
        and len(value.args) == count
        and not value.keywords
        and all(isinstance(a, (gast.Name, gast.Constant)) for a in value.args)
    )


def is_list_statement(statement):
    """``ys = []`` or ``ys.append(value)``: a list the function builds (a stack's statements in generated code)."""
    if isinstance(statement, gast.Assign):
        one_name = len(statement.targets) == 1 and isinstance(statement.targets[0], gast.Name)
        return one_name and isinstance(statement.value, gast.List) and not statement.value.elts
    return isinstance(statement, gast.Expr) and (
        isinstance(statement.value, gast.Call)
        and isinstance(statement.value.func, gast.Attribute)
        and isinstance(statement.value.func.value, gast.Name)
        and statement.value.func.attr == "append"
        and len(statement.value.args) == 1
        and not statement.value.keywords
    )


def _check_statement(statement, is_last, location, generated=False):
    if generated and is_stack_statement(statement):
        return
    if is_list_statement(statement):
        if isinstance(statement, gast.Expr):
            yield from _check_expression(statement.value.args[0], location)
        return
    if isinstance(statement, gast.Assign) and isinstance(statement.value, gast.ListComp) and all(
            isinstance(t, gast.Name) for t in statement.targets):  # fmt: skip
        yield from _check_comprehension(statement.value, location)
        return
    if _is_nested_helper(statement, is_last):  # surveyed on its own (`_survey_statement`)
        return
    reject = REJECTED.get(type(statement))
    if reject:
        what, hint = reject
        yield location.error(UnsupportedSyntaxError, statement, f"{what} is not supported", hint=hint)
        return
    if isinstance(statement, (gast.If, gast.For, gast.While)):
        return
    if isinstance(statement, gast.Return):
        if not is_last:
            yield location.error(
                UnsupportedSyntaxError, statement, "an early `return` is not supported", hint=ONE_RETURN
            )
            return
        yield from _check_return(statement, location)
    elif isinstance(statement, gast.Assign):
        for target in statement.targets:
            yield from _check_target(target, location)
        yield from _check_expression(statement.value, location, is_bound=isinstance(statement.value, gast.Lambda))
    elif isinstance(statement, gast.AnnAssign):
        yield from _check_target(statement.target, location)
        if statement.value is None:
            yield location.error(
                UnsupportedSyntaxError, statement, "an annotation without a value", hint="assign a value or remove it"
            )
            return
        yield from _check_expression(statement.value, location)
    elif isinstance(statement, gast.AugAssign):
        yield from _check_target(statement.target, location, allow_tuple=False)
        if not isinstance(statement.op, ALLOWED_AUGMENTED):
            yield location.error(
                UnsupportedSyntaxError,
                statement,
                "this augmented assignment operator is not supported",
                hint="write `x = x op y` or use one of += -= *= /= **=",
            )
        yield from _check_expression(statement.value, location)
    elif isinstance(statement, (gast.Pass, gast.Break, gast.Continue)):  # only inside a loop: Python says so
        pass
    elif isinstance(statement, gast.Expr):
        reject = REJECTED.get(type(statement.value))
        if reject:
            what, hint = reject
            yield location.error(UnsupportedSyntaxError, statement.value, f"{what} is not supported", hint=hint)
        elif is_docstring(statement):
            yield location.error(
                UnsupportedSyntaxError, statement, "a string statement after the first one", hint="use a # comment"
            )
        elif isinstance(statement.value, gast.Call) and isinstance(statement.value.func, gast.Attribute):
            yield location.error(
                UnsupportedSyntaxError,
                statement,
                f"a method call whose value is thrown away: `.{statement.value.func.attr}()` can only matter "
                "here by changing its object in place (as `x.sort()` does)",
                hint=NEW_VALUE,
            )
        else:
            yield location.error(
                UnsupportedSyntaxError,
                statement,
                "an expression statement: its value is thrown away, so it can only matter for its side effects",
                hint="remove it (side effects such as printing cannot be differentiated), "
                "or assign its value to a name",
            )
    else:
        yield location.error(
            UnsupportedSyntaxError,
            statement,
            f"a `{type(statement).__name__}` statement is not supported",
            hint="use assignments, `if` statements and one final `return`",
        )


def _check_target(target, location, allow_tuple=True):
    if isinstance(target, gast.Name):
        return
    if isinstance(target, (gast.Tuple, gast.List)) and allow_tuple:
        for element in target.elts:
            yield from _check_target(element, location)
        return
    if isinstance(target, gast.Subscript):
        what = "item assignment (`x[...] = ...`)"
    elif isinstance(target, gast.Attribute):
        written = dotted_name(target) or f"(...).{target.attr}"
        yield location.error(
            UnsupportedSyntaxError,
            target,
            f"attribute assignment (`{written} = ...`) changes an object",
            hint=f"assign to a local name instead, `{target.attr} = ...`: a method reads its instance's "
            "attributes as data, and astgrad differentiates functions of values, not changes to objects",
        )
        return
    elif isinstance(target, gast.Starred):
        what = "starred unpacking (`*rest`)"
    else:
        what = "this assignment target"
    yield location.error(UnsupportedSyntaxError, target, f"{what} mutates a value", hint=NEW_VALUE)


def _check_expression(expression, location, is_bound=False):
    # An explicit stack keeps very deep expressions (x + x + ... + x) away
    # from the recursion limit. Each entry remembers whether it is (part of)
    # a call argument or an index, where None, strings and lists are allowed.
    # A lambda is allowed there and as the value bound to a name (`f = lambda t: ...`).
    stack = [(expression, is_bound)]
    while stack:
        node, in_argument = stack.pop()
        if isinstance(node, gast.Lambda) and in_argument:
            yield from _check_parameters(node, location)
            stack.extend((child, False) for child in [node.body] + node.args.defaults)
            continue
        reject = REJECTED.get(type(node))
        if reject and not (in_argument and isinstance(node, gast.List)):
            what, hint = reject
            yield location.error(UnsupportedSyntaxError, node, f"{what} is not supported", hint=hint)
            continue
        if isinstance(node, gast.IfExp):
            yield from _check_condition(node.test, location)
            stack.extend([(node.orelse, False), (node.body, False)])
        elif isinstance(node, gast.Call):
            yield from _check_call(node, location)
            children = [node.func.value] if isinstance(node.func, gast.Attribute) else []
            stack.extend((child, False) for child in reversed(children))
            if len(node.args) == 1 and isinstance(node.args[0], COMPREHENSIONS):  # keywords too: axis=1
                yield from _check_comprehension(node.args[0], location)
                stack.extend((keyword.value, True) for keyword in reversed(node.keywords))
                continue
            stack.extend((child, True) for child in reversed(_call_arguments(node)))
        elif isinstance(node, gast.Attribute):
            stack.append((node.value, False))
        elif isinstance(node, gast.Subscript):
            stack.extend([(node.value, False), (node.slice, True)])
        elif isinstance(node, gast.Slice):
            stack.extend((part, True) for part in (node.lower, node.upper, node.step) if part is not None)
        elif isinstance(node, gast.Compare) and (len(node.ops) != 1 or type(node.ops[0]) not in COMPARISONS):
            yield location.error(
                UnsupportedSyntaxError,
                node,
                "only single comparisons with < <= > >= == != are supported outside a condition",
                hint="write a chained comparison `a < b < c` as `(a < b) * (b < c)`, or test it in an `if`",
            )
        elif isinstance(node, (gast.Tuple, gast.List)):
            stack.extend((child, in_argument) for child in reversed(node.elts))
        elif isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Name)):
            stack.extend((child, False) for child in reversed(list(gast.iter_child_nodes(node))))
        elif isinstance(node, gast.Constant):
            yield from _check_constant(node, in_argument, location)
        elif isinstance(node, (gast.Load, gast.Store, gast.operator, gast.unaryop, gast.cmpop)):
            pass
        else:
            yield location.error(
                UnsupportedSyntaxError,
                node,
                f"a `{type(node).__name__}` expression is not supported",
                hint="use names, numbers, operators and calls",
            )


def _check_comprehension(node, location):
    """``[element for target in sequence if condition ...]``: each ``for`` as a loop, each ``if`` a condition."""
    for generator in node.generators:
        if generator.is_async:
            yield location.error(UnsupportedSyntaxError, generator.iter, "an `async for` in a comprehension is not "
                                 "supported", hint="use a plain `for`")  # fmt: skip
            continue
        loop = gast.copy_location(gast.For(target=generator.target, iter=generator.iter, body=[], orelse=[],
                                           type_comment=None), generator.iter)  # fmt: skip
        yield from _check_for(loop, location)
        for condition in generator.ifs:
            yield from _check_condition(condition, location)
    yield from _check_expression(node.elt, location)


def _check_constant(node, in_argument, location):
    value = node.value
    if isinstance(value, bool) or isinstance(value, (int, float, complex)):
        return
    if in_argument and (value is None or value is Ellipsis or isinstance(value, str)):
        return
    yield location.error(
        UnsupportedSyntaxError,
        node,
        f"the constant {value!r} is not a number",
        hint="use numbers in arithmetic (None, ... and strings only as arguments or indices); "
        "move other values outside the function",
    )


def _call_arguments(node):
    """A call's argument expressions: ``*args`` and ``**mapping`` by what they unpack (resolve unpacks them)."""
    values = []
    for arg in node.args:
        values.append(arg.value if isinstance(arg, gast.Starred) else arg)
    for keyword in node.keywords:
        mapping = keyword.value
        if keyword.arg is None and isinstance(mapping, gast.Dict):
            values += mapping.values
        else:
            values.append(mapping)
    return values


def _check_call(node, location):
    for keyword in node.keywords:
        mapping = keyword.value
        if keyword.arg is None and isinstance(mapping, gast.Dict):
            for key in mapping.keys:
                if not (isinstance(key, gast.Constant) and isinstance(key.value, str)):
                    yield location.error(
                        UnsupportedSyntaxError,
                        key if key is not None else mapping,
                        "a `**{...}` argument whose keys are not strings written out",
                        hint="write the keys as strings, `**{\"w\": w}`, or pass keyword arguments one by one",
                    )
    if not isinstance(node.func, (gast.Name, gast.Attribute)):
        yield location.error(
            UnsupportedSyntaxError,
            node.func,
            "a call of a computed value",
            hint="call a function by its name, e.g. `math.sin(x)` or `helper(x)`",
        )
