def hessian_huber(x, d_out=1.0):
    if type(x) is not float:
        check_numbers(x)
    if x < -1.0:
        d2_x = 0.0
    elif x <= 1.0:
        dd_x_1_dx = d_out * 0.5
        dprod_dx = 0.5 * d_out
        d2_x = dd_x_1_dx + dprod_dx
    else:
        d2_x = 0.0
    return d2_x
