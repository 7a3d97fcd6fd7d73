"""How astgrad is packaged: the metadata, the annotations a user's type checker sees, and an sdist that tests itself.

The type checks run ``mypy --strict`` on a small user file, as a user would.
The sdist check builds a source distribution of a copy of the project and
compares its file list with the project's files.
"""

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap

import pytest

import astgrad

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---- metadata ---------------------------------------------------------------------------


def test_metadata_names_the_licence_authors_and_python_versions():
    metadata = importlib.metadata.metadata("astgrad")
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Author"] == "The astgrad authors"
    assert metadata["Version"] == astgrad.__version__
    classifiers = metadata.get_all("Classifier")
    for minor in range(9, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Typing :: Typed" in classifiers
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as file:
        licence = file.read()
    assert licence.startswith("MIT License\n\nCopyright (c) the astgrad authors\n")


# ---- the annotations, as a user's type checker sees them ------------------------------------

USER_CODE = '''
    """A user's module: every public function, used as the docs show."""

    import math
    from typing import Optional, Tuple

    import astgrad


    @astgrad.grad
    def f(x: float, y: float) -> float:
        return math.sin(x) * math.cos(y)


    @astgrad.grad(wrt="x")
    def g(x: float, y: float) -> float:
        return x * y


    def h(x: float) -> float:
        return x * x * x


    def h_and_aux(x: float) -> Tuple[float, float]:
        return x * x * x, 2.0 * x


    d_x, d_y = f(0.5, 1.2)
    slope: float = g(2.0, 3.0)
    value, d_h = astgrad.value_and_grad(h)(2.0)
    curvature: float = astgrad.hessian(h)(2.0)
    h_value, tangent = astgrad.jvp(h)(2.0, 1.0)
    forward: float = astgrad.grad(h, wrt=0, mode="forward")(2.0)
    slope_at_2, aux = astgrad.grad(h_and_aux, has_aux=True)(2.0)
    jacobian: float = astgrad.jacobian(h, mode="forward")(2.0)
    product: float = astgrad.hvp(h)(2.0, 1.0)
    astgrad.check_grads(h, 2.0, modes=("reverse",), order=1)
    both = astgrad.grad(g, wrt=("x", 1))
    text: str = astgrad.source(g, comments=True)
    table: str = astgrad.primitive_table()
    stages: str = astgrad.explain(h)["ssa"]
    dot_text: str = astgrad.graph(h) + ""
    version: str = astgrad.__version__
    try:
        astgrad.grad(math.hypot)
    except astgrad.AstgradError as error:
        line: Optional[int] = error.lineno
        hint: Optional[str] = error.hint
    assert (slope, curvature, forward) == (3.0, 12.0, 12.0)
    assert (slope_at_2, aux, jacobian, product) == (12.0, 4.0, 12.0, 12.0)
'''

USER_CODE_WITH_TYPE_ERRORS = '''
    import astgrad


    def h(x: float) -> float:
        return x * x * x


    dh = astgrad.grad(h, wrt=1.5)
    text: int = astgrad.source(dh)
'''


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    """One cache for the module's runs: the second one does not read NumPy's stubs again."""
    return tmp_path_factory.mktemp("mypy_cache")


def run_mypy(directory, source, cache):
    """``mypy --strict`` on `source`, written as user_code.py in `directory`: (status, report)."""
    path = directory / "user_code.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(astgrad.__file__)))
    installed = {os.path.realpath(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")}
    if os.path.realpath(package_parent) not in installed:
        # A checkout or an editable install, whose import hook mypy cannot follow.
        env["MYPYPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("MYPYPATH")]))
    # Silent, as for an installed package: astgrad's untyped internals are not the user's to fix.
    command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--cache-dir", str(cache)]
    result = subprocess.run(
        command + [path.name], cwd=directory, env=env, capture_output=True, text=True, timeout=300
    )
    return result.returncode, result.stdout + result.stderr


def test_a_strict_type_check_of_user_code_passes(tmp_path, mypy_cache):
    status, report = run_mypy(tmp_path, USER_CODE, mypy_cache)
    assert (status, report) == (0, "Success: no issues found in 1 source file\n")
    # The same file runs: what it claims of the types is what astgrad returns.
    subprocess.run([sys.executable, "user_code.py"], cwd=tmp_path, check=True, capture_output=True, timeout=60)


def test_a_strict_type_check_reports_a_wrong_use(tmp_path, mypy_cache):
    status, report = run_mypy(tmp_path, USER_CODE_WITH_TYPE_ERRORS, mypy_cache)
    assert status == 1
    errors = [line for line in report.splitlines() if ": error: " in line]
    assert len(errors) == 2, report
    assert errors[0].startswith("user_code.py:9: error: No overload variant of \"grad\" matches argument types")
    assert errors[1] == (
        'user_code.py:10: error: Incompatible types in assignment (expression has type "str", '
        'variable has type "int")  [assignment]'
    )


# ---- the source distribution --------------------------------------------------------------

NOT_SOURCE = (".git", "*.egg-info", "__pycache__", "*.py[cod]", ".pytest_cache", ".mypy_cache", ".benchmarks",
              ".venv", "build", "dist")  # fmt: skip
BUILD_SDIST = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"


def project_files():
    """The project's files, relative to the root: those git tracks, or in an unpacked sdist those on disk.

    Dot-files (CI scripts, git's own) are left out: no test reads them.
    """
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
        ).stdout.split("\0")
        paths = {path for path in listed if path and os.path.isfile(os.path.join(ROOT, path))}
    except (OSError, subprocess.CalledProcessError):  # no git, or not a repository
        ignored = shutil.ignore_patterns(*NOT_SOURCE)
        paths = set()
        for directory, subdirectories, files in os.walk(ROOT):
            subdirectories[:] = sorted(set(subdirectories) - ignored(directory, subdirectories))
            relative = os.path.relpath(directory, ROOT)
            paths |= {os.path.normpath(os.path.join(relative, name)) for name in set(files) - ignored(directory, files)}
    return {path.replace(os.sep, "/") for path in paths if not any(part.startswith(".") for part in path.split("/"))}


def test_the_sdist_holds_every_file_of_the_project_its_tests_read(tmp_path):
    files = project_files()
    source = tmp_path / "source"
    for path in files:  # a copy, so that the build writes nothing into the project
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, path), source / path)
    built = subprocess.run(
        [sys.executable, "-c", BUILD_SDIST, str(tmp_path)], cwd=source, capture_output=True, text=True, timeout=300
    )
    assert built.returncode == 0, built.stderr
    with tarfile.open(tmp_path / built.stdout.strip().splitlines()[-1]) as archive:
        shipped = {member.name.split("/", 1)[1] for member in archive.getmembers() if member.isfile()}
    missing = sorted(files - shipped)
    assert missing == [], f"add these to MANIFEST.in: {missing}"
    assert {"LICENSE", "README.md", "pyproject.toml", "astgrad/py.typed", "tests/cases/__init__.py"} <= shipped
