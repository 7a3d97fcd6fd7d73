def d_two_variables(x, y, d_out=1.0):
    if type(x) is not float or type(y) is not float:
        check_numbers(x, y)
    x_pow_2 = x ** 2
    x_pow_2_times_y = x_pow_2 * y
    x_over_y = x / y
    exp_x_over_y = exp(x_over_y)
    total = x_pow_2_times_y + exp_x_over_y
    x_times_y = x * y
    log_x_times_y = log(x_times_y)
    diff = total - log_x_times_y
    sin_x = sin(x)
    diff_times_sin_x = diff * sin_x
    cos_y = cos(y)
    total_1 = 2 + cos_y
    out = diff_times_sin_x / total_1
    d_diff_times_sin_x = d_out / total_1
    d_total_1 = d_out * (-out / total_1)
    d_y = -d_total_1 * sin(y)
    d_diff = d_diff_times_sin_x * sin_x
    d_sin_x = d_diff_times_sin_x * diff
    d_x = d_sin_x * cos(x)
    d_log_x_times_y = -d_diff
    d_x_times_y = d_log_x_times_y / x_times_y
    d_x = d_x + d_x_times_y * y
    d_y = d_y + d_x_times_y * x
    d_x_over_y = d_diff * exp_x_over_y
    d_x = d_x + d_x_over_y / y
    d_y = d_y + d_x_over_y * (-x_over_y / y)
    d_x_pow_2 = d_diff * y
    d_y = d_y + d_diff * x_pow_2
    d_x = d_x + d_x_pow_2 * (2 * x)
    return d_x, d_y
