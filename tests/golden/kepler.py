def d_kepler(mean_anomaly, e, d_out=1.0):
    if type(mean_anomaly) is not float or type(e) is not float:
        check_numbers(mean_anomaly, e)
    E = mean_anomaly
    stopped = False
    E_stack = []
    iterations = 0
    while not stopped:
        iterations = iterations + 1
        E_stack.append(E)
        sin_E = math.sin(E)
        cos_E = math.cos(E)
        diff_2 = 1.0 - e * cos_E
        step = (E - e * sin_E - mean_anomaly) / diff_2
        E = E - step
        stopped = abs(step) < 1e-12
    d_e = 0.0
    d_mean_anomaly = 0.0
    d_E = d_out
    for _ in range(iterations):
        E = E_stack.pop()
        sin_E = math.sin(E)
        cos_E = math.cos(E)
        diff_2 = 1.0 - e * cos_E
        step = (E - e * sin_E - mean_anomaly) / diff_2
        d_step = -d_E
        d_diff = d_step / diff_2
        d_diff_2 = d_step * (-step / diff_2)
        d_e_times_cos_E = -d_diff_2
        d_e = d_e + d_e_times_cos_E * cos_E
        d_cos_E = d_e_times_cos_E * e
        d_E = d_E - d_cos_E * math.sin(E)
        d_mean_anomaly = d_mean_anomaly - d_diff
        d_e_times_sin_E = -d_diff
        d_E = d_E + d_diff
        d_e = d_e + d_e_times_sin_E * sin_E
        d_sin_E = d_e_times_sin_E * e
        d_E = d_E + d_sin_E * math.cos(E)
    d_mean_anomaly = d_mean_anomaly + d_E
    return d_mean_anomaly, d_e
