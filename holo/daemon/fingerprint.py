"""Which holo a process runs: its version, its Python, and the state of its source files.

The client and the daemon each compute it; a daemon whose fingerprint is not
the client's runs other code (an upgrade, an edited editable install, another
virtualenv) and is replaced. Standard library only: the client imports this.
"""

from __future__ import annotations

import os
import sys

try:  # hashlib's blake2b without loading OpenSSL: milliseconds every client start saves
    from _blake2 import blake2b
except ImportError:  # another Python implementation
    from hashlib import blake2b

import holo

TYPE_CHECKING = False  # importing typing costs the client milliseconds
if TYPE_CHECKING:
    from collections.abc import Iterator

# holo's packages; queries/, lsp/ and watch/ may live outside holo/ (package-dir).
PACKAGES = ("holo", "holo.queries", "holo.lsp", "holo.watch")


def _find_spec(name: str):  # noqa: ANN202 - a ModuleSpec; typing is not imported
    """importlib.util.find_spec without importing importlib.util (5 ms of every client)."""
    found = sys.modules.get(name)
    if found is not None:
        return found.__spec__
    try:
        from _frozen_importlib import _find_spec  # what importlib.util.find_spec calls
    except ImportError:  # another Python implementation
        from importlib.util import find_spec

        return find_spec(name)
    return _find_spec(name, holo.__path__)


def source_dirs() -> list[str]:
    dirs: list[str] = []
    for name in PACKAGES:
        spec = holo.__spec__ if name == "holo" else _find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            path = os.path.realpath(location)
            if path not in dirs:
                dirs.append(path)
    return dirs


def fingerprint() -> str:
    """A digest of holo's version, its Python, and (path, size, mtime_ns) of its files."""
    h = blake2b(digest_size=16)
    # The environment (a virtualenv's prefix), not the name it was started by:
    # `holo` and `python -m holo.cli` run the same holo.
    h.update(f"{holo.__version__}\0{sys.prefix}\0{sys.version}\0".encode())
    for _top, path in source_files(source_dirs()):
        if path.endswith((".pyc", ".pyo")):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode(errors="replace"))
    return h.hexdigest()


def source_files(dirs: list[str]) -> Iterator[tuple[str, str]]:
    """(top, path) of every file under each of ``dirs``, in a stable order,
    byte-code caches' directories left out."""
    for top in dirs:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                yield top, os.path.join(dirpath, name)
