"""The generated source, pinned: readability is a product and must not regress silently.

Regenerate on purpose with ``ASTGRAD_UPDATE_GOLDEN=1 pytest tests/test_golden.py``
and review the diff.
"""

import ast
import inspect
import os
import pathlib
import re

import pytest

import astgrad
import control_flow_corpus
import corpus
from support import load_module

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = [(fn.__name__, astgrad.grad, fn) for fn in corpus.CORPUS] + [
    ("relu_sigmoid_value", astgrad.value_and_grad, corpus.relu_sigmoid),
    ("program_wrt_w", lambda fn: astgrad.grad(fn, wrt="w"), corpus.program),
]
# Loops and branches: the gradient, and what the other modes make of them.
CF = control_flow_corpus
CONTROL_FLOW_CASES = [
    (fn.__name__, lambda fn, wrt=wrt: astgrad.grad(fn, wrt=wrt), fn) for fn, wrt in control_flow_corpus.GOLDEN
] + [
    ("huber_value", astgrad.value_and_grad, CF.huber),
    ("huber_jvp", astgrad.jvp, CF.huber),
    ("huber_hessian", astgrad.hessian, CF.huber),
    ("huber_grad_grad", lambda fn: astgrad.grad(astgrad.grad(fn)), CF.huber),
    ("euler_jvp", lambda fn: astgrad.jvp(fn, wrt=(0, 1)), CF.euler),
    ("euler_value", lambda fn: astgrad.value_and_grad(fn, wrt=(0, 1)), CF.euler),
]
CASES += CONTROL_FLOW_CASES


@pytest.mark.parametrize("name, transform, fn", CASES, ids=[case[0] for case in CASES])
def test_generated_source_matches_golden_file(name, transform, fn):
    text = astgrad.source(transform(fn))
    path = GOLDEN / f"{name}.py"
    if os.environ.get("ASTGRAD_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_sin_cos_reads_as_written_by_hand():
    assert astgrad.source(astgrad.grad(corpus.sin_cos)) == (
        "def d_sin_cos(x, y, d_out=1.0):\n"
        "    sin_x = sin(x)\n"
        "    cos_y = cos(y)\n"
        "    d_sin_x = d_out * cos_y\n"
        "    d_cos_y = d_out * sin_x\n"
        "    d_y = -d_cos_y * sin(y)\n"
        "    d_x = d_sin_x * cos(x)\n"
        "    return d_x, d_y\n"
    )


NUMBER_END = r"(?![.\d])"
NEEDLESS = [
    r"\* 1(\.0)?" + NUMBER_END,
    r"(?<![\w.])1(\.0)? \*",
    r"(?<![\w.])0(\.0)? [+-]",
    r"[+-] 0(\.0)?" + NUMBER_END,
    r"--",
    r"\+ -",
]


@pytest.mark.parametrize("name, transform, fn", CASES, ids=[case[0] for case in CASES])
def test_no_needless_arithmetic_and_no_dead_statements(name, transform, fn):
    text = astgrad.source(transform(fn))
    for pattern in NEEDLESS:
        assert not re.search(pattern, text), (pattern, text)
    body = [s for s in ast.parse(text).body[0].body if not _is_check(s)]
    for index, statement in enumerate(body[:-1]):
        if not isinstance(statement, ast.Assign):  # a branch or a loop of control-flow code
            continue
        target = statement.targets[0].id
        later_reads = [
            node
            for later in body[index + 1 :]
            for node in ast.walk(later.value if isinstance(later, ast.Assign) else later)
            if isinstance(node, ast.Name) and node.id == target and isinstance(node.ctx, ast.Load)
        ]
        assert later_reads, f"{target} is assigned but never read:\n{text}"


def _is_check(statement):
    """Whether a statement is the arguments' check (``if type(x) is not float: ...``)."""
    return isinstance(statement, ast.If) and "type(" in ast.unparse(statement.test)


def test_primal_results_are_reused_not_recomputed():
    text = astgrad.source(astgrad.grad(corpus.reuse))
    assert text.count("math.exp(") == 1
    assert "d_x = d_y * y" in text or "* y" in text


def test_origin_comments_name_the_users_expression():
    assert astgrad.source(astgrad.grad(corpus.sin_cos), comments=True) == (
        "def d_sin_cos(x, y, d_out=1.0):\n"
        "    sin_x = sin(x)\n"
        "    cos_y = cos(y)\n"
        "    d_sin_x = d_out * cos_y  # from line 8: sin(x) * cos(y)\n"
        "    d_cos_y = d_out * sin_x  # from line 8: sin(x) * cos(y)\n"
        "    d_y = -d_cos_y * sin(y)  # from line 8: cos(y)\n"
        "    d_x = d_sin_x * cos(x)  # from line 8: sin(x)\n"
        "    return d_x, d_y\n"
    )
    # What tracebacks and inspect show: primal lines name the user's expression too.
    assert inspect.getsource(astgrad.grad(corpus.sin_cos)) == (
        "def d_sin_cos(x, y, d_out=1.0):\n"
        "    sin_x = sin(x)  # from line 8: sin(x)\n"
        "    cos_y = cos(y)  # from line 8: cos(y)\n"
        "    d_sin_x = d_out * cos_y  # from line 8: sin(x) * cos(y)\n"
        "    d_cos_y = d_out * sin_x  # from line 8: sin(x) * cos(y)\n"
        "    d_y = -d_cos_y * sin(y)  # from line 8: cos(y)\n"
        "    d_x = d_sin_x * cos(x)  # from line 8: sin(x)\n"
        "    return d_x, d_y\n"
    )


def test_origin_comments_name_a_helpers_file_and_stay_within_79_columns(tmp_path):
    load_module(tmp_path, "import math\ndef squash(v):\n    return math.tanh(v) * 2.0\n", name="squash_helpers")
    user = load_module(
        tmp_path,
        "from squash_helpers import squash\n"
        "def f(x):\n"
        "    return squash(x) + x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x * x\n",
    )
    text = astgrad.source(astgrad.grad(user.f), comments=True)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 79
    # Trailing comments would not fit, so each stands above the lines of its origin.
    at = lines.index("    # from squash_helpers.py:3: math.tanh(v) * 2.0")
    assert lines[at + 1] == "    d_tanh_x = d_out * 2.0"
    long_quote = "    # from line 3: " + "x * " * 14 + "x..."  # cut to 79 columns
    assert len(long_quote) == 79
    assert lines[lines.index(long_quote) + 1 : lines.index(long_quote) + 3] == [
        "    d_prod_6 = d_out * x",
        "    d_x = d_out * prod_6",
    ]
    assert [line for line in lines if "#" not in line] == astgrad.source(astgrad.grad(user.f)).splitlines()
