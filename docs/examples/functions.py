"""Functions as values: a helper given a function, a lambda, a closure; docs/api.md shows what this prints:

    python docs/examples/functions.py
"""
import math

import numpy as np

import astgrad


def simpson(a, b, func):
    h = (b - a) / 2
    return h / 3 * (func(a) + 4 * func(a + h) + func(b))


def area(b, k):
    return simpson(0.0, b, lambda s: k * math.sin(s))


def layer(x, W, nonlinearity=np.tanh):
    return np.sum(nonlinearity(W @ x))


def gen_quartic(F):
    return lambda x: np.sum(F * x**4 - x)


if __name__ == "__main__":
    d_area = astgrad.grad(area)
    print(astgrad.source(d_area))
    print("d_area(1.0, 2.0) =", d_area(1.0, 2.0))
    d_layer = astgrad.grad(lambda x, W: layer(x, W), wrt="x")  # the default, np.tanh
    print("d layer / dx:", d_layer(np.array([1.0, -1.0]), np.array([[0.5, 0.25], [0.0, 1.0]])))
    print("closure:", astgrad.grad(gen_quartic(3.0))(np.array([1.0, 0.5])))
