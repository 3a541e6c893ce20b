"""OTP's compiler as a pure function: a compile job's result, memoised by the job's key.

The codegen query hands a job (every byte the compiler will see) and a key
(what determines the output) to :class:`Compiler`, which answers from memory,
then from the persistent cache, and only then asks the agent. Results are
stored content-addressed, never by path or mtime, so a fresh clone of the same
sources at another path with the same cache compiles nothing.

Compile errors are results too: a module that does not compile is not
recompiled until something it depends on changes. What the agent could not
answer is not (its VM died, a compile ran out of time, a parse transform could
not be loaded): the job fails for this build with a diagnostic that says what
happened, is kept apart from the memo and the cache, and is tried again by the
next build.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from holo.beam.agent_build import agent_sources
from holo.beam.compile_job import CompileJob, CompileResult
from holo.beam.errors import AgentRequestError, BeamError, BeamNodeDied, BeamStartError
from holo.beam.node import BeamNode, CallFuture
from holo.engine import codec
from holo.engine.store import Store

log = logging.getLogger(__name__)

# A compile that takes longer has met a parse transform that does not end.
DEFAULT_COMPILE_TIMEOUT_S = 120.0

OnResult = Callable[[bytes, CompileResult], None]

# Compiles kept waiting in the agent per compile it runs (see CompileStream).
QUEUED_PER_SLOT = 2
# Results written to the persistent cache in one transaction.
_STORE_BATCH = 64
# How often to look for the start of a compile that waits for its turn (s).
_START_POLL_S = 0.2
# How long to wait for a node that may be up already before analysing on (s).
_ALREADY_UP_S = 0.01


# The agent's modules that turn a compile job into its result.
_COMPILE_SOURCES = ("holo_agent_compile.erl", "holo_agent_mirror.erl")


def compiler_code_fingerprint() -> bytes:
    """The agent's compile request: results cached by another version of it are not reused."""
    sources = agent_sources()
    return codec.digest(*(sources[name] for name in _COMPILE_SOURCES))


@dataclass
class _Running:
    key: bytes
    job: CompileJob


class Compiler:
    def __init__(
        self,
        start_node: Callable[[], BeamNode],
        store: Store | None,
        salt: bytes,
        *,
        compile_timeout: float = DEFAULT_COMPILE_TIMEOUT_S,
    ) -> None:
        # The agent starts when the first compile is asked for, in the
        # background while holo analyses on: a build whose every result is
        # cached never pays for a node.
        self._start_node = start_node
        self._starting: threading.Thread | None = None
        self._started = threading.Event()  # the start ended, well or not
        self._start_failed = False
        self.store = store
        self.salt = salt
        self._store_salt = codec.digest(salt, compiler_code_fingerprint())
        self._memory: dict[bytes, CompileResult] = {}
        # Failures that are not the job's result (see CompileResult.settled):
        # answered again within one build, never cached, retried by the next.
        self._unsettled: dict[bytes, CompileResult] = {}
        self._lock = threading.Lock()
        # How many compiles the agent runs at once (`--jobs`); each is an Erlang process.
        self.max_in_flight = os.cpu_count() or 2
        # Seconds one compile may take before it is stopped and reported.
        self.compile_timeout = compile_timeout
        # Source paths the compiler actually ran on since the last reset: what
        # `holo build --json` reports as "compiled".
        self.compiled: list[str] = []
        # Keys answered from memory or the persistent cache since the last reset.
        self.hits: set[bytes] = set()
        self._start_error: BeamError | None = None

    @property
    def node(self) -> BeamNode:
        return self._start_node()

    def reset_counters(self) -> None:
        """Start a new build: fresh counters, and a new try for what the agent could not answer."""
        with self._lock:
            self.compiled = []
            self.hits = set()
            self._unsettled.clear()
            self._start_error = None
            if self._start_failed:
                self._starting = None
                self._started.clear()
                self._start_failed = False

    def _node_is_up(self) -> bool:
        """Whether a compile can be sent without waiting for the agent to start;
        if not, it is starting in the background."""
        if self._started.is_set():
            return True
        with self._lock:
            if self._starting is not None:
                return self._started.is_set()
            self._starting = threading.Thread(
                target=self._start_in_background, name="holo-compiler-start", daemon=True
            )
            self._starting.start()
        # A node that is up already (a Session's second build) answers at once.
        return self._started.wait(_ALREADY_UP_S)

    def _wait_for_node(self) -> None:
        self._started.wait()

    def _start_in_background(self) -> None:
        try:
            self._start_node()
        except Exception:  # the first compile sent asks again, and reports it
            log.debug("starting the compiler node failed", exc_info=True)
            self._start_failed = True
        finally:
            self._started.set()

    def result(self, key: bytes, job: CompileJob) -> CompileResult:
        cached = self.cached(key)
        if cached is not None:
            return cached
        with self._lock:
            unsettled = self._unsettled.get(key)
        if unsettled is not None:
            return unsettled
        return self._compile([(key, job)], None)[key]

    def cached(self, key: bytes) -> CompileResult | None:
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self.hits.add(key)
        if hit is not None or self.store is None:
            return hit
        payload = self.store.get(self._store_key(key))
        if payload is None:
            return None
        try:
            result = codec.decode(payload)
        except codec.CodecError as e:
            log.debug("unusable cached compile result: %s", e)
            return None
        if not isinstance(result, CompileResult) or not result.settled:
            return None
        with self._lock:
            self._memory[key] = result
            self.hits.add(key)
        return result

    def stream(self, on_result: OnResult | None = None) -> CompileStream:
        """A stream of jobs for the agent: submit each one as soon as it is known.

        ``on_result(key, result)`` is called, in the caller's thread, as each
        job's result becomes known; :meth:`CompileStream.finish` waits for the rest.
        """
        return CompileStream(self, on_result)

    def _compile(
        self, work: Iterable[tuple[bytes, CompileJob]], on_result: OnResult | None
    ) -> dict[bytes, CompileResult]:
        stream = self.stream(on_result)
        for key, job in work:
            stream.submit(key, job)
        return stream.finish()

    def _answered(self, key: bytes) -> bool:
        """Whether this build has the key's result in memory (the persistent cache
        is for :meth:`cached`, which callers ask before they assemble a job)."""
        with self._lock:
            return key in self._unsettled or key in self._memory

    def _submit(self, job: CompileJob, limit: int) -> CallFuture | CompileResult:
        """The compile request in flight, or why it cannot be sent (the agent does not start)."""
        with self._lock:
            start_error = self._start_error
        if start_error is None:
            try:
                return self.node.submit("compile", job.to_agent(), limit=limit)
            except BeamError as e:
                start_error = e
                if isinstance(e, BeamStartError):
                    # One failed start per build: the other jobs need not wait for their own.
                    with self._lock:
                        self._start_error = e
        return self._failure(
            job, "agent_unavailable", f"holo's compiler node is not available: {start_error}"
        )

    def _failure(self, job: CompileJob, code: str, message: str) -> CompileResult:
        return CompileResult.failure(job.path, code, message)

    def _remember(self, key: bytes, job: CompileJob, result: CompileResult, *, ran: bool) -> bool:
        """Keep a result for this build; whether it is one to cache."""
        with self._lock:
            if result.settled:
                self._memory[key] = result
            else:
                self._unsettled[key] = result
            if ran:
                self.compiled.append(job.path)
        return result.settled

    def _store(self, results: list[tuple[bytes, CompileResult]]) -> None:
        if self.store is not None and results:
            self.store.set_many(
                (self._store_key(key), codec.encode(result)) for key, result in results
            )

    def _store_key(self, key: bytes) -> bytes:
        return codec.digest(self._store_salt, b"beam", key)


def _died(job: CompileJob, error: BeamNodeDied) -> str:
    first_line = str(error).splitlines()[0] if str(error) else "no reason given"
    return (
        f"the compiler node died while compiling {job.path}; a parse transform may have "
        f"halted it ({first_line})"
    )


def _agent_failure(job: CompileJob, error: BeamError) -> tuple[str, str]:
    if isinstance(error, AgentRequestError):
        return "agent_crash", f"the compiler crashed while compiling {job.path}: {error}"
    return "agent_unavailable", f"holo's compiler node failed while compiling {job.path}: {error}"


class CompileStream:
    """Compile requests on their way to the agent, and what came back.

    The agent runs at most ``max_in_flight`` compiles at once (``--jobs``);
    ``QUEUED_PER_SLOT`` times as many more wait in the agent for their turn,
    so a compile that ends is followed at once by the next one instead of
    a round trip through holo, while what is not sent yet waits here, as
    (key, job) pairs that hold bytes the engine holds anyway. A compile's time
    limit runs from when the agent starts it, not from when holo sent it.

    Every compile in flight when the VM died fails with it; which one killed
    it shows when :meth:`finish` compiles each of them again alone.
    """

    def __init__(
        self,
        compiler: Compiler,
        on_result: OnResult | None,
        *,
        limit: int | None = None,
        window: int | None = None,
    ) -> None:
        self._compiler = compiler
        self._on_result = on_result
        self._limit = max(1, limit if limit is not None else compiler.max_in_flight)
        self._window = window if window is not None else self._limit * (1 + QUEUED_PER_SLOT)
        self._pending: deque[tuple[bytes, CompileJob]] = deque()
        self._in_flight: dict[CallFuture, _Running] = {}
        # Futures that have finished, put by the thread that finished them.
        self._finished: queue.SimpleQueue[CallFuture] = queue.SimpleQueue()
        self._suspects: list[tuple[bytes, CompileJob]] = []
        self._seen: set[bytes] = set()
        self._to_store: list[tuple[bytes, CompileResult]] = []
        self.results: dict[bytes, CompileResult] = {}

    @property
    def busy(self) -> bool:
        """Whether some job has not come back yet."""
        return bool(self._pending or self._in_flight)

    def submit(self, key: bytes, job: CompileJob) -> bool:
        """Compile ``job`` unless its key is on its way already or its result is
        in memory (then False: nothing will come back for it). Ask
        :meth:`Compiler.cached` first: this does not look in the persistent cache."""
        if key in self._seen:
            return True
        if self._compiler._answered(key):
            return False
        self._seen.add(key)
        self._pending.append((key, job))
        self.poll()
        return True

    def poll(self) -> None:
        """Take in what came back, and send what the window allows; never blocks."""
        self._collect(block=False)
        self._top_up()

    def wait(self) -> bool:
        """Block until some job comes back (or runs out of time); False if none is out."""
        if not self.busy:
            return False
        if not self._in_flight and not self._compiler._node_is_up():
            self._compiler._wait_for_node()
        self._top_up()
        self._collect(block=True)
        self._top_up()
        return True

    def finish(self) -> dict[bytes, CompileResult]:
        """Wait for every job; the results of this stream's jobs, by key."""
        while self.wait():
            pass
        self._flush()
        if self._suspects:
            alone = CompileStream(self._compiler, self._on_result, limit=1, window=1)
            for key, job in self._suspects:
                alone.submit(key, job)
            self.results.update(alone.finish())
            self._suspects = []
        return self.results

    def abandon(self) -> None:
        """Stop what is still on its way (the build was cancelled): the agent
        stops those compiles, and what came back is kept."""
        self._pending.clear()
        for future in list(self._in_flight):
            future.cancel()
        self._in_flight.clear()
        self._suspects = []
        self._flush()

    def _finish_one(self, key: bytes, job: CompileJob, result: CompileResult, *, ran: bool) -> None:
        self.results[key] = result
        if self._compiler._remember(key, job, result, ran=ran):
            self._to_store.append((key, result))
            if len(self._to_store) >= _STORE_BATCH:
                self._flush()
        if self._on_result is not None:
            self._on_result(key, result)

    def _flush(self) -> None:
        self._compiler._store(self._to_store)
        self._to_store = []

    def _top_up(self) -> None:
        if self._pending and not self._compiler._node_is_up():
            return  # jobs wait here while the agent starts; holo analyses on
        while self._pending and len(self._in_flight) < self._window:
            key, job = self._pending.popleft()
            future = self._compiler._submit(job, self._limit)
            if isinstance(future, CompileResult):
                self._finish_one(key, job, future, ran=False)
            else:
                self._in_flight[future] = _Running(key, job)
                future.add_done_callback(self._finished.put)

    def _collect(self, block: bool) -> None:
        while self._in_flight:
            took = False
            try:
                future = self._finished.get(block, self._wait_time() if block else None)
                while True:
                    running = self._in_flight.pop(future, None)
                    if running is not None:  # not one stopped for its time
                        self._take(future, running)
                        took = True
                    future = self._finished.get_nowait()
            except queue.Empty:
                pass
            stopped = self._stop_overdue()
            if took or stopped or not block:
                return

    def _wait_time(self) -> float | None:
        """How long to block: until the next compile's time is up.

        A compile waiting for its turn in the agent has no deadline yet; until
        it says it started, look again now and then.
        """
        now = time.monotonic()
        limit = self._compiler.compile_timeout
        deadlines = []
        waiting = False
        for future in self._in_flight:
            started_at = future.started_at
            if started_at is None:
                waiting = True
            else:
                deadlines.append(started_at + limit)
        timeout = min(deadlines) - now if deadlines else None
        if waiting:
            timeout = _START_POLL_S if timeout is None else min(timeout, _START_POLL_S)
        return None if timeout is None else max(0.0, timeout)

    def _take(self, future: CallFuture, running: _Running) -> None:
        compiler = self._compiler
        try:
            result = CompileResult.from_agent(future.result())
        except BeamNodeDied as e:
            if self._window > 1:
                self._suspects.append((running.key, running.job))
                return
            result = compiler._failure(running.job, "node_died", _died(running.job, e))
        except BeamError as e:
            result = compiler._failure(running.job, *_agent_failure(running.job, e))
        self._finish_one(running.key, running.job, result, ran=True)

    def _stop_overdue(self) -> bool:
        now = time.monotonic()
        limit = self._compiler.compile_timeout
        stopped = False
        for future, running in list(self._in_flight.items()):
            started_at = future.started_at
            if started_at is None or started_at + limit > now:
                continue
            if future.cancel():  # also stops it in the agent
                del self._in_flight[future]
                message = (
                    f"compiling {running.job.path} took longer than {limit:g} s and was "
                    "stopped; does a parse transform loop forever?"
                )
                self._finish_one(running.key, running.job,
                                 self._compiler._failure(running.job, "timeout", message),
                                 ran=True)
                stopped = True
        return stopped
