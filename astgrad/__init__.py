"""astgrad: automatic differentiation of plain Python math functions by source transformation.

    @astgrad.grad
    def f(x, y):
        return math.sin(x) * math.cos(y)

    f(0.5, 1.2)                  # (df/dx, df/dy)
    print(astgrad.source(f))     # the generated derivative, as Python source
"""

from .api import grad, hessian, jvp, primitive_table, source, value_and_grad
from .gradcheck import check_grads
from .jacobians import hvp, jacobian
from .dataflow import graph
from .errors import (
    AstgradError,
    ArgumentsError,
    GradientCheckError,
    ArrayInputError,
    ContainerError,
    IntegerInputError,
    NoDerivativeError,
    NonScalarOutputError,
    NotStraightLineError,
    RuleError,
    RuleReplacedWarning,
    SourceError,
    UnsupportedSyntaxError,
)
from .explanation import explain
from .rule_check import check_rule
from .user_rules import adjoint, derivative

__all__ = [
    "grad",
    "value_and_grad",
    "jvp",
    "hessian",
    "jacobian",
    "hvp",
    "check_grads",
    "source",
    "explain",
    "graph",
    "primitive_table",
    "derivative",
    "adjoint",
    "check_rule",
    "AstgradError",
    "ArgumentsError",
    "UnsupportedSyntaxError",
    "GradientCheckError",
    "NotStraightLineError",
    "NoDerivativeError",
    "NonScalarOutputError",
    "SourceError",
    "ArrayInputError",
    "IntegerInputError",
    "ContainerError",
    "RuleError",
    "RuleReplacedWarning",
]
__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it from here
