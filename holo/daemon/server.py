"""The daemon process: one per cache directory, serving commands over a Unix socket.

Start-up: create ``<cache dir>/daemon`` (0700), take ``daemon/lock`` (an
exclusive ``flock``, held until the process ends, so a crash frees it), put
the socket in place of any stale one (mode 0600), listen, then import holo's
commands in the background (no Session is opened before a request asks for
one). When the lock is held by another daemon, this one waits for it to go
(a daemon replaced for a stale fingerprint is on its way out) unless that
one runs the same holo, in which case there is nothing to do.

Each connection has a thread: the peer's uid (``SO_PEERCRED``) must be ours;
``status`` and ``stop`` are answered at once, ``run`` requests one at a time
under :attr:`Daemon.request_lock` (see holo.daemon.requests). The daemon
stops after ``HOLO_DAEMON_IDLE`` seconds (default 600) with no request, on
``stop`` or SIGTERM, or when its socket file is removed or replaced: it
stops listening, lets a running request finish, closes its Sessions (and so
their BEAM nodes) and exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import struct
import sys
import threading
import time
from typing import Any

from holo.daemon import client, paths, protocol, requests
from holo.daemon.fingerprint import fingerprint

log = logging.getLogger("holo.daemon")

DEFAULT_IDLE_S = 600.0
POLL_S = 0.5  # how often the idle time and the socket file are looked at
LOCK_WAIT_S = 30.0
_PEERCRED = struct.Struct("3i")  # pid, uid, gid
_WARM_MODULES = (
    "holo.cli", "holo.daemon.sessions", "holo.cli_commands.build", "holo.cli_commands.check",
    "holo.cli_commands.test",
)  # fmt: skip


def idle_limit() -> float:
    text = os.environ.get("HOLO_DAEMON_IDLE")
    if not text:
        return DEFAULT_IDLE_S
    try:
        value = float(text)
    except ValueError:
        log.warning("HOLO_DAEMON_IDLE=%r is not a number of seconds; using %g", text,
                    DEFAULT_IDLE_S)
        return DEFAULT_IDLE_S
    return max(value, 0.0)


class Daemon:
    def __init__(self, cache_dir: str, idle_s: float) -> None:
        self.cache_dir = cache_dir
        self.idle_s = idle_s
        self.fingerprint = fingerprint()
        self.request_lock = threading.Lock()
        self.stopping = threading.Event()
        self.started = time.time()
        self.requests = 0
        self.busy_since: float | None = None
        self._last_active = time.monotonic()
        self._socket_inode: int | None = None
        self._sessions: Any = None  # holo.daemon.sessions.WarmSessions, made on first use

    # ------------------------------------------------------------ life

    def run(self) -> int:
        os.makedirs(paths.daemon_dir(self.cache_dir), mode=0o700, exist_ok=True)
        for directory in (self.cache_dir, paths.daemon_dir(self.cache_dir)):
            os.chmod(directory, 0o700)
        lock = os.open(paths.lock_path(self.cache_dir), os.O_RDWR | os.O_CREAT, 0o600)
        if not self._take_lock(lock):
            return 0
        listener = self._listen()
        log.info("serving %s (pid %d)", self.cache_dir, os.getpid())
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        threading.Thread(target=self._warm_up, name="holo-daemon-warm-up", daemon=True).start()
        try:
            self._accept(listener)
        finally:
            listener.close()
            self._remove_socket()
            with self.request_lock:  # a running request ends first
                if self._sessions is not None:
                    self._sessions.close()
            log.info("stopped (%d requests served)", self.requests)
            os.close(lock)
        return 0

    def _take_lock(self, lock: int) -> bool:
        """The daemon lock of the cache directory; False when a daemon like this one has it."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            answer = client.ask(self.cache_dir, "status")
            if answer is not None and answer.get("fingerprint") == self.fingerprint:
                log.info("a daemon (pid %s) already serves %s", answer.get("pid"), self.cache_dir)
                return False
            if answer is not None:
                client.ask(self.cache_dir, "stop")
            if time.monotonic() > deadline:
                log.error("the daemon lock of %s stayed taken for %gs", self.cache_dir,
                          LOCK_WAIT_S)
                return False
            time.sleep(0.05)

    def _listen(self) -> socket.socket:
        path = paths.socket_path(self.cache_dir)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # ours to replace: we hold the lock
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            paths.at_short_path(path, listener.bind)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        listener.listen(16)
        listener.settimeout(POLL_S)
        self._socket_inode = os.stat(path).st_ino
        return listener

    def _warm_up(self) -> None:
        import importlib

        for name in _WARM_MODULES:
            try:
                importlib.import_module(name)
            except Exception:
                log.warning("importing %s ahead of need failed", name, exc_info=True)

    def _accept(self, listener: socket.socket) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                if self._should_stop():
                    self.stopping.set()
                continue
            threading.Thread(
                target=self._handle, args=(conn,), name="holo-daemon-client", daemon=True
            ).start()

    def _should_stop(self) -> bool:
        if not self._owns_socket():
            log.info("the socket file was removed or replaced: stopping")
            return True
        idle = time.monotonic() - self._last_active
        if self.busy_since is None and idle > self.idle_s:
            log.info("idle for %.0fs: stopping", idle)
            return True
        return False

    def _owns_socket(self) -> bool:
        try:
            return os.stat(paths.socket_path(self.cache_dir)).st_ino == self._socket_inode
        except OSError:
            return False

    def _remove_socket(self) -> None:
        if self._owns_socket():
            with contextlib.suppress(OSError):
                os.unlink(paths.socket_path(self.cache_dir))

    def stop(self) -> None:
        """Stop taking connections now; the daemon exits once a running request is done."""
        self._remove_socket()
        self.stopping.set()

    # ------------------------------------------------------ connections

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                if not self._same_user(conn):
                    self._refuse(conn)
                    return
                message = protocol.receive(conn)
                if message is not None:
                    self._answer(conn, message)
            except (OSError, protocol.ProtocolError) as e:
                log.info("a connection failed: %s", e)

    def _refuse(self, conn: socket.socket) -> None:
        """Say no, after taking the request: closing on an unread request could reset the
        connection before the peer reads why."""
        conn.settimeout(2.0)
        with contextlib.suppress(OSError, protocol.ProtocolError):
            protocol.receive(conn)
        protocol.send(conn, {"kind": "refused"})
        conn.shutdown(socket.SHUT_WR)

    def _same_user(self, conn: socket.socket) -> bool:
        raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        pid, uid, _ = _PEERCRED.unpack(raw)
        if uid != os.getuid():
            log.warning("refused a connection from pid %d of uid %d", pid, uid)
            return False
        return True

    def _answer(self, conn: socket.socket, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == "status":
            protocol.send(conn, self.status())
        elif kind == "stop":
            self.stop()  # first: the client may not wait for the answer
            protocol.send(conn, {"kind": "stopping", "pid": os.getpid()})
        elif kind == "run":
            self._run(conn, message)
        else:
            raise protocol.ProtocolError(f"unknown request kind {kind!r}")

    def _run(self, conn: socket.socket, message: dict[str, Any]) -> None:
        if message.get("fingerprint") != self.fingerprint:
            log.info("a client runs another holo (an upgrade, an edited source file)")
            protocol.send(conn, {"kind": "stale"})
            follow_up = protocol.receive(conn)
            if follow_up is not None:
                self._answer(conn, follow_up)
            return
        with self.request_lock:
            if self.stopping.is_set():  # not served here: the client goes on without us
                protocol.send(conn, {"kind": "stale"})
                return
            self.busy_since = time.monotonic()
            channel = requests.Channel(conn)
            try:
                self._serve_sessions()
                code = requests.run(message, channel)
                channel.send({"exit": code})
            finally:
                self.requests += 1
                self.busy_since = None
                self._last_active = time.monotonic()

    def _serve_sessions(self) -> None:
        if self._sessions is None:
            from holo.daemon.sessions import WarmSessions
            from holo.session import serve_sessions_from

            self._sessions = WarmSessions()
            serve_sessions_from(self._sessions.open)

    def status(self) -> dict[str, Any]:
        busy = self.busy_since
        return {
            "kind": "status",
            "pid": os.getpid(),
            "fingerprint": self.fingerprint,
            "cache_dir": self.cache_dir,
            "started": self.started,
            "requests": self.requests,
            "busy_s": None if busy is None else time.monotonic() - busy,
            "idle_s": None if busy is not None else time.monotonic() - self._last_active,
            "idle_limit_s": self.idle_s,
            "sessions": [] if self._sessions is None else self._sessions.roots(),
        }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m holo.daemon CACHE_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(
        filename=paths.log_file(), level=logging.INFO,
        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
    )  # fmt: skip
    try:
        return Daemon(os.path.abspath(argv[0]), idle_limit()).run()
    except Exception:
        log.exception("the daemon failed")
        return 1
