def d_reuse(x, d_out=1.0):
    y = math.exp(x)
    cos_x = math.cos(x)
    sin_x = math.sin(x)
    d_x = d_out * cos_x
    d_y = d_out * cos_x
    d_cos_x = d_out * y
    d_x = d_x - d_cos_x * sin_x
    d_x = d_x + d_y * y
    return d_x
