def d_rnn_loss(W, U, b, h, xs, targets, d_out=1.0):
    d_out = checked_arguments(d_out, W, U, b, h)
    len_xs = len(xs)
    loss = 0.0
    h_stack = []
    loss_stack = []
    for t in range(len_xs):
        h_stack.append(h)
        loss_stack.append(loss)
        W_matmul_h = W @ h
        xs_t = xs[t]
        U_matmul_xs_t = U @ xs_t
        total = W_matmul_h + U_matmul_xs_t
        total_plus_b = total + b
        h = np.tanh(total_plus_b)
        targets_t = targets[t]
        h_1_minus_targets_t = h - targets_t
        power = h_1_minus_targets_t ** 2
        sum_power = np.sum(power)
        prod = 0.5 * sum_power
        loss = loss + prod
    d_out = checked_seed(loss, d_out)
    d_h = zero_gradient(h)
    d_U = zero_gradient(U)
    d_W = zero_gradient(W)
    d_b = zero_gradient(b)
    d_loss = d_out
    for t in reversed(range(len_xs)):
        h_1 = h
        h = h_stack.pop()
        loss = loss_stack.pop()
        W_matmul_h = W @ h
        xs_t = xs[t]
        U_matmul_xs_t = U @ xs_t
        total = W_matmul_h + U_matmul_xs_t
        total_plus_b = total + b
        targets_t = targets[t]
        h_1_minus_targets_t = h_1 - targets_t
        power = h_1_minus_targets_t ** 2
        sum_power = np.sum(power)
        prod = 0.5 * sum_power
        d_prod = unbroadcast(d_loss, prod)
        d_loss = unbroadcast(d_loss, loss)
        d_sum_power = unbroadcast(d_prod * 0.5, sum_power)
        d_power = np.broadcast_to(d_sum_power, np.shape(power))
        d_h_1_minus_targets_t = unbroadcast(d_power * (2 * h_1_minus_targets_t), h_1_minus_targets_t)
        d_h_1 = d_h + unbroadcast(d_h_1_minus_targets_t, h_1)
        d_total_plus_b = unbroadcast(d_h_1 * (1 - h_1 * h_1), total_plus_b)
        d_total = unbroadcast(d_total_plus_b, total)
        d_b = d_b + unbroadcast(d_total_plus_b, b)
        d_W_matmul_h = unbroadcast(d_total, W_matmul_h)
        d_U_matmul_xs_t = unbroadcast(d_total, U_matmul_xs_t)
        d_U = d_U + matmul_left_adjoint(d_U_matmul_xs_t, U, xs_t)
        d_W = d_W + matmul_left_adjoint(d_W_matmul_h, W, h)
        d_h = matmul_right_adjoint(d_W_matmul_h, W, h)
    return d_W, d_U, d_b, d_h
