"""A recurrent network learns to continue a sine wave: the gradient of a loop over time steps.

The network reads one number per time step and carries a hidden state `h` of
8 numbers from step to step:

    h  <-  tanh(W @ h + U * x[t] + b)
    prediction of x[t + 1]  =  v @ h

`loss` is the mean squared error of the predictions over the sequence,
written as a plain loop. astgrad differentiates it through the loop
(backpropagation through time): the generated function runs the loop
forwards, saving the states the derivative reads, then runs one loop
backwards over them, adding up each step's contribution to the gradients of
`W`, `U`, `b` and `v`.

Run it with::

    python examples/rnn.py                # train, printing the loss
    python examples/rnn.py --show-source  # also the generated gradient
"""
import argparse

import numpy as np

import astgrad


def loss(W, U, b, v, h, xs, ys):
    total = 0.0
    for t in range(len(xs)):
        h = np.tanh(W @ h + U * xs[t] + b)
        total = total + (v @ h - ys[t]) ** 2
    return total / len(xs)


d_loss = astgrad.grad(loss, wrt=("W", "U", "b", "v"))


def sine_wave(steps=40, frequency=0.3):
    """The inputs x[0..steps-1] and the targets x[1..steps] of a sampled sine wave."""
    wave = np.sin(frequency * np.arange(steps + 1))
    return wave[:-1], wave[1:]


def initial_parameters(hidden=8, seed=0):
    rng = np.random.default_rng(seed)
    W = 0.3 * rng.normal(size=(hidden, hidden)) / np.sqrt(hidden)
    U = rng.normal(size=hidden)
    b = np.zeros(hidden)
    v = 0.1 * rng.normal(size=hidden)
    return [W, U, b, v]


def train(epochs=300, rate=0.1, hidden=8, seed=0):
    """Gradient descent with momentum: (parameters, [loss per epoch])."""
    xs, ys = sine_wave()
    h = np.zeros(hidden)
    parameters = initial_parameters(hidden, seed)
    velocity = [np.zeros_like(p) for p in parameters]
    losses = []
    for _ in range(epochs):
        losses.append(loss(*parameters, h, xs, ys))
        gradients = d_loss(*parameters, h, xs, ys)
        for p, m, g in zip(parameters, velocity, gradients):
            m *= 0.9
            m -= rate * g
            p += m
    losses.append(loss(*parameters, h, xs, ys))
    return parameters, losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300, help="gradient steps (default 300)")
    parser.add_argument("--show-source", action="store_true", help="print the generated gradient")
    args = parser.parse_args()

    _, losses = train(args.epochs)
    print("an RNN with 8 hidden units learns to continue a sine wave (40 steps)")
    print("epoch  mean squared error")
    for epoch in sorted({0, 10, 30, 100, args.epochs // 2, args.epochs}):
        if epoch < len(losses):
            print("%5d  %.6f" % (epoch, losses[epoch]))
    print("loss  %.6f -> %.6f" % (losses[0], losses[-1]))
    if args.show_source:
        print()
        print(astgrad.source(d_loss))


if __name__ == "__main__":
    main()
