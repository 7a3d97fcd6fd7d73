def d_ridge(w, X, y, lam, d_out=1.0):
    r = X @ w - y
    out = 0.5 * np.dot(r, r) + lam * np.sum(w * w)
    d_out = checked_seed(out, d_out, w)
    d_sum_w_times_w = np.sum(d_out * lam)
    d_w = d_sum_w_times_w * (2 * w)
    d_dot_r_r = d_out * 0.5
    d_r = matmul_left_adjoint(d_dot_r_r, r, r)
    d_r = d_r + matmul_right_adjoint(d_dot_r_r, r, r)
    d_w = d_w + matmul_right_adjoint(d_r, X, w)
    return d_w
