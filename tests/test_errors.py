"""The errors astgrad raises for functions outside its subset.

Every refused input must raise, when `astgrad.grad` is called and before any
of the user's code runs, an `AstgradError` subclass that points at the line
and column of the user's file (a helper's own file when the problem is in a
helper) and formats itself as

    file:line:col: reason
        <the source line>
        <caret under the column>
    hint: what to write instead

The user-style functions live in tests/cases/; the line of each problem is
found by its ``# MARK: <name>`` comment and the column by the construct's
text, so editing those files does not break the tests.
"""
import contextlib
import importlib.util
import linecache
import math
import os
import sys
import threading
from dataclasses import dataclass

import numpy as np
import pytest

import astgrad
from astgrad import AstgradError, NoDerivativeError, UnsupportedSyntaxError, SourceError
from cases import bad_functions, helpers_elsewhere, many_obstacles, marked_line, no_source
from support import load_module

CASES_DIR = os.path.dirname(os.path.abspath(bad_functions.__file__))


# ---- helpers ------------------------------------------------------------------------------

def assert_located(exc, filename, lineno, col_offset, source_line):
    """`exc` points at (filename, lineno, col_offset) and formats itself like a compiler message."""
    assert exc.filename == filename
    assert exc.lineno == lineno
    assert exc.col_offset == col_offset
    text = str(exc)
    assert text.startswith(f"{filename}:{lineno}:{col_offset + 1}: "), text
    lines = text.splitlines()
    shown = "    " + source_line.rstrip()
    assert shown in lines, f"the source line is not shown:\n{text}"
    at = lines.index(shown)
    assert lines[at + 1] == "    " + " " * col_offset + "^", f"the caret is not under column {col_offset + 1}:\n{text}"
    assert any(line.startswith("hint: ") and len(line) > len("hint: ") for line in lines[at + 2:]), text
    assert exc.hint and exc.hint in text


@contextlib.contextmanager
def no_user_code_runs(*functions, cases_dir=True):
    """Record every call into a function of tests/cases/ (or into `functions`) meanwhile.

    With `cases_dir` false only `functions` are watched (for the tests that
    call astgrad.grad from a function in tests/cases/).

    astgrad transforms in a thread of its own, so the profile hook is set for
    new threads as well as for this one. The caller asserts the list is empty.
    """
    calls = []
    watched = {fn.__code__ for fn in functions}

    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code in watched or cases_dir and code.co_filename.startswith(CASES_DIR):
                calls.append(f"{code.co_name} ({code.co_filename}:{frame.f_lineno})")

    old_thread_profile = threading.getprofile() if hasattr(threading, "getprofile") else None
    old_profile = sys.getprofile()
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(old_profile)
        threading.setprofile(old_thread_profile)


@pytest.fixture(autouse=True)
def nothing_ran_before():
    """The case modules' functions record themselves in RAN lists if they ever run."""
    for module in (bad_functions, helpers_elsewhere, no_source):
        assert module.RAN == []
    yield
    for module in (bad_functions, helpers_elsewhere, no_source):
        assert module.RAN == [], f"user code ran: {module.__name__}.RAN == {module.RAN}"


# ---- functions outside the straight-line subset ------------------------------------------

@dataclass
class Case:
    id: str
    function: object  # the function to pass to grad, or a factory of it (see `get`)
    mark: str  # the MARK comment of the line the error must point at
    error: type
    column_text: str  # the construct's text; the error's column is where it starts on the line
    words: tuple  # what the reason must mention, so the user knows what is wrong
    module: object = bad_functions  # the file the error must point into

    def get(self):
        return self.function() if self.id == "nonlocal" else self.function


B = bad_functions
CASES = [
    # Control flow and other statements.
    Case("return inside a loop", B.returns_inside_loop, "return-in-loop", UnsupportedSyntaxError, "return t",
         ("`return` inside a loop",)),
    Case("return inside an if inside a loop", B.returns_inside_an_if_in_a_loop, "return-in-if-in-loop",
         UnsupportedSyntaxError, "return t", ("`return` inside a loop",)),
    Case("assigned in one branch", B.assigns_in_one_branch, "one-branch", UnsupportedSyntaxError, "y * t",
         ("`y`", "only one branch")),
    Case("computation in a later operand of and", B.computes_in_second_operand, "and-computes",
         UnsupportedSyntaxError, "math.log(x) > 1.0", ("evaluated only when",)),
    Case("for over a computed sequence", B.uses_for, "for", UnsupportedSyntaxError, "sorted(", ("computed sequence",)),
    Case("while True", B.uses_while, "while", UnsupportedSyntaxError, "True", ("no way out", "no `break`")),
    Case("while True left only by an inner loop's break", B.leaves_only_an_inner_loop, "inner-break",
         UnsupportedSyntaxError, "True", ("no way out", "no `break`")),
    Case("break in a loop with a computed step", B.breaks_with_a_computed_step, "break-step", UnsupportedSyntaxError,
         "stride", ("`break`", "step")),
    Case("try", B.uses_try, "try", UnsupportedSyntaxError, "try:", ("`try`",)),
    Case("with", B.uses_with, "with", UnsupportedSyntaxError, "with open", ("`with`",)),
    Case("list comprehension", B.uses_list_comprehension, "listcomp", UnsupportedSyntaxError, "[x * k",
         ("comprehension",)),
    Case("set comprehension", B.set_comprehension, "setcomp", UnsupportedSyntaxError, "{x * k", ("set comprehension",)),
    Case("built list indexed", B.indexes_a_built_list, "list-indexed", UnsupportedSyntaxError, "ys[1]",
         ("`ys`", "read only as a whole")),
    Case("append to a parameter", B.appends_to_a_parameter, "append-parameter", UnsupportedSyntaxError, "xs.append",
         ("`xs.append(...)`", "did not make")),
    Case("built list popped", B.pops_a_built_list, "list-popped", UnsupportedSyntaxError, "ys.pop()",
         ("`ys.pop(...)`", "only appended to")),
    Case("list read twice", B.reads_a_list_twice, "list-twice", UnsupportedSyntaxError, "max(ys)",
         ("`ys`", "second time")),
    Case("list concatenated", B.concatenates_a_list, "list-concatenated", UnsupportedSyntaxError, "ys)) + t",
         ("`ys`", "`np.stack`")),
    Case("comprehension concatenated", B.concatenates_a_comprehension, "comprehension-concatenated",
         UnsupportedSyntaxError, "[x * np.ones(2)", ("a list comprehension is passed here", "`np.stack`")),
    Case("comprehension in a while test", B.comprehension_in_a_while_test, "while-comprehension",
         UnsupportedSyntaxError, "sum(x * k", ("comprehension", "`while`")),
    Case("lambda", B.uses_lambda, "lambda", UnsupportedSyntaxError, "lambda v", ("lambda",)),
    # Functions as values: a function known only when the code runs.
    Case("function parameter called", B.calls_a_function_parameter, "function-parameter", NoDerivativeError, "f(x)",
         ("`f`", "parameter", "known only when")),
    Case("function parameter passed", B.passes_a_function_parameter, "function-parameter-passed", NoDerivativeError,
         "f)", ("`integrate`", "`func`", "not a function known")),
    Case("function parameter with a default", B.calls_a_default_function_parameter, "default-function-parameter",
         NoDerivativeError, "nonlinearity(", ("`nonlinearity`", "default `np.tanh`", "another function")),
    Case("nested def as a value", B.uses_a_nested_function_as_a_value, "function-as-value", NoDerivativeError,
         "scale", ("`scale`", "used as a value")),
    Case("yield", B.uses_yield, "yield", UnsupportedSyntaxError, "yield t", ("yield",)),
    Case("global", B.uses_global, "global", UnsupportedSyntaxError, "global COUNTER", ("global",)),
    Case("nonlocal", B.make_uses_nonlocal, "nonlocal", UnsupportedSyntaxError, "nonlocal total", ("nonlocal",)),
    Case("early return", B.uses_early_return, "early-return", UnsupportedSyntaxError, "return t", ("return",)),
    Case("item assignment", B.uses_item_assignment, "item-assignment", UnsupportedSyntaxError, "v[0]", ("item assignment",)),
    Case("attribute assignment", B.uses_attribute_assignment, "attribute-assignment", UnsupportedSyntaxError, "x.a",
         ("attribute assignment",)),
    Case("del", B.uses_del, "del", UnsupportedSyntaxError, "del t", ("del",)),
    Case("print statement", B.uses_print, "print", UnsupportedSyntaxError, "print(t)", ("expression statement",)),
    Case("and-or", B.uses_and_or, "boolop", UnsupportedSyntaxError, "x > 0 or", ("or",)),
    Case("starred call", B.uses_starred_call, "starred", NoDerivativeError, "args", ("`*args`", "known only when")),
    Case("double-starred call", B.uses_double_starred_call, "double-starred", NoDerivativeError, "options",
         ("`**options`", "known only when")),
    Case("loop over *args", B.loops_over_star_args, "star-args-loop", UnsupportedSyntaxError, "rest:",
         ("`rest` (the `*rest` parameter) is looped over", "known only at the call")),
    Case("*args as a whole", B.uses_star_args_whole, "star-args-whole", UnsupportedSyntaxError, "rest)",
         ("`rest` (the `*rest` parameter) is used as a whole value",)),
    Case("**kwargs by a variable key", B.reads_star_kwargs_by_variable, "star-kwargs-variable",
         UnsupportedSyntaxError, "options[", ("`options` (the `**options` parameter)", "not a string")),
    Case("only *args", B.only_star_args, "only-star-args", NoDerivativeError, "rest",
         ("no parameter to differentiate", "`*rest` holds is data")),
    # A chained comparison is `a < b and b < c`: short-circuit control flow.
    Case("chained comparison", B.uses_chained_comparison, "chained", UnsupportedSyntaxError, "0.0 < x", ("comparison",)),
    # Calls and operators without a derivative.
    Case("os.getpid", B.uses_getpid, "getpid", NoDerivativeError, "os.getpid()", ("os.getpid",)),
    Case("recursive helper", B.uses_recursive_helper, "recursive-helper", NoDerivativeError, "recursive_helper(x - 1.0)",
         ("recursive_helper", "itself")),
    Case("recursive function", B.calls_itself, "calls-itself", NoDerivativeError, "calls_itself(x * 0.5)",
         ("calls_itself", "itself")),
    Case("max of one array", B.uses_max_of_an_array, "max1", NoDerivativeError, "max(", ("max", "max(x, y)")),
    Case("undefined helper", B.uses_undefined_helper, "undefined", NoDerivativeError, "undefined_helper(x)",
         ("undefined_helper", "not defined")),
    Case("floor division", B.uses_floor_division, "floordiv", NoDerivativeError, "x // 2.0", ("//",)),
    # A helper with a loop: the error points into the helper's file, at the loop.
    Case("helper with a loop", B.uses_looping_helper, "helper-while", UnsupportedSyntaxError, "True",
         ("no way out",), module=helpers_elsewhere),
    Case("helper of a helper with a loop", B.uses_looping_helper_two_levels, "helper-while", UnsupportedSyntaxError,
         "True", ("no way out",), module=helpers_elsewhere),
    # The output is not a single number.
    Case("tuple output", B.returns_tuple, "tuple-return", AstgradError, "return y", ("tuple",)),
    # NumPy code outside what astgrad differentiates.
    Case("variable axis", B.uses_variable_axis, "variable-axis", NoDerivativeError, "k)", ("axis", "constant")),
    Case("np.linalg.eig", B.uses_eig, "eig", NoDerivativeError, "np.linalg.eig(x)", ("np.linalg.eig",)),
    Case("np.random", B.uses_random, "random", NoDerivativeError, "np.random.normal(", ("random",)),
    Case("out= argument", B.uses_out_argument, "out", UnsupportedSyntaxError, "buffer)", ("out=", "in place")),
    Case("x.sort() statement", B.uses_in_place_sort, "sort-statement", UnsupportedSyntaxError, "x.sort()",
         ("sort", "in place")),
    Case("x.sort() value", B.assigns_in_place_sort, "sort", UnsupportedSyntaxError, "x.sort()", ("sort", "in place")),
    Case("unknown method", B.uses_unknown_method, "conj", NoDerivativeError, "x.conj()", ("conj",)),
    Case("einsum diagonal", B.uses_einsum_diagonal, "einsum-diagonal", NoDerivativeError, "np.einsum(",
         ("einsum", "diagonal")),
    Case("1-norm", B.uses_one_norm, "norm-ord", NoDerivativeError, "np.linalg.norm(", ("2-norm", "Frobenius")),
    Case("list for an array", B.sums_a_list, "list-for-array", NoDerivativeError, "np.sum(",
         ("np.sum", "a list or tuple display is passed for `x`", "np.array")),
    Case("reflect padding", B.uses_reflect_padding, "pad-reflect", NoDerivativeError, "np.pad(", ("np.pad", "'constant'")),
    Case("item write", B.uses_item_write, "item-write", UnsupportedSyntaxError, "t[0]", ("item assignment",)),
    # Smaller pieces of Python, taken only in the forms that have a meaning here.
    Case("tuple indexed by a variable", B.indexes_a_tuple_by_a_variable, "tuple-variable-index", UnsupportedSyntaxError,
         "pair_of(x)[k]", ("tuple of 2 values", "constant")),
    Case("builtin sum of an array", B.sums_an_array_with_builtin_sum, "builtin-sum-array", NoDerivativeError, "sum(x)",
         ("`sum`", "list or tuple")),
    Case("range as a value", B.uses_range_as_a_value, "range-value", NoDerivativeError, "range(3)",
         ("`range(...)`", "index")),
    # Methods: the instance's attributes are data.
    Case("assigns an attribute of self", B.FITTED.keeps_its_fit, "assigns-self-attribute", UnsupportedSyntaxError,
         "self.fit", ("attribute assignment", "`self.fit = ...`")),
    Case("bound method as a value", B.FITTED.uses_a_method_as_a_value, "method-as-value", NoDerivativeError,
         "self.predict", ("`self.predict`", "used as a value")),
    Case("method as a value, instance passed in", B.Fitted.uses_a_method_as_a_value, "method-as-value",
         NoDerivativeError, "self.predict", ("`self.predict`", "method used as a value")),
    Case("attribute two deep, instance passed in", B.Fitted.reads_an_attribute_two_deep, "attribute-two-deep",
         NoDerivativeError, "self.inner.exog", ("`self.inner.exog`", "attribute of an attribute")),
]
try:  # SciPy is an optional dependency (in the test extra)
    from cases import bad_scipy as S
except ImportError:
    S = None
if S is not None:
    CASES += [
        Case("norm.ppf", S.uses_norm_ppf, "norm-ppf", NoDerivativeError, "norm.ppf(x)",
             ("norm.ppf", "distribution `norm`", "logpdf, pdf, cdf, logcdf, sf"), module=S),
        Case("distribution outside the table", S.uses_weibull, "weibull", NoDerivativeError, "stats.weibull_min",
             ("weibull_min.logpdf", "distribution `weibull_min` is not in the primitive table"), module=S),
        Case("frozen distribution", S.uses_frozen_distribution, "frozen", NoDerivativeError, "STANDARD.logpdf",
             ("STANDARD.logpdf", "frozen distribution"), module=S),
        Case("distribution frozen in the function", S.freezes_a_distribution, "freezes", NoDerivativeError,
             "norm(mu", ("norm(...).logpdf", "frozen distribution"), module=S),
        Case("scipy.special without a rule", S.uses_special_function_without_rule, "zeta", NoDerivativeError,
             "scipy.special.zeta", ("scipy.special.zeta", "SciPy function"), module=S),
        Case("random variates", S.uses_random_variates, "rvs", NoDerivativeError, "stats.poisson.rvs",
             ("poisson.rvs", "random numbers"), module=S),
        Case("a count of a pmf", S.differentiates_a_count, "count", NoDerivativeError, "stats.poisson.logpmf",
             ("poisson.logpmf", "`k`"), module=S),
    ]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_refused_at_the_offending_line(case):
    fn = case.get()
    lineno, line = marked_line(case.module, case.mark)
    assert case.column_text in line
    col_offset = line.index(case.column_text)

    with no_user_code_runs() as calls:
        with pytest.raises(AstgradError) as info:
            astgrad.grad(fn)

    exc = info.value
    assert isinstance(exc, case.error), f"expected {case.error.__name__}, got {type(exc).__name__}: {exc}"
    assert_located(exc, case.module.__file__, lineno, col_offset, line)
    for word in case.words:
        assert word in exc.reason, f"the reason should mention {word!r}: {exc.reason!r}"
    assert calls == []


@pytest.mark.parametrize("method", [B.FITTED.predict, B.Fitted.predict], ids=["bound", "instance passed in"])
def test_differentiating_with_respect_to_the_instance_is_refused_at_its_parameter(method):
    lineno = method.__code__.co_firstlineno
    with open(bad_functions.__file__) as file:
        source_line = file.read().splitlines()[lineno - 1]
    for wrt in ("self", ("self", "params")):
        with pytest.raises(NoDerivativeError) as info:
            astgrad.grad(method, wrt=wrt)
        assert_located(info.value, bad_functions.__file__, lineno, source_line.index("self"), source_line)
        assert "`self` is the method's instance" in str(info.value) and 'wrt="params"' in info.value.hint


def test_same_error_from_value_and_grad():
    lineno, line = marked_line(bad_functions, "while")
    with no_user_code_runs() as calls:
        with pytest.raises(UnsupportedSyntaxError) as info:
            astgrad.value_and_grad(bad_functions.uses_while)
    assert_located(info.value, bad_functions.__file__, lineno, line.index("True"), line)
    assert calls == []


def test_refused_when_the_decorator_runs(tmp_path):
    """With @astgrad.grad the error comes when the module is imported, at the user's line."""
    lines = [
        "import astgrad",
        "",
        "RAN = []",
        "",
        "",
        "@astgrad.grad",
        "def f(x):",
        "    y = x * 2.0",
        "    try:",
        "        y = y * x",
        "    finally:",
        "        y = y * x",
        "    return y",
    ]
    path = tmp_path / "decorated_module.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location("astgrad_test_decorated_module", path)
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(UnsupportedSyntaxError) as info:
        spec.loader.exec_module(module)
    assert_located(info.value, str(path), 9, 4, lines[8])
    assert module.RAN == []


# ---- callables without source --------------------------------------------------------------

def indentation(line):
    return len(line) - len(line.lstrip())


def test_builtin_has_no_source():
    lineno, line = marked_line(no_source, "builtin")
    with pytest.raises(SourceError) as info:
        no_source.grad_of_builtin()
    exc = info.value
    # Nothing in math.sin can be pointed at: the error blames the line that called grad,
    # with the caret where that line's code starts.
    assert_located(exc, no_source.__file__, lineno, indentation(line), line)
    first_line = str(exc).splitlines()[0]
    assert "sin" in first_line and "built-in" in first_line and "source" in first_line, first_line


def test_builtin_called_directly_blames_the_calling_line():
    with pytest.raises(SourceError) as info:
        astgrad.grad(math.sin)  # the line blamed
    exc = info.value
    assert exc.filename == __file__
    with open(__file__, encoding="utf-8") as handle:
        line = handle.read().splitlines()[exc.lineno - 1]
    assert "astgrad.grad(math.sin)  # the line blamed" in line
    assert exc.col_offset == indentation(line)
    assert str(exc).startswith(f"{__file__}:{exc.lineno}:{indentation(line) + 1}: ")


def test_function_made_by_exec_has_no_source():
    fn = no_source.made_by_exec()
    lineno, line = marked_line(no_source, "exec")
    with no_user_code_runs(fn, cases_dir=False) as calls:
        with pytest.raises(SourceError) as info:
            no_source.grad_of_exec_function(fn)
    exc = info.value
    assert_located(exc, no_source.__file__, lineno, indentation(line), line)
    assert "square" in exc.reason
    assert "exec" in str(exc)
    assert calls == []


def test_functools_wraps_wrapper_is_refused():
    lineno, line = marked_line(no_source, "wraps")
    wrapper = no_source.wrapped_square
    with no_user_code_runs(wrapper, wrapper.__wrapped__, cases_dir=False) as calls:
        with pytest.raises(SourceError) as info:
            no_source.grad_of_wraps_wrapper()
    exc = info.value
    assert_located(exc, no_source.__file__, lineno, indentation(line), line)
    assert "wrapped_square" in exc.reason and "wrapper" in exc.reason
    assert calls == []


# ---- hints that send the reader to the primitive table ------------------------------------

# Installed from a wheel there is no docs/ folder: the table is reached from Python or a shell.
TABLE = "the primitive table (`astgrad.primitive_table()`, or `astgrad primitives` in a shell)"
TABLE_HINTS = [
    ("os.getpid", f"use a function from {TABLE}, or call it outside the function and pass the value in"),
    ("floor division", f"use + - * / ** and functions from {TABLE}"),
    ("unknown method", f"{TABLE} lists the methods astgrad differentiates; or use the NumPy function"),
    ("einsum diagonal", f"{TABLE} lists the forms astgrad differentiates"),
    ("1-norm", f"{TABLE} lists the forms astgrad differentiates"),
]  # fmt: skip


@pytest.mark.parametrize("case_id, hint", TABLE_HINTS, ids=[case_id for case_id, _ in TABLE_HINTS])
def test_hints_name_the_primitive_table_a_user_can_reach(case_id, hint):
    case = next(case for case in CASES if case.id == case_id)
    lineno, line = marked_line(case.module, case.mark)
    with pytest.raises(case.error) as info:
        astgrad.grad(case.get())
    assert_located(info.value, case.module.__file__, lineno, line.index(case.column_text), line)
    assert info.value.hint == hint
    first = info.value.obstacles[0]  # the case's own; the call of the refused `ran` after it is listed too
    assert str(first).endswith("\nhint: " + hint)


def test_a_comprehension_passed_to_a_call_taking_no_list_is_refused_with_what_takes_one():
    case = next(case for case in CASES if case.id == "comprehension concatenated")
    lineno, line = marked_line(case.module, case.mark)
    with no_user_code_runs() as calls:
        with pytest.raises(UnsupportedSyntaxError) as info:
            astgrad.grad(case.get())
    assert_located(info.value, case.module.__file__, lineno, line.index(case.column_text), line)
    assert info.value.reason == (
        "a list comprehension is passed here to a call that takes no list the function builds: "
        "only `sum`, `max`, `min`, `len`, `np.stack` and `np.array` do"
    )
    assert info.value.hint == "pass it to one of them, e.g. `np.stack([...], axis=1)`, and work on the array"
    assert calls == []


def test_a_function_without_source_is_sent_to_the_primitive_table():
    with pytest.raises(SourceError) as info:
        no_source.grad_of_builtin()
    assert info.value.hint == (
        "astgrad reads a function's source: pass a function defined with def in a file (or in a notebook "
        f"cell); functions without Python source are differentiable only through {TABLE}"
    )


def test_the_table_the_hints_name_lists_the_primitives():
    table = astgrad.primitive_table()
    assert table.startswith("# Primitives\n")
    assert "| `y = math.sin(x)`<br>`np.sin(x)` | ∂y/∂x = `cos(x)` |" in table
    assert "| `y = np.sum(x, axis=None, keepdims=False)`<br>`x.sum(axis=None, keepdims=False)` |" in table
    assert "os.getpid" not in table and "conj(" not in table


# ---- very large functions: transformed, never a RecursionError or a crash -----------------

def import_generated_module(tmp_path, monkeypatch, name, lines):
    """Write `lines` as tmp_path/<name>.py and import it.

    CPython's own compiler recurses once per operator of ``x + x + ... + x``
    and, at the default recursion limit, refuses 5,000 terms, so the import
    (not astgrad) runs in a thread with a big stack and a raised limit.
    """
    path = tmp_path / f"{name}.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    failure = []

    def load():
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # re-raised below, in the test's thread
            failure.append(exc)

    limit = sys.getrecursionlimit()
    old_stack_size = threading.stack_size(256 * 1024 * 1024)
    sys.setrecursionlimit(max(limit, 100_000))
    try:
        thread = threading.Thread(target=load)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_stack_size)
        sys.setrecursionlimit(limit)
    if failure:
        raise failure[0]
    return module


def balanced_sum(names):
    """``(x + x) + (x + x)``...: the same sum, nested only log2(len(names)) deep."""
    if len(names) == 1:
        return names[0]
    half = len(names) // 2
    return f"({balanced_sum(names[:half])} + {balanced_sum(names[half:])})"


def test_expression_with_5000_terms(tmp_path, monkeypatch):
    terms = 5000
    lines = ["def long_sum(x):", "    return " + " + ".join(["x"] * terms)]
    try:
        module = import_generated_module(tmp_path, monkeypatch, "astgrad_test_long_sum", lines)
    except RecursionError:
        module = None
    if module is None:
        # CPython 3.12 compiles (and parses) at most ~1,500 nested operators,
        # whatever the recursion limit: it cannot import this file at all.
        # A function with the same name, parameters and file, compiled from
        # the same sum nested shallowly, makes astgrad read the file's 5,000
        # terms anyway. astgrad cannot parse them either, and must say so
        # with a clear AstgradError (not a RecursionError, not a crash).
        assert sys.version_info >= (3, 12)
        path = tmp_path / "astgrad_test_long_sum.py"
        shallow = f"def long_sum(x):\n    return {balanced_sum(['x'] * terms)}\n"
        namespace = {}
        exec(compile(shallow, str(path), "exec"), namespace)
        assert namespace["long_sum"](1.0) == terms
        with pytest.raises(AstgradError) as info:
            astgrad.grad(namespace["long_sum"])
        exc = info.value
        assert type(exc) is AstgradError
        assert "long_sum" in exc.reason and "deep" in exc.reason
        # Located like every other error: the def (line 1) or its return (line 2).
        assert exc.filename == str(path)
        assert exc.lineno in (1, 2)
        assert str(exc).startswith(f"{path}:{exc.lineno}:")
        assert "\nhint: " in str(exc)
        return
    limit = sys.getrecursionlimit()

    df = astgrad.grad(module.long_sum)  # must not raise (RecursionError or AstgradError)

    assert sys.getrecursionlimit() == limit
    assert df(0.7) == pytest.approx(float(terms), rel=1e-12)
    assert df(-3.0) == pytest.approx(float(terms), rel=1e-12)


def test_function_with_10000_statements(tmp_path, monkeypatch):
    statements = 10_000
    factor = 1.0001
    lines = ["def long_chain(x):", f"    v1 = x * {factor!r}"]
    lines += [f"    v{i} = v{i - 1} * {factor!r}" for i in range(2, statements + 1)]
    lines += [f"    return v{statements}"]
    module = import_generated_module(tmp_path, monkeypatch, "astgrad_test_long_chain", lines)
    limit = sys.getrecursionlimit()

    df = astgrad.grad(module.long_chain)  # must not raise (RecursionError or AstgradError)

    assert sys.getrecursionlimit() == limit
    expected = factor ** statements  # d/dx of x * factor**n
    assert expected == pytest.approx(math.exp(statements * math.log(factor)), rel=1e-9)
    assert df(0.5) == pytest.approx(expected, rel=1e-9)
    assert df(-2.0) == pytest.approx(expected, rel=1e-9)


def test_the_old_name_of_the_syntax_error_is_the_same_class():
    assert astgrad.NotStraightLineError is astgrad.UnsupportedSyntaxError
    assert issubclass(astgrad.UnsupportedSyntaxError, AstgradError)


def test_an_async_def_is_refused_at_its_own_line(tmp_path):
    lines = ["import math", "", "", "async def f(x):", "    return math.sin(x)", ""]
    path = tmp_path / "async_module.py"
    path.write_text("\n".join(lines), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("astgrad_test_async_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(UnsupportedSyntaxError) as info:
        astgrad.grad(module.f)
    assert_located(info.value, str(path), 4, 0, lines[3])
    assert info.value.reason == "an `async def` function is not supported"


# ---- a derivative that cannot be taken twice ---------------------------------------------------

def test_a_second_derivative_through_the_largest_singular_value_is_refused(tmp_path):
    """``np.linalg.norm(W, 2)`` of a matrix has a gradient, and no Hessian: the error points at the
    gradient's line that calls the helper, whose comment names the user's call."""
    module = load_module(tmp_path, "import numpy as np\n\ndef f(W):\n    return np.linalg.norm(W, 2) ** 2\n")
    W = np.array([[2.0, 0.5], [0.1, 1.0], [0.3, 0.2]])
    u, s, vt = np.linalg.svd(W)
    np.testing.assert_allclose(astgrad.grad(module.f)(W), 2 * s[0] * np.outer(u[:, 0], vt[0]), rtol=1e-12)
    for second in (lambda: astgrad.hessian(module.f), lambda: astgrad.grad(astgrad.grad(module.f))):
        with pytest.raises(NoDerivativeError) as info:
            second()
        exc = info.value
        line = linecache.getline(exc.filename, exc.lineno)
        assert "np.linalg.norm(W, 2)" in line
        assert_located(exc, exc.filename, exc.lineno, line.index("spectral_norm_adjoint("), line)
        assert exc.reason == (
            "`runtime.spectral_norm_adjoint(g, x, axis, keepdims)` has no derivative with respect to `x`: "
            "the derivative that calls it cannot be differentiated again"
        )
        assert exc.hint == "take this derivative once (a gradient or a jvp, not a Hessian or a gradient of a gradient)"


# ---- every obstacle at once -----------------------------------------------------------------

M = many_obstacles
HELPER_RULE = "; or give `{}` its derivative, making it a primitive: @astgrad.derivative({}=...) above its def"


@dataclass
class Obstacle:
    error: type
    mark: str
    column_text: str  # where the caret must be on the marked line
    reason: str  # the whole reason
    hint: str  # how the hint starts (a helper's obstacle adds how to give the helper a rule)


TWO = [
    Obstacle(UnsupportedSyntaxError, "two-listcomp", "{x * k", "a set comprehension is not supported",
             "write the iterations out as separate statements"),
    Obstacle(NoDerivativeError, "two-undefined", "undefined_scale", "`undefined_scale` is not defined (yet)",
             "define helper functions above the function you differentiate"),
]  # fmt: skip
THREE = [
    Obstacle(NoDerivativeError, "three-lgamma", "math.lgamma", "`math.lgamma` has no derivative: it is a built-in "
             "function of module math with no derivative template", "use a function from the primitive table"),
    Obstacle(UnsupportedSyntaxError, "helper-try", "try:", "a `try` statement is not supported",
             "move it outside the differentiated function and pass the values in as parameters"
             + HELPER_RULE.format("helper_with_try", "y")),
    Obstacle(UnsupportedSyntaxError, "three-item", "y[0]", "item assignment (`x[...] = ...`) mutates a value",
             "build a new value instead of changing one in place"),
]  # fmt: skip
EIGHT = [
    Obstacle(UnsupportedSyntaxError, "eight-global", "global", "a `global` statement is not supported",
             "pass the value in as a parameter and return the new value"),
    Obstacle(NoDerivativeError, "eight-nextafter", "math.nextafter", "`math.nextafter` has no derivative: it is a "
             "built-in function of module math with no derivative template", "use a function from the primitive table"),
    Obstacle(NoDerivativeError, "eight-undefined", "undefined_rate", "`undefined_rate` is not defined (yet)",
             "define helper functions above the function you differentiate"),
    Obstacle(NoDerivativeError, "eight-floordiv", "x // 2.0", "the operator `//` has no derivative in astgrad",
             "use + - * / ** and functions from the primitive table"),
    Obstacle(UnsupportedSyntaxError, "eight-listcomp", "{a * k", "a set comprehension is not supported",
             "write the iterations out as separate statements"),
    Obstacle(UnsupportedSyntaxError, "helper-print", "print(t)", "an expression statement: its value is thrown "
             "away, so it can only matter for its side effects", "remove it (side effects such as printing cannot "
             "be differentiated), or assign its value to a name" + HELPER_RULE.format("helper_with_two", "t")),
    Obstacle(NoDerivativeError, "helper-lgamma", "math.lgamma", "`math.lgamma` has no derivative: it is a built-in "
             "function of module math with no derivative template", "use a function from the primitive table"),
    Obstacle(NoDerivativeError, "eight-random", "random.gauss", "`random.gauss` draws random numbers, which have "
             "no derivative and would change on every call", "draw the random numbers outside the function"),
]  # fmt: skip


def refusal_of(fn):
    """The error `grad(fn)` raises, checking that none of the user's code ran meanwhile."""
    with no_user_code_runs() as calls:
        with pytest.raises(AstgradError) as info:
            astgrad.grad(fn)
    assert calls == []
    return info.value


def assert_obstacle(error, expected):
    lineno, line = marked_line(M, expected.mark)
    assert type(error) is expected.error, f"{expected.mark}: {type(error).__name__}: {error}"
    assert_located(error, M.__file__, lineno, line.index(expected.column_text), line)
    assert error.reason == expected.reason
    assert error.hint.startswith(expected.hint), error.hint
    assert error.obstacles == (error,)  # each obstacle stands for itself alone
    assert "obstacles in all" not in str(error)


@pytest.mark.parametrize(
    "fn, expected, raised",
    [(M.two_obstacles, TWO, 0), (M.three_obstacles, THREE, 2), (M.eight_obstacles, EIGHT, 0)],
    ids=["two", "three", "eight"],
)
def test_a_refusal_lists_every_obstacle_in_source_order(fn, expected, raised):
    error = refusal_of(fn)
    assert [type(o) for o in error.obstacles] == [e.error for e in expected]
    for obstacle, wanted in zip(error.obstacles, expected):
        assert_obstacle(obstacle, wanted)
    # The error raised is the obstacle met first (the check's, when it found any: the one raised before every
    # obstacle was listed), of its class and with its message at the top; then the count and the others.
    first = error.obstacles[raised]
    assert type(error) is type(first)
    assert (error.filename, error.lineno, error.col_offset, error.reason, error.hint) == (
        first.filename, first.lineno, first.col_offset, first.reason, first.hint)
    others = [o for o in error.obstacles if o is not first]
    count = len(expected)
    assert str(error) == "\n\n".join(
        [str(first), f"{count} obstacles in all; the other {count - 1}, in source order:"] + [str(o) for o in others]
    )


def test_obstacles_found_after_resolve_are_listed_with_its_own():
    """A tuple in arithmetic and names read where they hold no value are found by ssa, after resolve."""
    error = refusal_of(M.obstacles_found_late)
    tuple_line, tuple_text = marked_line(M, "late-tuple")
    undefined_line, undefined_text = marked_line(M, "late-undefined")
    reads_line, reads_text = marked_line(M, "late-reads")
    assert [(o.lineno, o.col_offset, o.reason, o.hint) for o in error.obstacles] == [
        (tuple_line, tuple_text.index("(x, x)"), "a tuple cannot be used in arithmetic", "unpack it first"),
        (undefined_line, undefined_text.index("undefined"), "`undefined_scale` is not defined (yet)",
         error.obstacles[1].hint),
        (reads_line, reads_text.index("y +"), "`y` is assigned in only one branch of the `if` on line "
         f"{tuple_line - 2}", "assign `y` in every branch of that `if`, or before it"),
        (reads_line, reads_text.index("k +"), f"`k` is first assigned inside the loop on line {reads_line - 2} and "
         "read after it", "assign `k` a value before the loop"),
    ]  # fmt: skip
    assert [type(o) for o in error.obstacles] == [UnsupportedSyntaxError, NoDerivativeError] + [
        UnsupportedSyntaxError] * 2
    assert type(error) is NoDerivativeError and error.lineno == undefined_line  # resolve's, met first
    for obstacle in error.obstacles:
        line = marked_line(M, {tuple_line: "late-tuple", undefined_line: "late-undefined"}.get(
            obstacle.lineno, "late-reads"))[1]
        assert_located(obstacle, M.__file__, obstacle.lineno, obstacle.col_offset, line)
    assert str(error).count("^") == 4


def test_the_three_obstacles_are_caught_as_the_first_met():
    with pytest.raises(UnsupportedSyntaxError) as info:  # the item assignment, found by the check
        astgrad.grad(M.three_obstacles)
    assert str(info.value).startswith(f"{M.__file__}:{marked_line(M, 'three-item')[0]}:5: item assignment")
    assert isinstance(info.value.obstacles[0], NoDerivativeError)


def test_a_single_obstacle_is_raised_as_it_is():
    error = refusal_of(M.one_obstacle)
    lineno, line = marked_line(M, "one-lgamma")
    assert error.obstacles == (error,)
    assert str(error) == (
        f"{M.__file__}:{lineno}:12: `math.lgamma` has no derivative: it is a built-in function of module math "
        "with no derivative template\n"
        f"    {line}\n"
        "               ^\n"
        f"hint: {error.hint}"
    )


def test_a_call_refused_for_its_argument_is_not_refused_again():
    error = refusal_of(M.refused_inside_a_call)  # `math.sin` of a placeholder is not an obstacle of its own
    assert [o.reason for o in error.obstacles] == ["`undefined_inner` is not defined (yet)"]


def test_a_call_refused_before_its_arguments_has_them_looked_at_too():
    error = refusal_of(M.unknown_around_unknown)
    lineno, line = marked_line(M, "around")
    assert [(o.lineno, o.col_offset, o.reason) for o in error.obstacles] == [
        (lineno, line.index("undefined_outer"), "`undefined_outer` is not defined (yet)"),
        (lineno, line.index("undefined_inner"), "`undefined_inner` is not defined (yet)"),
    ]


def test_what_a_refused_statement_binds_is_not_refused_again():
    error = refusal_of(M.calls_what_an_import_binds)  # `m.sin(x)` calls what the refused import binds
    assert [o.reason for o in error.obstacles] == ["an `import` statement is not supported"]


def test_an_obstacle_in_the_shape_of_the_function_stops_the_listing_after_the_check():
    error = refusal_of(M.returns_inside_a_loop)  # resolve would not know where the function returns
    assert [o.reason for o in error.obstacles] == ["a `return` inside a loop is not supported"]
    assert error.lineno == marked_line(M, "stops-return")[0]


def test_a_nested_def_and_a_helper_that_stops_have_their_obstacles_listed_with_the_function_s():
    # The nested def's refused statement is passed over and its other statements resolved; the helper's
    # `return` inside a loop ends the listing inside the helper only: it is not inlined.
    error = refusal_of(M.nested_and_stopping_helpers)
    expected = [
        ("nested-del", "del u", UnsupportedSyntaxError, "a `del` statement is not supported"),
        ("nested-lgamma", "math.lgamma", NoDerivativeError, "`math.lgamma` has no derivative: it is a built-in "
         "function of module math with no derivative template"),
        ("helper-loop-return", "return t * k", UnsupportedSyntaxError, "a `return` inside a loop is not supported"),
        ("after-helpers", "undefined_scale", NoDerivativeError, "`undefined_scale` is not defined (yet)"),
    ]  # fmt: skip
    assert len(error.obstacles) == len(expected)
    for obstacle, (mark, text, cls, reason) in zip(error.obstacles, expected):
        lineno, line = marked_line(M, mark)
        assert (type(obstacle), obstacle.lineno, obstacle.col_offset, obstacle.reason) == (
            cls, lineno, line.index(text), reason)
    assert error.obstacles[2].hint.endswith(HELPER_RULE.format("helper_returning_in_a_loop", "t"))
    assert type(error) is UnsupportedSyntaxError and error.reason == "a `del` statement is not supported"
