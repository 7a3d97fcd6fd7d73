def d_stacked_layer(W, xs, d_out=1.0):
    d_out = checked_arguments(d_out, W)
    items = []
    len_xs = len(xs)
    tanh_W_matmul_x_stack = []
    for i in range(len_xs):
        x = xs[i]
        tanh_W_matmul_x = np.tanh(W @ x)
        items.append(tanh_W_matmul_x)
        tanh_W_matmul_x_stack.append(tanh_W_matmul_x)
    stack_items = np.stack(items)
    d_stack_items = 2 * d_out * stack_items
    d_items = list(d_stack_items)
    d_W = zero_gradient(W)
    for i in reversed(range(len_xs)):
        tanh_W_matmul_x = tanh_W_matmul_x_stack.pop()
        x = xs[i]
        d_tanh_W_matmul_x = d_items.pop()
        d_W_matmul_x = d_tanh_W_matmul_x * (1 - tanh_W_matmul_x * tanh_W_matmul_x)
        d_W = d_W + matmul_left_adjoint(d_W_matmul_x, W, x)
    return d_W
