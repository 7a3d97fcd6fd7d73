"""Test-session setup: generated code goes to a cache directory of the session's own."""

import os
import shutil
import tempfile

_cache = None
if "ASTGRAD_CACHE_DIR" not in os.environ:  # keep the user's own cache directory out of the tests
    _cache = tempfile.mkdtemp(prefix="astgrad-test-cache-")
    os.environ["ASTGRAD_CACHE_DIR"] = _cache


def pytest_unconfigure(config):
    if _cache is not None:
        shutil.rmtree(_cache, ignore_errors=True)
