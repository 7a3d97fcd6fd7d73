def d_rosenbrock(x, d_out=1.0):
    x_part = x[:-1]
    d_out = checked_arguments(d_out, x)
    d_diff_1 = 2 * d_out * (1 - x_part)
    d_x_part = -d_diff_1
    d_diff = 200.0 * d_out * (x[1:] - x_part ** 2)
    d_x_part = d_x_part - d_diff * (2 * x_part)
    d_x = unindex(d_x_part, x, np.s_[:-1])
    d_x = d_x + unindex(d_diff, x, np.s_[1:])
    return d_x
