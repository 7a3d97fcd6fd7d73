def d_sin_cos(x, y, d_out=1.0):
    sin_x = sin(x)
    cos_y = cos(y)
    d_sin_x = d_out * cos_y
    d_cos_y = d_out * sin_x
    d_y = -d_cos_y * sin(y)
    d_x = d_sin_x * cos(x)
    return d_x, d_y
