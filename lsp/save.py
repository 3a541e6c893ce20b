"""What happens when a document is saved: compile, hot-load, rerun the affected tests.

The server calls a :class:`SaveHook` with the Session, the saved files and a
progress reporter, in a thread of its own (one save job at a time; saves
that arrive meanwhile are run together next). The hook returns diagnostics
by file; the server merges them with holo's own diagnostics of each file
(they replace the previous save's) and publishes them.

:class:`BuildOnSave` is holo's hook: ``build`` compiles what the save made
dirty into ``_build/holo`` (the compiler's errors and warnings, source
"erlc"), ``run_affected`` builds the test profile, hot-loads it into holo's
runtime node and reruns the tests the change can affect; each failure is a
diagnostic at its failing assertion (source "eunit").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from holo.build.driver import build
from holo.build.loading import NodeLoader
from holo.diagnostics import Diagnostic
from holo.engine import Cancelled
from holo.inputs import file_text
from holo.session import Session
from holo.testing import failure_diagnostics, run_affected
from holo.testing.results import TestReport, TestResult

log = logging.getLogger(__name__)

STOP_WAIT_S = 10.0
SAVE_RETRIES = 5  # edits during a build cancel it; after this many, the next save rebuilds


class ProgressReport(Protocol):
    """Reports a save job's progress to the editor (``$/progress``)."""

    def report(self, message: str, percentage: int | None = None) -> None: ...

    def end(self, message: str) -> None: ...


@dataclass(frozen=True)
class SaveOutcome:
    """Diagnostics by file key: every file the job checked that has any. A file not
    listed has none (its earlier save diagnostics are cleared)."""

    diagnostics: dict[str, tuple[Diagnostic, ...]]
    summary: str


class SaveHook(Protocol):
    def __call__(
        self, session: Session, saved: list[str], progress: ProgressReport
    ) -> SaveOutcome: ...


def by_file(diagnostics: list[Diagnostic]) -> dict[str, tuple[Diagnostic, ...]]:
    found: dict[str, list[Diagnostic]] = {}
    for d in sorted(set(diagnostics), key=Diagnostic.sort_key):
        found.setdefault(d.path, []).append(d)
    return {path: tuple(ds) for path, ds in found.items()}


class BuildOnSave:
    """holo's save hook: build, hot-load, run the affected tests (see the module doc)."""

    def __init__(self, tests: bool = True) -> None:
        self.tests = tests
        self._loader: NodeLoader | None = None

    def __call__(self, session: Session, saved: list[str], progress: ProgressReport) -> SaveOutcome:
        def compiling(done: int, total: int) -> None:
            share = 50 if self.tests else 100
            progress.report(f"compiling {done}/{total}", done * share // max(total, 1))

        progress.report("compiling", 0)
        report = build(session.workspace, session.compiler, "default", progress=compiling)
        found = list(report.diagnostics)
        summary = f"{len(report.compiled)} compiled"
        if not self.tests:
            if self._loader is None:
                self._loader = NodeLoader(session.runtime)
            loaded = self._loader.sync(report.binaries, set())
            return SaveOutcome(by_file(found), f"{summary}, {len(loaded.loaded)} loaded")

        def testing(result: TestResult, done: int, total: int) -> None:
            progress.report(f"tests {done}/{total}", 50 + done * 50 // max(total, 1))

        progress.report("running the affected tests", 50)
        tests = run_affected(session, progress=testing)
        found.extend(tests.diagnostics)
        found.extend(failure_diagnostics(tests, _failure_lines(session, tests)))
        summary += f", {len(tests.passed)} passed, {len(tests.failed)} failed"
        if tests.not_run:
            summary += f", {len(tests.not_run)} not run"
        return SaveOutcome(by_file(found), summary)


def _failure_lines(session: Session, tests: TestReport) -> dict[str, list[str]]:
    """The lines of the files failures point into, so their ranges cover the code."""
    lines: dict[str, list[str]] = {}
    for result in tests.results:
        if result.passed or result.path is None or result.path in lines:
            continue
        text = file_text(session.db, result.path)
        if text is not None:
            lines[result.path] = text.decode("utf-8", "replace").split("\n")
    return lines


class SaveRunner:
    """Runs the save hook in its own thread, one job at a time."""

    def __init__(
        self,
        hook: SaveHook,
        session: Callable[[], Session | None],
        begin: Callable[[str], ProgressReport],
        deliver: Callable[[SaveOutcome], None],
    ) -> None:
        self._hook = hook
        self._session = session
        self._begin = begin
        self._deliver = deliver
        self._cond = threading.Condition()
        self._saved: list[str] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="holo-lsp-save", daemon=True)
        self._thread.start()

    def saved(self, key: str) -> None:
        with self._cond:
            if key not in self._saved:
                self._saved.append(key)
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(STOP_WAIT_S)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._saved or self._stopping)
                if self._stopping:
                    return
                saved, self._saved = self._saved, []
            session = self._session()
            if session is not None:
                self._run(session, saved)

    def _run(self, session: Session, saved: list[str]) -> None:
        progress = self._begin("holo: build and test")
        message = "superseded by newer edits"
        try:
            for _ in range(SAVE_RETRIES):
                try:
                    outcome = self._hook(session, saved, progress)
                except Cancelled:
                    continue  # an edit arrived mid-build: build the newer state
                self._deliver(outcome)
                message = outcome.summary
                break
        except Exception as e:
            log.exception("the save hook failed")
            message = f"failed: {type(e).__name__}: {e}"
        finally:
            progress.end(message)
