"""The BEAM node holo owns: its agent VM, kept alive, and the requests it serves.

:class:`BeamNode` starts ``erl`` running holo's agent (``holo/beam/agent``)
and sends it requests as 4-byte length-prefixed external-format frames (see
:mod:`holo.beam.process` and, for the Python <-> term mapping, :mod:`holo.beam.terms`).
The frames travel on two pipes dedicated to them, never on the VM's stdin or
stdout: user code the node runs (a parse transform, a module under test) may
write to fd 1 directly (``erlang:display/1`` does, bypassing Erlang's I/O
system), and on a shared stdout those bytes would corrupt the frame stream.
The VM's stdout and stderr go to the node's log file instead.

Protocol (``Kind`` an atom, ``Args`` usually a map)::

    holo  -> agent   {call, Id, Kind, Args}        {cancel, Id}
                     {call, Id, Kind, Args, Limit} run it while fewer than Limit
                                                   calls of Kind run; wait until then
    agent -> holo    {hello, Info}                 once, when the agent is up
                     {started, Id}                 a call with a Limit began to run
                     {reply, Id, Value}
                     {failed, Id, Why, Message}    Why: unknown_request | crash

Requests the agent serves (each in its own Erlang process, so any number run
in parallel; modules in the agent's ebin add kinds through ``holo_handlers/0``):

=================  ==========================================================
ping               ``#{}`` -> ``{pong, Info}``
compile            see holo_agent_compile.erl and :class:`CompileJob`
load / unload      see holo_agent_code.erl and :class:`LoadResult`
remote_load        the same rules on the user's running nodes
register_handlers  ``#{module => M}`` -> ``{ok, Kinds}`` | ``{error, Message}``
=================  ==========================================================

Supervision: when the VM dies (killed, crashed, user code called ``halt()``)
the reader sees eof at once, a new VM starts, every module loaded through
:meth:`BeamNode.load` and every handler module registered is put back, and the
requests that were in flight are sent again, once: a request during which the
VM dies twice fails with :class:`BeamNodeDied`. If a new VM dies while those
modules are put back (an ``-on_load`` that halts), holo drops them, says so in
the error of the requests waiting, and starts clean. The VM never starts
Erlang distribution except to serve ``remote_load``.

Architecture invariant: the compile request is the one outside call a query
makes, and it is a pure function of the :class:`CompileJob` it is handed.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from holo.beam.agent_build import ensure_agent_ebin
from holo.beam.compile_job import CompileJob, CompileResult
from holo.beam.errors import (
    AgentRequestError,
    BeamError,
    BeamNodeClosed,
    BeamNodeDied,
    BeamStartError,
)
from holo.beam.loading import LoadResult
from holo.beam.process import AgentProcess, sweep_stale_tmp_dirs
from holo.beam.terms import decode, encode
from holo.engine import default_cache_dir
from holo.errors import UserError

log = logging.getLogger(__name__)

_LOG_ROTATE_BYTES = 8 * 2**20
_RESTORE_ID = 0  # requests the supervisor itself makes while (re)starting


@dataclass(frozen=True)
class NodeInfo:
    otp_release: str  # "25"
    otp_version: str  # "25.2.3"
    erts_version: str
    os_pid: int
    schedulers: int

    @classmethod
    def from_agent(cls, info: Mapping[str, Any]) -> NodeInfo:
        return cls(
            otp_release=info["otp_release"].decode(),
            otp_version=info["otp_version"].decode(),
            erts_version=info["erts_version"].decode(),
            os_pid=info["os_pid"],
            schedulers=info["schedulers"],
        )


class CallFuture(concurrent.futures.Future[Any]):
    """The reply to one request; cancelling it stops the request in the agent."""

    def __init__(self, request_id: int) -> None:
        super().__init__()
        self.request_id = request_id
        # When the agent began to run a call with a limit (time.monotonic()),
        # None while it waits for its turn; reset when the call is sent again.
        self.started_at: float | None = None


@dataclass(eq=False)
class _Call:
    id: int
    kind: str
    frame: bytes
    future: CallFuture
    sent_to: AgentProcess | None = None
    deaths: int = 0


Modules = Mapping[str, bytes] | Iterable[tuple[str, bytes]]
_DoneCallback = Callable[[concurrent.futures.Future[Any]], None]


class BeamNode:
    """A supervised agent VM. Thread-safe; use as a context manager or call close()."""

    def __init__(
        self,
        *,
        cache_dir: Path | str | None = None,
        log_path: Path | str | None = None,
        erl: str = "erl",
        erlc: str = "erlc",
        cwd: Path | str | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._ebin = ensure_agent_ebin(cache, erl=erl, erlc=erlc)
        self.log_path = Path(log_path) if log_path is not None else cache / "agent" / "agent.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        _rotate(self.log_path)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the node
        sweep_stale_tmp_dirs()
        self._erl = erl
        self._cwd = cwd
        self._start_timeout = start_timeout
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._ids = itertools.count(_RESTORE_ID + 1)
        self._pending: dict[int, _Call] = {}
        self._loaded: dict[str, bytes] = {}  # name -> binary of its last load, put back on restart
        self._handler_modules: list[str] = []
        self._proc: AgentProcess | None = None  # the VM taking requests
        self._child: AgentProcess | None = None  # the VM starting or running
        self._start_error: BeamError | None = None
        self._closing = False
        self._info: NodeInfo | None = None
        self.restarts = 0
        self._first_start = threading.Event()
        # The supervisor starts every VM: PR_SET_PDEATHSIG follows the thread.
        self._thread = threading.Thread(target=self._supervise, name="holo-beam-node", daemon=True)
        self._thread.start()
        self._first_start.wait()
        if self._start_error is not None:
            error = self._start_error
            self.close()
            raise error
        atexit.register(self.close)

    # --- requests --------------------------------------------------------

    def submit(self, kind: str, args: Any = None, *, limit: int | None = None) -> CallFuture:
        """Send a request; the future resolves to the agent's reply as plain Python values.

        With ``limit``, the agent runs it only while fewer than ``limit``
        requests of this kind run, in the order they were sent, and the
        future's ``started_at`` (time.monotonic()) tells when it began.
        """
        return self._submit(kind, args, limit=limit)

    def call(self, kind: str, args: Any = None, *, timeout: float | None = None) -> Any:
        """Send a request and wait for its reply (TimeoutError after ``timeout`` seconds)."""
        future = self.submit(kind, args)
        try:
            return future.result(timeout)
        except TimeoutError:
            if future.cancel():  # also stops the request's process in the agent
                raise TimeoutError(
                    f"the BEAM agent did not answer {kind!r} within {timeout} s"
                ) from None
            return future.result()

    async def acall(self, kind: str, args: Any = None) -> Any:
        """:meth:`call` for an asyncio event loop: the loop never blocks on the agent.

        Cancelling the awaiting task cancels the request in the agent too.
        """
        import asyncio  # imported here: the command line has no event loop, and pays for none

        return await asyncio.wrap_future(self.submit(kind, args))

    def ping(self) -> NodeInfo:
        match self.call("ping"):
            case ("pong", dict(info)):
                return NodeInfo.from_agent(info)
            case other:
                raise BeamError(f"unexpected reply to ping: {other!r}")

    def compile(self, job: CompileJob, *, timeout: float | None = None) -> CompileResult:
        return CompileResult.from_agent(self.call("compile", job.to_agent(), timeout=timeout))

    def compile_many(self, jobs: Iterable[CompileJob]) -> list[CompileResult]:
        """Compile all jobs at once (the agent runs them on all its schedulers), in order."""
        futures = [self.submit("compile", job.to_agent()) for job in jobs]
        return [CompileResult.from_agent(future.result()) for future in futures]

    def load(self, modules: Modules, *, force: bool = False) -> LoadResult:
        """Hot-load modules into this node, all together (see holo_agent_code.erl)."""
        pairs = _module_pairs(modules)
        args = {"modules": pairs, "force": force}
        future = self._submit("load", args, partial(self._remember_loads, dict(pairs)))
        return LoadResult.from_agent(None, future.result())

    def unload(self, modules: Iterable[str], *, force: bool = False) -> LoadResult:
        """Purge and delete modules (their source is gone); blocked if old code is in use."""
        args = {"modules": list(modules), "force": force}
        future = self._submit("unload", args, self._forget_unloads)
        return LoadResult.from_agent(None, future.result())

    def remote_load(
        self,
        nodes: Iterable[str],
        modules: Modules,
        *,
        cookie: str | None = None,
        force: bool = False,
        timeout: float | None = None,
    ) -> list[LoadResult]:
        """Hot-load modules into the user's running nodes; one result per node, in order.

        An unreachable node or a wrong cookie is that node's ``error``, not an
        exception. ``cookie`` defaults to the contents of ``~/.erlang.cookie``.
        """
        node_names = list(nodes)
        for name in node_names:
            check_node_name(name)
        args = {
            "nodes": node_names,
            "cookie": cookie if cookie is not None else default_cookie(),
            "modules": _module_pairs(modules),
            "force": force,
        }
        results = []
        for node, outcome in self.call("remote_load", args, timeout=timeout):
            match outcome:
                case ("ok", list(statuses)):
                    results.append(LoadResult.from_agent(node, statuses))
                case ("error", bytes(message)):
                    results.append(LoadResult(node, message.decode(), ()))
                case other:
                    raise BeamError(f"unexpected remote_load outcome for {node}: {other!r}")
        return results

    def register_handlers(self, module: str) -> tuple[str, ...]:
        """Add the request kinds of a module loaded into the node (its holo_handlers/0)."""
        match self.call("register_handlers", {"module": module}):
            case ("ok", list(kinds)):
                with self._lock:
                    if module not in self._handler_modules:
                        self._handler_modules.append(module)
                return tuple(kinds)
            case ("error", bytes(message)):
                raise AgentRequestError("register_handlers", "error", message.decode())
            case other:
                raise BeamError(f"unexpected reply to register_handlers: {other!r}")

    @property
    def info(self) -> NodeInfo:
        """What the running VM reported when it started (it changes after a restart)."""
        assert self._info is not None
        return self._info

    @property
    def os_pid(self) -> int:
        return self.info.os_pid

    def close(self) -> None:
        """Stop the VM (eof, then SIGKILL) and fail whatever is still waiting."""
        with self._lock:
            already = self._closing
            self._closing = True
            child = self._child
            self._wake.notify_all()
        if not already:
            atexit.unregister(self.close)
        if child is not None:
            child.stop()
        if threading.current_thread() is not self._thread:
            self._thread.join()
            self._log.close()
        self._fail_pending(
            lambda call: BeamNodeClosed(f"the BEAM node closed before {call.kind!r} was answered")
        )

    def __enter__(self) -> BeamNode:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- bookkeeping of what the node must hold ---------------------------

    def _remember_loads(
        self, binaries: dict[str, bytes], future: concurrent.futures.Future[Any]
    ) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        with self._lock:
            for module, status in future.result():
                if status == "loaded":
                    self._loaded[module] = binaries[module]

    def _forget_unloads(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        with self._lock:
            for module, status in future.result():
                if status in ("unloaded", "not_loaded"):
                    self._loaded.pop(module, None)

    # --- sending -----------------------------------------------------------

    def _submit(
        self,
        kind: str,
        args: Any,
        on_done: _DoneCallback | None = None,
        *,
        limit: int | None = None,
    ) -> CallFuture:
        request_id = next(self._ids)
        call_args = {} if args is None else args
        if limit is None:
            frame = encode(("call", request_id, kind, call_args))
        else:
            if limit < 1:
                raise ValueError(f"a request limit must be at least 1, not {limit}")
            frame = encode(("call", request_id, kind, call_args, limit))
        future = CallFuture(request_id)
        if on_done is not None:  # before the reply can arrive: runs in the reader thread
            future.add_done_callback(on_done)
        future.add_done_callback(self._forget_if_cancelled)
        call = _Call(request_id, kind, frame, future)
        with self._lock:
            if self._closing:
                raise BeamNodeClosed("the BEAM node is closed")
            self._pending[request_id] = call
            proc = self._proc
            if proc is None:
                self._wake.notify_all()  # a node that failed to start tries again
            else:
                call.sent_to = proc
        if proc is not None:
            proc.send(frame)
        return future

    def _forget_if_cancelled(self, future: concurrent.futures.Future[Any]) -> None:
        if not future.cancelled():
            return
        assert isinstance(future, CallFuture)
        request_id = future.request_id
        with self._lock:
            call = self._pending.pop(request_id, None)
            proc = self._proc if call is not None and call.sent_to is self._proc else None
        if proc is not None:
            proc.send(encode(("cancel", request_id)))

    def _fail_pending(
        self, error_for: Callable[[_Call], BaseException], only: Iterable[_Call] | None = None
    ) -> None:
        with self._lock:
            calls = list(self._pending.values()) if only is None else list(only)
            for call in calls:
                self._pending.pop(call.id, None)
        for call in calls:
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                call.future.set_exception(error_for(call))

    # --- the supervisor thread ----------------------------------------------

    def _supervise(self) -> None:
        while True:
            with self._lock:
                while not self._closing and self._start_error is not None and not self._pending:
                    self._wake.wait()
                if self._closing:
                    break
            try:
                proc = self._start()
            except Exception as e:  # every failure must reach the callers
                error = (
                    e
                    if isinstance(e, BeamError)
                    else BeamStartError(f"cannot start the agent: {e}")
                )
                with self._lock:
                    self._start_error = error
                self._fail_pending(lambda _call, error=error: error)
                self._first_start.set()
                continue
            if not self._serve(proc):
                break
        self._first_start.set()

    def _start(self) -> AgentProcess:
        proc = AgentProcess(erl=self._erl, ebin=self._ebin, log=self._log, cwd=self._cwd)
        with self._lock:
            self._child = proc
            closing = self._closing
        # A VM that hangs while starting is killed; the read below then sees eof.
        watchdog = threading.Timer(self._start_timeout, proc.stop, kwargs={"grace": 0})
        watchdog.daemon = True
        watchdog.start()
        try:
            if closing:
                raise BeamNodeClosed("the BEAM node is closed")
            match self._read_while_starting(proc):
                case ("hello", dict(info)):
                    self._info = NodeInfo.from_agent(info)
                case other:
                    raise BeamStartError(f"the agent said {other!r} instead of hello")
            try:
                self._restore(proc)
            except BeamError as e:
                # Whatever killed the VM comes back with those modules: start
                # the next one clean rather than fail forever.
                with self._lock:
                    dropped = sorted(self._loaded) + self._handler_modules
                    self._loaded.clear()
                    self._handler_modules.clear()
                raise BeamStartError(
                    f"{e}\nholo dropped what the node held ({', '.join(dropped)}); load it again"
                ) from e
        except BaseException:
            proc.stop(grace=0)
            proc.close_reader()
            raise
        finally:
            watchdog.cancel()
        return proc

    def _read_while_starting(self, proc: AgentProcess) -> Any:
        frame = proc.read_frame()
        if frame is None:
            status = proc.stop()  # eof: it is exiting, let it say how
            raise BeamStartError(
                f"the BEAM agent exited while starting ({_describe_exit(status)})"
                + _log_tail(self.log_path)
            )
        return decode(frame)

    def _restore(self, proc: AgentProcess) -> None:
        """Put back what the previous VM held: loaded modules, registered handlers."""
        with self._lock:
            modules = list(self._loaded.items())
            handler_modules = list(self._handler_modules)
        if modules:
            statuses = self._request_while_starting(
                proc, "load", {"modules": modules, "force": True}
            )
            for module, status in statuses:
                if status != "loaded":
                    log.warning("could not reload %s after a restart: %r", module, status)
                    with self._lock:
                        self._loaded.pop(module, None)
        for module in handler_modules:
            self._request_while_starting(proc, "register_handlers", {"module": module})

    def _request_while_starting(self, proc: AgentProcess, kind: str, args: Any) -> Any:
        proc.send(encode(("call", _RESTORE_ID, kind, args)))
        while True:
            match self._read_while_starting(proc):
                case ("reply", 0, value):
                    return value
                case ("failed", 0, why, message):
                    raise BeamStartError(
                        f"the restarted agent could not {kind} ({why}): {message.decode()}"
                    )

    def _serve(self, proc: AgentProcess) -> bool:
        """Run requests on ``proc`` until it dies; whether to start another one."""
        with self._lock:
            self._proc = proc
            self._start_error = None
            resend = [call for call in self._pending.values() if call.sent_to is None]
            for call in resend:
                call.sent_to = proc
        self._first_start.set()
        for call in resend:
            proc.send(call.frame)
        while (frame := proc.read_frame()) is not None:
            self._dispatch(frame)
        status = proc.stop()
        proc.close_reader()
        with self._lock:
            self._proc = None
            closing = self._closing
            failed = []
            for call in self._pending.values():
                if call.sent_to is proc:
                    call.sent_to = None
                    call.future.started_at = None
                    call.deaths += 1
                    if call.deaths >= 2:
                        failed.append(call)
        if closing:
            return False
        self.restarts += 1
        log.warning("the BEAM agent died (%s); restarting it", _describe_exit(status))
        tail = _log_tail(self.log_path)
        self._fail_pending(
            lambda call: BeamNodeDied(
                f"the BEAM node died twice while serving {call.kind!r} "
                f"(last time: {_describe_exit(status)}; does the code it runs call halt()?)" + tail
            ),
            only=failed,
        )
        return True

    def _dispatch(self, frame: bytes) -> None:
        try:
            term = decode(frame)
        except Exception:  # a broken frame must not stop the reader
            log.exception("undecodable frame from the BEAM agent")
            return
        match term:
            case ("started", int(request_id)):
                with self._lock:
                    call = self._pending.get(request_id)
                if call is not None:
                    call.future.started_at = time.monotonic()
            case ("reply", int(request_id), value):
                self._settle(request_id, value, None)
            case ("failed", int(request_id), str(why), bytes(message)):
                self._settle(request_id, None, (why, message.decode()))
            case _:
                log.warning("unexpected frame from the BEAM agent: %r", term)

    def _settle(self, request_id: int, value: Any, failure: tuple[str, str] | None) -> None:
        with self._lock:
            call = self._pending.pop(request_id, None)
        if call is None:  # cancelled, or answered after a timeout
            return
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            if failure is None:
                call.future.set_result(value)
            else:
                call.future.set_exception(AgentRequestError(call.kind, *failure))


def check_node_name(name: str) -> None:
    """A UserError unless ``name`` can name an Erlang node (name@host)."""
    if name.count("@") != 1 or name.startswith("@") or name.endswith("@"):
        raise UserError(f"{name!r} is not an Erlang node name (name@host)")


def default_cookie() -> str:
    """The cookie in ~/.erlang.cookie, which Erlang nodes use when given none."""
    path = Path.home() / ".erlang.cookie"
    try:
        cookie = path.read_text().strip()
    except OSError as e:
        raise UserError(f"no cookie given and cannot read {path}: {e.strerror}") from e
    if not cookie:
        raise UserError(f"no cookie given and {path} is empty")
    return cookie


def _module_pairs(modules: Modules) -> list[tuple[str, bytes]]:
    items = modules.items() if isinstance(modules, Mapping) else modules
    return [(str(name), bytes(binary)) for name, binary in items]


def _describe_exit(status: int | None) -> str:
    if status is None:
        return "still running"
    if status < 0:
        return f"killed by signal {-status}"
    return f"exit status {status}"


def _log_tail(path: Path, lines: int = 8) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - 4096, 0))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    # The VM's own output, not the lines holo writes when it starts one.
    tail = [line for line in text.splitlines() if line.strip() and not line.startswith("--- holo:")]
    tail = tail[-lines:]
    if not tail:
        return f"; see {path}"
    return f"; the end of {path}:\n" + "\n".join(tail)


def _rotate(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.stat().st_size > _LOG_ROTATE_BYTES:
            os.replace(path, path.with_suffix(path.suffix + ".1"))
