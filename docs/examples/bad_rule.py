"""A rule astgrad refuses when it is registered: docs/errors.md shows what this prints.

    python docs/examples/bad_rule.py
"""
import math

import astgrad


def digamma(x):
    return math.log(x) - 0.5 / x  # the first terms of the asymptotic series


def log_gamma(x):
    return math.lgamma(x)


try:
    astgrad.derivative("y = log_gamma(x)", x="digama(x)")
except astgrad.RuleError as error:
    print(error)
