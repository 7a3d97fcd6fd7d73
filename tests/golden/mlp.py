def d_mlp(x, layers, d_out=1.0):
    d_out = checked_arguments(d_out, x)
    len_layers = len(layers)
    x_stack = []
    for i in range(len_layers):
        x_stack.append(x)
        layers_i = layers[i]
        W = layers_i[0]
        b = layers_i[1]
        W_matmul_x = W @ x
        W_matmul_x_plus_b = W_matmul_x + b
        x = np.tanh(W_matmul_x_plus_b)
    x_pow_2 = x ** 2
    out = np.sum(x_pow_2)
    d_out = checked_seed(out, d_out)
    d_x_pow_2 = np.broadcast_to(d_out, np.shape(x_pow_2))
    d_x = unbroadcast(d_x_pow_2 * (2 * x), x)
    for i in reversed(range(len_layers)):
        x_1 = x
        x = x_stack.pop()
        layers_i = layers[i]
        W = layers_i[0]
        b = layers_i[1]
        W_matmul_x = W @ x
        W_matmul_x_plus_b = W_matmul_x + b
        d_W_matmul_x_plus_b = unbroadcast(d_x * (1 - x_1 * x_1), W_matmul_x_plus_b)
        d_W_matmul_x = unbroadcast(d_W_matmul_x_plus_b, W_matmul_x)
        d_x = matmul_right_adjoint(d_W_matmul_x, W, x)
    return d_x
