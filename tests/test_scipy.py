"""SciPy functions in real programs: greeks, likelihoods and a regression loss, against analytic values.

Each entry is also checked alone, in both modes and on several shapes, by the
generated test of the table (tests/test_primitives.py); here they are used as
people use them: through ``from scipy.stats import norm``, ``import
scipy.stats as st`` and a module-level alias (``Phi = stats.norm.cdf``), with
second derivatives where the entries support them.
"""

import subprocess
import sys

import numpy as np
import pytest

import astgrad
from support import assert_close, central_difference

scipy = pytest.importorskip("scipy")  # an optional dependency, in the test extra so that CI runs this file
import scipy.special  # noqa: E402
import scipy.stats as st  # noqa: E402
from scipy import stats  # noqa: E402
from scipy.special import gammaln, logsumexp  # noqa: E402
from scipy.stats import multivariate_normal, norm, poisson  # noqa: E402

Phi = stats.norm.cdf  # an alias made at module level


def call_price(spot, strike, years, rate, sigma):
    """Black-Scholes price of a European call."""
    d1 = (np.log(spot / strike) + (rate + 0.5 * sigma**2) * years) / (sigma * np.sqrt(years))
    d2 = d1 - sigma * np.sqrt(years)
    return spot * Phi(d1) - strike * np.exp(-rate * years) * Phi(d2)


def gaussian_log_likelihood(mu, sigma, data):
    return np.sum(norm.logpdf(data, mu, sigma))


def gp_log_likelihood(amplitude, length, noise, inputs, targets):
    """A Gaussian process's log marginal likelihood: a squared-exponential kernel plus noise."""
    distances = (inputs[:, None] - inputs[None, :]) ** 2
    kernel = amplitude**2 * np.exp(-0.5 * distances / length**2) + noise**2 * np.eye(inputs.shape[0])
    return st.multivariate_normal.logpdf(targets, np.zeros(inputs.shape[0]), kernel)


def poisson_regression_loss(weights, features, counts):
    rates = np.exp(features @ weights)
    return -np.sum(poisson.logpmf(counts, rates))


def beta_binomial_evidence(a, b):
    """A few special functions together: the log-evidence of 7 successes in 10 under a Beta(a, b) prior."""
    return scipy.special.betaln(a + 7.0, b + 3.0) - scipy.special.betaln(a, b) + gammaln(11.0)


def mixture_log_likelihood(locations, log_weights, data):
    components = norm.logpdf(data[:, None], locations[None, :], 1.0) + log_weights[None, :]
    return np.sum(logsumexp(components, axis=1)) - data.shape[0] * logsumexp(log_weights)


SPOT, STRIKE, YEARS, RATE, SIGMA = 105.0, 100.0, 0.75, 0.03, 0.25


def test_black_scholes_greeks_are_the_textbook_ones():
    args = (SPOT, STRIKE, YEARS, RATE, SIGMA)
    delta, _, theta, rho, vega = astgrad.grad(call_price)(*args)
    d1 = (np.log(SPOT / STRIKE) + (RATE + 0.5 * SIGMA**2) * YEARS) / (SIGMA * np.sqrt(YEARS))
    d2 = d1 - SIGMA * np.sqrt(YEARS)
    discount = np.exp(-RATE * YEARS)
    assert_close(delta, norm.cdf(d1))
    assert_close(vega, SPOT * norm.pdf(d1) * np.sqrt(YEARS))
    assert_close(rho, STRIKE * YEARS * discount * norm.cdf(d2))
    assert_close(theta, SPOT * norm.pdf(d1) * SIGMA / (2 * np.sqrt(YEARS)) + RATE * STRIKE * discount * norm.cdf(d2))
    gamma = astgrad.hessian(call_price, wrt="spot")(*args)
    assert_close(gamma, norm.pdf(d1) / (SPOT * SIGMA * np.sqrt(YEARS)))
    for index, computed in enumerate(astgrad.grad(call_price)(*args)):
        assert_close(computed, central_difference(call_price, list(args), index), rtol=1e-5)


def test_black_scholes_in_forward_mode():
    forward = astgrad.grad(call_price, mode="forward")(SPOT, STRIKE, YEARS, RATE, SIGMA)
    assert_close(forward, astgrad.grad(call_price)(SPOT, STRIKE, YEARS, RATE, SIGMA), rtol=1e-12)


DATA = np.array([0.3, -1.2, 2.1, 0.8, 1.4])


def test_gaussian_log_likelihood_in_mean_and_scale():
    mu, sigma = 0.4, 1.3
    d_mu, d_sigma = astgrad.grad(gaussian_log_likelihood, wrt=("mu", "sigma"))(mu, sigma, DATA)
    assert_close(d_mu, np.sum(DATA - mu) / sigma**2)
    assert_close(d_sigma, np.sum((DATA - mu) ** 2) / sigma**3 - DATA.size / sigma)
    hessian = astgrad.hessian(gaussian_log_likelihood, wrt=("mu", "sigma"))(mu, sigma, DATA)
    n, residual = DATA.size, DATA - mu
    expected = ((-n / sigma**2, -2 * np.sum(residual) / sigma**3),
                (-2 * np.sum(residual) / sigma**3, n / sigma**2 - 3 * np.sum(residual**2) / sigma**4))  # fmt: skip
    assert_close(np.array(hessian, dtype=float), np.array(expected))


def test_gaussian_process_likelihood_against_central_differences():
    inputs = np.array([0.0, 0.4, 1.1, 1.9])
    targets = np.array([0.2, 0.5, -0.1, -0.7])
    args = [0.9, 0.7, 0.3, inputs, targets]
    gradient = astgrad.grad(gp_log_likelihood, wrt=("amplitude", "length", "noise", "targets"))(*args)
    for index, computed in zip((0, 1, 2, 4), gradient):
        assert_close(computed, central_difference(gp_log_likelihood, args, index), rtol=1e-5)
    kernel = 0.81 * np.exp(-0.5 * (inputs[:, None] - inputs[None, :]) ** 2 / 0.49) + 0.09 * np.eye(4)
    assert_close(gradient[3], -np.linalg.solve(kernel, targets))  # the analytic gradient in the targets


def test_multivariate_normal_in_mean_and_covariance():
    def log_density(x, mean, cov):
        return np.sum(multivariate_normal.logpdf(x, mean, cov))

    points = np.array([[0.1, 0.4], [-0.3, 0.9], [1.0, 0.2]])
    mean, cov = np.array([0.2, 0.3]), np.array([[1.5, 0.4], [0.4, 0.8]])
    d_x, d_mean, d_cov = astgrad.grad(log_density)(points, mean, cov)
    precision = np.linalg.inv(cov)
    residual = points - mean
    assert_close(d_x, -residual @ precision)
    assert_close(d_mean, np.sum(residual @ precision, axis=0))
    outer = sum(np.outer(r, r) for r in residual @ precision)
    assert_close(d_cov, 0.5 * (outer - 3 * precision))  # the symmetric gradient, as JAX and autograd give it


def test_multivariate_normal_with_scipys_default_mean_written_out():
    def log_density(x, cov):
        return np.sum(multivariate_normal.logpdf(x, mean=None, cov=cov))

    points, variances = np.array([[0.1, 0.4], [-0.3, 0.9]]), np.array([1.5, 0.8])
    d_x, d_cov = astgrad.grad(log_density)(points, np.diag(variances))
    assert_close(d_x, -points / variances)
    whitened = points / variances
    assert_close(d_cov, 0.5 * (whitened.T @ whitened - 2 * np.diag(1 / variances)))


def test_poisson_regression_gradient_and_hessian_are_analytic():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(6, 3))
    counts = np.array([0, 2, 1, 4, 3, 1])
    weights = np.array([0.2, -0.1, 0.3])
    rates = np.exp(features @ weights)
    gradient = astgrad.grad(poisson_regression_loss, wrt="weights")(weights, features, counts)
    assert_close(gradient, features.T @ (rates - counts))
    hessian = astgrad.hessian(poisson_regression_loss, wrt="weights")(weights, features, counts)
    assert_close(hessian, features.T @ (rates[:, None] * features))


def test_special_functions_and_their_second_derivatives():
    a, b = 1.7, 2.4
    d_a, d_b = astgrad.grad(beta_binomial_evidence)(a, b)
    digamma = scipy.special.digamma
    assert_close(d_a, digamma(a + 7) - digamma(a + b + 10) - digamma(a) + digamma(a + b))
    assert_close(d_b, digamma(b + 3) - digamma(a + b + 10) - digamma(b) + digamma(a + b))
    d2_a = astgrad.hessian(beta_binomial_evidence, wrt="a")(a, b)
    trigamma = scipy.special.polygamma(1, [a + 7, a + b + 10, a, a + b])
    assert_close(d2_a, trigamma[0] - trigamma[1] - trigamma[2] + trigamma[3])


def test_mixture_with_logsumexp_over_an_axis():
    locations, log_weights = np.array([-1.0, 0.5, 2.0]), np.log(np.array([0.2, 0.5, 0.3]))
    args = [locations, log_weights, DATA]
    gradient = astgrad.grad(mixture_log_likelihood, wrt=("locations", "log_weights"))(*args)
    for index, computed in enumerate(gradient):
        assert_close(computed, central_difference(mixture_log_likelihood, args, index), rtol=1e-5)
    responsibilities = scipy.special.softmax(norm.logpdf(DATA[:, None], locations, 1.0) + log_weights, axis=1)
    assert_close(gradient[0], np.sum(responsibilities * (DATA[:, None] - locations), axis=0))


def test_import_astgrad_does_not_import_scipy(tmp_path):
    """SciPy loads only with code that calls it: not with astgrad, nor with a NumPy gradient."""
    script = tmp_path / "uses_numpy.py"
    script.write_text(
        "import sys\nimport numpy as np\nimport astgrad\n"
        "assert 'scipy' not in sys.modules, 'import astgrad imported SciPy'\n"
        "def f(x):\n    return np.sum(np.sin(x))\n"
        "astgrad.grad(f)(np.ones(3))\n"
        "assert 'scipy' not in sys.modules, 'a NumPy gradient imported SciPy'\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_multivariate_normal_has_no_second_derivative():
    def log_density(mean, x, cov):
        return multivariate_normal.logpdf(x, mean, cov)

    with pytest.raises(astgrad.NoDerivativeError) as info:
        astgrad.hessian(log_density, wrt="mean")(np.zeros(2), np.ones(2), np.eye(2))
    assert "scipy.stats.multivariate_normal has no second derivative" in info.value.reason
    assert "multivariate_normal.logpdf(x, mean, cov)" in str(info.value)  # the user's call, in the generated line
    assert "differentiate it once" in info.value.hint


def t_log_likelihood(df, loc, scale, data):
    return np.sum(stats.t.logpdf(data, df, loc, scale))


def gamma_log_likelihood(a, scale, data):
    return np.sum(st.gamma.logpdf(data, a, scale=scale))


def negative_binomial_log_likelihood(n, p, counts):
    return np.sum(stats.nbinom.logpmf(counts, n, p))


@pytest.mark.parametrize(
    "function, args",
    [
        (t_log_likelihood, [3.5, 0.2, 1.4, DATA]),
        (gamma_log_likelihood, [2.2, 0.8, np.abs(DATA) + 0.1]),
        (negative_binomial_log_likelihood, [2.5, 0.4, np.array([0, 3, 1, 5])]),
    ],
    ids=["t", "gamma", "nbinom"],
)
def test_second_derivatives_in_shape_parameters_against_central_differences(function, args):
    """Hessians through digamma's derivative, polygamma: each row is the central difference of the gradient."""
    parameters = len(args) - 1
    wrt = tuple(range(parameters))
    gradient = astgrad.grad(function, wrt=wrt)
    hessian = astgrad.hessian(function, wrt=wrt)(*args)
    for i in range(parameters):
        for j in range(parameters):
            def partial(*point, j=j):
                return gradient(*point)[j]

            assert_close(hessian[i][j], central_difference(partial, args, i), rtol=1e-5)


def test_logsumexp_with_scipys_default_weights_written_out():
    def log_mean_exp(x):
        return scipy.special.logsumexp(x, b=None) - np.log(x.size)

    x = np.array([0.3, -1.2, 2.0])
    softmax = np.exp(x) / np.sum(np.exp(x))
    for mode in ("reverse", "forward"):
        assert_close(astgrad.grad(log_mean_exp, mode=mode)(x), softmax)
    assert_close(astgrad.hessian(log_mean_exp)(x), np.diag(softmax) - np.outer(softmax, softmax))
