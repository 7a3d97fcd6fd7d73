def d_weighted_squares(ws, xs, a, d_out=1.0):
    d_out = checked_arguments(d_out, a)
    terms = []
    len_ws = len(ws)
    len_xs = len(xs)
    min_len_ws_len_xs = min(len_ws, len_xs)
    for i in range(min_len_ws_len_xs):
        w = ws[i]
        x = xs[i]
        prod = w * (a * x) ** 2
        terms.append(prod)
    out = sum(terms)
    d_out = checked_seed(out, d_out)
    d_terms = repeated(d_out, terms)
    d_a = zero_gradient(a)
    for i in reversed(range(min_len_ws_len_xs)):
        w = ws[i]
        x = xs[i]
        d_prod = d_terms.pop()
        d_a_times_x_pow_2 = d_prod * w
        d_a_times_x = d_a_times_x_pow_2 * (2 * (a * x))
        d_a = d_a + unbroadcast(d_a_times_x * x, a)
    return d_a
