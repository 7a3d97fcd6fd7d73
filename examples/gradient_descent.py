"""Gradient descent on a small straight-line program.

The program, written one elementary step per line:

    v1 = x * w
    v2 = sin(v1)
    v3 = v1 + v2
    v4 = v2 ** 2
    v5 = exp(v3)
    v6 = v4 * w
    v7 = v5 + v6

We keep x = 1 fixed and minimise v7 over w, starting from w = 4, with 30 steps
of plain gradient descent:

    w  <-  w - 0.1 * dv7/dw

``astgrad.value_and_grad(program, wrt="w")`` gives v7 and dv7/dw together, so
each step costs one call.

Run it with::

    python examples/gradient_descent.py
"""
from collections import namedtuple
from math import exp, sin

import astgrad


def program(x, w):
    v1 = x * w
    v2 = sin(v1)
    v3 = v1 + v2
    v4 = v2 ** 2
    v5 = exp(v3)
    v6 = v4 * w
    v7 = v5 + v6
    return v7


# d_program(x, w) returns (v7, dv7/dw): only w is differentiated.
d_program = astgrad.value_and_grad(program, wrt="w")

# One row of the history: the step number, w, v7 and dv7/dw at that w.
Step = namedtuple("Step", ["step", "w", "v7", "dv7_dw"])


def descend(x=1.0, w=4.0, steps=30, learning_rate=0.1):
    """Run gradient descent on w and return the history.

    The history has ``steps + 1`` rows: row 0 is the starting point and row k
    is the point reached after k updates.
    """
    history = []
    for step in range(steps + 1):
        v7, dv7_dw = d_program(x, w)
        history.append(Step(step, w, v7, dv7_dw))
        w = w - learning_rate * dv7_dw
    return history


def main():
    history = descend()
    print("minimising v7(x=1, w) over w, starting at w = 4")
    print()
    print("step              w                 v7             dv7/dw")
    for row in history:
        print("%4d  %15.10f  %17.10f  %17.10f" % row)
    print()
    print("v7 went from %.10f to %.10f" % (history[0].v7, history[-1].v7))


if __name__ == "__main__":
    main()
