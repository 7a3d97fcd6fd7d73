"""Helpers living in another module than the functions that call them."""
import math

RAN = []


def scaled_sine(x, scale=2.0):
    s = math.sin(x)
    return scale * s


def looping_helper(x):
    total = x
    while True:  # MARK: helper-while
        total = total * x
        RAN.append(total)
    return total


def calls_looping_helper(x):
    y = looping_helper(x) + 1.0
    return y
