"""Small user-style modules that the error and source tests import.

They are plain modules (not test files) so that their line numbers stay put;
the tests find the lines they care about by their ``# MARK: <name>`` comments
with `marked_line`.
"""
import re


def marked_line(module_or_path, mark):
    """(line number, line text) of the one line carrying ``# MARK: <mark>``."""
    path = module_or_path if isinstance(module_or_path, str) else module_or_path.__file__
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    pattern = re.compile(r"#\s*MARK:\s*" + re.escape(mark) + r"(\s|$)")
    found = [(number, text) for number, text in enumerate(lines, 1) if pattern.search(text)]
    assert len(found) == 1, f"expected one line marked {mark!r} in {path}, found {len(found)}"
    return found[0]
