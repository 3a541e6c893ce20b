"""The persistent cache: bytes under content keys, in a directory holo does not trust.

Anyone who can write the cache directory (a restored CI cache, another user on
a shared machine) controls what it holds, so:

* the directory is created mode 0700;
* only bytes go in and come out: :class:`BytesOnlyDisk` refuses diskcache's
  pickle mode in both directions, so nothing is ever unpickled;
* every entry carries a header (magic, format version, blake2b of the payload):
  a truncated, corrupt or foreign entry is a miss, never an exception;
* a cache whose database cannot be opened is moved aside and started afresh.

diskcache keeps its index in SQLite with write-ahead logging, so several holo
processes can share one directory without corrupting it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import diskcache

log = logging.getLogger(__name__)

MAGIC = b"holo"
FORMAT_VERSION = 1
_HEADER_SIZE = len(MAGIC) + 2 + 16
SIZE_LIMIT = 4 * 2**30


class Store(Protocol):
    """What the engine needs of a persistent cache."""

    def get(self, key: bytes) -> bytes | None: ...

    def set_many(self, items: Iterable[tuple[bytes, bytes]]) -> None: ...

    def close(self) -> None: ...


def seal(payload: bytes) -> bytes:
    """Wrap a payload in holo's entry header."""
    check = hashlib.blake2b(payload, digest_size=16).digest()
    return MAGIC + FORMAT_VERSION.to_bytes(2, "big") + check + payload


def unseal(entry: Any) -> bytes | None:
    """The payload of a well-formed entry, or None for anything else."""
    if type(entry) is not bytes or len(entry) < _HEADER_SIZE:
        return None
    if entry[:4] != MAGIC or int.from_bytes(entry[4:6], "big") != FORMAT_VERSION:
        return None
    payload = entry[_HEADER_SIZE:]
    if hashlib.blake2b(payload, digest_size=16).digest() != entry[6:_HEADER_SIZE]:
        return None
    return payload


class UnsafeEntry(Exception):
    """An entry that is not plain bytes: never decoded, always a miss."""


class BytesOnlyDisk(diskcache.Disk):
    """A diskcache ``Disk`` that stores and returns bytes and nothing else."""

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not bytes:
            raise TypeError("holo's cache keys are bytes")
        return sqlite3.Binary(key), True

    def get(self, key: Any, raw: bool) -> bytes:
        if not raw:
            raise UnsafeEntry("pickled key")
        return bytes(key)

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
        if type(value) is not bytes or read:
            raise TypeError("holo's cache values are bytes")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> bytes:
        if read or mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_BINARY):
            raise UnsafeEntry(f"entry mode {mode}")
        if filename is not None and (os.path.isabs(filename) or ".." in Path(filename).parts):
            raise UnsafeEntry("entry file outside the cache")
        return super().fetch(mode, filename, value, read)


def default_cache_dir() -> Path:
    env = os.environ.get("HOLO_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "holo"


class DiskStore:
    """A :class:`Store` in a directory, shared safely between processes."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(self.directory, 0o700)
        self._cache = self._open()

    def _open(self) -> diskcache.Cache:
        data_dir = self.directory / "data"
        try:
            return diskcache.Cache(str(data_dir), disk=BytesOnlyDisk, size_limit=SIZE_LIMIT)
        except (sqlite3.DatabaseError, OSError) as e:
            aside = self.directory / f"data.broken-{int(time.time())}-{os.getpid()}"
            log.warning("cache at %s is unreadable (%s); moved aside to %s", data_dir, e, aside)
            with contextlib.suppress(OSError):
                data_dir.rename(aside)
            return diskcache.Cache(str(data_dir), disk=BytesOnlyDisk, size_limit=SIZE_LIMIT)

    def get(self, key: bytes) -> bytes | None:
        try:
            entry = self._cache.get(key, default=None, retry=True)
        except (UnsafeEntry, sqlite3.DatabaseError, OSError, TypeError, ValueError) as e:
            log.debug("cache entry %s unreadable: %s", key.hex(), e)
            return None
        return unseal(entry)

    def set_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        try:
            with self._cache.transact(retry=True):
                for key, payload in items:
                    self._cache.set(key, seal(payload), retry=True)
        except (sqlite3.DatabaseError, OSError) as e:
            # A cache that cannot be written costs speed next time, not correctness now.
            log.warning("could not write the cache at %s: %s", self.directory, e)

    def close(self) -> None:
        self._cache.close()


class MemoryStore:
    """A :class:`Store` in a dict, sealed like the disk one, for tests and one-shot runs."""

    def __init__(self) -> None:
        self.entries: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return unseal(self.entries.get(key))

    def set_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        for key, payload in items:
            self.entries[key] = seal(payload)

    def close(self) -> None:
        pass
