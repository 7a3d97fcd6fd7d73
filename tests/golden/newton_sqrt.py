def d_newton_sqrt(a, d_out=1.0):
    if type(a) is not float:
        check_numbers(a)
    x = a
    x_stack = []
    iterations = 0
    x_times_x = a * a
    x_times_x_minus_a = x_times_x - a
    abs_out = abs(x_times_x_minus_a)
    prod = 1e-12 * a
    while abs_out > prod:
        iterations = iterations + 1
        x_stack.append(x)
        x = 0.5 * (x + a / x)
        x_times_x = x * x
        x_times_x_minus_a = x_times_x - a
        abs_out = abs(x_times_x_minus_a)
        prod = 1e-12 * a
    d_a = 0.0
    d_x = d_out
    for _ in range(iterations):
        x = x_stack.pop()
        d_x_plus_a_over_x = d_x * 0.5
        d_a = d_a + d_x_plus_a_over_x / x
        d_x = d_x_plus_a_over_x + d_x_plus_a_over_x * (-a / x / x)
    d_a = d_a + d_x
    return d_a
