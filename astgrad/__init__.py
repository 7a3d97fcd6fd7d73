"""astgrad: automatic differentiation of plain Python math functions by source transformation.

    @astgrad.grad
    def f(x, y):
        return math.sin(x) * math.cos(y)

    f(0.5, 1.2)                  # (df/dx, df/dy)
    print(astgrad.source(f))     # the generated derivative, as Python source
"""

from .api import grad, source, value_and_grad
from .errors import AstgradError, NoDerivativeError, NonScalarOutputError, NotStraightLineError, SourceError

__all__ = [
    "grad",
    "value_and_grad",
    "source",
    "AstgradError",
    "NotStraightLineError",
    "NoDerivativeError",
    "NonScalarOutputError",
    "SourceError",
]
__version__ = "0.1.0"
