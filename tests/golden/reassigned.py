def d_reassigned(x, y, d_out=1.0):
    if type(x) is not float or type(y) is not float:
        check_numbers(x, y)
    t = x * y
    tanh_x = math.tanh(x)
    t_1 = t + tanh_x
    d_t_1 = d_out * y
    d_y = d_out * t_1
    d_x = d_t_1 * (1 - tanh_x * tanh_x)
    d_x = d_x + d_t_1 * y
    d_y = d_y + d_t_1 * x
    return d_x, d_y
