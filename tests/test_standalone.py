"""`astgrad.source(df, standalone=True)`: the module runs in a fresh interpreter without astgrad, same numbers.

Each exported module is written to a temporary directory and run by
``python -I -S`` (no site-packages, no working directory on the path) with only
NumPy made importable, through a directory holding links to NumPy alone; the
run checks that ``import astgrad`` fails there and sends its results back by
pickle.
"""

import ast
import importlib.util
import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import astgrad
from astgrad import cli, standalone
from astgrad.standalone import ExportError
from support import load_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDARD_AND_NUMPY = {"math", "sys", "linecache", "typing", "os", "types", "traceback", "numpy"}
RUNNER = """
import os
import pickle
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [here, os.path.join(here, "numpy_only")]
try:
    import astgrad
except ImportError:
    astgrad_importable = False
else:
    astgrad_importable = True

import derivative

with open(os.path.join(here, "call.pickle"), "rb") as file:
    name, args, kwargs = pickle.load(file)
result = getattr(derivative, name)(*args, **kwargs)
with open(os.path.join(here, "result.pickle"), "wb") as file:
    pickle.dump((astgrad_importable, sorted(m for m in sys.modules if "astgrad" in m), result), file)
"""


def run_alone(tmp_path, text, name, *args, libraries=("numpy",), **kwargs):
    """The result of ``name(*args, **kwargs)`` from the module `text`, run in a fresh interpreter
    that can import only the standard library and `libraries`."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "derivative.py").write_text(text)
    (tmp_path / "runner.py").write_text(RUNNER)
    with open(tmp_path / "call.pickle", "wb") as file:
        pickle.dump((name, args, kwargs), file)
    numpy_only = tmp_path / "numpy_only"
    numpy_only.mkdir()
    site = os.path.dirname(os.path.dirname(np.__file__))
    for linked in [name + suffix for name in libraries for suffix in ("", ".libs")]:  # .libs: what a wheel bundles
        target = os.path.join(site, linked)
        if os.path.exists(target):
            os.symlink(target, numpy_only / linked)
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(tmp_path / "runner.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "result.pickle", "rb") as file:
        astgrad_importable, astgrad_modules, value = pickle.load(file)
    assert (astgrad_importable, astgrad_modules) == (False, [])
    return value


def assert_same_numbers(actual, expected):
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same_numbers(a, e)
        return
    assert type(actual) is type(expected) and np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-300)


def imported_modules(text):
    tree = ast.parse(text)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            names.add(node.module.split(".")[0])
    return names


def example(target):
    return cli.load_function(os.path.join(ROOT, "examples", target))


def relu_sigmoid():
    return astgrad.value_and_grad(example("relu_sigmoid.py:model")), (2.0, 5.0, -3.0)


def relu_sigmoid_hessian():
    return astgrad.hessian(example("relu_sigmoid.py:model")), (2.0, 5.0, -3.0)


def blobs():
    loss = example("logistic_regression.py:loss")
    X, y = loss.__globals__["make_blobs"](n_per_class=20)
    return loss, (np.array([0.3, -0.7]), 0.1, X, y)


def logistic_regression():
    loss, args = blobs()
    return astgrad.value_and_grad(loss, wrt=("w", "b")), args


def logistic_regression_forward():
    loss, args = blobs()
    return astgrad.grad(loss, wrt=("w", "b"), mode="forward"), args


def logistic_regression_hessian():
    loss, args = blobs()
    return astgrad.hessian(loss, wrt="w"), args


def mlp():
    loss = example("mlp.py:loss")
    module = loss.__globals__
    X, labels = module["make_spirals"](n_per_class=10)
    return astgrad.value_and_grad(loss, wrt=("W1", "b1", "W2", "b2")), (
        *module["init_params"](n_hidden=8), X, module["one_hot"](labels),
    )  # fmt: skip


CASES = [relu_sigmoid, relu_sigmoid_hessian, logistic_regression, logistic_regression_forward,
         logistic_regression_hessian, mlp]  # fmt: skip


def takes_seed(generated):
    code = generated.__code__
    return "d_out" in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_exported_module_gives_the_same_numbers_without_astgrad(tmp_path, case):
    generated, args = case()
    text = astgrad.source(generated, standalone=True)
    assert imported_modules(text) <= STANDARD_AND_NUMPY
    seed = {"d_out": 2.5} if takes_seed(generated) else {}  # not the default, so that the seed is used
    assert_same_numbers(run_alone(tmp_path, text, generated.__name__, *args, **seed), generated(*args, **seed))


def test_math_gradient_module_text():
    generated = astgrad.grad(example("quickstart.py:f"))
    assert astgrad.source(generated, standalone=True) == (
        f'"""`d_f`, generated by astgrad {astgrad.__version__} from quickstart.py.\n'
        "\n"
        "It runs with Python alone; it does not import astgrad.\n"
        '"""\n'
        "\n"
        "from math import cos, sin\n"
        "\n"
        "\n"
        + astgrad.source(generated)
    )
    commented = astgrad.source(generated, comments=True, standalone=True)
    assert commented.endswith(astgrad.source(generated, comments=True))


def test_numpy_module_layout():
    generated, _ = logistic_regression_hessian()
    text = astgrad.source(generated, standalone=True)
    tree = ast.parse(text)
    docstring = ast.get_docstring(tree)
    assert docstring.startswith(f"`hessian_loss`, generated by astgrad {astgrad.__version__}.")
    assert "It runs with NumPy alone (the helpers it calls are copied below from\nastgrad)" in docstring
    imports = [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert imports == [
        "from traceback import format_exception", "from typing import Optional", "import linecache", "import os",
        "import sys", "import types", "import numpy as np",
    ]  # fmt: skip
    definitions = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    # Each helper the code calls, and each one they call in turn; base classes before their subclasses;
    # the tangent function the Hessian calls, then the Hessian itself, last.
    assert definitions[-2:] == ["batched_jvp_d_loss", "hessian_loss"]
    assert {"batched_jacobian", "checked_arguments", "batched_matmul_right_adjoint", "_each", "_ndim"} <= set(definitions)
    assert definitions.index("AstgradError") < definitions.index("IntegerInputError")
    assert "_EXP_LIMITS = {" in text  # a constant sigmoid reads, with the comment above it
    assert len(definitions) == len(set(definitions))


def test_globals_closures_and_aliases_are_written_as_values(tmp_path):
    module = load_module(
        tmp_path,
        """
        import numpy
        import numpy as np
        from math import exp as e

        W = np.array([[1.0, 2.0], [3.0, -4.5]], dtype=np.float32)
        SHAPE = (2,)
        SCALE = 0.1

        def make(scale):
            def f(x, y):
                z = numpy.reshape(W @ x, SHAPE) * y * SCALE
                return scale * np.sum(z) + e(x[0])
            return f
        """,
    )
    generated = astgrad.grad(module.make(2.5))
    text = astgrad.source(generated, standalone=True)
    assert 'W = np.array([[1.0, 2.0], [3.0, -4.5]], dtype="float32")\n' in text
    assert "SHAPE = (2,)\nSCALE = 0.1\n" in text and "scale = 2.5\n" in text
    assert "from math import exp as e\n" in text and "import numpy\n" in text
    args = (np.array([0.5, -1.0]), np.array([2.0, 3.0]))
    assert_same_numbers(run_alone(tmp_path / "run", text, "d_f", *args), generated(*args))


@pytest.mark.parametrize(
    "value",
    [1.5, -0.0, 1e-310, math.inf, -math.inf, 3, True, None, "ij,jk->ik", 1 + 2j, complex(math.inf, 1.0),
     (1, (2.0, [3])), np.float32(0.1), np.int64(7), np.array([[1, 2]]), np.array([1.0, math.nan]),
     np.zeros((0, 3), dtype=np.float32), np.array(2.5), np.array([True, False])],
)  # fmt: skip
def test_values_are_written_as_source_that_gives_them_back(value):
    text = standalone._literal(value, "`v`")
    back = eval(text, {"np": np})
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape
        np.testing.assert_array_equal(back, value)
    elif isinstance(value, float) and math.isnan(value):
        assert math.isnan(back)
    else:
        assert back == value and repr(back) == repr(value)


def test_a_global_that_is_not_a_value_is_refused_with_its_place(tmp_path):
    source = "import fractions\n\nTHIRD = fractions.Fraction(1, 3)\n\n\ndef f(x):\n    return x * THIRD\n"
    module = load_module(tmp_path, source)
    generated = astgrad.grad(module.f)
    with pytest.raises(ExportError) as caught:
        astgrad.source(generated, standalone=True)
    error = caught.value
    assert isinstance(error, astgrad.AstgradError)
    assert (error.filename, error.lineno, error.col_offset) == (module.__file__, 7, 15)
    assert str(error) == (
        f"{module.__file__}:7:16: cannot export `THIRD` (read by d_f): it is a fractions.Fraction, "
        "not a number, an array, a module or a function of the standard library or NumPy\n"
        "        return x * THIRD\n"
        "                   ^\n"
        "hint: pass it to the function as an argument, or make it a module-level number or array"
    )
    assert caught.traceback[-1].frame.code.name == "source"  # no astgrad frames below the public call


def runtime_helpers_read_by(generated):
    code = generated.__code__
    cells = zip(code.co_freevars, generated.__closure__ or ())
    return [name for name, cell in cells if getattr(cell.cell_contents, "__module__", None) == "astgrad.runtime"]


def test_a_name_meaning_two_things_is_refused(tmp_path):
    body = "def f(x, b):\n    return np.sum(np.sin(x) + b) * SCALE\n"
    probe = load_module(tmp_path, "import numpy as np\n\nSCALE = 2.0\n\n" + body)
    helper = runtime_helpers_read_by(astgrad.grad(probe.f))[0]
    # A global of the user's named like that helper: the generated code reads both, the helper renamed.
    module = load_module(tmp_path, f"import numpy as np\n\n{helper} = SCALE = 2.0\n\n" + body.replace("SCALE", helper))
    generated = astgrad.grad(module.f)
    assert {helper, helper + "_1"} <= set(generated.__code__.co_freevars) | set(generated.__code__.co_names)
    with pytest.raises(ExportError) as caught:
        astgrad.source(generated, standalone=True)
    assert caught.value.reason.endswith(f"the name `{helper}` is also needed for something else")
    assert caught.value.hint == "rename the global in your module, so that each name means one thing"


def test_a_module_outside_the_standard_library_and_numpy_is_refused(tmp_path):
    module = load_module(tmp_path, "import numpy as np\n\ndef f(x):\n    return np.sum(np.sin(x))\n")
    generated = astgrad.grad(module.f)
    assert "np.cos(x)" in astgrad.source(generated)
    generated.__globals__["np"] = pytest  # as if the module had named another library np
    with pytest.raises(ExportError, match=r"cannot export `np` \(read by d_f\): it comes from `pytest`, "
                       r"and the exported module imports only the standard library, NumPy and SciPy"):  # fmt: skip
        astgrad.source(generated, standalone=True)


SCIPY_USER = """
import numpy as np
import scipy.special as sp
from scipy import stats
from scipy.stats import multivariate_normal, norm

Phi = stats.norm.cdf


def f(x, mu, s):
    total = np.sum(norm.logpdf(x, mu, s)) + sp.gammaln(s) + Phi(mu)
    return total + multivariate_normal.logpdf(x, mu * np.ones(3), s * np.eye(3))
"""


def test_scipy_code_is_exported_with_its_scipy_imports(tmp_path):
    pytest.importorskip("scipy")  # an optional dependency, in the test extra
    module = load_module(tmp_path, SCIPY_USER)
    generated = astgrad.grad(module.f, wrt=("mu", "s"))
    text = astgrad.source(generated, standalone=True)
    assert "from scipy.stats import multivariate_normal, norm" in text and "Phi = norm.cdf" in text
    assert "It runs with NumPy and SciPy alone" in text
    assert imported_modules(text) <= STANDARD_AND_NUMPY | {"scipy"}
    args = (np.array([0.1, 0.5, -0.3]), 0.2, 1.3)
    result = run_alone(tmp_path / "alone", text, "d_f", *args, libraries=("numpy", "scipy"))
    assert_same_numbers(result, generated(*args))


def test_not_generated_is_a_type_error():
    with pytest.raises(TypeError, match="was not generated by astgrad"):
        astgrad.source(math.sin, standalone=True)


def test_show_standalone_prints_the_module(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status = cli.main(["show", "examples/logistic_regression.py:loss", "--wrt", "w,b", "--standalone"])
    out, err = capsys.readouterr()
    generated = astgrad.grad(cli.load_function("examples/logistic_regression.py:loss"), wrt=("w", "b"))
    assert (status, err) == (0, "")
    assert out == astgrad.source(generated, comments=True, standalone=True)
    status = cli.main(["show", "examples/logistic_regression.py:loss", "--standalone", "--no-comments"])
    out, _ = capsys.readouterr()
    generated = astgrad.grad(cli.load_function("examples/logistic_regression.py:loss"))
    assert (status, out) == (0, astgrad.source(generated, standalone=True))


def test_show_standalone_with_stages_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    status = cli.main(["show", "examples/quickstart.py:f", "--standalone", "--stages"])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == "astgrad: error: --standalone prints a whole module; it does not combine with --stages or --stage\n"


def test_exported_checks_name_the_parameter_as_the_generated_code_does(tmp_path):
    generated, args = logistic_regression()
    path = tmp_path / "exported_logistic_regression.py"
    path.write_text(astgrad.source(generated, standalone=True))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    integer_weights = np.array([1, 2], dtype=np.int64)
    messages = []
    for function in (generated, getattr(exported, generated.__name__)):
        with pytest.raises(TypeError) as caught:
            function(integer_weights, *args[1:])
        messages.append((type(caught.value).__name__, str(caught.value)))
    assert messages[0] == messages[1] == (
        "IntegerInputError",
        "the differentiated argument w is an array of int64, which has no gradient\n"
        "hint: pass a floating-point array, e.g. w.astype(float)",
    )


def test_helpers_installed_without_their_source_are_refused(monkeypatch):
    generated, _ = logistic_regression()

    def no_source(module):
        raise OSError("could not get source code")

    monkeypatch.setattr(standalone.inspect, "getsource", no_source)
    with pytest.raises(ExportError) as caught:
        astgrad.source(generated, standalone=True)
    assert caught.value.reason == (
        "cannot export astgrad's run-time helpers: the source of astgrad.runtime is not installed"
    )
