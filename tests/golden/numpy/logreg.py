def d_logreg(w, b, X, y, d_out=1.0):
    z = X @ w + b
    d_out = checked_arguments(d_out, w, b)
    d_z = unbroadcast(-d_out / np.broadcast(y, z).size * y, z)
    d_z = d_z + d_out / z.size * sigmoid(z)
    d_b = unbroadcast(d_z, b)
    d_w = matmul_right_adjoint(d_z, X, w)
    return d_w, d_b
