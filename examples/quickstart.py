"""Quickstart: the gradient of f(x, y) = sin(x) * cos(y).

Decorating a plain Python function with ``@astgrad.grad`` replaces it by its
gradient function.  astgrad reads the function's source, writes a new Python
function that computes the derivatives, and compiles it.  Calling the result
gives one partial derivative per positional parameter:

    df/dx = cos(x) * cos(y)
    df/dy = -sin(x) * sin(y)

``astgrad.source`` shows the code astgrad wrote, so you can read exactly what
is computed.

Run it with::

    python examples/quickstart.py
"""
from math import cos, sin

import astgrad


@astgrad.grad
def f(x, y):
    return sin(x) * cos(y)


# From here on ``f`` is the generated gradient function ``d_f``:
# f(x, y) returns the tuple (df/dx, df/dy).


def main():
    x, y = 0.5, 1.2
    dfdx, dfdy = f(x, y)

    print("f(x, y) = sin(x) * cos(y) at x = %g, y = %g" % (x, y))
    print()
    print("           astgrad                by hand")
    print("df/dx  %20.16f  %20.16f   cos(x) * cos(y)" % (dfdx, cos(x) * cos(y)))
    print("df/dy  %20.16f  %20.16f  -sin(x) * sin(y)" % (dfdy, -sin(x) * sin(y)))
    print()
    print("The code astgrad generated:")
    print()
    print(astgrad.source(f))


if __name__ == "__main__":
    main()
