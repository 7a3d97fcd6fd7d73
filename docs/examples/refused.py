"""Functions astgrad refuses, one for each kind of error; docs/errors.md shows what it says.

    astgrad check docs/examples/refused.py:relu_with_if
"""
import math
import random


def relu_with_if(x):
    if x > 0:
        return x
    return 0.0


def noisy(x):
    return x * random.gauss(0.0, 1.0)


def log_factorial(n):
    return math.lgamma(n + 1.0)


def halve_steps(x):
    y = x
    while y > 1.0:
        y = y / 2.0
    return y


def uses_helper(x):
    return math.sin(x) * halve_steps(x)


def sum_and_product(x, y):
    return x + y, x * y
