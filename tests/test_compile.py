"""The compile stage: printing, the printer fallback, linecache, closures."""

import inspect
import linecache
import math
import traceback

import gast
import pytest

import astgrad
from astgrad import compile as compile_stage
from stages import adjoint_source


def f(x, y):
    return math.sin(x) ** 2 * y - x ** -0.5


def test_astor_and_the_fallback_printer_agree_on_generated_code():
    tree = gast.parse(adjoint_source(f, ("x", "y"))).body[0]
    with_astor = compile_stage.to_source(tree)
    with_gast = compile_stage.to_source(tree, printer=compile_stage._ast_printer)
    assert compile(with_gast, "<test>", "exec") and compile(with_astor, "<test>", "exec")
    namespaces = [{"math": math}, {"math": math}]
    exec(with_astor, namespaces[0])
    exec(with_gast, namespaces[1])
    assert namespaces[0]["d_f"](0.7, 1.3) == namespaces[1]["d_f"](0.7, 1.3)


def test_negative_constants_print_with_their_sign_bound():
    power = gast.BinOp(left=gast.Constant(value=-1, kind=None), op=gast.Pow(), right=gast.Constant(value=2, kind=None))
    function = gast.parse("def g():\n    return 0").body[0]
    function.body[0].value = power
    text = compile_stage.to_source(function)
    namespace = {}
    exec(text, namespace)
    assert namespace["g"]() == 1


def test_generated_lines_show_in_tracebacks_and_survive_clearcache():
    def g(x):
        return math.sqrt(x)

    d_g = astgrad.grad(g)
    with pytest.raises(ZeroDivisionError) as error:
        d_g(0.0)
    shown = "".join(traceback.format_exception(error.type, error.value, error.tb))
    assert f"d_x = d_out * (0.5 / out)  # from line {g.__code__.co_firstlineno + 1}: math.sqrt(x)" in shown
    linecache.clearcache()
    d_g.__astgrad__.register_source()
    assert inspect.getsource(d_g).startswith(astgrad.source(d_g).splitlines()[0])


def test_the_fallback_printer_handles_built_trees():
    tree = gast.parse(adjoint_source(f, ("x",))).body[0]
    tree.body.insert(0, gast.Assign(targets=[gast.Name(id="unused", ctx=gast.Store(), annotation=None,
                                                      type_comment=None)], value=gast.Constant(value=1.0, kind=None),
                                    type_comment=None))  # fmt: skip
    text = compile_stage.to_source(tree, printer=compile_stage._ast_printer)
    assert "    unused = 1.0\n" in text


def test_closure_cells_are_shared_and_added_names_do_not_leak(tmp_path):
    offset = 1.0

    def g(x):
        return math.log(x + offset)

    d_g = astgrad.grad(g)
    assert d_g(1.0) == 0.5
    offset = 3.0  # noqa: F841
    assert d_g(1.0) == 0.25
    assert "offset" in d_g.__code__.co_freevars
