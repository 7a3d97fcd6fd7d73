def d_mlp(x, layers, d_out=1.0):
    d_out = checked_arguments(d_out, x)
    len_layers = len(layers)
    x_stack = []
    for i in range(len_layers):
        x_stack.append(x)
        layers_i = layers[i]
        W = layers_i[0]
        b = layers_i[1]
        x = np.tanh(W @ x + b)
    d_x = 2 * d_out * x
    for i in reversed(range(len_layers)):
        x_1 = x
        x = x_stack.pop()
        layers_i = layers[i]
        W = layers_i[0]
        d_W_matmul_x_plus_b = d_x * (1 - x_1 * x_1)
        d_x = matmul_right_adjoint(d_W_matmul_x_plus_b, W, x)
    return d_x
