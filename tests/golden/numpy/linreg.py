def d_linreg(w, b, X, y, d_out=1.0):
    pred = X @ w + b
    pred_minus_y = pred - y
    d_out = checked_arguments(d_out, w, b)
    d_pred_minus_y = 2 * d_out / pred_minus_y.size * pred_minus_y
    d_b = unbroadcast(d_pred_minus_y, b)
    d_w = matmul_right_adjoint(d_pred_minus_y, X, w)
    return d_w, d_b
