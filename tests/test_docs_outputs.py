"""Every output shown in docs/*.md and README.md is what the command that made it prints today.

In the pages, a block of output follows an HTML comment naming its command:

    <!-- output: astgrad show examples/quickstart.py:f --stage ssa -->
    ```python
    ...
    ```

``astgrad ARGS`` runs the command line and ``python FILE`` runs a script,
both in this process and from the repository root; the block holds what they
print (standard output and standard error, in the order printed). The test
fails when a block is stale, showing the difference. Rewrite every block with

    python tests/test_docs_outputs.py

and review the diff.

Prose may quote a generated line (`d_a = d_h * gt`); in the tutorial's NumPy
chapter every such quote must be a line of one of its blocks, so that a
change of the generated code cannot leave the explanation behind.
"""

import contextlib
import difflib
import io
import os
import pathlib
import re
import runpy
import shlex

import pytest

from astgrad import cli
from support import restored_rule_table

ROOT = pathlib.Path(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ROOT / "docs"
MARKED_BLOCK = re.compile(
    r"(?P<head>^<!-- output: (?P<command>.+?) -->\n```[^\n]*\n)(?P<body>.*?)(?P<tail>^```$)", re.S | re.M
)


def marked_blocks(page):
    """(line of the marker, command, shown output) for each marked block of a page's text."""
    return [
        (page.count("\n", 0, match.start()) + 1, match["command"], match["body"])
        for match in MARKED_BLOCK.finditer(page)
    ]


def run(command):
    """What `command` (``astgrad ARGS`` or ``python FILE``) prints, run from the repository root."""
    argv = shlex.split(command)
    printed = io.StringIO()
    with _working_directory(ROOT), contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), \
            restored_rule_table():  # a page's script may register rules: they stay with it
        if argv[0] == "astgrad":
            cli.main(argv[1:])
        elif argv[0] == "python" and len(argv) == 2:
            runpy.run_path(argv[1], run_name="__main__")
        else:
            raise ValueError(f"a docs block names a command this test cannot run: {command!r}")
    text = printed.getvalue()
    return text if text.endswith("\n") else text + "\n"


def regenerated(page):
    """The page's text with every marked block holding its command's output."""
    return MARKED_BLOCK.sub(lambda match: match["head"] + run(match["command"]) + match["tail"], page)


@contextlib.contextmanager
def _working_directory(path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def staleness(page, line, command, shown, printed):
    """Why a block is stale: where it is, and a diff from what it shows to what the command prints."""
    diff = difflib.unified_diff(
        shown.splitlines(keepends=True), printed.splitlines(keepends=True), "shown in the page", "printed today"
    )
    return (
        f"{page if page == 'README.md' else 'docs/' + page}:{line}: the block under `{command}` is stale\n{''.join(diff)}"
        "rewrite every block with `python tests/test_docs_outputs.py` and review the diff"
    )


PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
BLOCKS = [
    (page.name, line, command, body)
    for page in PAGES
    for line, command, body in marked_blocks(page.read_text("utf-8"))
]


@pytest.mark.parametrize(
    "page, line, command, shown", BLOCKS, ids=[f"{page}: {command}" for page, _, command, _ in BLOCKS]
)
def test_shown_output_is_current(page, line, command, shown):
    printed = run(command)
    if shown != printed:
        pytest.fail(staleness(page, line, command, shown, printed), pytrace=False)


def test_a_stale_block_fails_with_a_diff_and_the_command_that_rewrites_it():
    message = staleness("tutorial.md", 12, "astgrad show f.py:f", "d_x = 2 * x\nreturn d_x\n", "d_x = x + x\nreturn d_x\n")
    assert message.splitlines() == [
        "docs/tutorial.md:12: the block under `astgrad show f.py:f` is stale",
        "--- shown in the page",
        "+++ printed today",
        "@@ -1,2 +1,2 @@",
        "-d_x = 2 * x",
        "+d_x = x + x",
        " return d_x",
        "rewrite every block with `python tests/test_docs_outputs.py` and review the diff",
    ]


def quoted_generated_lines(text):
    """The inline code spans of `text` that read like a generated adjoint line: `d_name = ...`."""
    prose = re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M)
    spans = (" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose))
    return [span for span in spans if re.match(r"d_\w+ = ", span)]


def chapter(page, heading):
    """The part of a page's text from `heading` (a `## ` line) to the next `## ` heading."""
    start = page.find(f"\n{heading}\n")
    assert start != -1, f"no heading {heading!r} in the page"
    end = page.find("\n## ", start + 1)
    return page[start : end if end != -1 else len(page)]


def test_generated_lines_quoted_in_the_numpy_chapter_are_generated():
    numpy_chapter = chapter((DOCS / "tutorial.md").read_text("utf-8"), "## Example 3: NumPy, a logistic regression")
    generated = {
        line.split("  # from ")[0].strip()
        for _, _, body in marked_blocks(numpy_chapter)
        for line in body.splitlines()
    }
    quoted = quoted_generated_lines(numpy_chapter)
    assert len(quoted) >= 2
    stale = [span for span in quoted if span not in generated]
    assert not stale, (
        f"docs/tutorial.md quotes generated lines that its blocks no longer show: {stale}; "
        "make the prose say what the blocks show now"
    )


def test_a_quoted_line_is_found_across_a_line_break_among_other_code():
    text = "adds `d_z = d_z +\nd_c * sigmoid(z)` to `d_z`\n```python\nd_x = 1\n```\nas `z = x @ w` and `d_b = d_z.sum()` do"
    assert quoted_generated_lines(text) == ["d_z = d_z + d_c * sigmoid(z)", "d_b = d_z.sum()"]


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_marker_is_followed_by_a_fenced_block(page):
    text = page.read_text("utf-8")
    assert text.count("<!-- output:") == len(marked_blocks(text))


def test_code_quoted_from_the_example_files_is_in_them():
    examples = "".join(path.read_text("utf-8") for path in sorted((DOCS / "examples").glob("*.py")))
    quoted = re.findall(r"^```python\n(.*?)^```$", (DOCS / "errors.md").read_text("utf-8"), flags=re.S | re.M)
    assert len(quoted) == 12
    for code in quoted:
        assert code in examples


def test_teaching_pages_show_real_output():
    pages_with_output = {page for page, _, _, _ in BLOCKS}
    assert {"index.md", "tutorial.md", "api.md", "errors.md"} <= pages_with_output


def main():
    for page in PAGES:
        text = page.read_text("utf-8")
        new_text = regenerated(text)
        if new_text != text:
            page.write_text(new_text, "utf-8")
            print(f"rewrote {page.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
