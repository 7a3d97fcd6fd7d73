def d_loss(w, b, X, y, d_out=1.0):
    X_matmul_w_plus_b = X @ w + b
    residual = X_matmul_w_plus_b - y
    d_out = checked_arguments(d_out, w, b)
    d_residual = 2 * d_out / residual.size * residual
    d_X_matmul_w_plus_b = unbroadcast(d_residual, X_matmul_w_plus_b)
    d_b = unbroadcast(d_X_matmul_w_plus_b, b)
    d_w = matmul_right_adjoint(d_X_matmul_w_plus_b, X, w)
    return d_w, d_b
