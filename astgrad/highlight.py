"""Syntax colouring of Python source text, for terminals (ANSI) and notebooks (HTML).

A small highlighter on the standard library's `tokenize`: keywords, builtins,
the name after ``def``, numbers, strings and comments get a colour; every
other character is copied as it is. Text that does not tokenize is shown
without colour, never changed.
"""

import builtins
import html
import io
import keyword
import tokenize

KEYWORD, BUILTIN, DEFINED, NUMBER, STRING, COMMENT = "keyword", "builtin", "defined", "number", "string", "comment"

ANSI_CODES = {KEYWORD: "35", BUILTIN: "36", DEFINED: "1;34", NUMBER: "33", STRING: "32", COMMENT: "90"}
ANSI_RESET = "\x1b[0m"
HTML_STYLES = {
    KEYWORD: "color:#8959a8", BUILTIN: "color:#3e999f", DEFINED: "color:#4271ae;font-weight:bold",
    NUMBER: "color:#c55a00", STRING: "color:#718c00", COMMENT: "color:#8e908c;font-style:italic",
}  # fmt: skip
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))


def pieces(text):
    """`text` cut into ``(kind, piece)`` pairs, kind None for uncoloured text; the pieces join to `text`."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return [(None, text)] if text else []
    line_starts = _line_starts(text)
    result = []
    position = 0
    previous = None
    for token in tokens:
        kind = _kind(token, previous)
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            previous = token
        if kind is None:
            continue
        start = line_starts[token.start[0] - 1] + token.start[1]
        end = line_starts[token.end[0] - 1] + token.end[1]
        if start > position:
            result.append((None, text[position:start]))
        result.append((kind, text[start:end]))
        position = end
    if position < len(text):
        result.append((None, text[position:]))
    return result


def to_ansi(text):
    """`text` with ANSI colour codes, for a terminal."""
    return "".join(
        piece if kind is None else f"\x1b[{ANSI_CODES[kind]}m{piece}{ANSI_RESET}" for kind, piece in pieces(text)
    )


def to_html(text):
    """`text` escaped for HTML, coloured with inline styles (for inside a ``<pre>``)."""
    return "".join(
        html.escape(piece) if kind is None else f'<span style="{HTML_STYLES[kind]}">{html.escape(piece)}</span>'
        for kind, piece in pieces(text)
    )


def _kind(token, previous):
    if token.type == tokenize.NAME:
        if previous is not None and previous.type == tokenize.NAME and previous.string == "def":
            return DEFINED
        if keyword.iskeyword(token.string):
            return KEYWORD
        if token.string in BUILTIN_NAMES:
            return BUILTIN
        return None
    return {tokenize.NUMBER: NUMBER, tokenize.STRING: STRING, tokenize.COMMENT: COMMENT}.get(token.type)


def _line_starts(text):
    """The offset in `text` where each line begins (tokenize counts lines from 1)."""
    starts = [0]
    for line in io.StringIO(text):
        starts.append(starts[-1] + len(line))
    return starts
