"""OTP's compiler as a pure function: a compile job's result, memoised by the job's key.

The codegen query hands a job (every byte the compiler will see) and a key
(what determines the output) to :class:`Compiler`, which answers from memory,
then from the persistent cache, and only then asks the agent. Results are
stored content-addressed, never by path or mtime, so a fresh clone of the same
sources at another path with the same cache compiles nothing.

Compile errors are results too: a module that does not compile is not
recompiled until something it depends on changes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from holo.beam.compile_job import CompileJob, CompileResult
from holo.beam.node import BeamNode
from holo.engine import codec
from holo.engine.store import Store

log = logging.getLogger(__name__)


class Compiler:
    def __init__(
        self, start_node: Callable[[], BeamNode], store: Store | None, salt: bytes
    ) -> None:
        # The agent starts on the first compile: a build whose every result is
        # cached never pays for a node.
        self._start_node = start_node
        self.store = store
        self.salt = salt
        self._memory: dict[bytes, CompileResult] = {}
        self._lock = threading.Lock()
        # How many compiles the agent runs at once (`--jobs`); each is an Erlang process.
        self.max_in_flight = os.cpu_count() or 2
        # Source paths the compiler actually ran on since the last reset: what
        # `holo build --json` reports as "compiled".
        self.compiled: list[str] = []

    @property
    def node(self) -> BeamNode:
        return self._start_node()

    def reset_counters(self) -> None:
        self.compiled = []

    def result(self, key: bytes, job: CompileJob) -> CompileResult:
        cached = self.cached(key)
        if cached is not None:
            return cached
        result = self.node.compile(job)
        self._remember({key: (job, result)})
        return result

    def cached(self, key: bytes) -> CompileResult | None:
        with self._lock:
            hit = self._memory.get(key)
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
        if not isinstance(result, CompileResult):
            return None
        with self._lock:
            self._memory[key] = result
        return result

    def prefetch(self, work: Iterable[tuple[bytes, CompileJob]]) -> None:
        """Compile the jobs not cached yet on the agent's schedulers, at most
        ``max_in_flight`` at a time.

        ``work`` may be a generator that analyses as it goes: each job is sent as
        soon as it is known, so the agent compiles while holo analyses the next.
        """
        pending: list[tuple[bytes, CompileJob]] = []
        in_flight: dict[Future[Any], tuple[bytes, CompileJob]] = {}
        seen: set[bytes] = set()

        def top_up() -> None:
            while pending and len(in_flight) < self.max_in_flight:
                key, job = pending.pop(0)
                in_flight[self.node.submit("compile", job.to_agent())] = (key, job)

        def collect(block: bool) -> None:
            if not in_flight:
                return
            finished, _ = wait(in_flight, timeout=None if block else 0,
                               return_when=FIRST_COMPLETED)
            self._remember({
                key: (job, CompileResult.from_agent(future.result()))
                for future in finished
                for key, job in [in_flight.pop(future)]
            })

        for key, job in work:
            if key in seen or self.cached(key) is not None:
                continue
            seen.add(key)
            pending.append((key, job))
            collect(block=False)
            top_up()
        while pending or in_flight:
            top_up()
            collect(block=True)

    def _remember(self, results: dict[bytes, tuple[CompileJob, CompileResult]]) -> None:
        with self._lock:
            for key, (job, result) in results.items():
                self._memory[key] = result
                self.compiled.append(job.path)
        if self.store is not None:
            self.store.set_many(
                (self._store_key(key), codec.encode(result))
                for key, (_, result) in results.items()
            )

    def _store_key(self, key: bytes) -> bytes:
        return codec.digest(self.salt, b"beam", key)
