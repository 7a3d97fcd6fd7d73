"""Small user functions that drive the end-to-end and golden tests."""

import math
from math import cos, exp, log, sin


def sin_cos(x, y):
    return sin(x) * cos(y)


def sigmoid(x):
    return 1 / (1 + exp(-x))


def relu(x):
    return max(x, 0.0)


def relu_sigmoid(a, b, c):
    return relu(log(sin(a * b) - exp(c) + 5) ** a / b * cos(c) + sigmoid(a))


def program(x, w):
    v1 = x * w
    v2 = sin(v1)
    v3 = v1 + v2
    v4 = v2**2
    v5 = exp(v3)
    v6 = v4 * w
    v7 = v5 + v6
    return v7


def two_variables(x, y):
    return (x**2 * y + exp(x / y) - log(x * y)) * sin(x) / (2 + cos(y))


def reuse(x):
    y = math.exp(x)
    return y * math.cos(x) + math.sin(x)


def reassigned(x, y):
    t = x * y
    t = t + math.tanh(x)
    t *= y
    return t


CORPUS = [sin_cos, relu_sigmoid, program, two_variables, reuse, reassigned]

