"""The source stage (`astgrad.parse.read`) and reading source through `astgrad.grad`.

`read` must give the function's tree with the line and column numbers of the
user's file (for nested functions too), decorators stripped, and the globals
and closure values the body refers to; generated functions must show their
source to `inspect` and in tracebacks, also after `linecache.clearcache()`.
The user-style functions live in tests/cases/source_functions.py; lines are
found by their ``# MARK: <name>`` comments.
"""
import inspect
import linecache
import math
import sys
import textwrap
import traceback

import gast
import pytest

import astgrad
from astgrad import SourceError, parse
from cases import marked_line
from cases import source_functions as S
from support import without_origin_comments


def column(line, text):
    assert text in line
    return line.index(text)


# ---- functions in files ------------------------------------------------------------------

def test_read_function_in_a_file():
    function = parse.read(S.plain)
    def_line, _ = marked_line(S, "plain-def")
    body_line, body_text = marked_line(S, "plain-body")

    assert isinstance(function.tree, gast.FunctionDef)
    assert function.name == "plain"
    assert function.filename == S.__file__
    assert function.globals is S.__dict__
    assert function.closure == {}
    assert function.function is S.plain
    assert function.code is S.plain.__code__
    assert function.tree.lineno == def_line
    assert function.tree.col_offset == 0
    statement = function.tree.body[0]
    assert (statement.lineno, statement.col_offset) == (body_line, 4)
    assert (statement.value.lineno, statement.value.col_offset) == (body_line, column(body_text, "x * y"))
    assert [a.id for a in function.tree.args.args] == ["x", "y"]


def test_grad_of_function_in_a_file():
    df = astgrad.grad(S.plain)  # SCALE * x * y
    assert df(2.0, 5.0) == pytest.approx((15.0, 6.0), rel=1e-15)


def test_nested_function_keeps_the_files_lines_and_columns():
    nested = S.outer()
    function = parse.read(nested)
    def_line, def_text = marked_line(S, "nested-def")
    body_line, body_text = marked_line(S, "nested-body")

    assert function.name == "nested"
    assert function.filename == S.__file__
    assert (function.tree.lineno, function.tree.col_offset) == (def_line, column(def_text, "def nested"))
    assert function.tree.col_offset == 4
    statement = function.tree.body[0]
    assert (statement.lineno, statement.col_offset) == (body_line, 8)
    call = statement.value
    assert isinstance(call, gast.Call)
    assert (call.lineno, call.col_offset) == (body_line, column(body_text, "math.sin(x)"))
    assert (call.end_lineno, call.end_col_offset) == (body_line, column(body_text, "math.sin(x)") + len("math.sin(x)"))
    argument = call.args[0]
    assert (argument.lineno, argument.col_offset) == (body_line, column(body_text, "x)"))

    x = 0.7
    assert astgrad.grad(nested)(x) == pytest.approx(math.cos(x) * x + math.sin(x), rel=1e-14)


def test_nested_function_with_a_less_indented_docstring():
    documented = S.outer_with_docstring()
    function = parse.read(documented)
    return_line, return_text = marked_line(S, "documented-return")
    statement = function.tree.body[-1]
    assert isinstance(statement, gast.Return)
    assert (statement.lineno, statement.col_offset) == (return_line, column(return_text, "return"))
    assert statement.value.col_offset == column(return_text, "x * x * x")
    assert astgrad.grad(documented)(2.0) == pytest.approx(12.0, rel=1e-15)


# ---- decorators ---------------------------------------------------------------------------

def test_other_decorators_are_stripped():
    registered = list(S.REGISTRY)
    function = parse.read(S.decorated)
    def_line, _ = marked_line(S, "decorated-def")
    return_line, _ = marked_line(S, "decorated-return")

    assert function.tree.decorator_list == []
    assert function.tree.lineno == def_line
    assert function.tree.body[0].lineno == return_line

    df = astgrad.grad(S.decorated)
    assert df(2.0) == pytest.approx(12.0, rel=1e-15)
    assert "@" not in astgrad.source(df)
    assert S.REGISTRY == registered  # the decorators did not run again
    assert (S.decorated.label, S.decorated.weight) == ("cubic", 2.0)


def test_grad_used_as_a_decorator():
    assert hasattr(S.d_quadratic, "__astgrad__")
    assert S.d_quadratic(2.0) == pytest.approx(12.0, rel=1e-15)
    assert "@" not in astgrad.source(S.d_quadratic)


def test_grad_below_and_above_another_decorator():
    # @register above @astgrad.grad registers the generated function ...
    assert hasattr(S.registered_exp, "__astgrad__")
    assert S.REGISTRY.count(S.registered_exp.__name__) == 1
    assert S.registered_exp(0.25) == pytest.approx(2.0 * math.exp(0.5), rel=1e-15)
    # ... and @astgrad.grad above @register differentiates the registered function.
    assert S.REGISTRY.count("exp_registered") == 1
    assert S.exp_registered(0.25) == pytest.approx(3.0 * math.exp(0.75), rel=1e-15)
    for generated in (S.registered_exp, S.exp_registered):
        assert "@" not in astgrad.source(generated)


# ---- globals and closures -----------------------------------------------------------------

def test_closure_holding_a_module_and_a_constant():
    fn = S.make_closure(2.0)
    function = parse.read(fn)
    assert function.closure == {"k": 2.0, "m": math}
    assert function.closure["m"] is math
    assert function.globals is S.__dict__
    assert function.globals["SCALE"] == 3.0

    x = 0.3
    assert astgrad.grad(fn)(x) == pytest.approx(2.0 * math.cos(x) + 3.0, rel=1e-15)
    # Another closure over other values is another function, with its own gradient.
    assert astgrad.grad(S.make_closure(5.0))(x) == pytest.approx(5.0 * math.cos(x) + 3.0, rel=1e-15)


def test_global_constant_is_read_when_the_gradient_runs(monkeypatch):
    df = astgrad.grad(S.plain)
    assert df(2.0, 5.0) == pytest.approx((15.0, 6.0), rel=1e-15)
    monkeypatch.setattr(S, "SCALE", 4.0)
    assert df(2.0, 5.0) == pytest.approx((20.0, 8.0), rel=1e-15)


# ---- lambdas --------------------------------------------------------------------------------

def test_lambda():
    df = astgrad.grad(lambda x: x * x)
    assert df(3.0) == pytest.approx(6.0, rel=1e-15)
    assert df(-1.5) == pytest.approx(-3.0, rel=1e-15)


def test_read_lambda_keeps_the_files_lines_and_columns():
    cube = lambda x: x * x * x  # noqa: E731
    lines = inspect.getsourcelines(test_read_lambda_keeps_the_files_lines_and_columns)[0]
    text = next(text for text in lines if "cube = lambda" in text)
    function = parse.read(cube)
    assert function.name == "lambda"
    assert function.filename == __file__
    statement = function.tree.body[0]
    assert isinstance(statement, gast.Return)
    assert statement.lineno == cube.__code__.co_firstlineno
    assert statement.value.col_offset == column(text, "x * x * x")
    assert astgrad.grad(cube)(2.0) == pytest.approx(12.0, rel=1e-15)


def test_two_lambdas_on_one_line():
    lineno, _ = marked_line(S, "two-lambdas")
    assert S.square.__code__.co_firstlineno == S.cube.__code__.co_firstlineno == lineno
    if sys.version_info >= (3, 11):
        # Code positions tell the two apart.
        assert astgrad.grad(S.square)(2.0) == pytest.approx(4.0, rel=1e-15)
        assert astgrad.grad(S.cube)(2.0) == pytest.approx(12.0, rel=1e-15)
    else:
        # Before 3.11 nothing tells them apart: a clear error, not a wrong gradient.
        with pytest.raises(SourceError) as info:
            astgrad.grad(S.square)
        message = str(info.value)
        assert "lambda" in message and str(lineno) in message
        assert "hint: " in message


# ---- exec with and without registered source ---------------------------------------------

def test_function_made_by_exec_with_source_in_linecache():
    text = "def exec_cubic(x):\n    y = x * x\n    return y * x\n"
    filename = "<astgrad test: exec with linecache>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    try:
        namespace = {}
        exec(compile(text, filename, "exec"), namespace)
        function = parse.read(namespace["exec_cubic"])
        assert function.filename == filename
        assert function.tree.lineno == 1
        assert function.tree.body[1].lineno == 3
        assert astgrad.grad(namespace["exec_cubic"])(2.0) == pytest.approx(12.0, rel=1e-15)
    finally:
        linecache.cache.pop(filename, None)


# ---- generated functions ------------------------------------------------------------------

def test_getsource_of_generated_function():
    df = astgrad.grad(S.plain)
    assert without_origin_comments(inspect.getsource(df)) == astgrad.source(df)
    assert astgrad.source(df).startswith(f"def {df.__name__}(")


def test_getsource_of_generated_function_with_closure():
    # The generated code reads the closure's `k` and `m`, so it has a closure too.
    df = astgrad.grad(S.make_closure(2.0))
    assert df.__closure__
    # Closure cells need the def compiled inside a factory function, so the
    # text in linecache is indented like any nested function's (unindented
    # text would put 3.11+ traceback carets four columns off).
    assert without_origin_comments(textwrap.dedent(inspect.getsource(df))) == astgrad.source(df)


def test_source_of_a_plain_function_is_a_type_error():
    with pytest.raises(TypeError):
        astgrad.source(S.plain)


def test_transforming_a_generated_function_after_clearcache():
    df = astgrad.grad(S.cubic)
    assert df(2.0) == pytest.approx(12.0, rel=1e-15)
    linecache.clearcache()

    ddf = astgrad.grad(df)  # reads df's source, which astgrad registers again

    assert ddf(2.0) == pytest.approx(12.0, rel=1e-15)  # d2/dx2 x**3 = 6x
    assert without_origin_comments(inspect.getsource(df)) == astgrad.source(df)
    assert without_origin_comments(inspect.getsource(ddf)) == astgrad.source(ddf)
    linecache.clearcache()
    assert astgrad.grad(ddf)(2.0) == pytest.approx(6.0, rel=1e-15)


def test_transforming_a_generated_closure_after_clearcache():
    dc = astgrad.grad(S.make_closure(2.0))
    linecache.clearcache()
    ddc = astgrad.grad(dc)
    x = 0.3
    assert ddc(x) == pytest.approx(-2.0 * math.sin(x), rel=1e-14)
    assert f"def {dc.__name__}(" in inspect.getsource(dc)


@pytest.mark.parametrize("make", [S.make_square_root, lambda: S.make_scaled_root(2.0)], ids=["globals", "closure"])
def test_traceback_shows_the_generated_line(make):
    fn = make()
    df = astgrad.grad(fn)
    user_line = fn.__code__.co_firstlineno + 1
    generated_line = next(line.strip() for line in inspect.getsource(df).splitlines() if "sqrt(x)" in line)
    assert generated_line.endswith(f"sqrt(x)  # from line {user_line}: " + generated_line.split(" = ")[1].split()[0])

    with pytest.raises(ValueError) as info:
        df(-1.0)  # math.sqrt(-1.0) in the generated primal sweep

    exc = info.value
    last = traceback.extract_tb(exc.__traceback__)[-1]
    assert last.name == df.__name__
    assert last.filename == df.__code__.co_filename
    assert last.line == generated_line
    formatted = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    assert f'File "{df.__code__.co_filename}", line {last.lineno}, in {df.__name__}' in formatted
    assert "    " + generated_line + "\n" in formatted
    assert "math domain error" in formatted


class Scaled:
    factor = 3.0

    def times(self, x):
        return self.factor * x

    @staticmethod
    def plain(x):
        return x

    @classmethod
    def made(cls, x):
        return cls.factor * x


def test_a_bound_method_is_its_function_without_the_instance_which_becomes_a_closure_value():
    instance = Scaled()
    function = parse.read(instance.times)
    assert [a.id for a in function.tree.args.args] == ["x"]
    assert function.closure["self"] is instance and function.instance == "self" and function.bound
    made = parse.read(Scaled.made)
    assert [a.id for a in made.tree.args.args] == ["x"] and made.closure["cls"] is Scaled


def test_a_method_read_from_its_class_names_its_instance_parameter_and_a_staticmethod_none():
    function = parse.read(Scaled.times)
    assert [a.id for a in function.tree.args.args] == ["self", "x"]
    assert (function.instance, function.owner, function.bound) == ("self", Scaled, False)
    assert function.instance_node is function.tree.args.args[0]
    assert parse.read(Scaled.plain).instance is None and parse.read(Scaled.plain).owner is None
