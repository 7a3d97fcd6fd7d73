"""A container holding what has no gradient; docs/errors.md shows what this prints:

    python docs/examples/container_error.py
"""
import numpy as np

import astgrad


def loss(params, x):
    return np.sum(x @ params["W"] + params["b"])


try:
    astgrad.grad(loss, wrt="params")({"W": np.ones((2, 2)), "b": None}, np.ones(2))
except astgrad.ContainerError as error:
    print(error)
