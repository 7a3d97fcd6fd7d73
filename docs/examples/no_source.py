"""A function without Python source: astgrad cannot read it, and says where it was asked to."""
import math

import astgrad

try:
    astgrad.grad(math.hypot)
except astgrad.SourceError as error:
    print(error)
