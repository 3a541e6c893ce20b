"""The command line's side of the daemon: hand a command over, or start a daemon for next time.

Standard library only, and little of it: this runs before holo imports
anything of its own, on every `holo build`, `holo check` and `holo test`.
(subprocess is imported only to start a daemon.)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from holo.daemon import paths, protocol
from holo.daemon.fingerprint import fingerprint

try:  # the socket module's wrappers cost the client milliseconds it has no use for
    from _socket import AF_UNIX, SOCK_STREAM
    from _socket import socket as new_socket
except ImportError:  # another Python implementation
    from socket import AF_UNIX, SOCK_STREAM
    from socket import socket as new_socket

TYPE_CHECKING = False  # importing typing costs the client milliseconds
if TYPE_CHECKING:
    from socket import socket
    from typing import Any

COMMANDS = ("build", "check", "test")
# Options that keep a command in its own process: logging to the terminal,
# and Erlang distribution, which a warm agent would keep open after the build.
LOCAL_OPTIONS = ("--no-daemon", "-v", "--verbose", "--node")
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
STALE, REFUSED = "stale", "refused"  # a daemon that runs other code, or is another user's
START_WAIT_S = 30.0  # HOLO_DAEMON=wait: how long a new daemon may take to listen


def wanted(argv: Sequence[str], command: str | None) -> bool:
    """Whether this command line goes to a daemon at all."""
    if os.environ.get("HOLO_DAEMON", "1") == "0" or command not in COMMANDS:
        return False
    for arg in argv:
        if arg == "--":
            break
        if arg in LOCAL_OPTIONS or arg.startswith("--node="):
            return False
    return True


def run(argv: Sequence[str], command: str) -> int | None:
    """Serve ``argv`` through the cache directory's daemon: its exit code, or None when
    the caller must run the command itself (a daemon has then been started if one can be)."""
    cache_dir = paths.cache_dir_in(argv)
    try:
        cwd = os.getcwd()
    except OSError:
        return None
    request = _request(argv, cwd)
    outcome = _ask_daemon(cache_dir, request, command)
    if isinstance(outcome, int):
        return outcome
    if outcome == REFUSED:
        return None
    if not start(cache_dir):
        return None
    if os.environ.get("HOLO_DAEMON") != "wait":
        return None
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        outcome = _ask_daemon(cache_dir, request, command)
        if outcome is not None:
            # REFUSED, or STALE from the daemon just started: it will not match
            # this client however often it is restarted.
            return outcome if isinstance(outcome, int) else None
        time.sleep(0.02)
    return None


def _ask_daemon(cache_dir: str, request: dict[str, Any], command: str) -> int | str | None:
    """The daemon's answer to ``request`` (see :func:`_serve`); None when none listens."""
    sock = connect(cache_dir)
    if sock is None:
        return None
    try:
        return _serve(sock, request, command)
    finally:
        sock.close()


def _request(argv: Sequence[str], cwd: str) -> dict[str, Any]:
    columns, lines = _terminal_size()
    return {
        "kind": "run",
        "argv": list(argv),
        "cwd": cwd,
        "env": dict(os.environ),
        "fingerprint": fingerprint(),
        "stdout_tty": _isatty(sys.stdout),
        "stderr_tty": _isatty(sys.stderr),
        "columns": columns,
        "lines": lines,
        "stdout_encoding": getattr(sys.stdout, "encoding", None) or "utf-8",
        "stderr_encoding": getattr(sys.stderr, "encoding", None) or "utf-8",
    }


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _terminal_size() -> tuple[int | None, int | None]:
    for fd in (0, 1, 2):  # the order rich tries them in
        try:
            size = os.get_terminal_size(fd)
        except OSError:
            continue
        return size.columns, size.lines
    return None, None


def connect(cache_dir: str) -> socket | None:
    """A connection to the daemon of ``cache_dir``, or None when none listens."""
    sock = new_socket(AF_UNIX, SOCK_STREAM)
    try:
        paths.at_short_path(paths.socket_path(cache_dir), sock.connect)
    except OSError:
        sock.close()
        return None
    return sock


def _serve(sock: socket, request: dict[str, Any], command: str) -> int | str:
    """Send the request and copy out the answer: the exit code, or STALE or REFUSED."""
    try:
        try:  # noqa: SIM105 - contextlib is an import the client does without
            protocol.send(sock, request)
        except OSError:
            pass  # the daemon may have answered already: why it hung up
        first = protocol.receive(sock)
        if first is None:
            return _died(command)
        if first.get("kind") == "stale":
            protocol.send(sock, {"kind": "stop"})
            return STALE
        if first.get("kind") == "refused":
            return REFUSED
        message: dict[str, Any] | None = first
        while message is not None:
            try:
                if "out" in message:
                    _write(sys.stdout, message["out"])
                elif "err" in message:
                    _write(sys.stderr, message["err"])
            except OSError:  # our own output is gone (`| head`): nobody to tell
                return EXIT_FAILED
            if "exit" in message:
                return int(message["exit"])
            message = protocol.receive(sock)
        return _died(command)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (OSError, protocol.ProtocolError):
        return _died(command)


def _write(stream: Any, text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write(text.encode(encoding, "replace").decode(encoding))
    stream.flush()


def _died(command: str) -> int:
    sys.stdout.flush()
    print(
        f"holo {command}: the holo daemon stopped before it answered "
        f"(details in {paths.log_file()}); the next call starts a new one",
        file=sys.stderr,
    )
    return EXIT_USAGE


def start(cache_dir: str) -> bool:
    """Start a daemon for ``cache_dir`` in the background; False if it cannot be."""
    try:
        os.makedirs(paths.daemon_dir(cache_dir), mode=0o700, exist_ok=True)
        log = open(paths.log_file(), "ab")  # noqa: SIM115 - handed to the daemon
    except OSError:
        return False
    import subprocess

    # The daemon runs from "/", so it must find holo where this process found it
    # (`python -m holo.cli` in a directory holding a holo/ imports that one).
    import holo

    here = os.path.dirname(os.path.dirname(os.path.abspath(holo.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    try:
        with log:
            subprocess.Popen(
                [sys.executable, "-m", "holo.daemon", cache_dir],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                cwd="/", start_new_session=True, close_fds=True,
            )  # fmt: skip
    except OSError:
        return False
    return True


def ask(cache_dir: str, kind: str) -> dict[str, Any] | None:
    """A status or stop request's answer; None when no daemon listens."""
    sock = connect(cache_dir)
    if sock is None:
        return None
    try:
        protocol.send(sock, {"kind": kind})
        return protocol.receive(sock)
    except (OSError, protocol.ProtocolError):
        return None
    finally:
        sock.close()
