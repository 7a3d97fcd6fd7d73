def d_attention(Q, K, V, d_out=1.0):
    K_T = K.T
    sqrt_Q_shape_part = np.sqrt(Q.shape[-1])
    scores = Q @ K_T / sqrt_Q_shape_part
    scores_1 = scores - np.max(scores, axis=-1, keepdims=True)
    w = np.exp(scores_1)
    sum_w = np.sum(w, axis=-1, keepdims=True)
    w_1 = w / sum_w
    d_out = checked_arguments(d_out, Q, K, V)
    d_w_1 = matmul_left_adjoint(d_out, w_1, V)
    d_V = matmul_right_adjoint(d_out, w_1, V)
    d_w = d_w_1 / sum_w
    d_w = d_w + unbroadcast(d_w_1 * (-w_1 / sum_w), sum_w)
    d_scores_1 = d_w * w
    d_Q_matmul_K_T = d_scores_1 / sqrt_Q_shape_part
    d_Q = matmul_left_adjoint(d_Q_matmul_K_T, Q, K_T)
    d_K_T = matmul_right_adjoint(d_Q_matmul_K_T, Q, K_T)
    d_K = d_K_T.T
    return d_Q, d_K, d_V
