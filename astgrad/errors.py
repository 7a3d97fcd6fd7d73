"""The errors astgrad raises, all at transform time, before any user code runs.

Every error carries the place in the user's file it is about (`filename`,
`lineno`, `col_offset`, the last 0-based as in `ast`) and formats itself like
a compiler message: ``file:line:col: what is wrong`` (column 1-based), the
source line with a caret under the construct, and a hint saying what to write
instead. In IPython and Jupyter a place in a cell is named as IPython names
it, ``Cell In[9], line 3, column 5: what is wrong``, and the traceback IPython
shows stops at the user's code: astgrad's own frames are left out. A
function with several obstacles raises one error listing them all, each so
formatted (`all_obstacles`; the attribute `obstacles`).
"""

from __future__ import annotations

import linecache
import os
import sys
import types
from traceback import format_exception
from typing import Any, Optional, Sequence, TypeVar

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

PRIMITIVE_TABLE = "the primitive table (`astgrad.primitive_table()`, or `astgrad primitives` in a shell)"
"""Where hints send the reader for the functions and forms astgrad differentiates (no docs/ after a pip install)."""


class AstgradError(Exception):
    """Base class of every error astgrad raises about a user's function."""

    def __init__(
        self,
        message: str,
        *,
        filename: Optional[str] = None,
        lineno: Optional[int] = None,
        col_offset: Optional[int] = None,
        hint: Optional[str] = None,
        obstacles: "Sequence[AstgradError]" = (),
    ) -> None:
        self.reason = message
        self.filename = filename
        self.lineno = lineno
        self.col_offset = col_offset
        self.hint = hint
        self._obstacles = tuple(obstacles)
        super().__init__(self._format() + "".join(f"\n\n{other}" for other in self._others()))

    @property
    def obstacles(self) -> "tuple[AstgradError, ...]":
        """Every obstacle found in the function, in source order, each an error of its own (alone: this one)."""
        return getattr(self, "_obstacles", ()) or (self,)

    def _others(self) -> "list[AstgradError]":
        """The obstacles listed after this error's own message: all but the one it is."""
        return [error for error in getattr(self, "_obstacles", ()) if error._place() != self._place()]

    def _place(self) -> "tuple[Any, ...]":
        """What the error says where: two errors with the same place are one obstacle."""
        return (self.filename, self.lineno, self.col_offset, self.reason)

    def _format(self) -> str:
        parts = []
        if self.filename is not None and self.lineno is not None:
            column = (self.col_offset or 0) + 1
            cell = notebook_cell(self.filename)
            if cell is None:
                parts.append(f"{self.filename}:{self.lineno}:{column}: {self.reason}")
            else:
                parts.append(f"Cell {cell}, line {self.lineno}, column {column}: {self.reason}")
            line = linecache.getline(self.filename, self.lineno).rstrip()
            if line:
                parts.append("    " + line)
                parts.append("    " + " " * (self.col_offset or 0) + "^")
        else:
            parts.append(self.reason)
        if self.hint:
            parts.append("hint: " + self.hint)
        if getattr(self, "_obstacles", ()):
            count = len(self._obstacles)
            parts.append(f"\n{count} obstacles in all; the other {count - 1}, in source order:")
        return "\n".join(parts)

    def _render_traceback_(self):
        """The traceback IPython shows for this error (IPython asks for it): without astgrad's frames."""
        traceback = without_package_frames(self.__traceback__)
        shell = _ipython_shell()
        if shell is None:  # not called by IPython: Python's own format
            return "".join(format_exception(type(self), self, traceback)).splitlines()
        return shell.InteractiveTB.structured_traceback(type(self), self, traceback)


class UnsupportedSyntaxError(AstgradError):
    """A construct outside the subset astgrad differentiates (loops, mutation, `try`, ...)."""


NotStraightLineError = UnsupportedSyntaxError  # its name when the subset was straight-line code only


class NoDerivativeError(AstgradError):
    """A call or operator with no derivative template that cannot be inlined."""


class NonScalarOutputError(AstgradError, TypeError):
    """`grad` of a function whose output is not a scalar (a tuple, or an array without a seed)."""


class IntegerInputError(AstgradError, TypeError):
    """A differentiated argument is an array of integers or booleans, which has no gradient (raised at call time)."""


class ArrayInputError(AstgradError, TypeError):
    """An array is passed to a gradient of code that calls no NumPy function, written for numbers (raised at call time)."""


class ArgumentsError(AstgradError, TypeError):
    """A read of ``*args`` or ``**kwargs`` that the call does not provide: an index past its values, a key not passed (raised at the call)."""


class ContainerError(AstgradError, TypeError):
    """A dict, list or tuple argument the function cannot read as written, or holding what has no gradient (raised at the call)."""


class RuleError(AstgradError):
    """A rule given to `astgrad.derivative` or `astgrad.adjoint` that cannot be used (raised when it is registered)."""


class RuleReplacedWarning(UserWarning):
    """A rule registered for a function that already had one: the new rule replaces the old."""


class SourceError(AstgradError):
    """The function's source cannot be read (builtins, C functions, exec, the REPL)."""


Error = TypeVar("Error", bound=AstgradError)


class Location:
    """Where nodes of one function live: its file, for locating errors."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def error(self, cls: type[Error], node: Any, message: str, hint: Optional[str] = None) -> Error:
        """An error of class `cls` pointing at `node` (a node with file line numbers)."""
        return cls(
            message,
            filename=self.filename,
            lineno=getattr(node, "lineno", None),
            col_offset=getattr(node, "col_offset", None),
            hint=hint,
        )


def all_obstacles(errors: Sequence[Error], first: Optional[Error] = None) -> Error:
    """One error standing for every obstacle in `errors` (in source order, at least one).

    It is `first` (by default the first in `errors`): its class, its message,
    then how many obstacles there are and each of the others, so that
    ``except`` clauses and tests written for one obstacle keep working; its
    `obstacles` are `errors`. A single obstacle is raised as it is.
    """
    first = errors[0] if first is None else first
    if len(errors) == 1:
        return first
    combined = type(first).__new__(type(first))
    combined.__dict__.update(first.__dict__)
    AstgradError.__init__(
        combined, first.reason, filename=first.filename, lineno=first.lineno, col_offset=first.col_offset,
        hint=first.hint, obstacles=errors,
    )
    return combined


def notebook_cell(filename):
    """IPython's name for the cell whose code `filename` holds (``In[9]``), or None outside IPython or for a file."""
    shell = _ipython_shell()
    numbers = getattr(getattr(shell, "compile", None), "_filename_map", None) or {}
    number = numbers.get(filename)
    return None if number is None else f"In[{number}]"


def _ipython_shell():
    """The running IPython shell, or None (IPython is never imported here: only a loaded one is asked)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython() if get_ipython is not None else None


def without_package_frames(traceback):
    """A copy of the `traceback` chain without the entries of frames running astgrad's own code."""
    kept = []
    while traceback is not None:
        if os.path.dirname(os.path.abspath(traceback.tb_frame.f_code.co_filename)) != _PACKAGE_DIR:
            kept.append(traceback)
        traceback = traceback.tb_next
    copy = None
    for entry in reversed(kept):
        copy = types.TracebackType(copy, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return copy


class GradientCheckError(AstgradError, AssertionError):
    """`check_grads` found a derivative that differs from central differences (raised at the call)."""
