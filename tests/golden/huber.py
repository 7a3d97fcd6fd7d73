def d_huber(x, d_out=1.0):
    if type(x) is not float:
        check_numbers(x)
    if x < -1.0:
        d_x = -d_out
    elif x <= 1.0:
        prod = 0.5 * x
        d_prod = d_out * x
        d_x = d_out * prod
        d_x = d_x + d_prod * 0.5
    else:
        d_x = d_out
    return d_x
