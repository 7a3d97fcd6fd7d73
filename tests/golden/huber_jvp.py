def jvp_huber(x, x_dot):
    if x < -1.0:
        neg_x = -x
        neg_x_dot = -x_dot
        y = neg_x - 0.5
        y_dot = neg_x_dot
    elif x <= 1.0:
        prod = 0.5 * x
        prod_dot = 0.5 * x_dot
        y = prod * x
        y_dot = x * prod_dot + prod * x_dot
    else:
        y = x - 0.5
        y_dot = x_dot
    return y, y_dot
