"""The command line, run as users run it (``python -m astgrad ...``) and, for its options, in process."""

import importlib.metadata
import math
import os
import re
import subprocess
import sys
import textwrap

import pytest

import astgrad
from astgrad import cli, primitives_doc, rules
from cases import marked_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART_GRADIENT = (  # with origin comments, which `show` prints by default
    "def d_f(x, y, d_out=1.0):\n"
    "    sin_x = sin(x)\n"
    "    cos_y = cos(y)\n"
    "    d_sin_x = d_out * cos_y  # from line 25: sin(x) * cos(y)\n"
    "    d_cos_y = d_out * sin_x  # from line 25: sin(x) * cos(y)\n"
    "    d_y = -d_cos_y * sin(y)  # from line 25: cos(y)\n"
    "    d_x = d_sin_x * cos(x)  # from line 25: sin(x)\n"
    "    return d_x, d_y\n"
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STEP_WITH_GLOBAL = "def step(x):\n    global scale\n    return x * scale\n"


def astgrad_command(*args, env=None, stdout=subprocess.PIPE):
    """Run ``python -m astgrad ARGS`` from the repository root, its output captured."""
    environment = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "astgrad", *args],
        cwd=ROOT, env=environment, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60,
    )  # fmt: skip


def run_in_process(capsys, *args):
    """(exit status, stdout, stderr) of the command line run in this process."""
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def write(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


# ---- through a subprocess ---------------------------------------------------------------


def test_show_prints_the_generated_source_without_colour_when_piped():
    result = astgrad_command("show", "examples/quickstart.py:f")
    assert (result.returncode, result.stdout, result.stderr) == (0, QUICKSTART_GRADIENT, "")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize("no_color, coloured", [(None, True), ("1", False)])
def test_show_colours_a_terminal_unless_no_color_is_set(no_color, coloured):
    import pty

    leader, follower = pty.openpty()
    env = {"NO_COLOR": no_color} if no_color else {}
    try:
        result = astgrad_command("show", "examples/quickstart.py:f", env=env, stdout=follower)
    finally:
        os.close(follower)
    output = _read_all(leader).replace("\r\n", "\n")
    assert result.returncode == 0
    assert bool(ANSI.search(output)) is coloured
    assert ANSI.sub("", output) == QUICKSTART_GRADIENT
    if coloured:
        assert output.startswith("\x1b[35mdef\x1b[0m \x1b[1;34md_f\x1b[0m(")


def _read_all(descriptor):
    chunks = []
    while True:
        try:
            chunk = os.read(descriptor, 4096)
        except OSError:  # the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(descriptor)
    return b"".join(chunks).decode()


def test_check_says_a_function_is_differentiable():
    result = astgrad_command("check", "examples/relu_sigmoid.py:model")
    assert result.returncode == 0
    assert result.stdout == "examples/relu_sigmoid.py:model: differentiable with respect to a, b, c\n"


def test_check_shows_the_error_with_its_caret(tmp_path):
    path = write(tmp_path, "step.py", STEP_WITH_GLOBAL)
    result = astgrad_command("check", f"{path}:step")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[:3] == [
        f"{path}:2:5: a `global` statement is not supported",
        "        global scale",
        "        ^",
    ]
    assert result.stderr.splitlines()[3].startswith("hint: pass the value in as a parameter")


def test_check_lists_every_obstacle_with_its_caret():
    result = astgrad_command("check", "tests/cases/many_obstacles.py:two_obstacles")
    path = "tests/cases/many_obstacles.py"
    lines = {mark: (number, text) for mark in ("two-listcomp", "two-undefined")
             for number, text in [marked_line(os.path.join(ROOT, path), mark)]}  # fmt: skip
    (comprehension, first), (undefined, second) = lines["two-listcomp"], lines["two-undefined"]
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"{path}:{comprehension}:13: a set comprehension is not supported\n"
        f"    {first}\n"
        "                ^\n"
        "hint: write the iterations out as separate statements, or use NumPy operations on whole arrays\n"
        "\n"
        "2 obstacles in all; the other 1, in source order:\n"
        "\n"
        f"{path}:{undefined}:12: `undefined_scale` is not defined (yet)\n"
        f"    {second}\n"
        "               ^\n"
        "hint: define helper functions above the function you differentiate "
        "(with @grad, the transformation happens where the decorator runs)\n"
    )


def test_missing_file():
    result = astgrad_command("check", "examples/no_such_file.py:f")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "astgrad: error: no such file: examples/no_such_file.py\n"


def test_missing_function():
    result = astgrad_command("show", "examples/relu_sigmoid.py:softplus")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "astgrad: error: examples/relu_sigmoid.py has no function 'softplus'; "
        "the functions it defines: sigmoid, relu, model, d_model, main\n"
    )


def test_file_that_cannot_be_imported(tmp_path):
    path = write(tmp_path, "broken.py", "import astgrad_no_such_module\n\ndef f(x):\n    return x\n")
    result = astgrad_command("show", f"{path}:f")
    assert result.returncode == 2
    assert result.stderr == (
        f"astgrad: error: cannot import {path}: ModuleNotFoundError: No module named 'astgrad_no_such_module'\n"
    )


def test_file_whose_decorator_refuses_a_function(tmp_path):
    path = write(tmp_path, "decorated.py", "import astgrad\n\n@astgrad.grad\n" + STEP_WITH_GLOBAL)
    result = astgrad_command("check", f"{path}:step")
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:5:5: a `global` statement is not supported\n")


def test_graph_prints_the_same_dot_text_as_the_api():
    result = astgrad_command("graph", "examples/quickstart.py:f", "--adjoint")
    assert result.returncode == 0
    expected = astgrad.graph(cli.load_function(os.path.join(ROOT, "examples", "quickstart.py:f")), adjoint=True)
    assert result.stdout == expected


def test_drawing_without_graphviz_says_how_to_install_it(tmp_path):
    result = astgrad_command("graph", "examples/quickstart.py:f", "-o", str(tmp_path / "f.svg"),
                             env={"PATH": str(tmp_path)})  # fmt: skip
    assert (result.returncode, result.stdout) == (1, "")
    assert "needs the Graphviz program `dot`, which is not installed" in result.stderr
    for advice in ("apt install graphviz", "brew install graphviz", "https://graphviz.org/download/", "-o f.dot"):
        assert advice in result.stderr
    assert not (tmp_path / "f.svg").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in `dot` is a shell script")
def test_drawing_runs_dot_with_the_format_of_the_suffix(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_dot = bin_dir / "dot"
    # Stands in for Graphviz: writes its arguments and the DOT text it reads to the -o file.
    fake_dot.write_text('#!/bin/sh\nprintf "%s\\n" "$1" > "$3"\ncat >> "$3"\n')
    fake_dot.chmod(0o755)
    output = tmp_path / "f.png"
    result = astgrad_command("graph", "examples/quickstart.py:f", "-o", str(output),
                             env={"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"})  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, f"wrote {output}\n", "")
    flag, dot_text = output.read_text().split("\n", 1)
    assert flag == "-Tpng"
    assert dot_text == astgrad_command("graph", "examples/quickstart.py:f").stdout


def test_no_command_is_a_usage_error():
    result = astgrad_command()
    assert result.returncode == 2
    assert result.stderr.startswith("usage: astgrad ")


# ---- options, in this process -----------------------------------------------------------


def test_stages_prints_every_stage(capsys):
    status, out, _ = run_in_process(capsys, "show", "examples/quickstart.py:f", "--stages")
    assert status == 0
    stages = re.findall(r"^# \d\. (\w+):", out, flags=re.M)
    assert stages == ["source", "check", "resolve", "ssa", "cse", "reverse", "optimize", "names"]
    assert out.endswith(QUICKSTART_GRADIENT)


def test_stage_selects_stages(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, _ = run_in_process(capsys, "show", "examples/quickstart.py:f", "--stage", "ssa")
    assert (status, out) == (0, "# 4. ssa: single assignment: one primitive per line\n" + (
        "def f(x, y):\n    sin_x = sin(x)\n    cos_y = cos(y)\n    out = sin_x * cos_y\n    return out\n"
    ))  # fmt: skip
    status, _, err = run_in_process(capsys, "show", "examples/quickstart.py:f", "--stage", "forward")
    assert (status, err) == (2, "astgrad: error: no stage 'forward'; the stages are "
                                "source, check, resolve, ssa, cse, reverse, optimize, names\n")  # fmt: skip


@pytest.mark.parametrize("wrt, last_line", [("y", "return d_y"), ("1,0", "return d_y, d_x"), ("-2", "return d_x")])
def test_wrt_by_name_or_position(capsys, monkeypatch, wrt, last_line):
    monkeypatch.chdir(ROOT)
    status, out, _ = run_in_process(capsys, "show", "examples/quickstart.py:f", "--wrt", wrt)
    assert status == 0
    assert out.splitlines()[-1] == "    " + last_line


def test_wrong_wrt_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, _, err = run_in_process(capsys, "check", "examples/quickstart.py:f", "--wrt", "z")
    assert status == 2
    assert err == "astgrad: error: wrt='z' is not a parameter of f; its parameters are ('x', 'y')\n"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["check", "examples/quickstart.py:f", "--wrt", "x,"])
    assert exit_info.value.code == 2
    assert "expected names or positions separated by commas" in capsys.readouterr().err


def test_unknown_mode_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["show", "examples/quickstart.py:f", "--mode", "sideways"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'sideways'" in capsys.readouterr().err


def test_show_forward_mode_prints_tangent_lines_after_their_primal_lines(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, err = run_in_process(capsys, "show", "examples/quickstart.py:f", "--mode", "forward", "--no-comments")
    assert (status, err) == (0, "")
    assert out == (
        "def d_f(x, y):\n"
        "    sin_x = sin(x)\n"
        "    dsin_x_dx = cos(x)\n"
        "    cos_y = cos(y)\n"
        "    dcos_y_dy = -sin(y)\n"
        "    dout_dx = cos_y * dsin_x_dx\n"
        "    dout_dy = sin_x * dcos_y_dy\n"
        "    return dout_dx, dout_dy\n"
    )


def test_show_forward_mode_of_array_code_prints_the_tangent_function(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, err = run_in_process(capsys, "show", "examples/linear_regression.py:loss", "--mode", "forward",
                                      "--wrt", "w", "--no-comments")  # fmt: skip
    assert (status, err) == (0, "")
    assert out.startswith("def jvp_loss(w, b, X, y, w_dot):\n    X_matmul_w = X @ w\n    X_matmul_w_dot = X @ w_dot\n")
    assert out.endswith("    return out, out_dot\n")


def test_a_mode_show_cannot_explain_yet_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(astgrad.api, "MODES", astgrad.api.MODES + ("sideways",))
    status, out, err = run_in_process(capsys, "show", "examples/quickstart.py:f", "--mode", "sideways")
    assert (status, out) == (2, "")
    assert err.startswith("astgrad: error: explain cannot show mode='sideways' yet")


def test_no_comments_leaves_only_code(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, _ = run_in_process(capsys, "show", "examples/relu_sigmoid.py:model", "--no-comments")
    assert status == 0
    assert "#" not in out
    assert out == astgrad.source(astgrad.grad(cli.load_function("examples/relu_sigmoid.py:model")))


def test_colour_can_be_forced_either_way(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, coloured, _ = run_in_process(capsys, "show", "examples/quickstart.py:f", "--color", "always")
    assert ANSI.sub("", coloured) == QUICKSTART_GRADIENT and ANSI.search(coloured)
    _, plain, _ = run_in_process(capsys, "show", "examples/quickstart.py:f", "--color", "never")
    assert plain == QUICKSTART_GRADIENT


def test_target_without_a_function_name(capsys):
    status, _, err = run_in_process(capsys, "check", "examples/quickstart.py")
    assert status == 2
    assert err == (
        "astgrad: error: expected FILE.py:FUNCTION (for example examples/quickstart.py:f), "
        "not 'examples/quickstart.py'\n"
    )


def test_target_that_is_not_a_python_function(capsys, tmp_path):
    path = write(tmp_path, "aliases.py", "import math\n\nhypot = math.hypot\n")
    status, _, err = run_in_process(capsys, "check", f"{path}:hypot")
    assert status == 2
    assert err == (
        f"astgrad: error: {path}:hypot is a builtin_function_or_method, not a function defined with def or lambda\n"
    )


def test_graph_writes_dot_text(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    output = tmp_path / "f.gv"
    status, out, _ = run_in_process(capsys, "graph", "examples/quickstart.py:f", "-o", str(output))
    assert (status, out) == (0, f"wrote {output}\n")
    assert output.read_text() == astgrad.graph(cli.load_function("examples/quickstart.py:f"))


def test_decorated_function_is_taken_as_written(monkeypatch):
    monkeypatch.chdir(ROOT)
    fn = cli.load_function("examples/quickstart.py:f")
    assert not hasattr(fn, "__astgrad__")
    assert fn(0.5, 1.2) == math.sin(0.5) * math.cos(1.2)


def test_parse_wrt():
    assert cli.parse_wrt("x") == "x"
    assert cli.parse_wrt("0") == 0
    assert cli.parse_wrt("-1") == -1
    assert cli.parse_wrt("x, 1") == ("x", 1)


def test_console_script_is_declared():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as file:
        text = file.read()
    assert '[project.scripts]\nastgrad = "astgrad.cli:main"\n' in text


# ---- version, the primitive table, pipes, line width ----------------------------------------


def test_version_is_the_installed_distributions():
    result = astgrad_command("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"astgrad {astgrad.__version__}\n", "")
    assert astgrad.__version__ == importlib.metadata.version("astgrad")


def test_primitives_prints_the_primitive_table(capsys):
    status, out, err = run_in_process(capsys, "primitives")
    assert (status, err) == (0, "")
    assert out == astgrad.primitive_table() == primitives_doc.markdown()
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(rows) == len(rules.all_entries())
    assert "| `y = math.sin(x)`<br>`np.sin(x)` | ∂y/∂x = `cos(x)` | `d_y = cos(x) * d_x` | x ∈ [-2, 2] |" in rows


@pytest.mark.skipif(sys.platform == "win32", reason="pipes closed early are a POSIX matter")
@pytest.mark.parametrize(
    "args, statuses",
    [
        (("show", "examples/mlp.py:loss"), {cli.BROKEN_PIPE}),
        (("primitives",), {cli.BROKEN_PIPE}),
        (("graph", "examples/quickstart.py:f"), {cli.BROKEN_PIPE}),
        # From Python 3.11, argparse drops help it cannot write and exits with 0 itself.
        (("--help",), {cli.BROKEN_PIPE, cli.OK}),
    ],
    ids=["show", "primitives", "graph", "help"],
)
def test_a_reader_that_closed_the_pipe_gets_no_traceback(args, statuses):
    """As ``astgrad ... | head -0``: the pipe's reading end is closed before astgrad writes."""
    reading_end, writing_end = os.pipe()
    os.close(reading_end)
    try:
        result = astgrad_command(*args, stdout=writing_end)
    finally:
        os.close(writing_end)
    assert result.stderr == ""
    assert result.returncode in statuses


@pytest.mark.skipif(sys.platform == "win32", reason="pipes closed early are a POSIX matter")
def test_a_reader_that_stops_after_one_line_gets_it_and_no_traceback():
    """As ``astgrad primitives | head -1``, on a table larger than a pipe holds."""
    process = subprocess.Popen(
        [sys.executable, "-m", "astgrad", "primitives"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    first_line = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    assert (first_line, stderr) == ("# Primitives\n", "")
    assert process.wait(timeout=60) in (cli.OK, cli.BROKEN_PIPE)  # OK if it wrote all before the close


def test_origin_comments_of_the_mlp_gradient_fit_in_79_columns(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status, out, _ = run_in_process(capsys, "show", "examples/mlp.py:loss")
    assert status == 0
    lines = out.splitlines()
    assert max(map(len, lines)) <= 79
    assert lines[lines.index("    # from line 73: np.exp(shifted)") + 1] == (
        "    d_shifted = d_log_probs + d_sum_exp_shifted * exp_shifted"
    )
    assert "    # from line 73: shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdim..." in lines
    assert out == astgrad.source(astgrad.grad(cli.load_function("examples/mlp.py:loss")), comments=True)
    _, code_only, _ = run_in_process(capsys, "show", "examples/mlp.py:loss", "--no-comments")
    assert [line for line in lines if "#" not in line] == code_only.splitlines()
