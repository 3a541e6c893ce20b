"""The data files of an app: what its tests read besides code (fixtures, priv/ files).

A test can read ``test/fixtures/order.json`` or ``priv/prices.csv``, so an
edit there can change its outcome although no code changed. The Workspace
digests these files per app into the ``app_data`` input (see
:class:`holo.inputs.AppData`); test selection and the watcher read it.

A data file is any file under an app's test dirs (recursively) or its
``priv`` dir that is not one of the project's sources, except hidden names
(``.x``, and anything under a hidden directory) and editors' leftovers
(``x~``, ``#x#``, ``x.swp``, ``x.bak``, ``x.tmp``, ``x.orig``, ...).

A file over :data:`LARGE_FILE` bytes is digested by its size alone, so holo
never reads a big fixture in full: an edit that keeps such a file's size is
not seen.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from holo.inputs import AppData, AppModel

LARGE_FILE = 4 * 2**20
_DIGEST_SIZE = 16


def data_dirs(app: AppModel) -> tuple[str, ...]:
    """The project-relative directories whose files are the app's data."""
    if app.is_dependency:
        return ()
    priv = posixpath.join(app.dir, "priv") if app.dir else "priv"
    return (*app.test_dirs, priv)


# Hidden names, and editors' swap, backup, lock and temporary files (the same
# the watcher drops): their churn is no change to what a test reads.
_IGNORED_NAME = re.compile(
    r"^\.|^\#.*\#$|~$|\.sw[a-p]$|^4913$|___jb_\w+___$|\.kate-swp$|\.(tmp|bak|orig)$"
)


def _ignored_name(name: str) -> bool:
    return _IGNORED_NAME.search(name) is not None


def is_data_path(app: AppModel, rel: str, is_source: Callable[[str], bool]) -> bool:
    """Whether ``rel`` (project-relative) would be one of ``app``'s data files."""
    for directory in data_dirs(app):
        if rel.startswith(directory + "/"):
            inner = rel[len(directory) + 1 :].split("/")
            return not any(_ignored_name(part) for part in inner) and not is_source(rel)
    return False


def file_digest(path: Path) -> tuple[bytes, bool] | None:
    """(digest, by size only) of one data file; None when it cannot be read (or is gone)."""
    try:
        size = path.stat().st_size
        if size > LARGE_FILE:
            return hashlib.blake2b(b"size:%d" % size, digest_size=_DIGEST_SIZE).digest(), True
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=_DIGEST_SIZE))
        return digest.digest(), False
    except OSError:
        return None


def scan_data(
    root: Path, app: AppModel, is_source: Callable[[str], bool], under: str | None = None
) -> Iterable[str]:
    """The app's data files (project-relative), optionally only those under ``under``."""
    for directory in data_dirs(app):
        start = directory
        if under is not None:
            if under == directory or under.startswith(directory + "/"):
                start = under
            elif directory.startswith(under + "/") or under == "":
                start = directory
            else:
                continue
        top = root / start
        if not top.is_dir():
            if top.is_file() and is_data_path(app, start, is_source):
                yield start
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not _ignored_name(d))
            base = Path(dirpath).relative_to(root).as_posix()
            for name in sorted(filenames):
                rel = f"{base}/{name}"
                if is_data_path(app, rel, is_source):
                    yield rel


def app_data(files: dict[str, tuple[bytes, bool]]) -> AppData:
    """The record of an app's data files: (path -> (digest, by size only))."""
    h = hashlib.blake2b(b"holo.app-data/1", digest_size=_DIGEST_SIZE)
    for rel in sorted(files):
        encoded = rel.encode("utf-8", "surrogateescape")
        h.update(b"%d:" % len(encoded) + encoded + files[rel][0])
    return AppData(
        digest=h.digest(),
        files=tuple((rel, files[rel][0]) for rel in sorted(files)),
        by_size=tuple(rel for rel in sorted(files) if files[rel][1]),
    )
