"""Thirteen NumPy losses a user would write, each with the number of body lines of a careful
hand-written adjoint: the yardstick of the generated NumPy gradients' readability.

`test_numpy_golden.py` pins their generated gradients and checks their numbers."""
import numpy as np


def linreg(w, b, X, y):
    pred = X @ w + b
    return np.mean((pred - y) ** 2)


def logreg(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(np.sum(Y * logp, axis=1))


def softmax_score(z, v):
    e = np.exp(z - np.max(z))
    p = e / np.sum(e)
    return np.sum(p * v)


def layer_norm_loss(x, gamma, beta):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    y = gamma * xhat + beta
    return np.sum(y ** 2)


def attention(Q, K, V):
    scores = Q @ K.T / np.sqrt(Q.shape[-1])
    scores = scores - np.max(scores, axis=-1, keepdims=True)
    w = np.exp(scores)
    w = w / np.sum(w, axis=-1, keepdims=True)
    return np.sum(w @ V)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def ridge(w, X, y, lam):
    r = X @ w - y
    return 0.5 * np.dot(r, r) + lam * np.sum(w * w)


def relu(v):
    return np.maximum(v, 0.0)


def two_layer(W1, W2, x):
    return np.sum(relu(W1 @ x) @ W2)


def sin_exp(x):
    return np.sum(np.exp(np.sin(x)) * x ** 2)


def zscore_loss(x, t):
    z = (x - np.mean(x)) / np.std(x)
    return np.sum((z - t) ** 2)


def gauss_nll(mu, log_sigma, x):
    sigma = np.exp(log_sigma)
    return np.sum(0.5 * ((x - mu) / sigma) ** 2 + log_sigma)


def stack_features(a, b):
    f = np.concatenate([a, b])
    return np.sum(f[::2] * f[1::2])


# name: (wrt, body lines of a careful hand-written adjoint)
CASES = {
    "linreg": (("w", "b"), 3),
    "logreg": (("w", "b"), 3),
    "mlp": (("W1", "b1", "W2", "b2"), 7),
    "softmax_score": ("z", 4),
    "layer_norm_loss": (None, 14),
    "attention": (None, 8),
    "rosenbrock": (None, 5),
    "ridge": ("w", 2),
    "two_layer": (("W1", "W2"), 4),
    "sin_exp": (None, 2),
    "zscore_loss": ("x", 6),
    "gauss_nll": (("mu", "log_sigma"), 3),
    "stack_features": (None, 3),
}


def readability():
    """Print each loss's generated body lines against the hand-written adjoint's, and the total."""
    import astgrad

    generated = hand = 0
    for name, (wrt, hand_lines) in CASES.items():
        text = astgrad.source(astgrad.grad(globals()[name], wrt=wrt))
        lines = [line for line in text.splitlines()[1:] if line.strip() and not line.strip().startswith("#")]
        generated, hand = generated + len(lines), hand + hand_lines
        print(f"{name:16} {len(lines):3} generated / {hand_lines:2} hand = {len(lines) / hand_lines:.1f}x")
    print(f"total: {generated} generated / {hand} hand lines = {generated / hand:.2f}x")


if __name__ == "__main__":  # python tests/numpy_losses.py
    readability()
