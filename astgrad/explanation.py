"""`astgrad.explain`: the program after every stage of the pipeline, for reading and teaching.

    print(astgrad.explain(f))    # every stage as Python source, under a heading
    astgrad.explain(f)           # in Jupyter: the same, highlighted
    astgrad.explain(f)["ssa"]    # one stage's text

The stages are those of `api.transform`, each shown as Python source:

    source    the function as written in its file
    check     the tree that passed the straight-line check, printed back
    resolve   calls resolved to primitives, the user's helpers inlined
    ssa       single assignment: one primitive per line, each name assigned once
    cse       each value computed once: a repeated computation reads the first result
    reverse   the adjoint as the reverse stage writes it, one rule at a time
    arrays    (array code only) the same with the array policy's decisions: unbroadcast,
              uniform adjoints, where the seed is applied, counts
    optimize  the adjoint after clean-up
    names     the generated function, its names tidied (what `astgrad.source(astgrad.grad(f))` gives)

The stages up to cse are `api.front_end`, which `api.transform` and `astgrad.graph`
use too. (This module is not called `explain.py`: the public function `astgrad.explain` would shadow
it, as `astgrad.source` would shadow a `source.py`.)
"""

from __future__ import annotations

import linecache
import textwrap
from dataclasses import dataclass

import gast

from . import api, forward, optimize, rename
from .ir import Derivative, function_def, make_function_def, primal_block, return_line
from .resolve import ResolvedFor, ResolvedIf, ResolvedStack, ResolvedWhile
from .compile import line_origins, to_source, with_origin_comments
from .errors import AstgradError
from .highlight import to_html
from .names import copy_atom

STAGE_TITLES = {
    "source": "the function as written",
    "check": "the tree that passed the straight-line check",
    "resolve": "calls resolved to primitives, helpers inlined",
    "ssa": "single assignment: one primitive per line",
    "cse": "each value computed once",
    "reverse": "the adjoint, one rule at a time, before clean-up",
    "arrays": "the adjoint with the decisions array code needs (shapes, uniform adjoints, the seed)",
    "forward": "the tangents, one rule at a time, before clean-up",
    "optimize": "after clean-up",
    "names": "the generated function, names tidied",
}


# A monospace font for code in HTML; the named fonts first, since a bare `monospace`
# makes browsers shrink the text to their smaller default monospace size.
MONOSPACE = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono','Liberation Mono',monospace"


@dataclass(frozen=True)
class Stage:
    """One stage's program: its name (as in `STAGE_TITLES`), a title and the program as source text."""

    name: str
    title: str
    text: str


class Explanation:
    """The program after every stage; `str()` gives text, Jupyter shows highlighted HTML."""

    def __init__(self, stages):
        self.stages = tuple(stages)

    @property
    def names(self):
        """The stage names, in pipeline order."""
        return tuple(stage.name for stage in self.stages)

    def __iter__(self):
        return iter(self.stages)

    def __getitem__(self, name):
        """The text of the stage called `name`."""
        for stage in self.stages:
            if stage.name == name:
                return stage.text
        raise KeyError(f"no stage {name!r}; the stages are {', '.join(self.names)}")

    def as_text(self, names=None):
        """The stages called `names` (default: all), each under a ``# n. name: title`` heading."""
        if isinstance(names, str):
            names = (names,)
        return "\n".join(
            f"{_heading(number, stage)}\n{stage.text}"
            for number, stage in enumerate(self.stages, 1)
            if names is None or stage.name in names
        )

    def __str__(self):
        return self.as_text()

    __repr__ = __str__

    def _repr_html_(self):
        # The font is named on each element: a notebook's stylesheet may give
        # <pre> an inherited proportional font (JupyterLab's HTML export does).
        parts = [
            f'<p style="margin:0.8em 0 0.2em;font-weight:bold;{MONOSPACE}">{to_html(_heading(number, stage))}</p>'
            f'<pre style="margin:0;padding:0.4em;line-height:1.3;{MONOSPACE}">{to_html(stage.text)}</pre>'
            for number, stage in enumerate(self.stages, 1)
        ]
        return '<div class="astgrad-explain">' + "".join(parts) + "</div>"


def explain(fn: api.Function, wrt: api.Wrt = None, mode: str = "reverse", comments: bool = True) -> Explanation:
    """The `Explanation` of how astgrad differentiates `fn` (same `wrt` and `mode` as `grad`).

    `comments` adds origin comments (which line of `fn` each line came from) to the stages.
    """
    check_mode(mode)
    api._wrt_key(wrt)  # the same type check as grad's
    where = api._caller()
    try:
        stages = api._on_deep_stack(_stages, fn, wrt, mode, comments, where)
    except AstgradError as error:
        raise error.with_traceback(None) from None  # the user's line, not astgrad's insides
    return Explanation(stages)


def check_mode(mode):
    """ValueError for a mode astgrad does not know, NotImplementedError for one `explain` cannot show yet."""
    if mode not in api.MODES:
        raise ValueError(f"mode must be one of {api.MODES}, not {mode!r}")
    if mode not in DERIVATIVE_STAGES:
        raise NotImplementedError(f"explain cannot show mode={mode!r} yet; it shows {tuple(DERIVATIVE_STAGES)}")


def _stages(fn, wrt, mode, comments, where):
    front = api.front_end(fn, where)
    program = front.program
    texts = [
        ("source", written_source(front.function)),
        ("check", to_source(front.function.tree)),
        ("resolve", resolved_source(front.resolved)),
        ("ssa", program_source(front.single_assignment, front.function.tree.name)),
        ("cse", program_source(program, front.function.tree.name)),
    ]
    names = api._wrt_names(program, front.function, wrt)
    api._require_scalar_output(program, front.location, front.function)
    as_tuple = isinstance(wrt, (tuple, list)) or len(names) != 1
    texts += DERIVATIVE_STAGES[mode](program, names, as_tuple, comments)
    return [Stage(name, STAGE_TITLES[name], text) for name, text in texts]


def _reverse_stages(program, names, as_tuple, comments):
    adjoint = api.reverse_adjoint(program, names, as_tuple=as_tuple)
    returned = rename.gradient_names(names, adjoint.names, as_tuple, with_value=False)
    stages = []
    if program.arrays:  # the literal template instances first, then the array decisions
        naive = api.reverse_adjoint(program, names, as_tuple=as_tuple, arrays=False)
        stages.append(("reverse", _printed(naive, program, comments)))
    return stages + _cleaned_stages("arrays" if program.arrays else "reverse", adjoint, program, returned, comments)


def _cleaned_stages(name, derivative, program, returned, comments):
    """The derivative stage `name`, then optimize and names: [(stage name, text)]."""
    optimized = optimize.optimize(derivative)
    named = rename.rename(optimized, program.user_names, returned, bool(program.primal_params))
    return [(name, _printed(derivative, program, comments)), ("optimize", _printed(optimized, program, comments)),
            ("names", _printed(named, program, comments))]  # fmt: skip


def _printed(derivative, program, comments):
    """A generated def's text; with `comments`, derivative lines name the user's expression they came from."""
    text = to_source(function_def(derivative))
    if not comments:
        return text
    return with_origin_comments(text, line_origins(derivative), program.filename)


def _forward_stages(program, names, as_tuple, comments):
    # Array code is differentiated one element at a time by its tangent function (jvp): that is what is shown.
    if program.arrays:
        tangents, returned = forward.jvp(program, names), None
    else:
        tangents = forward.gradient(program, names, as_tuple)
        returned = api.returned_names(program, names, "grad", as_tuple, with_value=False)
    return _cleaned_stages("forward", tangents, program, returned, comments)


# mode -> the stages after ssa for that mode: (program, wrt names, as_tuple, comments) -> [(stage name, text)]
DERIVATIVE_STAGES = {"reverse": _reverse_stages, "forward": _forward_stages}


def written_source(function):
    """The function's text as it stands in its file, comments included, decorators left out, dedented."""
    tree = function.tree
    lines = linecache.getlines(function.filename)[tree.lineno - 1 : tree.end_lineno]
    if not lines or tree.end_col_offset is None:
        return to_source(tree)
    # ast columns count UTF-8 bytes, not characters.
    encoded = [line.encode() for line in lines]
    after = encoded[-1][tree.end_col_offset :].strip()
    if after and not after.startswith(b"#"):  # a lambda inside a longer line: keep the lambda only
        encoded[-1] = encoded[-1][: tree.end_col_offset]
    encoded[0] = b" " * tree.col_offset + encoded[0][tree.col_offset :]
    text = b"".join(encoded).decode(errors="replace")
    return textwrap.dedent(text).rstrip("\n") + "\n"


def resolved_source(resolved):
    """The resolved statements as a def with the user's parameters."""
    tree = resolved.function.tree
    return to_source(make_function_def(tree.name, tree.args, _statements(resolved.statements)))


def _statements(statements):
    """Resolved statements as gast statements (an `if` as the `if` it was, with its resolved branches)."""
    return [_statement(s) for s in statements]


def _statement(s):
    if isinstance(s, ResolvedIf):
        return gast.If(test=s.test, body=_statements(s.body) or [gast.Pass()], orelse=_statements(s.orelse))
    if isinstance(s, ResolvedFor):
        iterable = gast.Call(func=_name("range"), args=list(s.arguments), keywords=[])
        if s.backwards:
            iterable = gast.Call(func=_name("reversed"), args=[iterable], keywords=[])
        return gast.For(target=s.target, iter=iterable, body=_statements(s.body) or [gast.Pass()], orelse=[],
                        type_comment=None)  # fmt: skip
    if isinstance(s, ResolvedWhile):
        return gast.While(test=s.test, body=_statements(s.body) or [gast.Pass()], orelse=[])
    if isinstance(s, ResolvedStack):
        return s.node
    return s


def _name(identifier):
    return gast.Name(id=identifier, ctx=gast.Load(), annotation=None, type_comment=None)


def program_source(program, def_name):
    """The SSA program as a def: one ``name = primitive(atoms)`` line per equation, then the return."""
    lines = primal_block(program.body)
    lines.append(return_line(copy_atom(program.output)))
    return to_source(function_def(Derivative(def_name, program.args, tuple(lines), program.namespace)))


def _heading(number, stage):
    return f"# {number}. {stage.name}: {stage.title}"

