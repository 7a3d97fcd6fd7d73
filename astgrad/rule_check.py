"""placeholder"""
def check_rule(*a, **k):
    raise NotImplementedError
