"""Where a cache directory's daemon lives, and holo's log. Standard library only."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

SOCKET = "socket"
LOCK = "lock"


def default_cache_dir() -> str:
    """holo.engine.store.default_cache_dir, without importing the engine."""
    env = os.environ.get("HOLO_CACHE_DIR")
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "holo")


def cache_dir_in(argv: Sequence[str]) -> str:
    """The cache directory a command line names (``--cache-dir``), else the default; absolute.

    A misread (an abbreviated option) only picks another daemon: the daemon
    parses the command line itself and uses the cache directory it names.
    """
    found: str | None = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--cache-dir" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--cache-dir="):
            found = arg.split("=", 1)[1]
    return os.path.abspath(found or default_cache_dir())


def daemon_dir(cache_dir: str) -> str:
    return os.path.join(cache_dir, "daemon")


def socket_path(cache_dir: str) -> str:
    return os.path.join(daemon_dir(cache_dir), SOCKET)


def lock_path(cache_dir: str) -> str:
    return os.path.join(daemon_dir(cache_dir), LOCK)


def log_file() -> str:
    """holo's log (holo.cli's), without importing tempfile."""
    for name in ("TMPDIR", "TEMP", "TMP"):
        directory = os.environ.get(name)
        if directory and os.path.isdir(directory):
            break
    else:
        directory = "/tmp"
    return os.path.join(directory, f"holo-{os.getuid()}.log")


def at_short_path(path: str, act: Callable[[str], object]) -> None:
    """``act(path)``, through a relative path when ``path`` is too long for a socket address."""
    if len(os.fsencode(path)) < 100:
        act(path)
        return
    here = os.open(".", os.O_RDONLY)
    try:
        os.chdir(os.path.dirname(path))
        act(os.path.basename(path))
    finally:
        os.fchdir(here)
        os.close(here)
