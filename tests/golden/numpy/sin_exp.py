def d_sin_exp(x, d_out=1.0):
    exp_sin_x = np.exp(np.sin(x))
    d_out = checked_arguments(d_out, x)
    d_x = exp_sin_x * (2 * x)
    d_sin_x = x ** 2 * exp_sin_x
    d_x = d_x + d_sin_x * np.cos(x)
    return scaled(d_x, d_out)
