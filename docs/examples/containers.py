"""Parameters in dicts, lists and tuples; docs/api.md shows what this prints:

    python docs/examples/containers.py
"""
import numpy as np

import astgrad


def loss(params, x, y):
    W = params["W"]
    b = params["b"]
    prediction = np.tanh(x @ W + b)
    return np.sum((prediction - y) ** 2)


def pendulum_energy(state):
    theta, omega = state
    return 0.5 * omega**2 - np.cos(theta)


if __name__ == "__main__":
    params = {"W": np.array([[0.5, -1.0], [0.25, 2.0]]), "b": np.array([0.1, 0.0]), "step": 3}
    x, y = np.array([[1.0, 2.0]]), np.array([[0.0, 1.0]])
    d_loss = astgrad.grad(loss, wrt="params")
    gradient = d_loss(params, x, y)
    for key, value in gradient.items():
        print(f"d_params[{key!r}] = {np.round(value, 4).tolist()}")
    print()
    print(astgrad.source(d_loss))
    value, tangent = astgrad.jvp(loss, wrt="params")(params, x, y, {"W": np.ones((2, 2)), "b": np.zeros(2), "step": 0})
    print("jvp along W = ones:", round(float(tangent), 4))
    print("d_energy:", np.round(astgrad.grad(pendulum_energy)(np.array([0.5, 2.0])), 4).tolist())
    print("layers:", astgrad.grad(lambda layers: layers[0][0] * layers[1][0])([(2.0,), [3.0, 4.0]]))
