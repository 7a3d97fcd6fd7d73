"""The tokenizer-based highlighter: colours the right tokens and never changes the text."""

import pathlib
import re

import pytest

from astgrad import highlight

GOLDEN = pathlib.Path(__file__).parent / "golden"
SAMPLE = 'def d_f(x, d_out=1.0):\n    y = max(x, 0.5)  # a <comment> & more\n    return "a", y\n'


@pytest.mark.parametrize("path", sorted(GOLDEN.rglob("*.*")), ids=lambda path: path.name)
def test_pieces_join_back_to_the_text(path):
    text = path.read_text()
    assert "".join(piece for _, piece in highlight.pieces(text)) == text


def test_each_kind_of_token_gets_its_colour():
    coloured = [(kind, piece) for kind, piece in highlight.pieces(SAMPLE) if kind is not None]
    assert coloured == [
        ("keyword", "def"),
        ("defined", "d_f"),
        ("number", "1.0"),
        ("builtin", "max"),
        ("number", "0.5"),
        ("comment", "# a <comment> & more"),
        ("keyword", "return"),
        ("string", '"a"'),
    ]


def test_ansi_wraps_coloured_tokens_and_resets():
    text = highlight.to_ansi(SAMPLE)
    assert text.startswith("\x1b[35mdef\x1b[0m \x1b[1;34md_f\x1b[0m(x, d_out=\x1b[33m1.0\x1b[0m):\n")
    assert re.sub(r"\x1b\[[0-9;]*m", "", text) == SAMPLE


def test_html_is_escaped_and_styled():
    page = highlight.to_html(SAMPLE)
    assert '<span style="color:#8e908c;font-style:italic"># a &lt;comment&gt; &amp; more</span>' in page
    assert '<span style="color:#718c00">&quot;a&quot;</span>' in page
    assert "<comment>" not in page


def test_text_that_does_not_tokenize_is_left_uncoloured():
    broken = 'def f(:\n    return """never closed\n'
    assert highlight.pieces(broken) == [(None, broken)]
    assert highlight.to_ansi(broken) == broken
    assert highlight.to_html("a < b (") == "a &lt; b ("
