"""The watch loop: a thread turns file events into batches; the main thread runs cycles.

Batches: the watcher hands over events a few milliseconds after they happen,
and the loop decides where a burst ends. A save of one file starts its cycle
once the file is quiet for SAVE_QUIET_S; a batch of several files (a
formatter, a rename, a checkout) waits until no more arrive for MULTI_QUIET_S
(BURST_QUIET_S from BURST_FILES files on, at most BURST_MAX_S), so it is one
cycle rather than several over states that never existed together.

Changes arriving while a cycle runs supersede it (see holo.watch.cycle): it
stops at its next check and the next cycle, gathered as a burst, reports the
work of both. The newest state always wins.

A cycle that fails (a node that died twice during a request, a bug) is
logged with its traceback, shown as one line, and the watch goes on. A
watcher that fails cannot be trusted to have seen every change since, so
holo says so and exits with status 1 rather than carry on half-blind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from holo.build.node_targets import NO_TARGETS, NodeTargets
from holo.session import Session
from holo.watch.changes import DEBOUNCE_MS, ChangeBatch, change_batches
from holo.watch.cycle import PHASES, Cycle, CycleResult, TestPhase, WatchOptions
from holo.watch.display import Display

log = logging.getLogger("holo.watch")

# The watcher's step: it hands over a batch one to two steps after its last
# event, so a change that arrives mid-cycle is seen within ~10 ms.
WATCH_STEP_MS = 5
SAVE_QUIET_S = 0.02
MULTI_QUIET_S = 0.15
BURST_FILES = 20
BURST_QUIET_S = 0.3
BURST_MAX_S = 5.0

# The code of a save is loaded no sooner than this after the save, so that the
# next file of a formatter or a script (tens of milliseconds behind) supersedes
# the cycle rather than start a second one. Detection, analysis and compiling
# take about this long anyway: a single save rarely waits for it.
LOAD_SETTLE_S = 0.06

EXIT_WATCHER_FAILED = 1


@dataclass(frozen=True)
class WatcherStopped:
    message: str


Item = tuple[ChangeBatch, float] | WatcherStopped


def _saved_at(paths: set[Path], received: float) -> float:
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


def _log_location() -> str:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return "holo's log"


class WatchLoop:
    def __init__(
        self,
        session: Session,
        options: WatchOptions,
        display: Display,
        run_tests: TestPhase | None = None,
        targets: NodeTargets = NO_TARGETS,
    ) -> None:
        self.session = session
        self.display = display
        self.items: queue.Queue[Item] = queue.Queue()
        self.stop = threading.Event()
        self.watcher_stopped: WatcherStopped | None = None
        session.start_nodes()
        self.cycle = Cycle(session, options, run_tests, targets)

    def run(self) -> int:
        """Watch until stopped; the exit status."""
        watcher = threading.Thread(target=self._watch, name="holo-watch-events", daemon=True)
        watcher.start()
        try:
            started = time.perf_counter()
            first = self._run_cycle([], started, supersedable=False)
            self._guarded(self.display.ready, first or self._failed_result(started))
            self._persist()
            while not self.stop.is_set() and self.watcher_stopped is None:
                try:
                    item = self.items.get(timeout=0.25)
                except queue.Empty:
                    continue
                if isinstance(item, WatcherStopped):
                    self.watcher_stopped = item
                    break
                batch, received = item
                paths = set(batch.paths)
                paths |= self._batches_that_follow(len(paths) + self.cycle.pending)
                self.display.busy(len(paths))
                saved = _saved_at(paths, received)
                result = self._run_cycle(paths, saved)
                if result is not None:
                    self._guarded(self.display.cycle, result)
                    self._persist()
            if self.watcher_stopped is not None:
                self.display.error(
                    f"the file watcher stopped ({self.watcher_stopped.message}); holo watch "
                    "cannot see changes any more: restart it", self.cycle.abandon(),
                )
                return EXIT_WATCHER_FAILED
            return 0
        finally:
            self.stop.set()
            self.display.close()
            watcher.join(5)

    def _run_cycle(
        self, paths: set[Path] | list[Path], saved: float, *, supersedable: bool = True
    ) -> CycleResult | None:
        try:
            if not supersedable:  # the first build: ready comes after it, whatever happens
                return self.cycle.run(paths, saved)
            return self.cycle.run(
                paths, saved, newer_waiting=self._newer_waiting,
                load_not_before=saved + LOAD_SETTLE_S,
            )
        except Exception as e:
            self._report(e, "the cycle failed")
            return None

    def _guarded(self, show: Callable[[CycleResult], None], result: CycleResult) -> None:
        try:
            show(result)
        except BrokenPipeError:
            raise
        except Exception as e:
            self._report(e, "showing the cycle failed")

    def _persist(self) -> None:
        try:
            self.session.db.persist()
        except Exception as e:
            self._report(e, "saving the cache failed")

    def _report(self, e: Exception, what: str) -> None:
        log.error("%s\n%s", what, traceback.format_exc())
        message = f"{what}: {type(e).__name__}: {e} (details in {_log_location()})"
        try:
            self.display.error(message, self.cycle.abandon())
        except BrokenPipeError:
            raise
        except Exception:
            log.error("could not show an error\n%s", traceback.format_exc())

    def _failed_result(self, started: float) -> CycleResult:
        """What the ready event says when the first cycle failed: nothing built."""
        timings = dict.fromkeys(PHASES, 0.0)
        timings["total"] = round((time.perf_counter() - started) * 1e3, 1)
        return CycleResult([], [], [], [], self.cycle.errors, [], None, timings)

    def _batches_that_follow(self, count: int) -> set[Path]:
        """The paths of the batches that follow until the burst is over: a burst of one
        file is over after SAVE_QUIET_S, of more after MULTI_QUIET_S or BURST_QUIET_S."""
        paths: set[Path] = set()
        deadline = time.perf_counter() + BURST_MAX_S
        while True:
            total = count + len(paths)
            quiet = (
                SAVE_QUIET_S if total < 2 else MULTI_QUIET_S if total < BURST_FILES
                else BURST_QUIET_S
            )
            left = deadline - time.perf_counter()
            if left <= 0:
                return paths
            try:
                item = self.items.get(timeout=min(quiet, left))
            except queue.Empty:
                return paths
            if isinstance(item, WatcherStopped):
                self.watcher_stopped = item
                return paths
            paths |= item[0].paths

    def _newer_waiting(self) -> bool:
        return not self.items.empty()

    def _watch(self) -> None:
        root = self.session.project_root
        workspace = self.session.workspace
        ignored = (self.session.cache_dir, root / "_build")
        try:
            # Include directories outside the project are those of the start: a
            # rebar.config edit that names another one takes a restart to watch it.
            for batch in change_batches(
                root, ignored=ignored, stop=self.stop, step_ms=WATCH_STEP_MS,
                is_data=lambda rel: workspace.project.is_data_file(rel),
                header_dirs=workspace.external_include_dirs,
            ):
                self.items.put((batch, time.perf_counter()))
        except Exception as e:
            log.error("the file watcher failed\n%s", traceback.format_exc())
            self.items.put(WatcherStopped(f"{type(e).__name__}: {e}"))
            return
        if not self.stop.is_set():
            self.items.put(WatcherStopped("it ended"))


def result_is_clean(result: CycleResult) -> bool:
    return result.errors == 0 and not (result.tests and result.tests.failed)
