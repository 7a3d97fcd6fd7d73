def d_loss(W1, b1, W2, b2, X, Y, d_out=1.0):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    exp_shifted = np.exp(shifted)
    sum_exp_shifted = np.sum(exp_shifted, axis=1, keepdims=True)
    d_out = checked_arguments(d_out, W1, b1, W2, b2)
    d_log_probs = unbroadcast(-d_out / X.shape[0] * Y, shifted)
    d_log_sum_exp_shifted = -unbroadcast(d_log_probs, sum_exp_shifted)
    d_sum_exp_shifted = d_log_sum_exp_shifted / sum_exp_shifted
    d_shifted = d_log_probs + d_sum_exp_shifted * exp_shifted
    d_b2 = unbroadcast(d_shifted, b2)
    d_h = matmul_left_adjoint(d_shifted, h, W2)
    d_W2 = matmul_right_adjoint(d_shifted, h, W2)
    d_X_matmul_W1_plus_b1 = d_h * (1 - h * h)
    d_b1 = unbroadcast(d_X_matmul_W1_plus_b1, b1)
    d_W1 = matmul_right_adjoint(d_X_matmul_W1_plus_b1, X, W1)
    return d_W1, d_b1, d_W2, d_b2
