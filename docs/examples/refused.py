"""Functions astgrad refuses, one for each kind of error; docs/errors.md shows what it says.

    astgrad check docs/examples/refused.py:first_large
"""
import math
import random


def first_large(xs):
    value = 0.0
    for x in xs:
        if x > 1.0:
            return x * x
        value = value + x
    return value


def noisy(x):
    return x * random.gauss(0.0, 1.0)


def log_factorial(n):
    return math.lgamma(n + 1.0)


def halve_steps(x):
    y = x
    steps = [y / 2.0**k for k in range(3)]
    y = steps[0] + steps[1] + steps[2]
    return y


def uses_helper(x):
    return math.sin(x) * halve_steps(x)


def sum_and_product(x, y):
    return x + y, x * y
