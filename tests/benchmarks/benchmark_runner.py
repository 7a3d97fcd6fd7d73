"""Run a benchmark file with pytest-benchmark enabled and collect its timings.

Both benchmark files use this from their ``__main__``: they run themselves
through `measure` and print ratios of the returned statistics.
"""

import json
import os
import shutil
import tempfile

import pytest


def measure(test_file, options, argv):
    """(exit code, {group: {implementation: stats}}) of running `test_file`'s benchmarks.

    Each benchmark names its implementation (``astgrad``, ``hand``, ...) in
    ``benchmark.extra_info["impl"]``; stats hold ``median`` and ``min`` in seconds.
    """
    directory = tempfile.mkdtemp()
    json_path = os.path.join(directory, "benchmarks.json")
    try:
        code = pytest.main(
            [test_file, "-q", "-p", "no:cacheprovider", "--benchmark-enable", "--benchmark-group-by=group",
             "--benchmark-storage=file://" + directory, "--benchmark-json=" + json_path]
            + list(options) + list(argv)
        )  # fmt: skip
        if code != 0:
            return int(code), {}
        with open(json_path) as handle:
            benchmarks = json.load(handle)["benchmarks"]
    finally:
        shutil.rmtree(directory)
    groups = {}
    for bench in benchmarks:
        groups.setdefault(bench["group"], {})[bench["extra_info"]["impl"]] = bench["stats"]
    return 0, groups
