def d_two_layer(W1, W2, x, d_out=1.0):
    v = W1 @ x
    relu_v = np.maximum(v, 0.0)
    d_out = checked_arguments(d_out, W1, W2)
    d_relu_v = matmul_left_adjoint(d_out, relu_v, W2)
    d_W2 = matmul_right_adjoint(d_out, relu_v, W2)
    d_v = d_relu_v * ((v > 0.0) + 0.5 * (v == 0.0))
    d_W1 = matmul_left_adjoint(d_v, W1, x)
    return d_W1, d_W2
