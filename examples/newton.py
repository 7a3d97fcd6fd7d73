"""Newton's method on a 1-D function, with the second derivative from grad(grad(f)).

Newton's method finds a minimum of f by jumping to the minimum of the
parabola that matches f's slope and curvature at the current point:

    x  <-  x - f'(x) / f''(x)

astgrad gives f' by transforming f's source, and f'' by transforming the
generated f' once more: the derivative code is itself plain straight-line
Python, so astgrad can read it like any other function.

Run it with::

    python examples/newton.py               # the iterations
    python examples/newton.py --show-source # also the generated f' and f''
"""
import argparse
from math import cos, exp, sin

import astgrad


def f(x):
    return exp(x / 2) - 3 * sin(x) + x * x / 4


df = astgrad.grad(f)  # f'(x)
d2f = astgrad.grad(df)  # f''(x): the gradient of the generated f'


def analytic_first(x):
    return exp(x / 2) / 2 - 3 * cos(x) + x / 2


def analytic_second(x):
    return exp(x / 2) / 4 + 3 * sin(x) + 1 / 2


def newton(x, steps=8):
    """The iterates of Newton's method from `x`: (x, f(x), f'(x), f''(x)) per step."""
    history = []
    for _ in range(steps):
        slope, curvature = df(x), d2f(x)
        history.append((x, f(x), slope, curvature))
        x = x - slope / curvature
    history.append((x, f(x), df(x), d2f(x)))
    return history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x0", type=float, default=0.5, help="the starting point (default 0.5)")
    parser.add_argument("--steps", type=int, default=8, help="Newton steps (default 8)")
    parser.add_argument("--show-source", action="store_true", help="print the generated f' and f''")
    args = parser.parse_args()

    print("minimizing f(x) = exp(x / 2) - 3 sin(x) + x**2 / 4 by Newton's method")
    print("step  x                    f(x)                 f'(x)       f''(x)")
    for step, (x, value, slope, curvature) in enumerate(newton(args.x0, args.steps)):
        print("%4d  %.15f  %.15f  %10.3e  %.6f" % (step, x, value, slope, curvature))
    x = newton(args.x0, args.steps)[-1][0]
    print()
    print("at the minimum x = %.15f:" % x)
    print("  f''(x) by astgrad  %.15f" % d2f(x))
    print("  f''(x) by hand     %.15f" % analytic_second(x))
    if args.show_source:
        print()
        print(astgrad.source(df))
        print(astgrad.source(d2f))


if __name__ == "__main__":
    main()
