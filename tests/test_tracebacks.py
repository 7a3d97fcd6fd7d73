"""Tracebacks through generated code, as the interpreter's own exception printer shows them.

A script runs in a fresh interpreter and fails inside a generated gradient;
its stderr must show the generated line and the user's line it came from.
Also the files that make this work (`source_files`): written once, renewed
when used, removed when old, and the fallback when none can be written.
"""

import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

from astgrad import source_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAILING_SCRIPT = """\
import math
import astgrad


def f(x):
    y = math.log(x) * x
    return math.sin(y)


d_f = astgrad.grad(f)
print(d_f.__code__.co_filename)
d_f(-1.0)
"""


def run_script(tmp_path, text, **environment):
    """Run `text` as a script in a fresh interpreter; its completed process (stdout, stderr as text)."""
    script = tmp_path / "user_script.py"
    script.write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("ASTGRAD_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(environment)
    env["PYTHONPATH"] = ROOT
    return subprocess.run(
        [sys.executable, str(script)], env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=60
    )


def test_the_default_printer_shows_the_generated_line_and_the_users_line(tmp_path):
    result = run_script(tmp_path, FAILING_SCRIPT, XDG_CACHE_HOME=str(tmp_path / "cache"))

    assert result.returncode == 1
    filename = result.stdout.strip()
    assert os.path.dirname(filename) == str(tmp_path / "cache" / "astgrad")
    assert re.fullmatch(r"d_f-[0-9a-f]{16}\.py", os.path.basename(filename))
    lines = result.stderr.splitlines()
    frame = lines.index(f'  File "{filename}", line 2, in d_f')
    assert lines[frame + 1] == "    log_x = math.log(x)  # from line 6: math.log(x)"
    assert lines[-1] == "ValueError: math domain error"
    with open(filename) as file:
        assert file.read().splitlines()[1] == "    log_x = math.log(x)  # from line 6: math.log(x)"


FAILING_CLOSURE_SCRIPT = """\
import math
import astgrad


def scaled_log(c):
    def f(x):
        return math.log(x) * c
    return f


d_f = astgrad.grad(scaled_log(2.0))
d_f(0.0)
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tracebacks mark columns from Python 3.11 on")
def test_the_caret_sits_under_the_failing_expression_of_code_compiled_with_closure_variables(tmp_path):
    # `c` is a closure variable of the user's, so the generated code is compiled inside a factory.
    result = run_script(tmp_path, FAILING_CLOSURE_SCRIPT, XDG_CACHE_HOME=str(tmp_path / "cache"))

    lines = result.stderr.splitlines()
    failing = lines.index("    d_x = d_log_x / x  # from line 7: math.log(x)")
    assert lines[failing + 1] == "          ~~~~~~~~^~~"
    assert lines[-1] == "ZeroDivisionError: float division by zero"


FAILING_FORWARD_SCRIPT = """\
import numpy as np
import astgrad


def f(x):
    y = np.log(x) * x
    return np.sum(y)


np.seterr(all="raise")
d_f = astgrad.grad(f, mode="forward")
print(d_f.__code__.co_filename)
d_f(np.array([1.0, -1.0]))
"""


def test_array_codes_forward_gradient_fails_on_its_tangent_functions_line_in_the_drivers_file(tmp_path):
    result = run_script(tmp_path, FAILING_FORWARD_SCRIPT, XDG_CACHE_HOME=str(tmp_path / "cache"))

    assert result.returncode == 1
    filename = result.stdout.strip()
    assert re.fullmatch(r"d_f-[0-9a-f]{16}\.py", os.path.basename(filename))
    lines = result.stderr.splitlines()
    driver = lines.index(f'  File "{filename}", line 12, in d_f')
    assert lines[driver + 1] == "    value, gradient = forward_gradient(jvp_f, (x,), wrt=(0,))"
    tangent = lines.index(f'  File "{filename}", line 3, in jvp_f')  # the tangent function, in the same file
    assert lines[tangent + 1] == "    log_x = np.log(x)  # from line 6: np.log(x)"
    assert lines[-1] == "FloatingPointError: invalid value encountered in log"
    with open(filename) as file:
        text = file.read().splitlines()
    assert (text[1], text[2], text[11]) == (
        "def jvp_f(x, x_dot):", "    log_x = np.log(x)  # from line 6: np.log(x)", "    value, gradient = forward_gradient(jvp_f, (x,), wrt=(0,))"
    )  # fmt: skip


def test_the_same_derivative_is_written_once(tmp_path):
    first = run_script(tmp_path, FAILING_SCRIPT, ASTGRAD_CACHE_DIR=str(tmp_path / "cache"))
    second = run_script(tmp_path, FAILING_SCRIPT, ASTGRAD_CACHE_DIR=str(tmp_path / "cache"))

    assert first.stdout == second.stdout
    assert os.listdir(tmp_path / "cache") == [os.path.basename(first.stdout.strip())]


def test_without_a_writable_directory_the_source_is_in_linecache_only(tmp_path):
    (tmp_path / "a_file").write_text("")
    script = FAILING_SCRIPT.replace(
        "d_f(-1.0)\n",
        "import traceback\n"
        "try:\n"
        "    d_f(-1.0)\n"
        "except ValueError:\n"
        "    traceback.print_exc()\n",
    )
    result = run_script(tmp_path, script, ASTGRAD_CACHE_DIR=str(tmp_path / "a_file" / "cache"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "<astgrad d_f 1>"
    lines = result.stderr.splitlines()
    frame = lines.index('  File "<astgrad d_f 1>", line 2, in d_f')
    assert lines[frame + 1] == "    log_x = math.log(x)  # from line 6: math.log(x)"


def test_an_empty_setting_writes_no_files():
    assert source_files.candidate_directories({"ASTGRAD_CACHE_DIR": "", "XDG_CACHE_HOME": "/x"}) == []


# ---- source_files -------------------------------------------------------------------------

def test_files_are_named_by_their_content_and_written_once(tmp_path):
    text = "def d_f(x, d_out=1.0):\n    return d_out\n"
    path = source_files.write_once(str(tmp_path), "d_f", text)
    assert source_files.write_once(str(tmp_path), "d_f", text) == path
    other = source_files.write_once(str(tmp_path), "d_f", text.replace("d_out\n", "2.0 * d_out\n"))

    assert other != path
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(path), os.path.basename(other)])
    with open(path) as file:
        assert file.read() == text


def test_a_damaged_file_is_written_again(tmp_path):
    text = "def d_f(x, d_out=1.0):\n    return d_out\n"
    path = source_files.write_once(str(tmp_path), "d_f", text)
    with open(path, "w") as file:
        file.write("def d_f(")

    assert source_files.write_once(str(tmp_path), "d_f", text) == path
    with open(path) as file:
        assert file.read() == text


def test_using_a_file_again_renews_it(tmp_path):
    text = "def d_g(x, d_out=1.0):\n    return d_out\n"
    path = source_files.write_once(str(tmp_path), "d_g", text)
    long_ago = time.time() - 100 * 24 * 3600
    os.utime(path, (long_ago, long_ago))

    source_files.write_once(str(tmp_path), "d_g", text)

    assert os.stat(path).st_mtime > time.time() - 3600


def test_old_files_are_removed_and_others_kept(tmp_path):
    old = source_files.write_once(str(tmp_path), "d_old", "def d_old():\n    pass\n")
    fresh = source_files.write_once(str(tmp_path), "d_fresh", "def d_fresh():\n    pass\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("not astgrad's")
    long_ago = time.time() - (source_files.MAX_AGE_DAYS + 1) * 24 * 3600
    for path in (old, str(notes)):
        os.utime(path, (long_ago, long_ago))

    source_files.remove_old_files(str(tmp_path))

    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(fresh), "notes.txt"])


@pytest.mark.parametrize(
    "environ, platform, expected",
    [
        ({"ASTGRAD_CACHE_DIR": "/srv/gen"}, "linux", ["/srv/gen"]),
        ({"XDG_CACHE_HOME": "/c"}, "linux", ["/c/astgrad"]),
        ({"XDG_CACHE_HOME": "/c"}, "darwin", ["/c/astgrad"]),
        ({}, "linux", [os.path.join(os.path.expanduser("~"), ".cache", "astgrad")]),
        ({}, "darwin", [os.path.join(os.path.expanduser("~"), "Library", "Caches", "astgrad")]),
        ({"LOCALAPPDATA": "/local"}, "win32", [os.path.join("/local", "astgrad")]),
    ],
    ids=["explicit", "xdg", "xdg-on-macos", "home", "macos", "windows"],
)
def test_the_cache_directory_follows_the_platforms_convention(environ, platform, expected):
    directories = source_files.candidate_directories(environ, platform)
    if "ASTGRAD_CACHE_DIR" in environ:
        assert directories == expected
    else:  # then the temporary directory, should the first not be writable
        assert directories[:1] == expected
        assert os.path.basename(directories[1]).startswith("astgrad-")
        assert len(directories) == 2


def test_a_directory_of_another_user_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "getuid", lambda: os.stat(tmp_path).st_uid + 1)
    assert not source_files._usable(str(tmp_path))
    monkeypatch.undo()
    assert source_files._usable(str(tmp_path))


def test_a_script_shows_the_user_line_of_a_derivative_line(tmp_path):
    script = textwrap.dedent(
        """\
        import math
        import astgrad


        def g(x):
            return math.sqrt(x) * 3.0


        astgrad.grad(g)(0.0)
        """
    )
    result = run_script(tmp_path, script, ASTGRAD_CACHE_DIR=str(tmp_path / "cache"))

    assert result.stderr.splitlines()[-1] == "ZeroDivisionError: float division by zero"
    assert "    d_x = d_sqrt_x * (0.5 / sqrt_x)  # from line 6: math.sqrt(x)" in result.stderr.splitlines()
