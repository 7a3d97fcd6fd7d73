def d_appended_states(x, dt, n, d_out=1.0):
    d_out = checked_arguments(d_out, x, dt)
    states = []
    x_stack = []
    sin_x_stack = []
    for i in range(n):
        x_stack.append(x)
        sin_x = math.sin(x)
        x = x + dt * sin_x
        states.append(x)
        sin_x_stack.append(sin_x)
    stack_states = np.stack(states)
    d_stack_states = 2 * d_out * stack_states
    d_states = list(d_stack_states)
    d_x = zero_gradient(x)
    d_dt = zero_gradient(dt)
    for i in reversed(range(n)):
        x = x_stack.pop()
        sin_x = sin_x_stack.pop()
        d_x_1 = d_x + d_states.pop()
        d_dt_times_sin_x = unbroadcast(d_x_1, dt * sin_x)
        d_x = unbroadcast(d_x_1, x)
        d_dt = d_dt + d_dt_times_sin_x * sin_x
        d_sin_x = d_dt_times_sin_x * dt
        d_x = d_x + unbroadcast(d_sin_x * math.cos(x), x)
    return d_x, d_dt
