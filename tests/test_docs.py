"""Pages generated from the code must match it."""

import pathlib

from astgrad import primitives_doc, rules

DOCS = pathlib.Path(__file__).parent.parent / "docs"


def test_primitives_page_is_generated_from_the_table():
    page = (DOCS / "primitives.md").read_text(encoding="utf-8")
    assert page == primitives_doc.markdown(), "regenerate: " + primitives_doc.REGENERATE
    assert page.count("\n| `") == len(rules.all_entries())
