"""Time to transform a function: from a new function object to its compiled gradient.

Each round calls ``astgrad.grad`` on a function object made for that round
(from the same source text), so no cached gradient is reused; making the
function is not timed. The cases, one benchmark group each:

* ``sin_cos``: f(x, y) = sin(x) * cos(y), by reverse mode (target: 5 ms)
  and by forward mode;
* ``chain``: a straight-line chain of N assignments, each reading the one
  or two before it (``v7 = v6 / (1.0 + v5 ** 2)``), with N = 1,000 (target:
  1 ms per statement) and N = 8,000 (target: at most 10 times the time of
  1,000), by reverse mode (``reverse``), by forward mode (``forward``) and
  in NumPy code (``numpy``: ``np.sin`` on an array, summed at the end,
  reverse mode).

In the normal suite (``--benchmark-disable``) every benchmark runs once, on
a chain of 40 statements instead of 1,000 and 8,000, and checks the
gradient it made against central differences. Timings are never asserted.

Measure with::

    python tests/benchmarks/test_transform_benchmarks.py

which prints, per case, the median (and minimum) CPU time of a transform,
the time per statement, and the ratio of the 8,000 to the 1,000 chain, then
the time of each stage of the pipeline on the chains (see
docs/performance.md). CPU time (``time.process_time``), not wall time: on a
shared machine it depends less on the other work.
"""
import gc
import itertools
import linecache
import math
import statistics
import time

import numpy as np
import pytest

import astgrad
from astgrad import api, check, cse, forward, optimize, parse, rename, resolve, ssa
from astgrad import compile as compile_stage
from astgrad.errors import Location

MEASURED_SIZES = (1000, 8000)  # chain lengths when run as a benchmark
TESTED_SIZE = 40  # the chain length in the normal suite
VARIANTS = ("reverse", "forward", "numpy")
ROUNDS = {"sin_cos": 200, 1000: 7, 8000: 3, TESTED_SIZE: 1}


# --------------------------------------------------------------------------
# The functions: source text, and a new function object per round.
# --------------------------------------------------------------------------

SIN_COS = "def sin_cos(x, y):\n    return math.sin(x) * math.cos(y)\n"

# Statement i is STEPS[i % 4] of the one or two values before it; with the
# sine every fourth step the values stay of order one however long the chain.
STEPS = (
    "{m}.sin({a}) + x",
    "{a} * y * 0.5",
    "{m}.cos({a}) * {b}",
    "{a} / (1.0 + {b} ** 2)",
)


def chain_source(size, module="math"):
    """The source of ``chain(x, y)``: `size` assignments (the first reads x and y), then the return.

    With `module` "np" the steps call NumPy, and the function returns the
    sum of the last value.
    """
    lines = ["def chain(x, y):", f"    v0 = {module}.sin(x) * y"]
    for i in range(1, size):
        step = STEPS[i % len(STEPS)].format(m=module, a=f"v{i - 1}", b=f"v{max(i - 2, 0)}")
        lines.append(f"    v{i} = {step}")
    last = f"v{size - 1}"
    lines.append(f"    return np.sum({last})" if module == "np" else f"    return {last}")
    return "\n".join(lines) + "\n"


_sources = itertools.count(1)


def new_function(source):
    """A new function object for the one def in `source`, whose source astgrad can read."""
    filename = f"<transform benchmark {next(_sources)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"math": math, "np": np}
    exec(compile(source, filename, "exec"), namespace)
    (function,) = [value for key, value in namespace.items() if key not in ("math", "np", "__builtins__")]
    return function


def forget(function):
    """Drop a benchmark function's source from linecache (a long run keeps its memory flat)."""
    linecache.cache.pop(function.__code__.co_filename, None)


def transform_each_round(benchmark, source, mode, rounds):
    """The gradient made in the last round of `benchmark`; each round makes a new function first."""
    made = []

    def setup():
        return (new_function(source),), {}

    def transform(function):
        gradient = astgrad.grad(function, mode=mode)
        made.append(gradient)
        return gradient

    def teardown(function):
        forget(function)
        del made[:-1]  # keep only the last gradient

    benchmark.extra_info["impl"] = "astgrad"
    warmup = 1 if rounds >= ROUNDS["sin_cos"] else 0  # a chain's round is too long for warm-up to matter
    return benchmark.pedantic(transform, setup=setup, teardown=teardown, rounds=rounds, warmup_rounds=warmup)


# --------------------------------------------------------------------------
# The checks: a gradient against central differences.
# --------------------------------------------------------------------------

def central_differences(f, args, h=1e-6):
    """The gradient of the number f(*args) by central differences, per argument (arrays elementwise)."""
    gradient = []
    for index, value in enumerate(args):
        value = np.array(value, dtype=float)
        partial = np.zeros_like(value)
        for position in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[position] += h
            down[position] -= h
            shifted = [list(args), list(args)]
            shifted[0][index], shifted[1][index] = up[()], down[()]
            partial[position] = (f(*shifted[0]) - f(*shifted[1])) / (2 * h)
        gradient.append(partial[()])
    return tuple(gradient)


X, Y = 0.5, 1.2
# Not 0: the chain keeps 0 at 0, where its derivative grows with its length past what central
# differences resolve.
X_ARRAY = np.array([-0.9, -0.4, 0.3, 0.8])


def arguments(variant):
    return (X_ARRAY, Y) if variant == "numpy" else (X, Y)


def check_gradient(gradient, function, args):
    got = gradient(*args)
    want = central_differences(function, args)
    assert len(got) == len(want) == len(args)
    for got_part, want_part, arg in zip(got, want, args):
        assert np.shape(got_part) == np.shape(arg)
        np.testing.assert_allclose(got_part, want_part, rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------
# The benchmarks.
# --------------------------------------------------------------------------

def pytest_generate_tests(metafunc):
    """Chains of 1,000 and 8,000 statements when measuring; of TESTED_SIZE in the normal suite."""
    if "size" in metafunc.fixturenames:
        config = metafunc.config
        measuring = config.getoption("benchmark_enable") or not config.getoption("benchmark_disable")
        metafunc.parametrize("size", MEASURED_SIZES if measuring else (TESTED_SIZE,))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_sin_cos(benchmark, mode):
    benchmark.group = f"sin_cos_{mode}"
    gradient = transform_each_round(benchmark, SIN_COS, mode, ROUNDS["sin_cos"])
    expected = (math.cos(X) * math.cos(Y), -math.sin(X) * math.sin(Y))
    assert gradient(X, Y) == pytest.approx(expected, rel=1e-12, abs=0.0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_chain(benchmark, variant, size):
    benchmark.group = f"chain_{variant}_{size}"
    source = chain_source(size, "np" if variant == "numpy" else "math")
    mode = "forward" if variant == "forward" else "reverse"
    gradient = transform_each_round(benchmark, source, mode, ROUNDS[size])
    function = new_function(source)
    try:
        check_gradient(gradient, function, arguments(variant))
    finally:
        forget(function)


# --------------------------------------------------------------------------
# Stage by stage: the time of each stage of the pipeline.
# --------------------------------------------------------------------------

def staged_transform(function, variant):
    """(the gradient, {stage: CPU seconds}): `astgrad.grad`'s pipeline, one stage at a time.

    The same stages, with the same arguments, as ``astgrad.api.transform``
    for a gradient with respect to every parameter (`test_stages_are_the_transform`
    checks that the generated source is the same).
    """
    times = {}

    def timed(stage, work, *args):
        start = time.process_time()
        result = work(*args)
        times[stage] = time.process_time() - start
        return result

    user = timed("parse", parse.read, function)
    location = Location(user.filename)
    timed("check", check.check, user.tree, location)
    resolved = timed("resolve", resolve.resolve, user, location)
    single_assignment = timed("ssa", ssa.to_ssa, resolved, location)
    program = timed("cse", cse.eliminate_common_subexpressions, single_assignment)
    wrt = program.params
    as_tuple = len(wrt) != 1
    if variant == "forward":
        derivative = timed("differentiate", forward.gradient, program, wrt, as_tuple)
        returned = api.returned_names(program, wrt, "grad", as_tuple, False)
    else:
        derivative = timed("differentiate", api.reverse_adjoint, program, wrt, as_tuple)
        returned = rename.gradient_names(wrt, derivative.names, as_tuple, False)
    optimized = timed("optimize", optimize.optimize, derivative)
    named = timed("names", rename.rename, optimized, program.user_names, returned, bool(program.primal_params))
    seed = variant != "forward"
    gradient = timed("compile", compile_stage.build, named, user, program.params, seed)
    return gradient, times


STAGES = ("parse", "check", "resolve", "ssa", "cse", "differentiate", "optimize", "names", "compile")


@pytest.mark.parametrize("variant", VARIANTS)
def test_stages_are_the_transform(variant):
    source = chain_source(TESTED_SIZE, "np" if variant == "numpy" else "math")
    function = new_function(source)
    try:
        staged, times = staged_transform(function, variant)
        direct = astgrad.grad(new_function(source), mode="forward" if variant == "forward" else "reverse")
        assert tuple(times) == STAGES
        assert astgrad.source(staged) == astgrad.source(direct)
        check_gradient(staged, function, arguments(variant))
    finally:
        forget(function)


def stage_medians(size, variant, rounds):
    """{stage: median CPU seconds} over `rounds` staged transforms of a chain (the collector paused, as `grad` does)."""
    source = chain_source(size, "np" if variant == "numpy" else "math")
    samples = {stage: [] for stage in STAGES}
    for _ in range(rounds):
        function = new_function(source)
        gc.collect()
        gc.disable()
        try:
            _, times = staged_transform(function, variant)
        finally:
            gc.enable()
            forget(function)
        for stage, seconds in times.items():
            samples[stage].append(seconds)
    return {stage: statistics.median(values) for stage, values in samples.items()}


# --------------------------------------------------------------------------
# Not a test: measure and print.
# --------------------------------------------------------------------------

def print_transform_times(groups):
    print("\nmedian (min) CPU ms per transform; per statement for chains; ratio of the 8,000 chain to the 1,000")
    for mode in ("reverse", "forward"):
        stats = groups[f"sin_cos_{mode}"]["astgrad"]
        print("%-22s %9.2f (%8.2f)" % (f"sin_cos {mode}", stats["median"] * 1e3, stats["min"] * 1e3))
    for variant in VARIANTS:
        medians = {}
        for size in MEASURED_SIZES:
            stats = groups[f"chain_{variant}_{size}"]["astgrad"]
            medians[size] = stats["median"]
            print("%-22s %9.1f (%8.1f)   %6.3f ms per statement" % (
                f"chain {variant} {size}", stats["median"] * 1e3, stats["min"] * 1e3, stats["median"] * 1e3 / size))
        print("%-22s %9.2f" % (f"chain {variant} ratio", medians[8000] / medians[1000]))


def print_stage_times(rounds=3):
    print("\nmedian CPU ms per stage over %d transforms (staged_transform, collector paused)" % rounds)
    print("%-20s" % "chain" + "".join("%14s" % stage for stage in STAGES) + "%10s" % "total")
    for variant in VARIANTS:
        for size in MEASURED_SIZES:
            medians = stage_medians(size, variant, rounds)
            print("%-20s" % f"{variant} {size}" + "".join("%14.1f" % (medians[s] * 1e3) for s in STAGES)
                  + "%10.1f" % (sum(medians.values()) * 1e3))  # fmt: skip


def main(argv):
    from benchmark_runner import measure

    code, groups = measure(__file__, ["--benchmark-timer=time.process_time",
                                      "--benchmark-columns=min,median,mean,rounds"], argv)  # fmt: skip
    if code == 0:
        print_transform_times(groups)
        print_stage_times()
    return code


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
