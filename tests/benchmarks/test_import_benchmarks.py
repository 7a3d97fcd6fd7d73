"""What ``import astgrad`` adds to importing NumPy, in fresh interpreters.

The target is at most 50 ms (docs/performance.md). Each sample is a new
Python process running ``import numpy`` or ``import numpy, astgrad``,
alternating so that a change in the machine's load touches both; the import
is timed inside the process (wall clock and the process's CPU time), so the
interpreter's own start-up is left out. As after any installation, modules
are read from bytecode caches, which a first import writes (to a temporary
directory, `PYTHONPYCACHEPREFIX`, even where `PYTHONDONTWRITEBYTECODE` is
set). The normal suite runs the checks below once, on what the import loads;
timings are never asserted.

Measure, and print the medians and their difference, with::

    python tests/benchmarks/test_import_benchmarks.py [samples]

(see docs/performance.md).
"""

import os
import statistics
import subprocess
import sys
import tempfile

TIMED_IMPORT = (
    "import time; wall, cpu = time.perf_counter(), time.process_time(); import {modules}; "
    "print(time.perf_counter() - wall, time.process_time() - cpu)"
)
LOADED = "import sys, numpy, astgrad; print(' '.join(sorted(m for m in sys.modules if m.startswith('{prefix}'))))"


def run(code, environment=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=environment).stdout  # fmt: skip


def cached_bytecode(directory):
    """The environment of processes that read and write bytecode caches in `directory`."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**environment, "PYTHONPYCACHEPREFIX": directory}


def import_time(modules, environment=None):
    """(wall seconds, CPU seconds) of importing `modules` in a fresh interpreter."""
    wall, cpu = run(TIMED_IMPORT.format(modules=modules), environment).split()
    return float(wall), float(cpu)


def loaded(prefix):
    """The modules whose names start with `prefix` that ``import numpy, astgrad`` loads."""
    return run(LOADED.format(prefix=prefix)).split()


def test_import_leaves_the_table_and_its_templates_for_later():
    modules = loaded("astgrad")
    assert "astgrad" in modules and "astgrad.api" in modules
    assert "astgrad.primitives" not in modules  # the table loads when the first rule is asked for


def test_import_leaves_astor_for_later():
    assert loaded("astor") == []  # the first generated function needs it


def test_one_sample_of_each_import():
    for modules in ("numpy", "numpy, astgrad"):
        wall, cpu = import_time(modules)
        assert wall > 0 and cpu > 0


def main(argv):
    samples = int(argv[0]) if argv else 11
    times = {"numpy": [], "numpy, astgrad": []}
    with tempfile.TemporaryDirectory() as directory:
        environment = cached_bytecode(directory)
        import_time("numpy, astgrad", environment)  # writes the caches
        for _ in range(samples):
            for modules in times:
                times[modules].append(import_time(modules, environment))
    medians = {m: [statistics.median(t[i] for t in samples_) * 1e3 for i in (0, 1)] for m, samples_ in times.items()}
    print(f"\nmedian of {samples} fresh interpreters each, ms (wall, CPU)")
    for modules, (wall, cpu) in medians.items():
        print("%-28s %8.1f %8.1f" % (f"import {modules}", wall, cpu))
    added = [medians["numpy, astgrad"][i] - medians["numpy"][i] for i in (0, 1)]
    print("%-28s %8.1f %8.1f" % ("astgrad adds", *added))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
