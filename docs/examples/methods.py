"""A model whose log-likelihood is a method; docs/api.md shows what this prints:

    python docs/examples/methods.py
"""
import numpy as np

import astgrad


class LinearModel:
    def __init__(self, exog, endog):
        self.exog = exog
        self.endog = endog

    def predict(self, params):
        return self.exog @ params

    def loglike(self, params):
        residual = self.endog - self.predict(params)
        return -0.5 * np.sum(residual**2)


if __name__ == "__main__":
    model = LinearModel(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([1.0, 0.0, 2.0]))
    d_loglike = astgrad.grad(model.loglike)
    print(astgrad.source(d_loglike))
    params = np.array([0.5, -0.25])
    print("d_loglike(params) =", d_loglike(params))
    model.endog = np.zeros(3)  # read when the gradient runs, like a global
    print("after model.endog changed:", d_loglike(params))
    d_unbound = astgrad.grad(LinearModel.loglike, wrt="params")
    print("the instance passed in:", d_unbound(model, params))
