def d_zscore_loss(x, t, d_out=1.0):
    x_minus_mean_x = x - np.mean(x)
    std_x = np.std(x)
    z = x_minus_mean_x / std_x
    d_out = checked_arguments(d_out, x)
    d_z_minus_t = 2 * d_out * (z - t)
    d_z = unbroadcast(d_z_minus_t, z)
    d_x_minus_mean_x = d_z / std_x
    d_std_x = np.sum(d_z * (-z / std_x))
    d_x = d_std_x / std_x * x_minus_mean_x / np.size(x)
    d_x = d_x + d_x_minus_mean_x
    d_x = d_x - np.sum(d_x_minus_mean_x) / np.size(x)
    return d_x
