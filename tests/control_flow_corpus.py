"""Functions with loops and branches whose generated code the golden files pin (see test_golden.py)."""

import math

import numpy as np


def huber(x):
    if x < -1.0:
        y = -x - 0.5
    elif x <= 1.0:
        y = 0.5 * x * x
    else:
        y = x - 0.5
    return y


def euler(x, dt, n):
    for i in range(n):
        x = x + dt * math.sin(x)
    return x


def horner(x, n):
    y = 0.0
    for k in range(n):
        y = y * x + 1.0 / (k + 1)
    return y


def euler_substeps(x, dt, n, m):
    for i in range(n):
        h = dt / m
        for j in range(m):
            x = x + h * math.sin(x)
    return x


def bounce(x, v, dt, n):
    for i in range(n):
        x = x + dt * v
        if x < 0.0:
            x = -x
            v = -v
    return x


# (function, wrt) whose gradient is pinned
GOLDEN = [(huber, None), (euler, (0, 1)), (horner, 0), (euler_substeps, (0, 1)), (bounce, (0, 1, 2))]


def rnn_loss(W, U, b, h, xs, targets):
    loss = 0.0
    for t in range(len(xs)):
        h = np.tanh(W @ h + U @ xs[t] + b)
        loss = loss + 0.5 * np.sum((h - targets[t]) ** 2)
    return loss


GOLDEN.append((rnn_loss, (0, 1, 2, 3)))


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


GOLDEN.append((newton_sqrt, None))


def horner_coefficients(coeffs, x):
    y = 0.0
    for c in coeffs:
        y = y * x + c
    return y


def mlp(x, layers):
    for W, b in layers:
        x = np.tanh(W @ x + b)
    return np.sum(x**2)


GOLDEN += [(horner_coefficients, 1), (mlp, 0)]


def weighted_squares(ws, xs, a):
    return sum(w * (a * x) ** 2 for w, x in zip(ws, xs))


def stacked_layer(W, xs):
    return np.sum(np.stack([np.tanh(W @ x) for x in xs]) ** 2)


def appended_states(x, dt, n):
    states = []
    for i in range(n):
        x = x + dt * math.sin(x)
        states.append(x)
    return np.sum(np.stack(states) ** 2)


GOLDEN += [(weighted_squares, 2), (stacked_layer, 0), (appended_states, (0, 1))]


def kepler(mean_anomaly, e):
    """The eccentric anomaly E solving Kepler's equation E - e sin E = M, by Newton's method until the step is tiny."""
    E = mean_anomaly
    while True:
        step = (E - e * math.sin(E) - mean_anomaly) / (1.0 - e * math.cos(E))
        E = E - step
        if abs(step) < 1e-12:
            break
    return E


GOLDEN.append((kepler, None))
