"""What happens when a document is saved: compile, hot-load, rerun the affected tests.

The server calls a :class:`SaveHook` with the Session, the saved files and a
progress reporter, in a thread of its own (one save job at a time; saves
that arrive meanwhile are run together next, and saves that arrive before
the workspace is open wait for it). The hook returns diagnostics by file and
the problems it met; the server merges the diagnostics with holo's own
diagnostics of each file (they replace the previous save's) and shows the
problems as a warning and in the progress report's last message.

:class:`BuildOnSave` is holo's hook:

* ``build`` compiles the default profile into ``_build/holo`` (the compiler's
  errors and warnings, source "erlc"), and its changed modules are hot-loaded
  into the user's nodes (:mod:`holo.build.user_nodes`, the nodes named by
  :mod:`holo.lsp.targets`);
* with tests, the test profile is built and loaded into holo's runtime node
  as the test session's own code (``TestSession.load``), and ``run_affected``
  reruns the tests the change can affect; each failure is a diagnostic at its
  failing assertion (source "eunit"). Without tests, the default profile is
  loaded into the runtime node instead. Either way, modules whose files were
  deleted since the last save are unloaded from it.

What a save compiles is the engine's inputs: every open document's buffer,
saved or not, as for diagnostics. So saving one file while another has
unsaved edits compiles, loads and tests those edits too (and writes them to
``_build/holo``), exactly what the editor shows. Before it starts, the job
waits for the edits the server has received to be applied.

Load problems (a node that cannot be reached, a wrong cookie, a module whose
old code a process still runs, a module the node refuses) never stop the
job: the rest loads, the tests run, and each problem is one line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from holo.build.driver import build
from holo.build.loading import LoadReport, NodeLoader
from holo.build.node_targets import NodeTargets
from holo.build.user_nodes import UserNodeLoader
from holo.diagnostics import Diagnostic
from holo.engine import Cancelled
from holo.inputs import file_text
from holo.session import Session
from holo.testing import failure_diagnostics, run_affected, session_tests
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
    listed has none (its earlier save diagnostics are cleared). ``problems``: what
    went wrong loading code, one line each."""

    diagnostics: dict[str, tuple[Diagnostic, ...]]
    summary: str
    problems: tuple[str, ...] = field(default=())

    @property
    def message(self) -> str:
        """The summary, and the problems if any: the progress report's last message."""
        if not self.problems:
            return self.summary
        return f"{self.summary}; load problems: {'; '.join(self.problems)}"


class SaveHook(Protocol):
    def __call__(
        self, session: Session, saved: list[str], progress: ProgressReport
    ) -> SaveOutcome: ...


def by_file(diagnostics: list[Diagnostic]) -> dict[str, tuple[Diagnostic, ...]]:
    found: dict[str, list[Diagnostic]] = {}
    for d in sorted(set(diagnostics), key=Diagnostic.sort_key):
        found.setdefault(d.path, []).append(d)
    return {path: tuple(ds) for path, ds in found.items()}


def _no_targets(session: Session) -> NodeTargets:
    return NodeTargets()


class BuildOnSave:
    """holo's save hook: build, hot-load, run the affected tests (see the module doc)."""

    def __init__(
        self,
        tests: bool = True,
        targets: Callable[[Session], NodeTargets] = _no_targets,
        force: bool = False,
    ) -> None:
        self.tests = tests
        self.targets = targets
        self.force = force
        self._runtime: NodeLoader | None = None
        self._user_nodes: UserNodeLoader | None = None
        self._known: set[str] | None = None  # the default profile's modules at the last load

    def __call__(self, session: Session, saved: list[str], progress: ProgressReport) -> SaveOutcome:
        share = 50 if self.tests else 90

        def compiling(done: int, total: int) -> None:
            progress.report(f"compiling {done}/{total}", done * share // max(total, 1))

        progress.report("compiling", 0)
        report = build(session.workspace, session.compiler, "default", progress=compiling)
        found = list(report.diagnostics)
        parts = [f"{len(report.compiled)} compiled"]
        modules = set(report.modules)
        removed = self._known - modules if self._known is not None else set()

        targets = self.targets(session)
        problems: list[str] = []
        if targets.nodes:
            progress.report(f"loading into {', '.join(targets.nodes)}", share)
            if self._user_nodes is None:
                self._user_nodes = UserNodeLoader(lambda: session.agent)
            remote = self._user_nodes.load(targets, report.binaries, removed, force=self.force)
            parts.append(f"{len(remote.loaded)} loaded into {_nodes(targets.nodes)}")
            problems += remote.problems
        if not self.tests:
            local = self._load_runtime(session, report.binaries, removed)
            self._known = modules
            parts += _loaded(local)
            problems += local.problems
            return SaveOutcome(by_file(found), ", ".join(parts), tuple(problems))
        self._known = modules

        def testing(result: TestResult, done: int, total: int) -> None:
            progress.report(f"tests {done}/{total}", 60 + done * 40 // max(total, 1))

        progress.report("compiling the tests", 50)
        test_build = build(session.workspace, session.compiler, "test")
        local = session_tests(session).load(test_build)
        parts += _loaded(local)
        problems += local.problems
        progress.report("running the affected tests", 60)
        tests = run_affected(session, test_build, progress=testing)
        found.extend(tests.diagnostics)
        found.extend(failure_diagnostics(tests, _failure_lines(session, tests)))
        problems += tests.load_problems  # code a test replaced, loaded back
        parts.append(f"{len(tests.passed)} passed, {len(tests.failed)} failed")
        if tests.not_run:
            parts.append(f"{len(tests.not_run)} not run")
        return SaveOutcome(by_file(found), ", ".join(parts), tuple(dict.fromkeys(problems)))

    def _load_runtime(
        self, session: Session, binaries: dict[str, bytes], removed: set[str]
    ) -> LoadReport:
        if self._runtime is None:
            self._runtime = NodeLoader(session.runtime)
        return self._runtime.sync(binaries, removed, force=self.force)


def _failure_lines(session: Session, tests: TestReport) -> dict[str, list[str]]:
    """The lines of the files failures point into, so their ranges cover the code.

    Split at "\n" only, as the editor counts lines."""
    lines: dict[str, list[str]] = {}
    for result in tests.results:
        if result.passed or result.path is None or result.path in lines:
            continue
        text = file_text(session.db, result.path)
        if text is not None:
            lines[result.path] = text.decode("utf-8", "replace").split("\n")
    return lines


def _loaded(report: LoadReport) -> list[str]:
    """What a load into holo's runtime node did, for the summary."""
    parts = [f"{len(report.loaded)} loaded"]
    if report.unloaded:
        parts.append(f"{len(report.unloaded)} unloaded ({', '.join(sorted(report.unloaded))})")
    return parts


def _nodes(nodes: tuple[str, ...]) -> str:
    return nodes[0] if len(nodes) == 1 else f"{len(nodes)} nodes"


class SaveRunner:
    """Runs the save hook in its own thread, one job at a time.

    ``session`` waits for the workspace to open (None if it could not be);
    ``settle`` waits for the edits received so far to be applied.
    """

    def __init__(
        self,
        hook: SaveHook,
        session: Callable[[], Session | None],
        begin: Callable[[str], ProgressReport],
        deliver: Callable[[SaveOutcome], None],
        settle: Callable[[], None] = lambda: None,
    ) -> None:
        self._hook = hook
        self._session = session
        self._begin = begin
        self._deliver = deliver
        self._settle = settle
        self._cond = threading.Condition()
        self._saved: list[Path] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="holo-lsp-save", daemon=True)
        self._thread.start()

    def saved(self, path: Path) -> None:
        with self._cond:
            if path not in self._saved:
                self._saved.append(path)
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
            session = self._session()  # saves made before the workspace opened wait here
            with self._cond:
                if self._stopping:
                    return
                saved, self._saved = self._saved, []
            if session is not None:
                self._settle()
                self._run(session, [session.workspace.key(path) for path in saved])

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
                message = outcome.message
                break
        except Exception as e:
            log.exception("the save hook failed")
            message = f"failed: {type(e).__name__}: {e}"
        finally:
            progress.end(message)
