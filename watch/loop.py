"""The watch loop: a thread turns file events into batches; the main thread runs cycles.

Changes that arrive while a cycle runs are merged into the next one, and a
cycle that sees newer changes waiting skips its remaining phases: the newest
state always wins, and every state the developer saved last is built.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from pathlib import Path

from holo.build.driver import modules_of
from holo.session import Session
from holo.watch.changes import ChangeBatch, change_batches
from holo.watch.cycle import Cycle, CycleResult, TestPhase, WatchOptions
from holo.watch.display import Display


def _saved_at(paths: frozenset[Path], received: float) -> float:
    """The perf_counter time of the earliest save in a batch (its files' mtimes)."""
    now_wall, now_perf = time.time(), time.perf_counter()
    earliest = received
    for path in paths:
        with contextlib.suppress(OSError):
            earliest = min(earliest, now_perf - max(0.0, now_wall - os.stat(path).st_mtime))
    return earliest


class WatchLoop:
    def __init__(
        self,
        session: Session,
        options: WatchOptions,
        display: Display,
        run_tests: TestPhase | None = None,
    ) -> None:
        self.session = session
        self.display = display
        self.batches: queue.Queue[tuple[ChangeBatch, float]] = queue.Queue()
        self.stop = threading.Event()
        session.start_nodes()
        self.cycle = Cycle(session, options, run_tests)

    def run(self) -> None:
        watcher = threading.Thread(target=self._watch, name="holo-watch-events", daemon=True)
        watcher.start()
        started = time.perf_counter()
        first = self.cycle.run([], started)
        modules = len(modules_of(self.session.db, "default"))
        self.display.ready(modules, first)
        self.session.db.persist()
        try:
            while not self.stop.is_set():
                try:
                    batch, received = self.batches.get(timeout=0.25)
                except queue.Empty:
                    continue
                paths = set(batch.paths)
                detected = _saved_at(batch.paths, received)
                while not self.batches.empty():
                    more, _ = self.batches.get_nowait()
                    paths |= more.paths
                result = self.cycle.run(paths, detected, newer_waiting=self._newer_waiting)
                self.display.cycle(result)
                self.session.db.persist()
        finally:
            self.stop.set()
            watcher.join(5)

    def _newer_waiting(self) -> bool:
        return not self.batches.empty()

    def _watch(self) -> None:
        root = self.session.project_root
        ignored = (self.session.cache_dir, root / "_build")
        for batch in change_batches(root, ignored=ignored, stop=self.stop):
            self.batches.put((batch, time.perf_counter()))


def result_is_clean(result: CycleResult) -> bool:
    return result.errors == 0 and not (result.tests and result.tests.failed)
