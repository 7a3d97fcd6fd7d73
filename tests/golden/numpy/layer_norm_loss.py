def d_layer_norm_loss(x, gamma, beta, d_out=1.0):
    mu = np.mean(x, axis=-1, keepdims=True)
    x_minus_mu = x - mu
    var = np.mean(x_minus_mu ** 2, axis=-1, keepdims=True)
    sqrt_total = np.sqrt(var + 1e-05)
    xhat = x_minus_mu / sqrt_total
    y = gamma * xhat + beta
    d_out = checked_arguments(d_out, x, gamma, beta)
    d_y = 2 * d_out * y
    d_beta = unbroadcast(d_y, beta)
    d_gamma = unbroadcast(d_y * xhat, gamma)
    d_xhat = unbroadcast(d_y * gamma, xhat)
    d_x_minus_mu = d_xhat / sqrt_total
    d_sqrt_total = unbroadcast(d_xhat * (-xhat / sqrt_total), sqrt_total)
    d_total = d_sqrt_total * (0.5 / sqrt_total)
    d_x_minus_mu_pow_2 = d_total / np.shape(x)[-1]
    d_x_minus_mu = d_x_minus_mu + d_x_minus_mu_pow_2 * (2 * x_minus_mu)
    d_x = d_x_minus_mu - unbroadcast(d_x_minus_mu, mu) / np.shape(x)[-1]
    return d_x, d_gamma, d_beta
