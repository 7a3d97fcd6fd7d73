"""A two-layer neural network classifying three interleaved spirals.

The data: 300 points in the plane on three spiral arms, 100 per arm, with
some noise in the angle.  A straight line cannot separate the arms; a network
with one hidden layer can:

    h      = tanh(X @ W1 + b1)          (300 x 32: the hidden layer)
    logits = h @ W2 + b2                (300 x 3: one score per class)

The loss is the softmax cross-entropy of the logits against the one-hot
labels Y, with the log-sum-exp made stable by subtracting each row's largest
logit first.  astgrad differentiates it with respect to the four parameters
W1, b1, W2, b2, and we train by full-batch gradient descent with momentum:

    velocity  <-  momentum * velocity - learning_rate * gradient
    parameter <-  parameter + velocity

The training loop is ordinary Python outside the differentiated function.

Run it with::

    python examples/mlp.py
    python examples/mlp.py --show-source   # also print the generated gradient
"""
import argparse

import numpy as np

import astgrad

N_CLASSES = 3


def make_spirals(n_per_class=100, n_classes=N_CLASSES, noise=0.2, seed=0):
    """Points on `n_classes` spiral arms: X of shape (n, 2) and integer labels."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    radius = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    angle = (np.tile(np.linspace(0.0, 4.0, n_per_class), n_classes)
             + labels * (2 * np.pi / n_classes)
             + noise * rng.normal(size=labels.size))
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X, labels


def one_hot(labels, n_classes=N_CLASSES):
    return np.eye(n_classes)[labels]


def init_params(n_inputs=2, n_hidden=32, n_outputs=N_CLASSES, seed=1):
    """Random weights and zero biases: [W1, b1, W2, b2].

    W1 is standard normal (the inputs are at most 1 in size); W2 is scaled by
    1/sqrt(n_hidden), so that the initial logits are of order 1.
    """
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n_inputs, n_hidden)),
            np.zeros(n_hidden),
            rng.normal(size=(n_hidden, n_outputs)) / np.sqrt(n_hidden),
            np.zeros(n_outputs)]


def predict(W1, b1, W2, b2, X):
    """The logits: one row of class scores per point."""
    h = np.tanh(X @ W1 + b1)
    return h @ W2 + b2


def loss(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * log_probs) / X.shape[0]


# d_loss(W1, b1, W2, b2, X, Y) returns (loss, (dW1, db1, dW2, db2)).
d_loss = astgrad.value_and_grad(loss, wrt=("W1", "b1", "W2", "b2"))


def accuracy(params, X, labels):
    """The fraction of points whose largest logit is their own class."""
    return np.mean(np.argmax(predict(*params, X), axis=1) == labels)


def train(X, labels, steps=300, learning_rate=0.5, momentum=0.9, every=30, report=None):
    """Gradient descent with momentum from `init_params()`; returns (params, losses).

    ``losses[k]`` is the loss after k steps (so there are ``steps + 1``).
    ``report(step, loss, params)`` is called every ``every`` steps and at the end.
    """
    Y = one_hot(labels)
    params = init_params(n_inputs=X.shape[1])
    velocity = [np.zeros_like(p) for p in params]
    losses = []
    for step in range(steps + 1):
        value, grads = d_loss(*params, X, Y)
        losses.append(value)
        if report is not None and (step % every == 0 or step == steps):
            report(step, value, params)
        velocity = [momentum * v - learning_rate * g for v, g in zip(velocity, grads)]
        params = [p + v for p, v in zip(params, velocity)]
    return params, losses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    parser.add_argument("--show-source", action="store_true", help="print the gradient astgrad generated")
    args = parser.parse_args(argv)

    X, labels = make_spirals()
    print("a 2-32-3 tanh network on %d points of %d spirals" % (X.shape[0], N_CLASSES))
    print()
    print("step          loss  accuracy")

    def report(step, value, params):
        print("%4d  %12.6f  %8.3f" % (step, value, accuracy(params, X, labels)))

    params, losses = train(X, labels, steps=args.steps, report=report)
    print()
    print("training accuracy = %.3f" % accuracy(params, X, labels))
    if args.show_source:
        print()
        print("The code astgrad generated:")
        print()
        print(astgrad.source(d_loss))


if __name__ == "__main__":
    main()
