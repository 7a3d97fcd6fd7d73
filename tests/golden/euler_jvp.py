def jvp_euler(x, dt, n, x_dot, dt_dot):
    for i in range(n):
        sin_x = math.sin(x)
        sin_x_dot = math.cos(x) * x_dot
        dt_times_sin_x = dt * sin_x
        dt_times_sin_x_dot = sin_x * dt_dot + dt * sin_x_dot
        x = x + dt_times_sin_x
        x_dot = x_dot + dt_times_sin_x_dot
    return x, x_dot
