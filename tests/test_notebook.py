"""astgrad in Jupyter: one small notebook executed headless (nbclient and an IPython kernel).

It checks what a notebook user sees: a refused function reported at its cell
and line with no astgrad frame in the traceback, `explain()`'s HTML in a
monospace font, and a failing generated gradient showing the generated line
and the user's line it came from. Below it, the same formatting with a
stand-in for IPython, without a kernel.
"""

import os
import re
import sys
import types

import pytest

import astgrad
from astgrad import errors

# Older jupyter_core warns on import unless told to use the standard platform directories.
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")

CELLS = [
    "import math\nimport astgrad",
    # In[2]: refused at line 2 of the cell, asked for at line 7
    "def relu(x):\n    global scale\n    y = x * scale\n    return y\n\n\nd_relu = astgrad.grad(relu)",
    "def f(x):\n    y = math.log(x) * x\n    return math.sin(y)\n\n\nastgrad.explain(f)",
    "astgrad.grad(f)(-1.0)",
]


@pytest.fixture(scope="module")
def outputs():
    """Per cell: its outputs, after running the notebook in a fresh kernel (errors do not stop it)."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text) for text in CELLS])
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = ROOT + (os.pathsep + path if path else "")  # the kernel imports this astgrad
    try:
        NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    finally:
        if path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = path
    return [cell.outputs for cell in notebook.cells]


def error_of(cell_outputs):
    (error,) = [output for output in cell_outputs if output.output_type == "error"]
    return error.ename, error.evalue, ANSI_CODE.sub("", "\n".join(error.traceback)).splitlines()


def frame_headers(lines):
    """The lines of an IPython traceback that name a frame (``Cell In[2], line 7``, ``File ...:2, in d_f``)."""
    return [line for line in lines if line.startswith(("Cell In[", "File "))]


def test_a_refused_function_is_reported_at_its_cell_and_line_without_astgrad_frames(outputs):
    name, message, lines = error_of(outputs[1])

    assert name == "UnsupportedSyntaxError"
    assert message.splitlines()[:3] == [
        "Cell In[2], line 2, column 5: a `global` statement is not supported",
        "        global scale",
        "        ^",
    ]
    assert frame_headers(lines) == ["Cell In[2], line 7"]  # the user's call, and nothing of astgrad's
    assert "----> 7 d_relu = astgrad.grad(relu)" in lines
    assert lines[-len(message.splitlines()):] == [f"UnsupportedSyntaxError: {message.splitlines()[0]}"] + (
        message.splitlines()[1:]
    )


def test_explain_shows_its_code_in_a_monospace_font(outputs):
    (result,) = outputs[2]
    page = result.data["text/html"]

    blocks = re.findall(r'<pre style="([^"]*)">', page)
    assert len(blocks) == 8  # one per stage, names the eighth
    assert all(re.search(r"font-family:[^;]*,monospace$", style) for style in blocks)
    assert "# from line 2: math.log(x)" in re.sub(r"<[^>]+>", "", page)


def test_a_traceback_through_a_gradient_shows_the_generated_line_and_the_users_line(outputs):
    name, message, lines = error_of(outputs[3])

    assert (name, message) == ("ValueError", "math domain error")
    headers = frame_headers(lines)
    assert headers[0] == "Cell In[4], line 1"
    assert re.fullmatch(r"File .*d_f-[0-9a-f]{16}\.py:2, in d_f\(x, d_out\)", headers[1])
    assert "----> 2     log_x = math.log(x)  # from line 2: math.log(x)" in lines


# ---- the same, with a stand-in for IPython ------------------------------------------------

class FakeShell:
    """What astgrad asks of IPython: the cell numbers of the code files, and a traceback formatter."""

    def __init__(self, cells):
        self.compile = types.SimpleNamespace(_filename_map=cells)
        self.InteractiveTB = self
        self.formatted = []

    def structured_traceback(self, kind, error, traceback):
        self.formatted.append(traceback)
        return [kind.__name__]


@pytest.fixture
def shell(monkeypatch, tmp_path):
    cell = tmp_path / "4152.py"  # the kernel keeps each cell's code in a temporary file
    cell.write_text("import astgrad\n\ndef relu(x):\n    if x > 0:\n        return x\n    return 0.0\n")
    fake = FakeShell({str(cell): 9})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: fake))
    fake.cell = str(cell)
    return fake


def test_a_cell_is_named_as_ipython_names_it(shell):
    error = errors.NotStraightLineError("an `if` statement", filename=shell.cell, lineno=4, col_offset=4, hint="h")

    assert str(error) == "Cell In[9], line 4, column 5: an `if` statement\n        if x > 0:\n        ^\nhint: h"
    assert errors.notebook_cell(shell.cell) == "In[9]"
    assert errors.notebook_cell(__file__) is None


def test_a_file_outside_a_notebook_keeps_its_compiler_style_place(tmp_path):
    path = tmp_path / "user.py"
    path.write_text("x = 1\n")
    error = errors.AstgradError("no", filename=str(path), lineno=1, col_offset=4)
    assert str(error).splitlines()[0] == f"{path}:1:5: no"


def test_ipython_is_given_the_traceback_without_astgrad_frames(shell):
    def relu(x):
        global scale
        return x * scale

    with pytest.raises(astgrad.UnsupportedSyntaxError) as info:
        astgrad.grad(relu)
    full = [entry.tb_frame.f_code.co_name for entry in walk(info.value.__traceback__)]
    assert full[0] == "test_ipython_is_given_the_traceback_without_astgrad_frames" and "grad" in full

    assert info.value._render_traceback_() == ["UnsupportedSyntaxError"]
    (shown,) = shell.formatted
    assert [entry.tb_frame.f_code.co_name for entry in walk(shown)] == [full[0]]
    assert shown.tb_lineno == info.value.__traceback__.tb_lineno


def walk(traceback):
    while traceback is not None:
        yield traceback
        traceback = traceback.tb_next


def test_outside_ipython_the_rendering_is_pythons_without_astgrad_frames(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    with pytest.raises(astgrad.SourceError) as info:
        astgrad.grad(len)

    lines = info.value._render_traceback_()

    assert lines[0] == "Traceback (most recent call last):"
    this_test = test_outside_ipython_the_rendering_is_pythons_without_astgrad_frames.__name__
    assert [line for line in lines if line.startswith("  File ")] == [
        f'  File "{__file__}", line {info.value.lineno}, in {this_test}'
    ]
    message = str(info.value).splitlines()
    assert lines[-len(message):] == ["astgrad.errors.SourceError: " + message[0]] + message[1:]
