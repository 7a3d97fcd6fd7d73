"""Generated source text in, the path of a file holding it out: so every exception printer shows it.

CPython's own exception printer reads source lines from disk before 3.13 (it
ignores `linecache`), so a generated function compiled under a pseudo-file
name shows no line in a traceback. The compile stage therefore gives each
generated function a real file: `file_for(name, text)` writes `text` once
into a per-user cache directory and returns its path, to be used as the code
object's file name.

* The directory is ``$ASTGRAD_CACHE_DIR`` when that is set (set it empty to
  write no files), else ``astgrad`` in the user's cache directory
  (``$XDG_CACHE_HOME`` or ``~/.cache``; ``~/Library/Caches`` on macOS,
  ``%LOCALAPPDATA%`` on Windows), else ``astgrad-<user>`` in the temporary
  directory.
* Files are content-addressed (``d_f-<hash of the text>.py``): the same
  derivative is written once, by whichever process makes it first, and
  written atomically, so a reader never sees half a file.
* Files unused for `MAX_AGE_DAYS` are removed, once per process, when the
  first file is asked for; using a file again (by making the same
  derivative) renews it.
* When no directory can be written, `file_for` returns None and the caller
  keeps the source in `linecache` only (then tracebacks show generated lines
  on 3.13+ and through the `traceback` module, IPython and Jupyter).
"""

import os
import sys
import threading
import time

MAX_AGE_DAYS = 30
ENVIRONMENT_VARIABLE = "ASTGRAD_CACHE_DIR"
SUFFIX = ".py"

_lock = threading.Lock()
_chosen = []  # the directory this process writes to (or None), once chosen


def file_for(name, text):
    """The path of a file in the cache directory holding `text`, written if needed; None if none can be."""
    directory = directory_in_use()
    if directory is None:
        return None
    try:
        return write_once(directory, name, text)
    except OSError:  # a full disk, a directory removed meanwhile: linecache alone still works
        return None


def write_once(directory, name, text):
    """The path ``directory/<name>-<hash>.py`` holding `text`: written now unless it already does."""
    import hashlib  # when first needed: `import astgrad` stays cheap
    import tempfile

    data = text.encode("utf-8")
    path = os.path.join(directory, f"{name}-{hashlib.sha256(data).hexdigest()[:16]}{SUFFIX}")
    if _holds(path, data):
        os.utime(path)  # used again: not old
        return path
    descriptor, temporary = tempfile.mkstemp(suffix=".tmp", prefix=f".{name}-", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    return path


def remove_old_files(directory, now=None, max_age_days=MAX_AGE_DAYS):
    """Remove the files in `directory` astgrad wrote that were last used more than `max_age_days` ago."""
    limit = (time.time() if now is None else now) - max_age_days * 24 * 3600
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if not entry.name.endswith((SUFFIX, ".tmp")):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < limit:
                os.remove(entry.path)
        except OSError:  # removed by another process meanwhile, or not ours to remove
            pass


def candidate_directories(environ, platform=sys.platform):
    """The directories to try, best first, for the environment `environ` (a mapping like `os.environ`)."""
    if ENVIRONMENT_VARIABLE in environ:
        chosen = environ[ENVIRONMENT_VARIABLE]
        return [chosen] if chosen else []
    return [os.path.join(_user_cache_home(environ, platform), "astgrad"), _temporary_directory()]


def _user_cache_home(environ, platform):
    if environ.get("XDG_CACHE_HOME"):
        return environ["XDG_CACHE_HOME"]
    if platform == "win32" and environ.get("LOCALAPPDATA"):
        return environ["LOCALAPPDATA"]
    if platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches")
    return os.path.join(os.path.expanduser("~"), ".cache")


def _temporary_directory():
    import getpass  # when first needed: `import astgrad` stays cheap
    import tempfile

    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return os.path.join(tempfile.gettempdir(), f"astgrad-{user}")


def directory_in_use():
    """The directory this process writes to, chosen (and cleaned) on first use; None if none is writable."""
    with _lock:
        if not _chosen:
            directory = next((d for d in candidate_directories(os.environ) if _usable(d)), None)
            if directory is not None:
                remove_old_files(directory)
            _chosen.append(directory)
        return _chosen[0]


def _usable(directory):
    """Whether `directory` exists or could be made, is the user's own, and takes a file."""
    import tempfile  # when first needed: `import astgrad` stays cheap

    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if hasattr(os, "getuid") and os.stat(directory).st_uid != os.getuid():
            return False  # another user's directory (in a shared temporary directory, say)
        descriptor, probe = tempfile.mkstemp(suffix=".tmp", dir=directory)
        os.close(descriptor)
        os.remove(probe)
        return True
    except OSError:
        return False


def _holds(path, data):
    try:
        with open(path, "rb") as file:
            return file.read() == data
    except OSError:
        return False


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
