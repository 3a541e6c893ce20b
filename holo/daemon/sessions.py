"""The daemon's warm Sessions: a few of them, each brought in line with the disk before use.

A Session is kept per (project root, cache directory, environment that its
long-lived parts depend on): ``PATH`` (which ``erl``), ``HOME`` (the BEAM
reads ``~/.erlang``), ``ERL_*``, locale, ``TMPDIR`` and ``HOLO_*`` settings.
A request from a shell that differs in those gets a Session of its own,
whose BEAM nodes start in that environment.

Before a request uses it, a kept Session is checked and refreshed:

* the OTP that ``PATH`` leads to now must be the one it opened with (an
  upgraded OTP opens a new Session, like a fresh process would); OTP is
  located again only when the ``erl`` found, or OTP's ``lib/`` or
  ``releases/`` directory, changed since;
* ``Workspace.refresh`` sets every input that changed on disk since the last
  request (new, deleted, modified files, configuration), and the query graph
  re-verifies what depends on them.

A Session that has built (its runtime node runs) also starts its agent in
the background after the request, so the first edit does not wait for a
compiler to start; a Session only checked starts no node.

After the request its new results are persisted, so the cache directory is
left as a command in its own process would leave it. A request that fails
with anything but a UserError (a holo bug, a BEAM that will not start) closes
its Session: the next one starts from a clean one. At most
:data:`CAPACITY` Sessions are kept; the least recently used is closed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from holo.engine import default_cache_dir
from holo.errors import UserError
from holo.project.otp import locate_otp
from holo.session import Session

log = logging.getLogger(__name__)

CAPACITY = 4
_ENVIRONMENT = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE")
_ENVIRONMENT_PREFIXES = ("ERL_", "HOLO_")
_NOT_SESSION_ENVIRONMENT = ("HOLO_DAEMON", "HOLO_DAEMON_IDLE", "HOLO_CACHE_DIR")

Key = tuple[str, str, str]
OtpMarker = tuple[tuple[str | None, tuple[int, int, int] | None], ...]


def otp_marker(otp_root: str) -> OtpMarker:
    """What changes when the ``erl`` on PATH, or the OTP it belongs to, is replaced."""
    found: list[tuple[str | None, tuple[int, int, int] | None]] = []
    for path in (shutil.which("erl"), f"{otp_root}/lib", f"{otp_root}/releases"):
        try:
            st = os.stat(path) if path is not None else None
        except OSError:
            st = None
        found.append((path, None if st is None else (st.st_ino, st.st_mtime_ns, st.st_size)))
    return tuple(found)


def environment_digest() -> str:
    """What of the environment a Session's BEAM nodes and OTP location depend on."""
    names = sorted(
        name for name in os.environ
        if (name in _ENVIRONMENT or name.startswith(_ENVIRONMENT_PREFIXES))
        and name not in _NOT_SESSION_ENVIRONMENT
    )  # fmt: skip
    h = hashlib.blake2b(digest_size=12)
    for name in names:
        h.update(f"{name}={os.environ[name]}\0".encode(errors="surrogateescape"))
    return h.hexdigest()


class WarmSessions:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._sessions: OrderedDict[Key, Session] = OrderedDict()
        self._otp: dict[Key, OtpMarker] = {}  # what OTP looked like when last located
        self._lock = threading.Lock()

    def roots(self) -> list[tuple[str, str]]:
        """(project root, cache directory) of each kept Session, most recently used last."""
        with self._lock:
            return [(root, cache) for root, cache, _ in self._sessions]

    @contextmanager
    def open(self, root: Path | str, cache_dir: Path | str | None) -> Iterator[Session]:
        """holo.session.open_session inside the daemon."""
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        key = (os.path.realpath(root), os.path.realpath(cache), environment_digest())
        session = self._take(key)
        try:
            if session is None:
                # Absolute: the Session outlives the request's working directory.
                session = Session(root, key[1])
                session.workspace.refresh()  # records what it read: the next refresh stats
            else:
                session.workspace.refresh()
            yield session
        except UserError:
            if session is not None:
                self._keep(key, session)
            raise
        except BaseException:
            if session is not None:
                self._close(session)
            raise
        else:
            self._keep(key, session)
            if session.has_node("runtime") and not session.has_node("agent"):
                # It builds: have the compiler ready for the first edit.
                session.start_nodes()
        finally:
            if session is not None and key in self._sessions:
                session.db.persist()

    def _take(self, key: Key) -> Session | None:
        with self._lock:
            session = self._sessions.pop(key, None)
        if session is None:
            return None
        marker = otp_marker(session.otp.root)
        if self._otp.get(key) == marker:
            return session
        try:
            same_otp = session.otp == locate_otp()
        except UserError:
            self._close(session)
            raise
        self._otp[key] = marker
        if not same_otp:
            log.info("OTP changed under %s: opening it again", key[0])
            self._close(session)
            return None
        return session

    def _keep(self, key: Key, session: Session) -> None:
        with self._lock:
            self._sessions[key] = session
            evicted = []
            while len(self._sessions) > self.capacity:
                old_key, old_session = self._sessions.popitem(last=False)
                self._otp.pop(old_key, None)
                evicted.append(old_session)
        for old in evicted:
            self._close(old)

    def _close(self, session: Session) -> None:
        try:
            session.close()
        except Exception:
            log.warning("closing the session of %s failed", session.root, exc_info=True)

    def close(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            self._close(session)
