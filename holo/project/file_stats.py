"""Which files may have changed since the last look: a stat prefilter with git's racy-file rule.

A long-lived holo process (the daemon) brings its Workspace up to date
before each request without reading every file: a file is read again only
when its ``(mtime_ns, size, inode)`` differs from what the previous scan
recorded, when the previous scan did not know it, or when it is *racy*.

A file is racy when its recorded mtime is within :data:`RACY_NS` of the
start of the scan that recorded it: a write in the same timestamp tick as
that scan's read (or on a file system with coarse timestamps) can leave the
stat unchanged although the bytes changed, so such a file is read again
until a scan starts well after its mtime. This is git's rule for its index.

The stat of a file is taken *before* it is read, so a write that lands
between the two is seen by the next scan.

Not seen: a write that keeps the size and inode and sets the mtime back to
exactly its old nanosecond value, long after the previous scan (only a tool
that restores timestamps on purpose does that).
"""

from __future__ import annotations

import os
import stat
import time

RACY_NS = 2_000_000_000  # more than one tick of the coarsest timestamps in use (FAT: 2 s)

Stat = tuple[int, int, int]  # mtime_ns, size, inode


def stat_of(path: str) -> Stat | None:
    """The stat a file is compared by; None when there is no regular file there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class FileStats:
    """What the previous scan saw of each file, and when it started.

    A scan is :meth:`begin`, then :meth:`changed` for each file, then
    :meth:`finish`; files not asked about during a scan are forgotten.
    """

    def __init__(self) -> None:
        self._seen: dict[str, Stat | None] = {}
        self._previous_start: int | None = None
        self._start: int | None = None
        self._now: dict[str, Stat | None] = {}

    def begin(self) -> None:
        self._start = time.time_ns()
        self._now = {}

    def changed(self, key: str, path: str) -> bool:
        """Whether ``path`` (known as ``key``) must be read again; records its stat now."""
        if key in self._now:
            return False  # already decided in this scan
        stat = stat_of(path)
        self._now[key] = stat
        if key not in self._seen:
            return True
        before = self._seen[key]
        if stat != before:
            return True
        return stat is not None and self._is_racy(stat)

    def _is_racy(self, stat: Stat) -> bool:
        start = self._previous_start
        return start is None or stat[0] >= start - RACY_NS

    def finish(self) -> None:
        self._seen = self._now
        self._now = {}
        self._previous_start = self._start

    def forget(self) -> None:
        """Trust nothing: the next scan reads every file."""
        self._seen = {}
        self._previous_start = None
