"""The command line: ``astgrad show|check|graph FILE.py:FUNCTION``, ``astgrad primitives`` (or ``python -m astgrad``).

    astgrad show examples/quickstart.py:f             the generated derivative
    astgrad show examples/quickstart.py:f --stages    the program after every stage
    astgrad show examples/mlp.py:loss --standalone    a module with the derivative, runnable without astgrad
    astgrad check examples/quickstart.py:f            is it differentiable? if not, every obstacle: where and why
    astgrad graph examples/quickstart.py:f -o f.svg   the data-flow graph (DOT text without -o)
    astgrad primitives                                what astgrad differentiates (Markdown)
    astgrad --version

The file is imported as a module (its top-level code runs, as with
``import``), so that astgrad can read the function's source. A function the
file decorates with ``@astgrad.grad`` is taken as written, without that
decorator. Exit status: 0 on success, 1 when the function is not
differentiable (or the graph cannot be drawn), 2 for a missing file or
function and other usage errors; 141 when the reader of the output closed
the pipe early (as for a program stopped by SIGPIPE), quietly.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import re
import shutil
import subprocess
import sys
import types
from typing import Optional, Sequence

from . import __version__, api, highlight
from .dataflow import INSTALL_GRAPHVIZ as GRAPHVIZ_INSTALL_HINT
from .dataflow import graph
from .errors import AstgradError
from .explanation import explain

OK, FAILURE, USAGE = 0, 1, 2  # FAILURE: not differentiable, or the graph could not be drawn
BROKEN_PIPE = 128 + 13  # what a shell reports for a program that SIGPIPE (13) stopped
DOT_SUFFIXES = (".dot", ".gv")
INSTALL_GRAPHVIZ = GRAPHVIZ_INSTALL_HINT + "; or write DOT text with `-o {stem}.dot`"


class UsageError(Exception):
    """A command that cannot run as given (no such file or function, a bad option value)."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with `argv` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        try:
            return run(build_parser().parse_args(argv))
        finally:
            sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
    except BrokenPipeError:  # e.g. `astgrad show ... | head -1`: the reader has all it wanted
        _discard_output()
        return BROKEN_PIPE


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; report a usage problem or a refused function on stderr."""
    try:
        return args.command(args)
    except UsageError as error:
        print(f"astgrad: error: {error}", file=sys.stderr)
        return USAGE
    except AstgradError as error:
        print(error, file=sys.stderr)
        return FAILURE


def _discard_output() -> None:
    """Point stdout at the null device, so that the interpreter's last flush finds no closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="astgrad",
        description="Differentiate a Python function by source transformation and show the result.",
    )
    parser.add_argument("--version", action="version", version=f"astgrad {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    show = commands.add_parser("show", help="print the generated derivative (or every stage)")
    _add_target_options(show)
    show.add_argument("--stages", action="store_true", help="print the program after every stage")
    show.add_argument(
        "--stage", action="append", metavar="NAME", help="print this stage only (repeatable), e.g. ssa"
    )
    show.add_argument("--no-comments", dest="comments", action="store_false", help="leave out origin comments")
    show.add_argument(
        "--standalone", action="store_true",
        help="print a whole module that runs without astgrad: the derivative with the imports, values "
        "and run-time helpers it uses",
    )  # fmt: skip
    show.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto",
        help="colour the code: auto (default) when writing to a terminal and NO_COLOR is not set",
    )  # fmt: skip
    show.set_defaults(command=run_show)

    check = commands.add_parser("check", help="say whether a function is differentiable, and if not why")
    _add_target_options(check)
    check.set_defaults(command=run_check)

    draw = commands.add_parser("graph", help="the data-flow graph, as DOT text or drawn by Graphviz")
    _add_target_options(draw, mode=False)
    draw.add_argument("--adjoint", action="store_true", help="add the reverse sweep's edges (dashed)")
    draw.add_argument(
        "-o", "--output", metavar="FILE",
        help="write FILE: DOT text for .dot or .gv, otherwise drawn by Graphviz `dot` in the format "
        "its suffix names (.svg, .png, .pdf); without -o, print DOT text",
    )  # fmt: skip
    draw.set_defaults(command=run_graph)

    table = commands.add_parser("primitives", help="the table of functions astgrad differentiates (Markdown)")
    table.set_defaults(command=run_primitives)
    return parser


def _add_target_options(parser, mode=True):
    parser.add_argument("target", metavar="FILE.py:FUNCTION", help="the function, e.g. examples/quickstart.py:f")
    parser.add_argument(
        "--wrt", type=parse_wrt, metavar="NAMES",
        help="the parameters to differentiate, by name or position, comma-separated (default: all)",
    )  # fmt: skip
    if mode:
        parser.add_argument("--mode", choices=api.MODES, default="reverse", help="default: reverse")


def run_show(args):
    fn = load_function(args.target)
    if args.standalone:
        if args.stages or args.stage:
            raise UsageError("--standalone prints a whole module; it does not combine with --stages or --stage")
        generated = _call(api.grad, fn, wrt=args.wrt, mode=args.mode)
        text = api.source(generated, comments=args.comments, standalone=True)
        sys.stdout.write(highlight.to_ansi(text) if wants_color(args.color, sys.stdout) else text)
        return OK
    explanation = _call(explain, fn, wrt=args.wrt, mode=args.mode, comments=args.comments)
    if args.stages:
        text = explanation.as_text()
    elif args.stage:
        unknown = [name for name in args.stage if name not in explanation.names]
        if unknown:
            raise UsageError(f"no stage {unknown[0]!r}; the stages are {', '.join(explanation.names)}")
        text = explanation.as_text(args.stage)
    else:
        text = explanation.stages[-1].text
    sys.stdout.write(highlight.to_ansi(text) if wants_color(args.color, sys.stdout) else text)
    return OK


def run_check(args):
    fn = load_function(args.target)
    generated = _call(api.grad, fn, wrt=args.wrt, mode=args.mode)
    names = _wrt_names(args.wrt, generated.__astgrad__.primal_params)
    print(f"{args.target}: differentiable with respect to {', '.join(names)}")
    return OK


def run_primitives(args):
    sys.stdout.write(api.primitive_table())
    return OK


def run_graph(args):
    fn = load_function(args.target)
    text = _call(graph, fn, wrt=args.wrt, adjoint=args.adjoint)
    output = args.output
    if output is None:
        sys.stdout.write(text)
        return OK
    suffix = os.path.splitext(output)[1]
    if suffix.lower() in DOT_SUFFIXES:
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)
    else:
        status = _render(text, output, suffix)
        if status != OK:
            return status
    print(f"wrote {output}")
    return OK


def _render(text, output, suffix):
    """Draw DOT `text` into `output` with Graphviz, in the format `suffix` names."""
    if not suffix:
        raise UsageError(f"-o {output}: give the file a suffix (.dot, .svg, .png, .pdf, ...)")
    dot = shutil.which("dot")
    if dot is None:
        stem = os.path.basename(os.path.splitext(output)[0])
        print(
            f"astgrad: error: drawing {output} needs the Graphviz program `dot`, which is not installed\n"
            "hint: " + INSTALL_GRAPHVIZ.format(stem=stem),
            file=sys.stderr,
        )
        return FAILURE
    result = subprocess.run(
        [dot, "-T" + suffix[1:].lower(), "-o", output], input=text, capture_output=True, text=True
    )
    if result.returncode != 0:
        print(f"astgrad: error: Graphviz could not draw {output}:\n{result.stderr.strip()}", file=sys.stderr)
        return FAILURE
    return OK


def _call(function, *args, **kwargs):
    """`function(*args, **kwargs)`, where a bad --wrt or --mode is a usage error.

    (ValueError and TypeError for --wrt, NotImplementedError for a mode `explain` cannot show yet.)
    """
    try:
        return function(*args, **kwargs)
    except AstgradError:
        raise
    except (ValueError, TypeError, NotImplementedError) as error:
        raise UsageError(str(error)) from None


def _wrt_names(wrt, params):
    items = params if wrt is None else wrt if isinstance(wrt, tuple) else (wrt,)
    return [params[item] if isinstance(item, int) else item for item in items]


def parse_wrt(text):
    """``x`` -> "x", ``0`` -> 0, ``x,y`` -> ("x", "y"): what `grad`'s `wrt` takes."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"expected names or positions separated by commas, not {text!r}")
    values = tuple(int(item) if re.fullmatch(r"-?\d+", item) else item for item in items)
    return values[0] if len(values) == 1 else values


def wants_color(choice, stream):
    """Whether to colour output on `stream`: ``always``, ``never``, or ``auto`` (a terminal, and no NO_COLOR)."""
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR")


def load_function(target):
    """The function `target` (``path/to/file.py:name``) names, importing the file as a module."""
    path, colon, qualname = target.rpartition(":")
    if not colon or not path or not qualname:
        raise UsageError(f"expected FILE.py:FUNCTION (for example examples/quickstart.py:f), not {target!r}")
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    module = import_file(path)
    fn = module
    for part in qualname.split("."):
        fn = getattr(fn, part, None)
        if fn is None:
            functions = ", ".join(_functions_of(module)) or "none"
            raise UsageError(f"{path} has no function {qualname!r}; the functions it defines: {functions}")
    if not inspect.isfunction(fn):
        raise UsageError(f"{target} is a {type(fn).__name__}, not a function defined with def or lambda")
    if getattr(fn, "__astgrad__", None) is not None:
        return _as_written(fn, module, path, qualname)
    return fn


def import_file(path):
    """Import the Python file at `path` as a new module (its directory first on sys.path meanwhile).

    The code is compiled under `path` as given, so messages name the file as the user wrote it.
    """
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    name = f"astgrad_cli_{stem}"
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    directory = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, directory)  # as `python FILE.py` does, for the file's own imports
    try:
        with open(path, "rb") as file:
            code = compile(file.read(), path, "exec", dont_inherit=True)
        exec(code, vars(module))
    except AstgradError:
        del sys.modules[name]
        raise  # a decorator in the file refused a function: that is the answer
    except Exception as error:
        del sys.modules[name]
        raise UsageError(f"cannot import {path}: {type(error).__name__}: {error}") from None
    finally:
        sys.path.remove(directory)
    return module


def _functions_of(module):
    return [
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__
    ]


def _as_written(generated, module, path, qualname):
    """The undecorated function of a ``@astgrad.grad`` def (the generated one if there is no such def)."""
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read(), path)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == qualname:
            node.decorator_list = []
            namespace = {}
            exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), vars(module), namespace)
            return namespace[qualname]
    return generated
