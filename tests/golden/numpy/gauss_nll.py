def d_gauss_nll(mu, log_sigma, x, d_out=1.0):
    sigma = np.exp(log_sigma)
    ratio = (x - mu) / sigma
    d_out = checked_arguments(d_out, mu, log_sigma)
    d_log_sigma = d_out * (ratio.size / np.size(log_sigma))
    d_ratio = d_out * ratio
    d_x_minus_mu = d_ratio / sigma
    d_sigma = unbroadcast(d_ratio * (-ratio / sigma), sigma)
    d_mu = -unbroadcast(d_x_minus_mu, mu)
    d_log_sigma = d_log_sigma + d_sigma * sigma
    return d_mu, d_log_sigma
