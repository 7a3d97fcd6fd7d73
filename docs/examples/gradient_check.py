"""A function checked at a jump, where no derivative exists: check_grads says where the numbers part."""
import astgrad


def step(x, y):
    return (x > 0.0) * y + x


try:
    astgrad.check_grads(step, 0.0, 2.0, modes=("forward",), order=1)
except astgrad.GradientCheckError as error:
    print(error)
