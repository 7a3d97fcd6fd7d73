def d_horner_coefficients(coeffs, x, d_out=1.0):
    d_out = checked_arguments(d_out, x)
    len_coeffs = len(coeffs)
    y = 0.0
    y_stack = []
    for i in range(len_coeffs):
        y_stack.append(y)
        c = coeffs[i]
        y = y * x + c
    d_out = checked_seed(y, d_out)
    d_x = zero_gradient(x)
    d_y = d_out
    for i in reversed(range(len_coeffs)):
        y = y_stack.pop()
        d_x = d_x + unbroadcast(d_y * y, x)
        d_y = unbroadcast(d_y * x, y)
    return d_x
