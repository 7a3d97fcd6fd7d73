"""Shooting a pendulum to a target angle: the gradient of an integrator's loop.

A damped pendulum, one metre long, integrated with the semi-implicit Euler
method over `steps` steps of `dt` seconds:

    omega  <-  omega - dt * (g sin(theta) + damping * omega)
    theta  <-  theta + dt * omega

`final_angle` is that loop, written as plain Python. astgrad differentiates
it through the loop: the generated function runs the loop forwards, saving
the values the derivative needs, then runs one loop backwards over them.

The shooting method finds the initial angular velocity that brings the
pendulum to a target angle at the end: Newton's method on
final_angle(omega) - target, with the slope d final_angle / d omega from
astgrad.

Run it with::

    python examples/integrator.py                # the Newton iterations
    python examples/integrator.py --show-source  # also the generated gradient
"""
import argparse
import math

import astgrad

GRAVITY = 9.81  # m/s^2; for a pendulum 1 m long, g / L


def final_angle(theta, omega, damping, dt, steps):
    for step in range(steps):
        omega = omega - dt * (GRAVITY * math.sin(theta) + damping * omega)
        theta = theta + dt * omega
    return theta


# The slope with respect to the initial velocity and the damping; `dt` and
# `steps` are settings, not differentiated.
d_final_angle = astgrad.grad(final_angle, wrt=("omega", "damping"))


def shoot(target, theta, damping, dt, steps, omega=2.0, iterations=10):
    """Newton's method for the initial velocity: [(omega, miss, slope)] per iteration."""
    history = []
    for _ in range(iterations):
        miss = final_angle(theta, omega, damping, dt, steps) - target
        slope, _ = d_final_angle(theta, omega, damping, dt, steps)
        history.append((omega, miss, slope))
        if abs(miss) < 1e-13:
            break
        omega = omega - miss / slope
    return history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=1.0, help="the angle to reach, in radians (default 1.0)")
    parser.add_argument("--steps", type=int, default=500, help="Euler steps of 1 ms (default 500)")
    parser.add_argument("--show-source", action="store_true", help="print the generated gradient")
    args = parser.parse_args()

    theta, damping, dt = 0.2, 0.5, 0.001
    print("pendulum from theta = %.1f rad, damping %.1f /s, %d steps of %g s" % (theta, damping, args.steps, dt))
    print("shooting for theta(T) = %g with Newton's method" % args.target)
    print("iter  omega(0)             theta(T) - target    d theta(T) / d omega(0)")
    history = shoot(args.target, theta, damping, dt, args.steps)
    for iteration, (omega, miss, slope) in enumerate(history):
        print("%4d  %.15f  %+.12e  %.12f" % (iteration, omega, miss, slope))
    omega = history[-1][0]
    d_omega, d_damping = d_final_angle(theta, omega, damping, dt, args.steps)
    print()
    print("at omega(0) = %.12f:" % omega)
    print("  d theta(T) / d omega(0)  %.12f" % d_omega)
    print("  d theta(T) / d damping   %.12f" % d_damping)
    if args.show_source:
        print()
        print(astgrad.source(d_final_angle))


if __name__ == "__main__":
    main()
