"""A digest of the contents of holo's own source files.

It salts every persistent cache key: results computed by one holo never serve
another, even one with the same version number (an edited checkout, a local
patch). Contents, not paths or mtimes, so two installs of the same holo (a
CI machine and a laptop) share their caches.
"""

from __future__ import annotations

import functools
import os

try:  # hashlib's blake2b without loading OpenSSL
    from _blake2 import blake2b
except ImportError:  # another Python implementation
    from hashlib import blake2b

from holo.daemon.fingerprint import source_dirs, source_files

# What holo runs: Python, the Erlang it compiles into the agent, and the data
# files that drive it. Byte-code caches and editors' droppings are not.
SOURCE_SUFFIXES = (".py", ".erl", ".hrl", ".scm", ".json")


def code_digest(dirs: list[str] | None = None) -> str:
    """blake2b-128 of the relative path and bytes of every source file under ``dirs``
    (holo's own by default: the code this process imported, read once)."""
    return _own_code_digest() if dirs is None else _digest(dirs)


@functools.cache
def _own_code_digest() -> str:
    return _digest(source_dirs())


def _digest(dirs: list[str]) -> str:
    h = blake2b(digest_size=16)
    for top, path in source_files(dirs):
        if not path.endswith(SOURCE_SUFFIXES):
            continue
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        relative = os.path.relpath(path, top).replace(os.sep, "/")
        h.update(f"{os.path.basename(top)}/{relative}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()
