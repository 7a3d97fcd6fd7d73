"""Pages generated from the code must match it, and code the pages teach with must do what they say."""

import pathlib
import runpy

import numpy as np

import astgrad
from astgrad import primitives_doc, rules

DOCS = pathlib.Path(__file__).parent.parent / "docs"


def test_primitives_page_is_generated_from_the_table():
    page = (DOCS / "primitives.md").read_text(encoding="utf-8")
    assert page == primitives_doc.markdown(), "regenerate: " + primitives_doc.REGENERATE
    assert page.count("\n| `") == len(rules.all_entries())


def test_the_tutorials_relu_layer_splits_a_tie_and_its_product_form_gives_zero():
    relu_layer = runpy.run_path(str(DOCS / "examples" / "relu_layer.py"))
    X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, -1.0]])
    v, y = np.array([0.5, -1.0, 2.0]), np.array([1.0, -2.0, 0.5])
    W = np.zeros((2, 3))
    b = np.zeros(3)  # every hidden unit exactly at the kink
    one_sided = 2 * np.mean((np.zeros(3) - y)[:, None] * v, axis=0)  # d_b with relu' = 1 at the kink
    _, d_b = astgrad.grad(relu_layer["loss"], wrt=("W", "b"))(W, b, v, X, y)
    np.testing.assert_allclose(d_b, 0.5 * one_sided, rtol=1e-14)
    _, d_b = astgrad.grad(relu_layer["loss_zero_at_the_kink"], wrt=("W", "b"))(W, b, v, X, y)
    assert np.array_equal(d_b, np.zeros(3))


def test_the_tutorials_relu_layers_agree_with_central_differences_away_from_the_kink():
    relu_layer = runpy.run_path(str(DOCS / "examples" / "relu_layer.py"))
    rng = np.random.default_rng(0)
    W, b, v = rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=3)
    X, y = rng.normal(size=(5, 2)), rng.normal(size=5)
    for name in ("loss", "loss_zero_at_the_kink"):
        loss = relu_layer[name]
        _, d_b = astgrad.grad(loss, wrt=("W", "b"))(W, b, v, X, y)
        step = 1e-6 * np.eye(3)
        central = [(loss(W, b + e, v, X, y) - loss(W, b - e, v, X, y)) / 2e-6 for e in step]
        np.testing.assert_allclose(d_b, central, rtol=1e-6)
