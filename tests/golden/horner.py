def d_horner(x, n, d_out=1.0):
    if type(x) is not float:
        check_numbers(x)
    y = 0.0
    y_stack = []
    for k in range(n):
        y_stack.append(y)
        y = y * x + 1.0 / (k + 1)
    d_x = 0.0
    d_y = d_out
    for k in reversed(range(n)):
        y = y_stack.pop()
        d_x = d_x + d_y * y
        d_y = d_y * x
    return d_x
