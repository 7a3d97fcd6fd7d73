def d_stacked_layer(W, xs, d_out=1.0):
    d_out = checked_arguments(d_out, W)
    items = []
    len_xs = len(xs)
    for i in range(len_xs):
        x = xs[i]
        W_matmul_x = W @ x
        tanh_W_matmul_x = np.tanh(W_matmul_x)
        items.append(tanh_W_matmul_x)
    stack_items = np.stack(items)
    stack_items_pow_2 = stack_items ** 2
    out = np.sum(stack_items_pow_2)
    d_out = checked_seed(out, d_out)
    d_stack_items_pow_2 = np.broadcast_to(d_out, np.shape(stack_items_pow_2))
    d_stack_items = unbroadcast(d_stack_items_pow_2 * (2 * stack_items), stack_items)
    d_items = list(d_stack_items)
    d_W = zero_gradient(W)
    for i in reversed(range(len_xs)):
        x = xs[i]
        W_matmul_x = W @ x
        tanh_W_matmul_x = np.tanh(W_matmul_x)
        d_tanh_W_matmul_x = d_items.pop()
        d_W_matmul_x = unbroadcast(d_tanh_W_matmul_x * (1 - tanh_W_matmul_x * tanh_W_matmul_x), W_matmul_x)
        d_W = d_W + matmul_left_adjoint(d_W_matmul_x, W, x)
    return d_W
