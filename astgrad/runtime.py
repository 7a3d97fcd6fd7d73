"""Helpers that generated code calls at run time (each is also in the primitive table)."""

import numpy as np

from .errors import NonScalarOutputError


def scalar_seed(output, seed):
    """`seed`, after checking that a gradient of `output` is well defined with it.

    A gradient needs a scalar output; an array output needs an output seed of
    its own shape, which makes the adjoint a vector-Jacobian product.
    """
    if np.ndim(output) and np.size(output) != 1 and np.shape(seed) != np.shape(output):
        raise NonScalarOutputError(
            f"a gradient needs a scalar output, but the function returned an array of shape {np.shape(output)}",
            hint=f"pass an output seed of that shape (d_out=...) for a vector-Jacobian product, "
            "or reduce the output to a scalar (e.g. a sum or a loss)",
        )
    return seed
