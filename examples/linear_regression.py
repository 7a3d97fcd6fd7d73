"""Linear regression on synthetic data, fitted by gradient descent.

The data: 200 points x (rows of X, three features each) and targets

    y = X @ true_w + true_b + noise

The model predicts ``X @ w + b``; the loss is the mean squared error.  We
start from w = 0, b = 0 and take plain gradient descent steps

    w  <-  w - learning_rate * dloss/dw
    b  <-  b - learning_rate * dloss/db

``astgrad.value_and_grad(loss, wrt=("w", "b"))`` gives the loss and both
derivatives in one call; X and y are passed along but not differentiated.
The training loop is ordinary Python outside the differentiated function.

Run it with::

    python examples/linear_regression.py
    python examples/linear_regression.py --show-source   # also print the generated gradient
"""
import argparse

import numpy as np

import astgrad

TRUE_W = np.array([2.0, -3.0, 0.5])
TRUE_B = 1.5


def make_data(n=200, noise=0.1, seed=0):
    """n points with three standard normal features, and their noisy targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ TRUE_W + TRUE_B + noise * rng.normal(size=n)
    return X, y


def loss(w, b, X, y):
    residual = X @ w + b - y
    return np.mean(residual ** 2)


# d_loss(w, b, X, y) returns (loss, (dloss/dw, dloss/db)).
d_loss = astgrad.value_and_grad(loss, wrt=("w", "b"))


def fit(X, y, steps=100, learning_rate=0.1, every=10, report=None):
    """Gradient descent from w = 0, b = 0; returns (w, b, losses).

    ``losses[k]`` is the loss after k steps (so there are ``steps + 1``).
    ``report(step, loss)`` is called every ``every`` steps and at the end.
    """
    w = np.zeros(X.shape[1])
    b = 0.0
    losses = []
    for step in range(steps + 1):
        value, (d_w, d_b) = d_loss(w, b, X, y)
        losses.append(value)
        if report is not None and (step % every == 0 or step == steps):
            report(step, value)
        w = w - learning_rate * d_w
        b = b - learning_rate * d_b
    return w, b, losses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="gradient descent steps (default 100)")
    parser.add_argument("--show-source", action="store_true", help="print the gradient astgrad generated")
    args = parser.parse_args(argv)

    X, y = make_data()
    print("fitting y = X @ w + b to %d points by gradient descent" % X.shape[0])
    print()
    print("step          loss")
    w, b, losses = fit(X, y, steps=args.steps,
                       report=lambda step, value: print("%4d  %12.6f" % (step, value)))
    print()
    print("        fitted      true")
    for i in range(len(w)):
        print("w[%d]  %8.4f  %8.4f" % (i, w[i], TRUE_W[i]))
    print("b     %8.4f  %8.4f" % (b, TRUE_B))
    if args.show_source:
        print()
        print("The code astgrad generated:")
        print()
        print(astgrad.source(d_loss))


if __name__ == "__main__":
    main()
