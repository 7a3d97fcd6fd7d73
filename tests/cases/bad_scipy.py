"""SciPy calls astgrad must refuse: a method without a rule, a distribution outside the table, a frozen distribution.

As in bad_functions.py, each offending line carries a ``# MARK: <name>`` comment,
and `ran` would record a call if any of these functions ran.
"""
import numpy as np
import scipy.special
from scipy import stats
from scipy.stats import norm

from .bad_functions import ran

STANDARD = norm(0.0, 1.0)


def uses_norm_ppf(x):
    t = norm.ppf(x)  # MARK: norm-ppf
    return ran(t)


def uses_weibull(x):
    t = stats.weibull_min.logpdf(x, 1.5)  # MARK: weibull
    return ran(t)


def uses_frozen_distribution(x):
    t = STANDARD.logpdf(x)  # MARK: frozen
    return ran(t)


def freezes_a_distribution(x, mu):
    t = norm(mu, 1.0).logpdf(x)  # MARK: freezes
    return ran(t)


def uses_special_function_without_rule(x):
    t = scipy.special.zeta(x, 1.0)  # MARK: zeta
    return ran(t)


def uses_random_variates(x):
    t = np.sum(stats.poisson.rvs(x))  # MARK: rvs
    return ran(t)


def differentiates_a_count(k, mu):
    t = stats.poisson.logpmf(k, mu)  # MARK: count
    return t
