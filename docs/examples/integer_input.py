"""An integer array for a differentiated parameter: refused when the gradient is called."""
import numpy as np

import astgrad


def loss(w, X):
    return np.sum((X @ w) ** 2)


try:
    astgrad.grad(loss)(np.arange(3), np.ones((4, 3)))
except astgrad.IntegerInputError as error:
    print(error)
