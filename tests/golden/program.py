def d_program(x, w, d_out=1.0):
    if type(w) is not float:
        check_numbers(w)
    v1 = x * w
    v2 = sin(v1)
    v3 = v1 + v2
    v4 = v2 ** 2
    v5 = exp(v3)
    d_v4 = d_out * w
    d_w = d_out * v4
    d_v3 = d_out * v5
    d_v2 = d_v4 * (2 * v2)
    d_v2 = d_v2 + d_v3
    d_v1 = d_v3 + d_v2 * cos(v1)
    d_x = d_v1 * w
    d_w = d_w + d_v1 * x
    return d_x, d_w
