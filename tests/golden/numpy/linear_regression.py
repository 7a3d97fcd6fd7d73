def d_loss(w, b, X, y, d_out=1.0):
    residual = X @ w + b - y
    d_out = checked_arguments(d_out, w, b)
    d_residual = 2 * d_out / residual.size * residual
    d_b = unbroadcast(d_residual, b)
    d_w = matmul_right_adjoint(d_residual, X, w)
    return d_w, d_b
