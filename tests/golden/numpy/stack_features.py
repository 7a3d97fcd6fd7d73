def d_stack_features(a, b, d_out=1.0):
    f = np.concatenate([a, b])
    f_part = f[::2]
    f_part_1 = f[1::2]
    d_out = checked_arguments(d_out, a, b)
    d_f_part = unbroadcast(d_out * f_part_1, f_part)
    d_f_part_1 = unbroadcast(d_out * f_part, f_part_1)
    d_f = unindex(d_f_part_1, f, np.s_[1::2])
    d_f = d_f + unindex(d_f_part, f, np.s_[::2])
    d_a = concatenate_part(d_f, (a, b), 0, 0)
    d_b = concatenate_part(d_f, (a, b), 1, 0)
    return d_a, d_b
