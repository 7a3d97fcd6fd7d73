"""NumPy gradients, pinned: the losses people write, generated code a careful person would read.

Each loss's generated gradient is a golden file under ``golden/numpy/``
(regenerate on purpose with ``ASTGRAD_UPDATE_GOLDEN=1 pytest
tests/test_numpy_golden.py`` and review the diff), and its numbers are checked
against central differences. The examples' losses are pinned the same way
(the README's and `examples/logistic_regression.py`'s is the `logreg` case).
"""

import os
import pathlib
import runpy

import numpy as np
import pytest

import astgrad
import numpy_losses

GOLDEN = pathlib.Path(__file__).parent / "golden" / "numpy"
EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"
RNG = np.random.default_rng(7)


def example_loss(name):
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))["loss"]


def arguments(name):
    """Arguments of each loss's shapes, away from kinks and ties."""
    n, d, h, k = 5, 3, 4, 2
    normal = lambda *shape: RNG.normal(size=shape)  # noqa: E731
    return {
        "linreg": (normal(d), normal(), normal(n, d), normal(n)),
        "logreg": (normal(d), normal(), normal(n, d), normal(n)),
        "mlp": (normal(d, h), normal(h), normal(h, k), normal(k), normal(n, d), np.eye(k)[RNG.integers(0, k, n)]),
        "softmax_score": (normal(d), normal(d)),
        "layer_norm_loss": (normal(n, d), normal(d), normal(d)),
        "attention": (normal(n, d), normal(n, d), normal(n, d)),
        "rosenbrock": (normal(d + 1),),
        "ridge": (normal(d), normal(n, d), normal(n), 0.3),
        "two_layer": (normal(h, d), normal(h), normal(d)),
        "sin_exp": (normal(d),),
        "zscore_loss": (normal(n), normal(n)),
        "gauss_nll": (normal(n), normal(n), normal(n)),
        "stack_features": (normal(d + 1), normal(d + 1)),
        "linear_regression": (normal(d), normal(), normal(n, d), normal(n)),
        "example_mlp": (normal(2, h), normal(h), normal(h, 3), normal(3), normal(n, 2), np.eye(3)[RNG.integers(0, 3, n)]),
    }[name]


CASES = [(name, getattr(numpy_losses, name), wrt) for name, (wrt, _) in numpy_losses.CASES.items()] + [
    ("linear_regression", example_loss("linear_regression"), ("w", "b")),
    ("example_mlp", example_loss("mlp"), ("W1", "b1", "W2", "b2")),
]


@pytest.mark.parametrize("name, loss, wrt", CASES, ids=[case[0] for case in CASES])
def test_generated_numpy_gradient_matches_golden_file(name, loss, wrt):
    text = astgrad.source(astgrad.grad(loss, wrt=wrt))
    path = GOLDEN / f"{name}.py"
    if os.environ.get("ASTGRAD_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


def test_the_readme_and_example_logistic_loss_is_the_logreg_case():
    text = astgrad.source(astgrad.grad(example_loss("logistic_regression"), wrt=("w", "b")))
    assert text == (GOLDEN / "logreg.py").read_text().replace("def d_logreg(", "def d_loss(")


@pytest.mark.parametrize("name, loss, wrt", CASES, ids=[case[0] for case in CASES])
def test_generated_numpy_gradient_agrees_with_central_differences(name, loss, wrt):
    args = arguments(name)
    names = loss.__code__.co_varnames[: loss.__code__.co_argcount]
    wrt_names = names if wrt is None else (wrt,) if isinstance(wrt, str) else wrt
    gradients = astgrad.grad(loss, wrt=wrt)(*args)
    gradients = gradients if len(wrt_names) > 1 else (gradients,)
    for parameter, gradient in zip(wrt_names, gradients):
        position = names.index(parameter)
        value = np.asarray(args[position], dtype=float)
        expected = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            step = np.zeros(value.shape)
            step[index] = 1e-6
            up, down = list(args), list(args)
            up[position], down[position] = value + step, value - step
            expected[index] = (loss(*up) - loss(*down)) / 2e-6
        assert np.shape(gradient) == value.shape, parameter
        np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-7, err_msg=parameter)
