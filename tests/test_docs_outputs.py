"""Every output shown in docs/*.md is what the command that made it prints today.

In the pages, a block of output follows an HTML comment naming its command:

    <!-- output: astgrad show examples/quickstart.py:f --stage ssa -->
    ```python
    ...
    ```

``astgrad ARGS`` runs the command line and ``python FILE`` runs a script,
both in this process and from the repository root; the block holds what they
print (standard output and standard error, in the order printed). The test
fails when a block is stale. Rewrite every block with

    python tests/test_docs_outputs.py

and review the diff.
"""

import contextlib
import io
import os
import pathlib
import re
import runpy
import shlex

import pytest

from astgrad import cli

ROOT = pathlib.Path(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ROOT / "docs"
MARKED_BLOCK = re.compile(
    r"(?P<head>^<!-- output: (?P<command>.+?) -->\n```[^\n]*\n)(?P<body>.*?)(?P<tail>^```$)", re.S | re.M
)


def marked_blocks(page):
    """(command, shown output) for each marked block of a page's text."""
    return [(match["command"], match["body"]) for match in MARKED_BLOCK.finditer(page)]


def run(command):
    """What `command` (``astgrad ARGS`` or ``python FILE``) prints, run from the repository root."""
    argv = shlex.split(command)
    printed = io.StringIO()
    with _working_directory(ROOT), contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
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


PAGES = sorted(DOCS.glob("*.md"))
BLOCKS = [(page.name, command, body) for page in PAGES for command, body in marked_blocks(page.read_text("utf-8"))]


@pytest.mark.parametrize("page, command, shown", BLOCKS, ids=[f"{page}: {command}" for page, command, _ in BLOCKS])
def test_shown_output_is_current(page, command, shown):
    assert shown == run(command), f"docs/{page} is stale: run `python tests/test_docs_outputs.py`"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_marker_is_followed_by_a_fenced_block(page):
    text = page.read_text("utf-8")
    assert text.count("<!-- output:") == len(marked_blocks(text))


def test_code_quoted_from_the_example_files_is_in_them():
    examples = "".join(path.read_text("utf-8") for path in sorted((DOCS / "examples").glob("*.py")))
    quoted = re.findall(r"^```python\n(.*?)^```$", (DOCS / "errors.md").read_text("utf-8"), flags=re.S | re.M)
    assert len(quoted) == 7
    for code in quoted:
        assert code in examples


def test_teaching_pages_show_real_output():
    pages_with_output = {page for page, _, _ in BLOCKS}
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
