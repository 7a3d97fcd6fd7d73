"""Logistic regression on two Gaussian blobs, fitted by gradient descent.

The data: 100 points around (-1.5, -1.5) with label 0 and 100 points
around (1.5, 1.5) with label 1, both blobs with standard deviation 1, so
they overlap a little.  The model gives the log-odds of label 1 as ``z = X @ w + b``, and the
loss is the mean negative log-likelihood

    mean(log(1 + exp(z)) - y * z)

written with ``np.logaddexp(0.0, z)`` for log(1 + exp(z)), which does not
overflow for large z.  astgrad differentiates it with respect to w and b;
the training loop is ordinary Python outside the differentiated function.

Run it with::

    python examples/logistic_regression.py
    python examples/logistic_regression.py --show-source   # also print the generated gradient
"""
import argparse

import numpy as np

import astgrad


def make_blobs(n_per_class=100, seed=0):
    """Two blobs of 2-D points: X of shape (2 n, 2) and labels y of 0.0 and 1.0."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(loc=-1.5, size=(n_per_class, 2)),
                        rng.normal(loc=1.5, size=(n_per_class, 2))])
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)])
    return X, y


def loss(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


# d_loss(w, b, X, y) returns (loss, (dloss/dw, dloss/db)).
d_loss = astgrad.value_and_grad(loss, wrt=("w", "b"))


def accuracy(w, b, X, y):
    """The fraction of points on the right side of the line X @ w + b = 0."""
    return np.mean((X @ w + b > 0) == (y == 1))


def fit(X, y, steps=200, learning_rate=0.5, every=20, report=None):
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
    parser.add_argument("--steps", type=int, default=200, help="gradient descent steps (default 200)")
    parser.add_argument("--show-source", action="store_true", help="print the gradient astgrad generated")
    args = parser.parse_args(argv)

    X, y = make_blobs()
    print("logistic regression on two blobs of %d points each" % (X.shape[0] // 2))
    print()
    print("step          loss")
    w, b, losses = fit(X, y, steps=args.steps,
                       report=lambda step, value: print("%4d  %12.6f" % (step, value)))
    print()
    print("w = [%.4f, %.4f], b = %.4f" % (w[0], w[1], b))
    print("training accuracy = %.3f" % accuracy(w, b, X, y))
    if args.show_source:
        print()
        print("The code astgrad generated:")
        print()
        print(astgrad.source(d_loss))


if __name__ == "__main__":
    main()
