"""A regression through one hidden layer of relus, written with NumPy; docs/tutorial.md reads its gradient:

    astgrad show docs/examples/relu_layer.py:loss --wrt W,b
"""
import numpy as np


def loss(W, b, v, X, y):
    a = X @ W + b
    h = np.maximum(a, 0.0)
    return np.mean((h @ v - y) ** 2)


def loss_zero_at_the_kink(W, b, v, X, y):
    a = X @ W + b
    h = a * (a > 0.0)
    return np.mean((h @ v - y) ** 2)
