def d_rnn_loss(W, U, b, h, xs, targets, d_out=1.0):
    d_out = checked_arguments(d_out, W, U, b, h)
    len_xs = len(xs)
    h_stack = []
    for t in range(len_xs):
        h_stack.append(h)
        h = np.tanh(W @ h + U @ xs[t] + b)
    d_h = zero_gradient(h)
    d_U = zero_gradient(U)
    d_W = zero_gradient(W)
    d_b = zero_gradient(b)
    for t in reversed(range(len_xs)):
        h_1 = h
        h = h_stack.pop()
        d_sum_power = d_out * 0.5
        d_h_1_minus_targets_t = 2 * d_sum_power * (h_1 - targets[t])
        d_h_1 = d_h + unbroadcast(d_h_1_minus_targets_t, h_1)
        d_total_plus_b = d_h_1 * (1 - h_1 * h_1)
        d_b = d_b + unbroadcast(d_total_plus_b, b)
        d_U = d_U + matmul_left_adjoint(d_total_plus_b, U, xs[t])
        d_W = d_W + matmul_left_adjoint(d_total_plus_b, W, h)
        d_h = matmul_right_adjoint(d_total_plus_b, W, h)
    return d_W, d_U, d_b, d_h
