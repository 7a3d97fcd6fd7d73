"""The functions of the tutorial's chapter on loops and branches: branches."""


def relu(x):
    if x > 0.0:
        y = x
    else:
        y = 0.0
    return y


def huber(x, delta):
    if x > delta:
        loss = delta * (x - 0.5 * delta)
    elif x < -delta:
        loss = -delta * (x + 0.5 * delta)
    else:
        loss = 0.5 * x * x
    return loss
