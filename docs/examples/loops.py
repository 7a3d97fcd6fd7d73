"""The functions of the tutorial's chapter on loops and branches: loops."""
import math


def euler(x, dt, n):
    for i in range(n):
        x = x + dt * math.sin(x)
    return x


def energy(x, v, n):
    total = 0.0
    for i in range(n):
        total = total + 0.5 * v * v + (1 - math.cos(x))
        v = v - 0.1 * math.sin(x)
        x = x + 0.1 * v
    return total


def bounce(h, v, n):
    for i in range(n):
        h = h + 0.1 * v
        if h < 0.0:
            h = -h
            v = -0.9 * v
        v = v - 0.98
    return h


def series(x, n):
    return sum(x**k / (k + 1) for k in range(n))



def fall(h, v, dt, n):
    for i in range(n):
        v = v - dt * (9.81 - 0.02 * v * v)
        h = h + dt * v
        if h < 0.0:
            break
    return h
