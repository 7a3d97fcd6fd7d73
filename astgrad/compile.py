"""Stage 7, compile: generated tree in, a real Python function out.

Takes the optimized generated function (an `ir.Derivative`), prints it as
source text, compiles it and builds the function with the user's globals
(lookups stay live, nothing is written into the user's module) and closure
cells for the user's free variables and for the objects astgrad added. The
function carries a `Generated` record as `__astgrad__`.

The text tracebacks show is the generated def with an origin comment ending
each line that came from a line of the user's (``log_x = log(x)  # from line
5: log(x) * x``), primal lines included, so a failing generated line names
the user's line it computes. The code is compiled under the name of a real
file holding that text (see `source_files`), which every exception printer
reads, and the text is registered in `linecache` under that name (so
`inspect.getsource` needs no disk); when no file can be written, under a
unique pseudo-file name ``<astgrad d_f 3>``, in `linecache` only. A
generated function that calls another (array code's forward-mode driver and
its tangent function) is compiled with it, in one module and one file.
"""

import ast
import itertools
import linecache
import os
import threading
import types
import warnings
import weakref
from collections import Counter
from dataclasses import dataclass

import gast

from . import source_files
from .ir import DERIVATIVE_ROLES, function_def, printed_origins

_counter = itertools.count(1)
_lock = threading.RLock()  # guards both; a finalizer may run (and take it) while this thread holds it
_users = Counter()  # file name -> how many live generated functions were compiled under it


@dataclass
class Generated:
    """What astgrad remembers about a function it generated."""

    source: str  # the generated def, as printed
    filename: str  # the file its code was compiled under (a file in the cache directory, or a pseudo-file name)
    primal_params: tuple  # the user's parameters (not the output seed)
    linecache_text: str  # the text tracebacks and inspect show (the commented def, maybe after a blank line)
    origins: tuple = ()  # per line of `source`: the user's (file, line, column, end column) it came from, or None
    user_filename: str = None  # the file of the user's function
    check_statements: tuple = ()  # lines of `source` starting a check of the arguments (see parse)
    instance: str = None  # the parameter passing a method's instance (`self` of `grad(Model.loglike)`), data
    owner: type = None  # that method's class

    def commented_source(self):
        """`source` with each derivative line ending in ``# from line 3: y = sin(x)``."""
        return with_origin_comments(self.source, self.origins, self.user_filename)

    def register_source(self):
        """Put the source back in linecache (after `linecache.clearcache()`, say)."""
        lines = self.linecache_text.splitlines(True)
        linecache.cache[self.filename] = (len(self.linecache_text), None, lines, self.filename)


def to_source(tree, printer=None):
    """Source text for a gast FunctionDef: astor, or `ast.unparse` where astor cannot run."""
    return _printed(_printable(tree, set()), printer)


def _printed(tree, printer=None):
    if printer is None:
        printer = _astor_printer() or _ast_printer
    return printer(tree)


def _astor_printer():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # astor touches ast.Num on 3.12+
            import astor
    except Exception:  # astor is optional at run time: ast.unparse prints everything we generate
        return None

    def print_with_astor(tree):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # No line wrapping: one statement per line reads best.
            return astor.to_source(tree, pretty_source="".join)

    return print_with_astor


def _ast_printer(tree):
    """The fallback printer (what `gast.unparse` does, on the converted tree)."""
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _printable(node, names):
    """The `ast` tree for the gast tree `node`, ready to print; the names it reads are added to `names`.

    Negative numbers become ``-(abs value)``: every printer prints a bare
    ``Constant(-1) ** 2`` as ``-1 ** 2``, which is -1. The nodes generated
    code is made of are converted here, in one pass (`gast.gast_to_ast` takes
    several times as long on a long function); the others by gast.
    """
    kind = type(node)
    if kind is gast.Name:
        names.add(node.id)
        return ast.Name(id=node.id, ctx=_CONTEXTS[type(node.ctx)])
    if kind is gast.Constant:
        return _signed(ast.Constant(value=node.value, kind=getattr(node, "kind", None)))
    if kind is gast.BinOp:
        return ast.BinOp(left=_printable(node.left, names), op=_OPERATORS[type(node.op)],
                         right=_printable(node.right, names))  # fmt: skip
    if kind is gast.UnaryOp:
        return ast.UnaryOp(op=_OPERATORS[type(node.op)], operand=_printable(node.operand, names))
    if kind is gast.Call:
        return ast.Call(func=_printable(node.func, names), args=[_printable(a, names) for a in node.args],
                        keywords=[_printable(k, names) for k in node.keywords])  # fmt: skip
    if kind is gast.keyword:
        return ast.keyword(arg=node.arg, value=_printable(node.value, names))
    if kind is gast.Attribute:
        return ast.Attribute(value=_printable(node.value, names), attr=node.attr, ctx=_CONTEXTS[type(node.ctx)])
    if kind is gast.Assign:
        targets = [_printable(t, names) for t in node.targets]
        return ast.Assign(targets=targets, value=_printable(node.value, names), type_comment=None)
    if kind is gast.Return:
        return ast.Return(value=None if node.value is None else _printable(node.value, names))
    if kind is gast.Tuple:
        return ast.Tuple(elts=[_printable(e, names) for e in node.elts], ctx=_CONTEXTS[type(node.ctx)])
    if kind is gast.FunctionDef:
        function = _converted(gast.FunctionDef(
            name=node.name, args=node.args, body=[], decorator_list=node.decorator_list, returns=node.returns,
            type_comment=None, type_params=getattr(node, "type_params", []),
        ), names)  # fmt: skip
        function.body = [_printable(statement, names) for statement in node.body]
        return function
    return _converted(node, names)


def _converted(node, names):
    """`_printable` of any node, by `gast.gast_to_ast` and a pass over the result."""
    tree = gast.gast_to_ast(node)
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            names.add(node.id)
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                value[:] = [_signed(item) if isinstance(item, ast.AST) else item for item in value]
                stack.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                signed = _signed(value)
                setattr(node, field, signed)
                stack.append(signed)
    return _signed(tree)


def _signed(node):
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-value))
    return node


_CONTEXTS = {gast.Load: ast.Load(), gast.Store: ast.Store(), gast.Del: ast.Del()}
_OPERATORS = {
    getattr(gast, kind): getattr(ast, kind)()
    for kind in (
        "Add", "Sub", "Mult", "MatMult", "Div", "Mod", "Pow", "LShift", "RShift", "BitOr", "BitXor", "BitAnd",
        "FloorDiv", "Invert", "Not", "UAdd", "USub",
    )
}  # fmt: skip


def build(derivative, function, primal_params, seed=True, callee=None):
    """The Python function for the generated `derivative` (`seed`: whether its last parameter is the output seed).

    `callee` is a generated function `derivative` calls by its name (array
    code's tangent function, which the forward-mode driver runs): it is
    printed and compiled in the same module, before `derivative`, with no
    seed, and reaches it as a closure variable; it carries a `Generated`
    record of its own (the exporter and tracebacks read it).
    """
    parts = ([(callee, False)] if callee is not None else []) + [(derivative, seed)]
    printed = [_print(part, function) for part, _ in parts]
    defined = {part.name for part, _ in parts}
    free = sorted(set().union(*(names for _, _, _, names in printed)) - defined)
    _require_one_meaning(free, [part.namespace for part, _ in parts])
    # What tracebacks and inspect show; comments end lines, so line numbers stay those of the sources.
    shown = "\n".join(text for _, _, text, _ in printed)
    tree_name = derivative.name
    nested = bool(free) or callee is not None
    if nested:
        # Compiling the defs inside a factory whose parameters are the free
        # names makes them closure variables of the generated code (and the
        # callee, defined in the factory, one of its caller's).
        # Shown with the factory's line left blank and the defs at column 0, on the same
        # lines: tracebacks and inspect.getsource show each def as its source prints it.
        shown = "\n" + shown
        text = _inside_factory(shown, free, tree_name)
    else:
        text = shown
    filename = source_files.file_for(tree_name, shown)
    if filename is None:
        with _lock:
            filename = f"<astgrad {tree_name} {next(_counter)}>"
    module_code = compile(text, filename, "exec", dont_inherit=True)
    built = {}
    for (part, part_seed), (tree, source, _, _) in zip(parts, printed):
        code = _function_code(module_code, part.name, nested=nested)
        cells = tuple(
            types.CellType(built[variable]) if variable in built else _cell(variable, part.namespace, function)
            for variable in code.co_freevars
        )  # fmt: skip
        built[part.name] = _function(code, part, tree, source, part_seed, cells, function, primal_params, filename, shown)
    return built[tree_name]


def _inside_factory(shown, free, returned):
    """The module tree of ``def __astgrad_factory__(*free): <the defs of shown>; return returned``.

    Built as a tree rather than as indented text, so that the defs keep the
    lines and columns of `shown`: a traceback's caret sits under the
    expression it shows.
    """
    defs = ast.parse(shown).body
    arguments = ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=name) for name in free], kwonlyargs=[], kw_defaults=[], defaults=[]
    )
    end = {"lineno": defs[-1].end_lineno, "end_lineno": defs[-1].end_lineno, "col_offset": 0, "end_col_offset": 0}
    returns = ast.Return(value=ast.Name(id=returned, ctx=ast.Load(), **end), **end)
    factory = ast.FunctionDef(
        name="__astgrad_factory__", args=arguments, body=[returns], decorator_list=[], **{**end, "lineno": 1}
    )
    if hasattr(ast, "type_param"):  # Python 3.12: every def has type parameters
        factory.type_params = []
    module = ast.fix_missing_locations(ast.Module(body=[factory], type_ignores=[]))  # before the defs: they have theirs
    factory.body[:0] = defs
    return module


def _print(derivative, function):
    """(def, source, the text tracebacks show, the free names it reads) of a generated function."""
    read = set()  # the names the generated code reads
    tree = function_def(derivative)
    source = _printed(_printable(tree, read))
    shown = with_origin_comments(source, line_origins(derivative, roles=None), function.filename, width=None)
    return tree, source, shown, _free_variables(read, derivative.namespace)


def _require_one_meaning(free, namespaces):
    """Functions compiled in one module share their free names: each must mean one object."""
    for variable in free:
        meanings = {id(ns.added[variable]) for ns in namespaces if variable in ns.added and variable not in ns.locals}
        if len(meanings) > 1:
            raise AssertionError(f"`{variable}` names two objects in functions compiled together")


def _function(code, derivative, tree, source, seed, cells, function, primal_params, filename, shown):
    """The function of `code`, a generated function's, with its `Generated` record, its source registered."""
    generated_function = types.FunctionType(
        code, function.globals, tree.name, _defaults(tree, function, seed), cells or None
    )
    generated_function.__kwdefaults__ = _kwdefaults(tree, function, seed)
    generated_function.__module__ = function.globals.get("__name__")
    generated_function.__qualname__ = tree.name
    record = Generated(
        source, filename, tuple(primal_params), shown, line_origins(derivative), function.filename,
        check_statements(derivative), *((None, None) if function.bound else (function.instance, function.owner)),
    )  # fmt: skip
    generated_function.__astgrad__ = record
    record.register_source()
    with _lock:
        _users[filename] += 1
    weakref.finalize(generated_function, _forget, filename)
    return generated_function


def _forget(filename):
    """Drop `filename` from linecache when the last function compiled under it dies."""
    with _lock:
        _users[filename] -= 1
        if not _users[filename]:
            del _users[filename]
            linecache.cache.pop(filename, None)


LINE_WIDTH = 79  # PEP 8's: origin comments stay within it


def line_origins(derivative, roles=DERIVATIVE_ROLES):
    """Per printed line of a generated function's def: the user's expression its line came from, or None.

    Only for lines of these `roles` (None: every line, the primal ones too, as tracebacks show them).
    """
    return (None,) + tuple(origin for line in derivative.lines for origin in printed_origins(line, roles))


def check_statements(derivative):
    """The printed lines (the def's being 0) where a check statement starts, which re-reading drops."""
    starts, position = [], 1
    for line in derivative.lines:
        if line.guard is not None:
            starts.append(position)
        position += line.printed_lines
    return tuple(starts)


def with_origin_comments(source, origins, user_filename, width=LINE_WIDTH):
    """`source` with a ``# from line N: <the user's expression>`` comment for each line that has an origin.

    `origins` has one entry per line of `source`; a line from another file
    (an inlined helper's) names the file too: ``# from helpers.py:4: ...``.
    Each comment ends its line when every commented line then fits in
    `width` columns (or `width` is None). Otherwise each comment stands on its
    own line above the lines of that origin, its expression cut short with
    ``...`` to fit.
    """
    lines = source.splitlines()
    if len(origins) != len(lines):  # a statement printed on several lines: no comments
        return source
    groups = []  # (comment or None, consecutive lines of that origin)
    for origin, pairs in itertools.groupby(zip(origins, lines), key=lambda pair: pair[0]):
        comment = None
        if origin is not None:
            filename, lineno, column, end_column = origin
            quoted = linecache.getline(filename, lineno)
            quoted = (quoted[column:end_column] if column is not None else quoted).strip()
            where = f"line {lineno}" if filename == user_filename else f"{os.path.basename(filename)}:{lineno}"
            comment = f"# from {where}: {quoted}"
        groups.append((comment, [line for _, line in pairs]))
    trailing = width is None or all(
        len(f"{line}  {comment}") <= width for comment, group in groups if comment for line in group
    )
    commented = []
    for comment, group in groups:
        if comment is None:
            commented += group
        elif trailing:
            commented += [f"{line}  {comment}" for line in group]
        else:
            indent = group[0][: len(group[0]) - len(group[0].lstrip())]
            if len(indent) + len(comment) > width:
                comment = comment[: width - len(indent) - len("...")] + "..."
            commented += [indent + comment] + group
    return "\n".join(commented) + "\n"


def _free_variables(read, namespace):
    """The names among those the generated code reads (`read`) that are the user's closure's or astgrad's additions."""
    return {n for n in read if (n in namespace.closure or n in namespace.added) and n not in namespace.locals}


def _function_code(module_code, name, nested):
    for constant in module_code.co_consts:
        if isinstance(constant, types.CodeType):
            if not nested and constant.co_name == name:
                return constant
            if nested:
                return _function_code(constant, name, nested=False)
    raise AssertionError(f"no code object for {name}")


def _cell(variable, namespace, function):
    if variable in namespace.added:
        return types.CellType(namespace.added[variable])
    fn = function.function
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    if variable in cells:
        return cells[variable]
    return types.CellType(namespace.closure[variable])  # a bound method's instance, a helper resolve added


def _defaults(tree, function, seed):
    """The user's own default values (those `tree` keeps), then the seed's 1.0 when it is positional."""
    values = tuple(function.function.__defaults__ or ()) + ((1.0,) if seed and not tree.args.kwonlyargs else ())
    count = len(tree.args.defaults)
    return values[len(values) - count:] if count else None


def _kwdefaults(tree, function, seed):
    if not tree.args.kwonlyargs:
        return None
    defaults = dict(function.function.__kwdefaults__ or {})
    if seed:
        defaults[tree.args.kwonlyargs[-1].id] = 1.0
    return defaults
