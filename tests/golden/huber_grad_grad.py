def d2_huber(x, d_out=1.0, d2_out=1.0):
    if type(x) is not float:
        check_numbers(x)
    if x < -1.0:
        d2_x = 0.0
    elif x <= 1.0:
        d_d_prod = d2_out * 0.5
        d2_prod = d2_out * d_out
        d2_x = d_d_prod * d_out
        d2_x = d2_x + d2_prod * 0.5
    else:
        d2_x = 0.0
    return d2_x
