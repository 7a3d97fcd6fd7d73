"""Helper functions, relu and sigmoid: value and gradient in one call.

The function below calls two small helpers of our own, ``sigmoid`` and
``relu``.  astgrad inlines such helpers (plain, straight-line Python functions
defined at module level) into the function it differentiates, so they need no
special treatment.

``relu`` is written as ``max(x, 0.0)``: differentiated functions must be
straight-line code, without ``if``, ``for`` or ``while``.

``astgrad.value_and_grad`` builds a function that returns the value of
``model`` together with its gradient with respect to all of its parameters.

Run it with::

    python examples/relu_sigmoid.py
"""
from math import cos, exp, log, sin

import astgrad


def sigmoid(x):
    return 1 / (1 + exp(-x))


def relu(x):
    return max(x, 0.0)


def model(a, b, c):
    return relu(log(sin(a * b) - exp(c) + 5) ** a / b * cos(c) + sigmoid(a))


# d_model(a, b, c) returns (model(a, b, c), (dy/da, dy/db, dy/dc)).
d_model = astgrad.value_and_grad(model)


def main():
    a, b, c = 2.0, 5.0, -3.0
    y, (dyda, dydb, dydc) = d_model(a, b, c)

    print("y = relu(log(sin(a*b) - exp(c) + 5) ** a / b * cos(c) + sigmoid(a))")
    print("at a = %g, b = %g, c = %g:" % (a, b, c))
    print()
    print("y     = %r" % y)
    print("dy/da = %r" % dyda)
    print("dy/db = %r" % dydb)
    print("dy/dc = %r" % dydc)
    print()
    print("The code astgrad generated (sigmoid and relu are inlined):")
    print()
    print(astgrad.source(d_model))


if __name__ == "__main__":
    main()
