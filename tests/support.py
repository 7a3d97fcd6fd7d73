"""Shared test helpers: user-style modules written to real files, finite differences, the rule table restored."""

import contextlib
import importlib.util
import itertools
import re
import sys
import textwrap

import numpy as np

_modules = itertools.count()


def load_module(directory, source, name=None):
    """Write `source` to a .py file in `directory` and import it, as a user's module."""
    name = name or f"astgrad_test_module_{next(_modules)}"
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def without_origin_comments(text):
    """`text` without the ``  # from line N: ...`` comments that end generated lines."""
    return re.sub(r"  # from [^\n]*", "", text)


def central_difference(f, args, index, h=1e-6):
    """d f / d args[index] by central differences (elementwise for an array argument)."""
    x = args[index]
    if np.ndim(x) == 0:
        step = h * max(1.0, abs(float(x)))
        up = list(args)
        down = list(args)
        up[index] = x + step
        down[index] = x - step
        return (f(*up) - f(*down)) / (2 * step)
    x = np.asarray(x, dtype=float)
    result = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        step = h * max(1.0, abs(x[position]))
        up, down = x.copy(), x.copy()
        up[position] += step
        down[position] -= step
        result[position] = (f(*args[:index], up, *args[index + 1 :]) - f(*args[:index], down, *args[index + 1 :])) / (
            2 * step
        )
    return result


def assert_close(actual, expected, rtol=1e-6, atol=1e-8):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol)


@contextlib.contextmanager
def restored_rule_table():
    """Run a block that registers rules (astgrad.derivative, astgrad.adjoint), then put the table back as it was."""
    from astgrad import rules

    rules.all_entries()  # loaded, so that what is restored is the whole table
    saved = {fn: list(found) for fn, found in rules.RULES.items()}
    entries = [(entry, list(entry.rules)) for entry in rules.ENTRIES]
    try:
        yield
    finally:
        rules.RULES.clear()
        rules.RULES.update(saved)
        rules.ENTRIES[:] = [entry for entry, _ in entries]
        for entry, spellings in entries:
            entry.rules[:] = spellings
