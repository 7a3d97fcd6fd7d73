"""`astgrad.explain`: the program after every stage, pinned by golden files for the seed examples.

Regenerate the golden files on purpose with
``ASTGRAD_UPDATE_GOLDEN=1 pytest tests/test_explanation.py`` and review the diff.
"""

import ast
import inspect
import os
import pathlib
import re

import pytest

import astgrad
import corpus
from astgrad import api
from astgrad.errors import NotStraightLineError
from support import load_module, without_origin_comments

GOLDEN = pathlib.Path(__file__).parent / "golden" / "explain"
STAGES = ("source", "check", "resolve", "ssa", "cse", "reverse", "optimize", "names")
CASES = [(fn.__name__, fn, None) for fn in (corpus.sin_cos, corpus.relu_sigmoid, corpus.two_variables, corpus.program)]
CASES.append(("program_wrt_w", corpus.program, "w"))
CASES = [case + ("reverse",) for case in CASES] + [
    (f"{fn.__name__}_forward", fn, None, "forward") for fn in (corpus.sin_cos, corpus.relu_sigmoid, corpus.program)
]


@pytest.mark.parametrize("name, fn, wrt, mode", CASES, ids=[case[0] for case in CASES])
def test_stages_match_golden_file(name, fn, wrt, mode):
    text = str(astgrad.explain(fn, wrt=wrt, mode=mode, comments=False))
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("ASTGRAD_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


@pytest.mark.parametrize("fn", corpus.CORPUS, ids=[fn.__name__ for fn in corpus.CORPUS])
def test_last_stage_is_the_generated_source(fn):
    assert astgrad.explain(fn)["names"] == astgrad.source(astgrad.grad(fn), comments=True)
    assert astgrad.explain(fn, wrt=0, comments=False)["names"] == astgrad.source(astgrad.grad(fn, wrt=0))


@pytest.mark.parametrize("fn", corpus.CORPUS, ids=[fn.__name__ for fn in corpus.CORPUS])
def test_last_forward_stage_is_the_generated_forward_source(fn):
    assert astgrad.explain(fn, mode="forward", comments=False)["names"] == astgrad.source(
        astgrad.grad(fn, mode="forward")
    )


def test_forward_stages_name_the_tangent_stage():
    explanation = astgrad.explain(corpus.sin_cos, mode="forward")
    assert explanation.names == ("source", "check", "resolve", "ssa", "cse", "forward", "optimize", "names")
    assert "    dsin_x_dx = cos(x) * 1.0  # from line" in explanation["forward"]


def test_stages_in_pipeline_order_under_numbered_headings():
    explanation = astgrad.explain(corpus.sin_cos)
    assert explanation.names == STAGES
    headings = re.findall(r"^# (\d)\. (\w+): ", str(explanation), flags=re.M)
    assert headings == [(str(number), name) for number, name in enumerate(STAGES, 1)]
    assert [stage.name for stage in explanation] == list(STAGES)
    assert repr(explanation) == str(explanation)


def test_seed_example_stage_by_stage():
    explanation = astgrad.explain(corpus.sin_cos)
    assert explanation["source"] == "def sin_cos(x, y):\n    return sin(x) * cos(y)\n"
    assert explanation["ssa"] == (
        "def sin_cos(x, y):\n"
        "    sin_x = sin(x)\n"
        "    cos_y = cos(y)\n"
        "    out = sin_x * cos_y\n"
        "    return out\n"
    )
    assert explanation["reverse"] == (
        "def d_sin_cos(x, y, d_out=1.0):\n"
        "    sin_x = sin(x)\n"
        "    cos_y = cos(y)\n"
        "    out = sin_x * cos_y\n"
        "    d_sin_x = d_out * cos_y  # from line 8: sin(x) * cos(y)\n"
        "    d_cos_y = d_out * sin_x  # from line 8: sin(x) * cos(y)\n"
        "    d_y = d_cos_y * -sin(y)  # from line 8: cos(y)\n"
        "    d_x = d_sin_x * cos(x)  # from line 8: sin(x)\n"
        "    return d_x, d_y\n"
    )


def test_resolve_stage_inlines_the_helpers():
    resolved = astgrad.explain(corpus.relu_sigmoid)["resolve"]
    assert not re.search(r"\b(sigmoid|relu)\(", resolved)
    assert "    sigmoid_a = 1 / (1 + exp(-a))\n" in resolved
    assert "    relu_x = max(x, 0.0)\n" in resolved


@pytest.mark.parametrize("fn", corpus.CORPUS, ids=[fn.__name__ for fn in corpus.CORPUS])
def test_ssa_stage_has_one_primitive_per_line_and_one_assignment_per_name(fn):
    body = ast.parse(astgrad.explain(fn)["ssa"]).body[0].body
    targets = [statement.targets[0].id for statement in body[:-1]]
    assert len(targets) == len(set(targets))
    for statement in body[:-1]:
        value = statement.value
        operands = (
            value.args if isinstance(value, ast.Call)
            else [value.left, value.right] if isinstance(value, ast.BinOp)
            else [value.operand] if isinstance(value, ast.UnaryOp)
            else [value.left, *value.comparators]
        )  # fmt: skip
        for operand in operands:
            assert isinstance(operand, (ast.Name, ast.Constant, ast.Attribute, ast.UnaryOp)), ast.dump(statement)
    assert isinstance(body[-1], ast.Return)


def test_source_stage_is_the_text_as_written(tmp_path):
    module = load_module(
        tmp_path,
        '''
        import math

        def tagged(fn):
            return fn

        def outer():
            @tagged
            def inner(x):
                # größe: a comment in the body
                return math.sin(x) * 2.0  # ×2
            return inner

        square = lambda x: x * x  # a lambda
        ''',
    )
    explanation = astgrad.explain(module.outer())
    assert explanation["source"] == (
        "def inner(x):\n    # größe: a comment in the body\n    return math.sin(x) * 2.0  # ×2\n"
    )
    assert explanation["check"] == "def inner(x):\n    return math.sin(x) * 2.0\n"
    assert astgrad.explain(module.square)["source"] == "lambda x: x * x  # a lambda\n"


def test_lambda_inside_a_call_shows_only_the_lambda(tmp_path):
    module = load_module(tmp_path, "def apply(fn):\n    return fn\n\ncube = apply(lambda x: x * x * x)\n")
    assert astgrad.explain(module.cube)["source"] == "lambda x: x * x * x\n"


def test_explaining_a_generated_function_shows_second_order():
    first = astgrad.grad(corpus.reuse)
    explanation = astgrad.explain(first)
    assert explanation["source"] == inspect.getsource(first)  # with the comments naming corpus.reuse's lines
    assert without_origin_comments(explanation["source"]) == astgrad.source(first)
    assert explanation["names"] == astgrad.source(astgrad.grad(first), comments=True)


def without_comments(text):
    """`text` without its comments, and without the lines that held only a comment."""
    lines = (re.sub(r"\s*#.*$", "", line) for line in text.splitlines(True))
    return "".join(line for line in lines if line.strip())


def test_comments_option_adds_only_comments():
    with_comments = astgrad.explain(corpus.relu_sigmoid)
    without = astgrad.explain(corpus.relu_sigmoid, comments=False)
    for name in STAGES:
        assert "#" not in without[name]
        assert without_comments(with_comments[name]) == without[name]


def test_unknown_mode_is_a_value_error_naming_the_modes():
    with pytest.raises(ValueError, match=r"mode must be one of \('reverse', 'forward'\), not 'sideways'"):
        astgrad.explain(corpus.sin_cos, mode="sideways")


def test_a_mode_explain_cannot_show_yet_says_so(monkeypatch):
    monkeypatch.setattr(api, "MODES", api.MODES + ("sideways",))
    with pytest.raises(NotImplementedError, match="sideways"):
        astgrad.explain(corpus.sin_cos, mode="sideways")


def test_wrt_is_checked_like_grad():
    with pytest.raises(TypeError, match="wrt must be"):
        astgrad.explain(corpus.sin_cos, wrt=True)
    with pytest.raises(ValueError, match="not a parameter"):
        astgrad.explain(corpus.sin_cos, wrt="z")
    assert "return d_y\n" in astgrad.explain(corpus.sin_cos, wrt="y")["names"]
    assert "return d_x, d_y\n" in astgrad.explain(corpus.sin_cos, wrt=("x", "y"))["names"]


def test_refused_function_raises_the_same_error_as_grad(tmp_path):
    module = load_module(tmp_path, "def step(x):\n    global scale\n    return x * scale\n")
    with pytest.raises(NotStraightLineError) as from_grad:
        astgrad.grad(module.step)
    with pytest.raises(NotStraightLineError) as from_explain:
        astgrad.explain(module.step)
    assert str(from_explain.value) == str(from_grad.value)
    assert from_explain.value.lineno == 2


def test_unknown_stage_name_lists_the_stages():
    with pytest.raises(KeyError, match="source, check, resolve, ssa, cse, reverse, optimize, names"):
        astgrad.explain(corpus.sin_cos)["forward"]


def test_as_text_selects_stages():
    text = astgrad.explain(corpus.sin_cos).as_text(["ssa", "names"])
    assert re.findall(r"^# .*$", text, flags=re.M) == [
        "# 4. ssa: single assignment: one primitive per line",
        "# 8. names: the generated function, names tidied",
    ]


def test_html_shows_every_stage_escaped_and_highlighted():
    explanation = astgrad.explain(corpus.relu_sigmoid)
    page = explanation._repr_html_()
    assert page.count("<pre") == len(STAGES)
    # Every heading and code block names its font: notebook stylesheets may set a proportional one.
    styles = re.findall(r'<(?:p|pre) style="([^"]*)"', page)
    assert len(styles) == 2 * len(STAGES)
    assert all(re.search(r"font-family:[^;]*,monospace$", style) for style in styles)
    assert "(x &gt; " in page and " > " not in page
    assert '<span style="color:#8959a8">return</span>' in page
    assert re.sub(r"<[^>]+>", "", page).replace("&gt;", ">") == "".join(
        f"# {number}. {stage.name}: {stage.title}{stage.text}" for number, stage in enumerate(explanation, 1)
    )
