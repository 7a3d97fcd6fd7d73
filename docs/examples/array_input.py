"""An array passed to the gradient of code that calls no NumPy function: refused when the gradient is called."""
import numpy as np

import astgrad


def energy(x, k):
    return 0.5 * k * x * x


try:
    astgrad.grad(energy)(np.linspace(-1.0, 1.0, 5), 2.0)
except astgrad.ArrayInputError as error:
    print(error)
