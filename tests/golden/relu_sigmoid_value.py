def value_and_d_relu_sigmoid(a, b, c, d_out=1.0):
    if type(a) is not float or type(b) is not float:
        check_numbers(a, b)
    neg_a = -a
    exp_neg_a = exp(neg_a)
    total = 1 + exp_neg_a
    sigmoid_a = 1 / total
    a_times_b = a * b
    sin_a_times_b = sin(a_times_b)
    exp_c = exp(c)
    diff = sin_a_times_b - exp_c
    diff_plus_5 = diff + 5
    log_diff_plus_5 = log(diff_plus_5)
    power = log_diff_plus_5 ** a
    power_over_b = power / b
    cos_c = cos(c)
    prod = power_over_b * cos_c
    x = prod + sigmoid_a
    relu_x = max(x, 0.0)
    d_x = d_out * ((x > 0.0) + 0.5 * (x == 0.0))
    d_power_over_b = d_x * cos_c
    d_cos_c = d_x * power_over_b
    d_c = -d_cos_c * sin(c)
    d_power = d_power_over_b / b
    d_b = d_power_over_b * (-power_over_b / b)
    d_log_diff_plus_5 = d_power * (a * log_diff_plus_5 ** (a - 1))
    d_a = d_power * (power * log(log_diff_plus_5))
    d_diff_plus_5 = d_log_diff_plus_5 / diff_plus_5
    d_exp_c = -d_diff_plus_5
    d_c = d_c + d_exp_c * exp_c
    d_a_times_b = d_diff_plus_5 * cos(a_times_b)
    d_a = d_a + d_a_times_b * b
    d_b = d_b + d_a_times_b * a
    d_total = d_x * (-sigmoid_a / total)
    d_neg_a = d_total * exp_neg_a
    d_a = d_a - d_neg_a
    return relu_x, (d_a, d_b, d_c)
