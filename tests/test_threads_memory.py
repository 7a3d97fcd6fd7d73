"""Many threads asking for gradients at once; many short-lived functions transformed.

Threads asking for the gradient of one function at the same moment must all
get the same function object, computing the right numbers; threads
transforming different functions must each get a correct one. A gradient,
its cache entry and its `linecache` entry must go when the user's function
goes: memory stays flat however many functions are transformed.
"""

import gc
import linecache
import math
import os
import sys
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest

import astgrad
from astgrad import source_files
import random_programs as rp

THREADS = 16


def f_source(name="f"):
    return f"import math\n\n\ndef {name}(x, y):\n    return math.sin(x) * math.exp(y) + x * y * y\n"


def expected_gradient(x, y):
    return math.cos(x) * math.exp(y) + y * y, math.sin(x) * math.exp(y) + 2 * x * y


def write(tmp_path, text, name):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return str(path)


def all_at_once(tasks):
    """Run the `tasks` (functions of no argument) in threads released together; their results."""
    barrier = threading.Barrier(len(tasks))

    def run(task):
        barrier.wait()
        return task()

    with ThreadPoolExecutor(len(tasks)) as pool:
        return list(pool.map(run, tasks))


def test_threads_asking_at_once_get_the_same_function(tmp_path):
    path = write(tmp_path, f_source(), "concurrent")
    kinds = {
        "grad": lambda f: astgrad.grad(f),
        "value_and_grad": lambda f: astgrad.value_and_grad(f),
        "grad wrt y": lambda f: astgrad.grad(f, wrt="y"),
    }
    expected = {
        "grad": expected_gradient(0.3, 0.7),
        "value_and_grad": (math.sin(0.3) * math.exp(0.7) + 0.3 * 0.7 * 0.7, *expected_gradient(0.3, 0.7)),
        "grad wrt y": expected_gradient(0.3, 0.7)[1],
    }
    for _ in range(10):
        f = rp.import_file(path).f  # a function nobody has transformed yet
        names = [list(kinds)[i % len(kinds)] for i in range(THREADS)]
        results = all_at_once([lambda kind=kind: (kind, kinds[kind](f)) for kind in names])
        for kind in kinds:
            functions = [fn for name, fn in results if name == kind]
            assert all(fn is functions[0] for fn in functions), kind
            assert functions[0] is kinds[kind](f)
            value = functions[0](0.3, 0.7)
            flat = (value[0], *value[1]) if kind == "value_and_grad" else value
            assert flat == pytest.approx(expected[kind], rel=1e-14)
        assert len({id(fn) for _, fn in results}) == len(kinds)


def test_threads_transforming_different_functions_get_correct_gradients(tmp_path):
    programs = [rp.make_program(0, index) for index in range(8)]
    paths = [rp.write(program, str(tmp_path)) for program in programs]
    modules = [rp.import_file(path) for path in paths]
    args = [[0.3 + 0.1 * i for i in range(len(program.params))] for program in programs]
    results = all_at_once([
        lambda m=m, p=p, a=a: (astgrad.source(astgrad.grad(m.f, wrt=p.wrt)), astgrad.grad(m.f, wrt=p.wrt)(*a))
        for m, p, a in zip(modules, programs, args)
    ])  # fmt: skip
    for program, path, a, (text, gradient) in zip(programs, paths, args, results):
        alone = rp.import_file(path).f  # the same program, transformed by this thread alone
        assert text == astgrad.source(astgrad.grad(alone, wrt=program.wrt))
        assert gradient == astgrad.grad(alone, wrt=program.wrt)(*a)


def astgrad_lines():
    """How many files of generated code linecache holds (in the cache directory, or pseudo-files)."""
    directory = source_files.directory_in_use()
    return sum(
        1 for name in list(linecache.cache) if name.startswith("<astgrad ") or os.path.dirname(name) == directory
    )


def transform_many(make_function, count, references=None):
    """Transform `count` functions from `make_function(i)`, check and drop them (keeping weak references)."""
    for i in range(count):
        fn = make_function(i)
        d_fn = astgrad.grad(fn, wrt=0)
        assert d_fn(1.5) == 2 * i * 1.5 + 1.0
        if references is not None:
            references += [weakref.ref(fn), weakref.ref(d_fn)]
        del fn, d_fn


def assert_transforms_leave_nothing_behind(make_function, count):
    """Transforming and dropping functions frees them, their gradients, linecache lines, and memory."""
    gc.collect()  # gradients earlier tests dropped go now, not during the count
    lines = astgrad_lines()
    references = []
    transform_many(make_function, count, references)  # also fills caches that fill once (imports, interning)
    gc.collect()
    alive = sum(1 for reference in references if reference() is not None)
    assert alive == 0, f"{alive} of {len(references)} functions and gradients are still alive"
    assert astgrad_lines() == lines
    del references
    gc.collect()
    blocks = sys.getallocatedblocks()
    transform_many(make_function, count)
    gc.collect()
    growth = sys.getallocatedblocks() - blocks
    # Caches that fill once (imports, interned names) still settle by tens of blocks; a leak
    # of even one block per function would exceed this.
    assert growth < count // 2, f"{growth} more memory blocks after transforming {count} functions"
    assert astgrad_lines() == lines


def test_gradients_of_short_lived_closures_are_freed(tmp_path):
    factory = rp.import_file(write(tmp_path, "def make(c):\n    return lambda x: c * x * x + x\n", "factory"))
    assert_transforms_leave_nothing_behind(lambda i: factory.make(float(i)), 1000)


def test_gradients_of_functions_in_discarded_modules_are_freed(tmp_path):
    """A function at a module's top level is in its own globals, which its gradient shares: the
    gradient must not keep the function (and so itself) alive once the module is gone."""
    path = write(tmp_path, "def f(x, c=0.0):\n    return c * x * x + x\n", "discarded")

    def fresh_function(i):
        f = rp.import_file(path).f  # a new module object each time, in no one's sys.modules
        f.__defaults__ = (float(i),)
        return f

    assert_transforms_leave_nothing_behind(fresh_function, 300)
