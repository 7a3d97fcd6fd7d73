"""Forward mode: dual numbers, and the tangent code astgrad writes for them.

Forward mode carries, next to every value v, its tangent v_dot: how fast v
changes when the inputs move in a chosen direction (x_dot, y_dot). Each line
of the program gets a second line, its tangent, from the derivative of the
operation it performs:

    v = sin(x)      ->  v_dot = cos(x) * x_dot
    w = cos(y)      ->  w_dot = -sin(y) * y_dot
    z = v * w       ->  z_dot = w * v_dot + v * w_dot      (the product rule)

This is exactly arithmetic on dual numbers a + b*eps with eps**2 = 0:
sin(x + x_dot*eps) = sin(x) + cos(x)*x_dot*eps. The small class `Dual` below does
it by overloading operators; astgrad writes the same tangent lines as source
code instead, which you can read, step through, and differentiate again.

Run it with::

    python examples/forward_mode.py
"""
import math
from math import cos, sin

import astgrad


def f(x, y):
    return sin(x) * cos(y)


class Dual:
    """A dual number value + tangent * eps, with eps**2 = 0: forward mode by operator overloading."""

    def __init__(self, value, tangent):
        self.value, self.tangent = value, tangent

    def __mul__(self, other):
        return Dual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)


def dual_sin(d):
    return Dual(math.sin(d.value), math.cos(d.value) * d.tangent)


def dual_cos(d):
    return Dual(math.cos(d.value), -math.sin(d.value) * d.tangent)


jvp_f = astgrad.jvp(f)  # jvp_f(x, y, x_dot, y_dot) -> (f(x, y), directional derivative)
d_f = astgrad.grad(f, mode="forward")  # one forward pass per input


def main():
    x, y = 0.5, 1.2
    x_dot, y_dot = 1.0, 2.0
    print("f(x, y) = sin(x) * cos(y) at x = %g, y = %g, in the direction (x_dot, y_dot) = (%g, %g)" % (x, y, x_dot, y_dot))
    print()
    print("the tangent code astgrad generates (astgrad.jvp):")
    print()
    print(astgrad.source(jvp_f, comments=True))
    dual = dual_sin(Dual(x, x_dot)) * dual_cos(Dual(y, y_dot))
    value, tangent = jvp_f(x, y, x_dot, y_dot)
    print("                value                tangent")
    print("jvp    %20.16f  %20.16f   (astgrad.jvp)" % (value, tangent))
    print("dual   %20.16f  %20.16f   (the Dual class above)" % (dual.value, dual.tangent))
    print("hand   %20.16f  %20.16f   (cos x cos y x_dot - sin x sin y y_dot)" % (f(x, y), cos(x) * cos(y) * x_dot - sin(x) * sin(y) * y_dot))
    print()
    print("the gradient by forward mode: one pass with (x_dot, y_dot) = (1, 0), one with (0, 1),")
    print("the unit tangents folded into the code (astgrad.grad(f, mode='forward')):")
    print()
    print(astgrad.source(d_f))
    print("df/dx, df/dy by forward mode  %r" % (d_f(x, y),))
    print("df/dx, df/dy by reverse mode  %r" % (astgrad.grad(f)(x, y),))


if __name__ == "__main__":
    main()
