"""Stage 1, source: a function object in, its syntax tree and context out.

Takes a Python function (a `def` in a file, a nested function, a decorated
function, a lambda whose line allows locating it, or a function astgrad
generated) and gives a `Function`: its `gast.FunctionDef` with decorators
stripped and line/column numbers that are those of the user's file, the file
name, and the globals and closure values the body's names refer to.

(This module is the "source" stage of the pipeline; it is not called
`source.py` because `astgrad.source` is the public function that returns a
generated function's source text.)
"""

import ast
import functools
import inspect
import linecache
import sys
import types
from dataclasses import dataclass, field

import gast

from .errors import PRIMITIVE_TABLE, SourceError, UnsupportedSyntaxError


@dataclass
class Function:
    """A user's function as the later stages see it."""

    tree: gast.FunctionDef
    name: str  # how the function calls itself in messages and generated names
    filename: str
    globals: dict
    closure: dict = field(default_factory=dict)  # free variable name -> value
    primal_params: tuple = None  # for generated functions: the user's parameters
    code: object = None  # the function's code object (identifies it when inlining)
    function: object = None  # the function object itself
    instance: str = None  # a method's parameter naming its instance (or class): its attributes are data
    owner: type = None  # the class a method read from its class (`Model.loglike`) was defined in
    bound: bool = False  # whether the instance is bound (`model.loglike`: a closure value, not a parameter)
    instance_node: object = None  # the instance's parameter in the def (where an error about it points)


def read(fn, where=None):
    """The `Function` for `fn`, or `SourceError` saying why it has none.

    `where` is the (filename, lineno) to blame when `fn` has no source at all.
    A bound method (``model.loglike``, a classmethod ``Model.create``) is its
    function without the first parameter, which names the instance (or class)
    as a closure value: its attributes are data, read when the code runs.
    A `functools.partial` is its function without the parameters it binds,
    their values closure values (data) in the same way.
    """
    if isinstance(fn, types.MethodType) and isinstance(fn.__func__, types.FunctionType):
        return _bound_method(fn, where)
    if isinstance(fn, functools.partial):
        return _partial(fn, where)
    if not isinstance(fn, types.FunctionType):
        raise _no_source(fn, where, _not_a_function_reason(fn))
    if inspect.unwrap(fn) is not fn:
        raise _no_source(
            fn,
            where,
            "it is a wrapper made by another decorator (it has __wrapped__)",
            hint="put @grad directly above the def, below other decorators, "
            "or differentiate the undecorated function",
        )
    generated = getattr(fn, "__astgrad__", None)
    if generated is not None:
        generated.register_source()
    code = fn.__code__
    if code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
        raise _async_def(fn, where)
    if code.co_name == "<lambda>":
        tree = _lambda_tree(fn, where)
        name = "lambda"
    else:
        tree = _def_tree(fn, where)
        name = code.co_name
    tree.decorator_list = []
    if generated is not None:
        tree.body = _without_checks(tree, generated.check_statements)
    owner = _defining_class(fn) if generated is None else generated.owner
    return Function(
        tree=tree,
        name=name,
        filename=code.co_filename,
        globals=fn.__globals__,
        closure=_closure_values(fn),
        primal_params=generated.primal_params if generated is not None else None,
        code=code,
        function=fn,
        instance=tree.args.args[0].id if owner is not None and tree.args.args else None,
        owner=owner,
        instance_node=tree.args.args[0] if owner is not None and tree.args.args else None,
    )


def _bound_method(method, where):
    function = read(method.__func__, where)
    args = function.tree.args
    if not args.args:
        raise _no_source(
            method,
            where,
            "it is a bound method whose function takes no parameter for its instance",
            hint="give the method a first parameter, `self` (or `cls` for a classmethod)",
        )
    function.instance, function.instance_node = args.args[0].id, args.args[0]
    function.owner = None
    function.bound = True
    args.args = args.args[1:]
    function.closure = {**function.closure, function.instance: method.__self__}
    return function


def _partial(partial, where):
    """A `functools.partial`: its function without the parameters it binds, whose values are closure values (data)."""
    function = read(partial.func, where)
    args = function.tree.args
    names = [a.id for a in args.args]
    if len(partial.args) > len(names):
        raise _no_source(partial, where, f"it binds {len(partial.args)} positional arguments to a function of "
                         f"{len(names)}", hint="bind at most as many arguments as the function takes")  # fmt: skip
    bound = dict(zip(names, partial.args))
    for key, value in partial.keywords.items():
        if key not in names + [a.id for a in args.kwonlyargs] or key in bound:
            raise _no_source(partial, where, f"it binds `{key}`, which is not a parameter left to bind",
                             hint="bind the function's own parameters, each once")  # fmt: skip
        bound[key] = value
    first_default = len(args.args) - len(args.defaults)
    defaulted = [a.id for a in args.args[first_default:]]
    kept_defaulted = [n for n in defaulted if n not in bound]
    if kept_defaulted != defaulted[len(defaulted) - len(kept_defaulted):]:
        raise _no_source(partial, where, "it binds a parameter with a default that comes before another one with a "
                         "default", hint="bind the later parameters too, or write a lambda that calls the "
                         "function")  # fmt: skip
    args.defaults = args.defaults[len(args.defaults) - len(kept_defaulted):] if kept_defaulted else []
    args.args = [a for a in args.args if a.id not in bound]
    kept = [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if a.id not in bound]
    args.kwonlyargs, args.kw_defaults = [a for a, _ in kept], [d for _, d in kept]
    function.closure = {**function.closure, **bound}
    return function


def _defining_class(fn):
    """The class `fn` is a plain method of (`Model.loglike`, not a staticmethod), found through its qualified name."""
    *path, name = fn.__qualname__.split(".")
    if not path or "<locals>" in path:
        return None
    owner = fn.__globals__.get(path[0])
    for part in path[1:]:
        owner = getattr(owner, part, None)
    if not isinstance(owner, type) or owner.__dict__.get(name) is not fn:
        return None
    return owner


def _without_checks(tree, check_statements):
    """A generated function's body without its argument checks: its derivative checks its own arguments."""
    return [s for s in tree.body if s.lineno - tree.lineno not in check_statements]


def _not_a_function_reason(fn):
    if isinstance(fn, types.BuiltinFunctionType) or type(fn).__name__ == "ufunc":
        return "it is a built-in function, with no Python source"
    return "it is not a Python function defined with def or lambda"


def _async_def(fn, where):
    """`UnsupportedSyntaxError` at the function's own ``async def`` line (the caller's, if its source is gone)."""
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return _no_source(fn, where, "it is an async function", hint="differentiate a plain def function")
    offset = next((i for i, line in enumerate(lines) if line.lstrip().startswith("async def")), 0)
    filename, lineno = fn.__code__.co_filename, start + offset
    return UnsupportedSyntaxError(
        "an `async def` function is not supported",
        filename=filename,
        lineno=lineno,
        col_offset=_indentation(filename, lineno),
        hint="differentiate a plain def function",
    )


def _no_source(fn, where, reason, hint=None):
    filename, lineno = where if where else (None, None)
    label = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return SourceError(
        f"cannot read the source of `{label}`: {reason}",
        filename=filename,
        lineno=lineno,
        col_offset=_indentation(filename, lineno),
        hint=hint
        or "astgrad reads a function's source: pass a function defined with def in a file "
        "(or in a notebook cell); functions without Python source are differentiable only "
        f"through {PRIMITIVE_TABLE}",
    )


def _indentation(filename, lineno):
    """The column where the blamed line's code starts (its caret goes there)."""
    if lineno is None:
        return None
    line = linecache.getline(filename, lineno)
    return len(line) - len(line.lstrip())


def _source_lines(fn, where):
    try:
        return inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise _no_source(
            fn,
            where,
            f"no source code is available for it ({exc})",
            hint="define the function in a file or notebook cell; code typed at a plain "
            "REPL or made by exec has no readable source",
        ) from None


def _def_tree(fn, where):
    lines, start = _source_lines(fn, where)
    text = "".join(lines)
    first_line_offset = start - 1
    if text[:1].isspace():
        # An indented def (nested function or method): parsing it under
        # `if 1:` keeps its columns the file's columns, where dedenting
        # would shift them (and fails on multi-line strings).
        text = "if 1:\n" + text
        first_line_offset -= 1
    # Blank lines in front give every node its line in the file (no pass over the tree to shift them).
    module = _parse("\n" * first_line_offset + text, fn, where)
    node = module.body[0]
    if isinstance(node, gast.If):
        node = node.body[0]
    if not isinstance(node, gast.FunctionDef) or not _matches(node, fn):
        raise _no_source(
            fn,
            where,
            "the source found for it does not match the function "
            "(was the file edited after it was imported?)",
            hint="reload the module or restart the interpreter",
        )
    return node


def _lambda_tree(fn, where):
    code = fn.__code__
    filename = code.co_filename
    lines = linecache.getlines(filename, fn.__globals__)
    if not lines:
        _source_lines(fn, where)  # raises the SourceError for a missing file
    module = _parse("".join(lines), fn, where)
    candidates = [
        node
        for node in gast.walk(module)
        if isinstance(node, gast.Lambda) and node.lineno == code.co_firstlineno and _matches(node, fn)
    ]
    if len(candidates) > 1:
        candidates = _lambdas_at_first_instruction(candidates, code)
    if len(candidates) != 1:
        raise _no_source(
            fn,
            where,
            f"the lambda on line {code.co_firstlineno} of {filename} "
            + ("cannot be found there" if not candidates else "cannot be told apart from another lambda there"),
            hint="define the function with def",
        )
    lam = candidates[0]
    body = gast.Return(value=lam.body)
    ast.copy_location(body, lam.body)
    tree = gast.FunctionDef(
        name="lambda_",
        args=lam.args,
        body=[body],
        decorator_list=[],
        returns=None,
        type_comment=None,
        type_params=[],
    )
    ast.copy_location(tree, lam)
    return tree


def _lambdas_at_first_instruction(candidates, code):
    """Among lambdas on one line, those whose body holds the code's first located instruction."""
    if sys.version_info < (3, 11):
        return candidates
    for line, end_line, col, end_col in code.co_positions():
        if col is None or line is None:
            continue
        inside = [
            lam
            for lam in candidates
            if (lam.body.lineno, lam.body.col_offset) <= (line, col)
            and (end_line, end_col) <= (lam.body.end_lineno, lam.body.end_col_offset)
        ]
        if inside:
            return inside
    return candidates


def _parse(text, fn, where):
    try:
        return gast.parse(text)
    except (SyntaxError, ValueError) as exc:
        raise _no_source(fn, where, f"its source does not parse ({exc})") from None


def _matches(node, fn):
    code = fn.__code__
    args = node.args
    names = [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]
    if args.vararg:
        names.append(args.vararg.id)
    if args.kwarg:
        names.append(args.kwarg.id)
    expected = code.co_varnames[: len(names)]
    name_ok = isinstance(node, gast.Lambda) or node.name == code.co_name
    return name_ok and tuple(names) == tuple(expected)


def _closure_values(fn):
    values = {}
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # a cell not yet filled: the name stays unresolved
            pass
    return values
