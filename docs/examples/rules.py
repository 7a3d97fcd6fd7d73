"""Giving astgrad a derivative it lacks: docs/api.md shows what this prints.

    python docs/examples/rules.py
"""
import math

import numpy as np

import astgrad


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# A numerically stable softplus has a branch; its derivative is known.
@astgrad.derivative(x="sigmoid(x)")
def softplus(x):
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


def loss(w, x):
    return softplus(-w * x) + 0.5 * w * w


# A function that is not elementwise: give each input's adjoint and the tangent.
astgrad.adjoint("y = np.polyval(p, x)",
                p="np.vander(x, len(p)).T @ d_y", x="np.polyval(np.polyder(p), x) * d_y",
                tangent="np.polyval(d_p, x) + np.polyval(np.polyder(p), x) * d_x")


def fit(p, x, y):
    return np.sum((np.polyval(p, x) - y) ** 2)


print(astgrad.source(astgrad.grad(loss, wrt="w")))
print(astgrad.grad(loss, wrt="w")(0.5, 2.0), astgrad.grad(loss, wrt="w", mode="forward")(0.5, 2.0))
print(astgrad.source(astgrad.grad(fit, wrt="p")))
print(astgrad.check_rule(softplus))
print(astgrad.check_rule(np.polyval, np.array([1.0, -2.0, 0.5]), np.array([0.3, 1.2, -0.7])))
