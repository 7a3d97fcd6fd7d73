def value_and_d_huber(x, d_out=1.0):
    if type(x) is not float:
        check_numbers(x)
    if x < -1.0:
        neg_x = -x
        y = neg_x - 0.5
    elif x <= 1.0:
        prod = 0.5 * x
        y = prod * x
    else:
        y = x - 0.5
    if x < -1.0:
        d_x = -d_out
    elif x <= 1.0:
        d_prod = d_out * x
        d_x = d_out * prod
        d_x = d_x + d_prod * 0.5
    else:
        d_x = d_out
    return y, d_x
