"""One running agent VM: the ``erl`` child process and the two pipes holo talks over.

The frames travel on two dedicated pipes, one each way, whose descriptor
numbers the child inherits and receives on its command line (``-run
holo_agent main InFd OutFd``); the agent opens them as a ``{fd, InFd, OutFd}``
port. They are not the child's stdin/stdout, because code running in the VM
can write to descriptor 1 without going through the agent: ``io:format`` to
the standard group leader, and ``erlang:display/1``, which the runtime writes
straight to fd 1. On a stdout channel either would land in the middle of the
frame stream and desynchronise it. So stdin is /dev/null, stdout and stderr go
to the agent's log file, and nothing user code prints can reach a frame.
Each frame is a 4-byte big-endian length followed by an external-format term,
which is what the agent's ``{packet, 4}`` port reads and writes.

No agent outlives holo: the agent halts when its input pipe reaches eof (which
the kernel delivers however holo ends), and on Linux the child is also started
with ``PR_SET_PDEATHSIG`` = SIGKILL. That signal follows the *thread* that
started the child, so a :class:`~holo.beam.node.BeamNode` starts its agents
from its own long-lived supervisor thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from holo.beam.errors import BeamStartError

_PR_SET_PDEATHSIG = 1

# Schedulers that run out of work sleep at once instead of spinning for a
# while: holo runs beside its VM (analysing while the agent compiles), and on
# a machine with few cores a spinning scheduler takes the time holo needs.
_NO_BUSY_WAIT = ("+sbwt", "none", "+sbwtdcpu", "none", "+sbwtdio", "none")
_TMP_PREFIX = "holo-agent-"

# Variables that would change what the agent's VM does: extra flags (one could
# start distribution), extra code paths, compiler options behind holo's back.
_SCRUBBED_ENV = ("ERL_FLAGS", "ERL_AFLAGS", "ERL_ZFLAGS", "ERL_LIBS", "ERL_COMPILER_OPTIONS")


def _death_signal_setter() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def set_death_signal() -> None:  # runs in the child between fork and exec
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # holo died before the signal was armed
            os._exit(1)

    return set_death_signal


def sweep_stale_tmp_dirs() -> None:
    """Remove the temporary directories of agents whose holo process is gone.

    A holo that dies without closing its node (SIGKILL) cannot clean up after
    its VM, so the next holo does.
    """
    base = Path(tempfile.gettempdir())
    for path in base.glob(f"{_TMP_PREFIX}*-*"):
        owner = path.name[len(_TMP_PREFIX) :].split("-", 1)[0]
        if not owner.isdigit() or _process_exists(int(owner)):
            continue
        with contextlib.suppress(OSError):
            if path.lstat().st_uid == os.getuid():
                shutil.rmtree(path, ignore_errors=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def agent_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in _SCRUBBED_ENV:
        env.pop(name, None)
    # A halt with a reason would otherwise spend seconds writing erl_crash.dump
    # into the working directory before holo can restart the node.
    env["ERL_CRASH_DUMP_SECONDS"] = "0"
    return env


class AgentProcess:
    """An agent VM started with ``erl ... -run holo_agent main``."""

    def __init__(
        self,
        *,
        erl: str,
        ebin: Path,
        log: BinaryIO,
        cwd: Path | str | None,
    ) -> None:
        self.tmp_dir = tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        argv = [
            erl, "-noshell", "-noinput", "+fnu", *_NO_BUSY_WAIT, "-nocookie", "-pa", str(ebin),
            "-run", "holo_agent", "main", str(to_child_r), str(from_child_w), self.tmp_dir,
        ]  # fmt: skip
        log.write(f"--- holo: starting the agent: {' '.join(argv)}\n".encode())
        log.flush()
        try:
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(to_child_r, from_child_w),
                cwd=cwd,
                env=agent_env(),
                preexec_fn=_death_signal_setter(),
            )
        except OSError as e:
            for fd in (to_child_w, from_child_r):
                os.close(fd)
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            raise BeamStartError(f"cannot start {erl!r}: {e.strerror or e}") from e
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._reader = os.fdopen(from_child_r, "rb")
        # Frames go through a queue and a writer thread, so sending never
        # blocks the caller (an asyncio loop), even when the VM is hung.
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=self._write_frames,
            args=(os.fdopen(to_child_w, "wb"),),
            name=f"holo-beam-writer-{self.popen.pid}",
            daemon=True,
        )
        self._writer.start()
        self._stop_lock = threading.Lock()
        self._stopped = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def send(self, frame: bytes) -> None:
        """Queue one frame. Frames to a VM that died are lost; the reader notices the death."""
        self._outbox.put(frame)

    def _write_frames(self, pipe: BinaryIO) -> None:
        with contextlib.suppress(OSError, ValueError), pipe:  # closing it is the agent's eof
            while (frame := self._outbox.get()) is not None:
                pipe.write(struct.pack(">I", len(frame)) + frame)
                if self._outbox.empty():
                    pipe.flush()

    def read_frame(self) -> bytes | None:
        """The next frame, or None at eof: the VM has exited."""
        try:
            header = self._reader.read(4)
            if len(header) < 4:
                return None
            (size,) = struct.unpack(">I", header)
            body = self._reader.read(size)
        except (OSError, ValueError):
            return None
        return body if len(body) == size else None

    def stop(self, grace: float = 5.0) -> int:
        """End the VM (eof first, then SIGKILL after ``grace`` seconds); its exit status."""
        with self._stop_lock:
            if not self._stopped:
                self._stopped = True
                self._outbox.put(None)
                try:
                    self.popen.wait(grace)
                except subprocess.TimeoutExpired:
                    self.popen.kill()
                    self.popen.wait()
                self._writer.join()  # the pipe is broken now, if it was not closed
                shutil.rmtree(self.tmp_dir, ignore_errors=True)
            return self.popen.returncode

    def close_reader(self) -> None:
        with contextlib.suppress(OSError):
            self._reader.close()
