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


# Options for benchmarks of sub-microsecond calls: warm up before calibrating, otherwise one slow
# first call can fix a round at a single iteration and inflate that median.
SHORT_CALL_OPTIONS = [
    "--benchmark-warmup=on",
    "--benchmark-min-time=0.00002",
    "--benchmark-min-rounds=2000",
    "--benchmark-columns=min,median,mean",
]


def print_hand_ratios(groups, unit="ns", scale=1e9, digits=1):
    """Per group: median (min) time per call of astgrad and hand, and their ratio of medians (of mins)."""
    print(f"\nmedian (min) {unit} per call; ratio astgrad/hand of medians (of mins)")
    print("%-18s %20s %20s %16s" % ("group", "astgrad", "hand", "astgrad/hand"))
    for group, stats in sorted(groups.items()):
        ours, hand = stats["astgrad"], stats["hand"]
        times = [ours["median"], ours["min"], hand["median"], hand["min"]]
        print("%-18s %11.*f (%6.*f) %11.*f (%6.*f) %7.2f (%5.2f)" % (
            group, *[value for t in times for value in (digits, t * scale)],
            ours["median"] / hand["median"], ours["min"] / hand["min"]))  # fmt: skip
