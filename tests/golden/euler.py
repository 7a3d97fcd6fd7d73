def d_euler(x, dt, n, d_out=1.0):
    if type(x) is not float or type(dt) is not float:
        check_numbers(x, dt)
    x_stack = []
    for i in range(n):
        x_stack.append(x)
        x = x + dt * math.sin(x)
    d_dt = 0.0
    d_x = d_out
    for i in reversed(range(n)):
        x = x_stack.pop()
        d_dt = d_dt + d_x * math.sin(x)
        d_sin_x = d_x * dt
        d_x = d_x + d_sin_x * math.cos(x)
    return d_x, d_dt
