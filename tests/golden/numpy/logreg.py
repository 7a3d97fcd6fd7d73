def d_logreg(w, b, X, y, d_out=1.0):
    z = X @ w + b
    d_out = checked_arguments(d_out, w, b)
    d_diff = d_out / np.broadcast(y, z).size
    d_logaddexp_z = d_out / z.size
    d_y_times_z = -d_diff
    d_z = unbroadcast(d_y_times_z * y, z)
    d_z = d_z + d_logaddexp_z * sigmoid(z)
    d_b = unbroadcast(d_z, b)
    d_w = matmul_right_adjoint(d_z, X, w)
    return d_w, d_b
