def d_bounce(x, v, dt, n, d_out=1.0):
    if type(x) is not float or type(v) is not float or type(dt) is not float:
        check_numbers(x, v, dt)
    x_stack = []
    v_stack = []
    for i in range(n):
        x_stack.append(x)
        v_stack.append(v)
        x_1 = x + dt * v
        if x_1 < 0.0:
            x_2 = -x_1
            v_1 = -v
        else:
            x_2 = x_1
            v_1 = v
        x = x_2
        v = v_1
    d_v = 0.0
    d_dt = 0.0
    d_x = d_out
    for i in reversed(range(n)):
        x = x_stack.pop()
        v = v_stack.pop()
        x_1 = x + dt * v
        if x_1 < 0.0:
            d_v = -d_v
            d_x_1 = -d_x
        else:
            d_x_1 = d_x
        d_x = d_x_1
        d_dt = d_dt + d_x_1 * v
        d_v = d_v + d_x_1 * dt
    return d_x, d_v, d_dt
