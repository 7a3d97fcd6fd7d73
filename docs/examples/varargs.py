"""*args and **kwargs: data passed through, made explicit at each call."""

import numpy as np

import astgrad


def residuals(w, X, y, scale=1.0):
    return scale * (X @ w - y)


def loss(w, *args, **kwargs):
    r = residuals(w, *args, **kwargs)
    return np.sum(r * r)


X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
y = np.array([1.0, 0.0, 2.0])
w = np.array([0.5, -0.5])

d_loss = astgrad.grad(loss)
print("d_loss(w, X, y) =", d_loss(w, X, y))
print("by hand:        ", 2 * X.T @ (X @ w - y))
print("d_loss(w, X, y, scale=2.0) =", d_loss(w, X, y, scale=2.0))
print(astgrad.source(d_loss))
try:
    astgrad.grad(loss, wrt="args")
except astgrad.NoDerivativeError as error:
    print(error)
