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

import hashlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from holo.beam.agent_build import agent_sources
from holo.beam.compile_job import CompileJob, CompileResult
from holo.beam.errors import AgentRequestError, BeamError, BeamNodeDied, BeamStartError
from holo.beam.node import BeamNode
from holo.engine import codec
from holo.engine.store import Store

log = logging.getLogger(__name__)

# A compile that takes longer has met a parse transform that does not end.
DEFAULT_COMPILE_TIMEOUT_S = 120.0

OnResult = Callable[[bytes], None]


def compiler_code_fingerprint() -> bytes:
    """The agent's compile request: results cached by another version of it are not reused."""
    return hashlib.blake2b(agent_sources()["holo_agent_compile.erl"], digest_size=16).digest()


@dataclass
class _Running:
    key: bytes
    job: CompileJob
    deadline: float


class Compiler:
    def __init__(
        self,
        start_node: Callable[[], BeamNode],
        store: Store | None,
        salt: bytes,
        *,
        compile_timeout: float = DEFAULT_COMPILE_TIMEOUT_S,
    ) -> None:
        # The agent starts on the first compile: a build whose every result is
        # cached never pays for a node.
        self._start_node = start_node
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

    def prefetch(
        self, work: Iterable[tuple[bytes, CompileJob]], on_result: OnResult | None = None
    ) -> None:
        """Compile the jobs not cached yet on the agent's schedulers, at most
        ``max_in_flight`` at a time; ``on_result(key)`` as each one comes back.

        ``work`` may be a generator that analyses as it goes: each job is sent as
        soon as it is known, so the agent compiles while holo analyses the next.
        """
        self._compile(work, on_result)

    def _compile(
        self, work: Iterable[tuple[bytes, CompileJob]], on_result: OnResult | None
    ) -> dict[bytes, CompileResult]:
        results: dict[bytes, CompileResult] = {}
        # Every compile in flight when the VM died fails with it: which one
        # killed it shows when each is compiled again alone.
        suspects = self._run(work, self.max_in_flight, results, on_result)
        self._run(suspects, 1, results, on_result)
        return results

    def _run(
        self,
        work: Iterable[tuple[bytes, CompileJob]],
        limit: int,
        results: dict[bytes, CompileResult],
        on_result: OnResult | None,
    ) -> list[tuple[bytes, CompileJob]]:
        """Compile ``work`` into ``results``; the jobs the VM died under while others ran."""
        pending: deque[tuple[bytes, CompileJob]] = deque()
        in_flight: dict[Future[Any], _Running] = {}
        suspects: list[tuple[bytes, CompileJob]] = []
        seen: set[bytes] = set()

        to_store: list[tuple[bytes, CompileResult]] = []

        def finish(key: bytes, job: CompileJob, result: CompileResult, *, ran: bool) -> None:
            results[key] = result
            if self._remember(key, job, result, ran=ran):
                to_store.append((key, result))
            if on_result is not None:
                on_result(key)

        def top_up() -> None:
            while pending and len(in_flight) < limit:
                key, job = pending.popleft()
                future = self._submit(job)
                if isinstance(future, CompileResult):
                    finish(key, job, future, ran=False)
                else:
                    in_flight[future] = _Running(key, job, time.monotonic() + self.compile_timeout)

        def collect(block: bool) -> None:
            if not in_flight:
                return
            timeout = 0.0
            if block:
                timeout = max(0.0, min(r.deadline for r in in_flight.values()) - time.monotonic())
            finished, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in finished:
                running = in_flight.pop(future)
                try:
                    result = CompileResult.from_agent(future.result())
                except BeamNodeDied as e:
                    if limit > 1:
                        suspects.append((running.key, running.job))
                        continue
                    result = self._failure(running.job, "node_died", _died(running.job, e))
                except BeamError as e:
                    result = self._failure(running.job, *_agent_failure(running.job, e))
                finish(running.key, running.job, result, ran=True)
            now = time.monotonic()
            for future, running in list(in_flight.items()):
                if running.deadline <= now and future.cancel():  # also stops it in the agent
                    del in_flight[future]
                    message = (
                        f"compiling {running.job.path} took longer than "
                        f"{self.compile_timeout:g} s and was stopped; does a parse transform "
                        "loop forever?"
                    )
                    finish(running.key, running.job,
                           self._failure(running.job, "timeout", message), ran=True)
            self._store(to_store)
            to_store.clear()

        for key, job in work:
            if key in seen or self._known(key):
                continue
            seen.add(key)
            pending.append((key, job))
            collect(block=False)
            top_up()
        while pending or in_flight:
            top_up()
            collect(block=True)
        return suspects

    def _known(self, key: bytes) -> bool:
        with self._lock:
            if key in self._unsettled:
                return True
        return self.cached(key) is not None

    def _submit(self, job: CompileJob) -> Future[Any] | CompileResult:
        """The compile request in flight, or why it cannot be sent (the agent does not start)."""
        with self._lock:
            start_error = self._start_error
        if start_error is None:
            try:
                return self.node.submit("compile", job.to_agent())
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
