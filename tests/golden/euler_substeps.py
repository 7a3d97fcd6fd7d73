def d_euler_substeps(x, dt, n, m, d_out=1.0):
    if type(x) is not float or type(dt) is not float:
        check_numbers(x, dt)
    x_stack = []
    for i in range(n):
        x_stack.append(x)
        h = dt / m
        x_1 = x
        for j in range(m):
            x_1 = x_1 + h * math.sin(x_1)
        x = x_1
    d_dt = 0.0
    d_x = d_out
    for i in reversed(range(n)):
        x_1 = x_stack.pop()
        h = dt / m
        x_1_stack = []
        for j in range(m):
            x_1_stack.append(x_1)
            x_1 = x_1 + h * math.sin(x_1)
        d_x_1 = d_x
        d_h = 0.0
        for j in reversed(range(m)):
            x_1 = x_1_stack.pop()
            d_h = d_h + d_x_1 * math.sin(x_1)
            d_sin_x_1 = d_x_1 * h
            d_x_1 = d_x_1 + d_sin_x_1 * math.cos(x_1)
        d_x = d_x_1
        d_dt = d_dt + d_h / m
    return d_x, d_dt
