"""Beyond the gradient: has_aux, Jacobians, Hessian-vector products and check_grads.

A small logistic-regression loss that also returns its predictions
(``has_aux=True``), the Jacobian of a vector-valued layer in both modes, the
Hessian of the loss times a vector without forming the Hessian, and
`check_grads` comparing every derivative with central differences.

Run it with::

    python examples/jacobians.py
"""
import numpy as np

import astgrad


def loss_and_predictions(w, X, y):
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    return loss, 1.0 / (1.0 + np.exp(-z))


def loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def layer(W, x):
    return np.tanh(W @ x)


def main():
    np.set_printoptions(precision=4, suppress=True)
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.5]])
    y = np.array([1.0, 0.0, 1.0])
    w = np.array([0.2, -0.3])

    gradient, predictions = astgrad.grad(loss_and_predictions, wrt="w", has_aux=True)(w, X, y)
    print("has_aux: gradient", gradient, "predictions", predictions)
    (value, predictions), gradient = astgrad.value_and_grad(loss_and_predictions, wrt="w", has_aux=True)(w, X, y)
    print("value_and_grad with has_aux: loss %.6f" % value)

    W = np.array([[0.5, -1.0], [2.0, 0.3], [0.1, 0.4]])
    J_W, J_x = astgrad.jacobian(layer, mode="reverse")(W, w)
    print("jacobian shapes: d layer / dW", J_W.shape, " d layer / dx", J_x.shape)
    print("d layer / dx, reverse mode (a row per output):")
    print(J_x)
    forward = astgrad.jacobian(layer, wrt="x", mode="forward")(W, w)
    print("the same in forward mode (a column per input):", np.allclose(forward, J_x))

    v = np.array([1.0, 0.0])
    print("hvp: H v =", astgrad.hvp(loss, wrt="w")(w, X, y, v))
    print("hessian: H v =", astgrad.hessian(loss, wrt="w")(w, X, y) @ v)

    astgrad.check_grads(loss, w, X, y, wrt="w", modes=("reverse", "forward"), order=2)
    print("check_grads: loss agrees with central differences to order 2 in both modes")
    print()
    print(astgrad.source(astgrad.hvp(loss, wrt="w")))


if __name__ == "__main__":
    main()
