def d_softmax_score(z, v, d_out=1.0):
    max_z = np.max(z)
    e = np.exp(z - max_z)
    sum_e = np.sum(e)
    p = e / sum_e
    d_out = checked_arguments(d_out, z)
    d_p = unbroadcast(d_out * v, z)
    d_e = d_p / sum_e
    d_sum_e = np.sum(d_p * (-p / sum_e))
    d_e = d_e + d_sum_e
    d_z_minus_max_z = d_e * e
    d_max_z = -np.sum(d_z_minus_max_z)
    d_z = d_z_minus_max_z + (z == max_z) * d_max_z / np.sum(z == max_z)
    return d_z
