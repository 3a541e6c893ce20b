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
from holo.watch.changes import DEBOUNCE_MS, STEP_MS, ChangeBatch, change_batches
from holo.watch.cycle import Cycle, CycleResult, TestPhase, WatchOptions
from holo.watch.display import Display

# A batch this large comes from a checkout, a formatter or a code generator, not
# from an editor. On a busy machine its files keep arriving in several batches
# (a pause in the writer longer than the watcher's step ends a batch), so the
# cycle waits until no more arrive for BURST_QUIET_S (at most BURST_MAX_S): one
# cycle builds the whole checkout rather than first a half of it that never
# existed in any commit.
BURST_FILES = 20
BURST_QUIET_S = 0.3
BURST_MAX_S = 5.0

# The watcher's step: a batch ends one to two steps after its last event, so
# this is most of the time from a save to the start of its cycle. Half the
# default, since a burst the shorter step cuts in pieces is put together again
# above.
WATCH_STEP_MS = STEP_MS // 2


def _saved_at(paths: frozenset[Path], received: float) -> float:
    """The perf_counter time of the earliest save in a batch (its files' mtimes).

    No event of a batch is older than the debounce limit: an older mtime is not
    a save but a file moved, copied or unpacked with its mtime kept (`mv`,
    `cp -p`, tar), and says nothing about when the change happened.
    """
    now_wall, now_perf = time.time(), time.perf_counter()
    oldest_possible = received - (DEBOUNCE_MS + 2 * WATCH_STEP_MS) / 1e3
    earliest = received
    for path in paths:
        with contextlib.suppress(OSError):
            saved = now_perf - max(0.0, now_wall - os.stat(path).st_mtime)
            if saved >= oldest_possible:
                earliest = min(earliest, saved)
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
                paths |= self._batches_that_follow(len(paths))
                result = self.cycle.run(paths, detected, newer_waiting=self._newer_waiting)
                self.display.cycle(result)
                self.session.db.persist()
        finally:
            self.stop.set()
            watcher.join(5)

    def _batches_that_follow(self, first: int) -> set[Path]:
        """The paths of the batches waiting already, and when they and the first batch (of
        ``first`` paths) make a burst, of those that follow."""
        paths: set[Path] = set()
        deadline = time.perf_counter() + BURST_MAX_S
        while True:
            burst = first + len(paths) >= BURST_FILES
            wait = burst and time.perf_counter() < deadline
            try:
                batch, _ = self.batches.get(block=wait, timeout=BURST_QUIET_S)
            except queue.Empty:
                return paths
            paths |= batch.paths

    def _newer_waiting(self) -> bool:
        return not self.batches.empty()

    def _watch(self) -> None:
        root = self.session.project_root
        ignored = (self.session.cache_dir, root / "_build")
        for batch in change_batches(
            root, ignored=ignored, stop=self.stop, step_ms=WATCH_STEP_MS
        ):
            self.batches.put((batch, time.perf_counter()))


def result_is_clean(result: CycleResult) -> bool:
    return result.errors == 0 and not (result.tests and result.tests.failed)
