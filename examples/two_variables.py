"""Checking astgrad against a derivative worked out by hand.

    f(x, y) = (x**2 * y + exp(x / y) - log(x * y)) * sin(x) / (2 + cos(y))

uses + - * / ** exp log sin cos.  At (x, y) = (2, 3) we print three gradients
side by side:

* astgrad's, from ``astgrad.grad(f)``;
* the analytic one, derived below with the product and quotient rules;
* a central finite difference, (f(x + h) - f(x - h)) / (2 h).

astgrad and the analytic formula agree to rounding error; the finite
difference agrees to about 1e-9, as much as its truncation and cancellation
errors allow.

Run it with::

    python examples/two_variables.py
"""
from math import cos, exp, log, sin

import astgrad


def f(x, y):
    return (x ** 2 * y + exp(x / y) - log(x * y)) * sin(x) / (2 + cos(y))


def analytic_gradient(x, y):
    """The gradient of f, derived by hand.

    Write f = A * S / C with
        A = x**2 * y + exp(x / y) - log(x * y)
        S = sin(x)
        C = 2 + cos(y)
    Then
        dA/dx = 2 x y + exp(x / y) / y - 1 / x
        dA/dy = x**2 - x exp(x / y) / y**2 - 1 / y
        dS/dx = cos(x),  dC/dy = -sin(y)
    and
        df/dx = (dA/dx * S + A * cos(x)) / C
        df/dy = dA/dy * S / C + A * S * sin(y) / C**2
    """
    A = x ** 2 * y + exp(x / y) - log(x * y)
    S = sin(x)
    C = 2 + cos(y)
    dA_dx = 2 * x * y + exp(x / y) / y - 1 / x
    dA_dy = x ** 2 - x * exp(x / y) / y ** 2 - 1 / y
    df_dx = (dA_dx * S + A * cos(x)) / C
    df_dy = dA_dy * S / C + A * S * sin(y) / C ** 2
    return df_dx, df_dy


def central_difference(x, y, h=1e-6):
    """Approximate the gradient of f by central finite differences."""
    df_dx = (f(x + h, y) - f(x - h, y)) / (2 * h)
    df_dy = (f(x, y + h) - f(x, y - h)) / (2 * h)
    return df_dx, df_dy


# d_f(x, y) returns (df/dx, df/dy).
d_f = astgrad.grad(f)


def main():
    x, y = 2.0, 3.0
    by_astgrad = d_f(x, y)
    by_hand = analytic_gradient(x, y)
    by_differences = central_difference(x, y)

    print("f(x, y) = (x**2 * y + exp(x / y) - log(x * y)) * sin(x) / (2 + cos(y))")
    print("at x = %g, y = %g:  f = %r" % (x, y, f(x, y)))
    print()
    print("              astgrad             analytic   central difference")
    for name, i in (("df/dx", 0), ("df/dy", 1)):
        print("%s  %19.15f  %19.15f  %19.15f"
              % (name, by_astgrad[i], by_hand[i], by_differences[i]))


if __name__ == "__main__":
    main()
