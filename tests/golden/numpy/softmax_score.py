def d_softmax_score(z, v, d_out=1.0):
    e = np.exp(z - np.max(z))
    sum_e = np.sum(e)
    p = e / sum_e
    d_out = checked_arguments(d_out, z)
    d_p = unbroadcast(d_out * v, p)
    d_e = d_p / sum_e
    d_e = d_e + np.sum(d_p * (-p / sum_e))
    d_z = d_e * e
    return d_z
