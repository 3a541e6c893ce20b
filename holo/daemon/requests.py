"""One command run inside the daemon, as it would run in the client's own process.

For the length of the request the process takes on the client's working
directory and environment (so relative paths, ``HOME``'s cookie, ``PATH``'s
``erl`` and ``HOLO_*`` settings mean what they mean to the client), and
sys.stdout and sys.stderr become :class:`ClientStream` objects that send what
is written to the client in frames and answer ``isatty()`` for the client's
own streams. When the client's terminal has a size and ``COLUMNS``/``LINES``
are unset, they are set from it, so rich and argparse lay out their output
for that terminal. Requests run one at a time (the server holds a lock), so
these process-wide settings never mix.

The command itself goes through :func:`holo.cli.run_command`, like a command
in its own process, and its exit code (argparse's ``SystemExit`` included)
is the answer.
"""

from __future__ import annotations

import io
import os
import socket
import sys
import threading
from typing import Any

from holo.daemon import protocol

EXIT_USAGE = 2


class Channel:
    """The connection to one client; sends frames in order, and stops at the first failure.

    A client that went away (Ctrl-C) is no error: the command runs to its
    end, and what it writes is dropped.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.write_lock = threading.RLock()  # one for both streams: they flush each other
        self.gone = False
        self.streams: list[ClientStream] = []

    def send(self, message: dict[str, Any]) -> None:
        with self.lock:
            if self.gone:
                return
            try:
                protocol.send(self.sock, message)
            except OSError:
                self.gone = True

    def flush_others(self, stream: ClientStream) -> None:
        """Send what the other streams hold, so output keeps the order it was written in."""
        for other in self.streams:
            if other is not stream:
                other.flush()


class ClientStream(io.TextIOBase):
    """sys.stdout or sys.stderr of a request: text for the client, in frames."""

    def __init__(self, channel: Channel, key: str, tty: bool, encoding: str) -> None:
        super().__init__()
        self._channel = channel
        self._key = key
        self._tty = tty
        self._encoding = encoding
        self._buffer: list[str] = []
        self._size = 0
        self._lock = channel.write_lock
        channel.streams.append(self)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "strict"

    def isatty(self) -> bool:
        return self._tty

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            if not self._buffer:
                self._channel.flush_others(self)
            self._buffer.append(text)
            self._size += len(text)
            if self._tty and "\n" in text or self._size >= 1 << 16:
                self.flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if not self._buffer:
                return
            text = "".join(self._buffer)
            self._buffer.clear()
            self._size = 0
            self._channel.send({self._key: text})


def run(request: dict[str, Any], channel: Channel) -> int:
    """Run a request's command line as the client would have; its exit code."""
    saved_env = dict(os.environ)
    saved_out, saved_err = sys.stdout, sys.stderr
    try:
        saved_cwd: str | None = os.getcwd()
    except OSError:
        saved_cwd = None
    out = ClientStream(channel, "out", bool(request.get("stdout_tty")),
                       str(request.get("stdout_encoding") or "utf-8"))
    err = ClientStream(channel, "err", bool(request.get("stderr_tty")),
                       str(request.get("stderr_encoding") or "utf-8"))
    try:
        _take_environment(request)
        try:
            os.chdir(str(request["cwd"]))
        except OSError as e:
            err.write(f"holo: cannot work in {request['cwd']}: {e.strerror or e}\n")
            return EXIT_USAGE
        sys.stdout, sys.stderr = out, err
        return _run_command([str(a) for a in request["argv"]])
    finally:
        sys.stdout, sys.stderr = saved_out, saved_err
        out.flush()
        err.flush()
        _set_environment(saved_env)
        if saved_cwd is not None:
            try:
                os.chdir(saved_cwd)
            except OSError:
                os.chdir("/")


def _take_environment(request: dict[str, Any]) -> None:
    env = {str(k): str(v) for k, v in dict(request.get("env") or {}).items()}
    tty = request.get("stdout_tty") or request.get("stderr_tty")
    if tty and request.get("columns") and "COLUMNS" not in env:
        env["COLUMNS"] = str(request["columns"])
        if request.get("lines") and "LINES" not in env:
            env["LINES"] = str(request["lines"])
    _set_environment(env)


def _set_environment(env: dict[str, str]) -> None:
    """Make os.environ equal ``env``, touching only what differs (each change is a putenv)."""
    for name in [n for n in os.environ if n not in env]:
        del os.environ[name]
    for name, value in env.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def _run_command(argv: list[str]) -> int:
    from holo.cli import run_command

    try:
        return run_command(argv)
    except SystemExit as e:  # argparse: --help, or a usage error it has printed
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        print(e.code, file=sys.stderr)
        return 1
