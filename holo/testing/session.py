"""Test runs on a warm Session: build, load, select, run, record.

:class:`TestSession` is what `holo test`, the watcher and the language
server share. It keeps what a warm run needs in memory (the node's loaded
code, the impact records), so a run after one save costs the rebuild of what
changed, a few dictionary lookups per test, and the selected tests.

Tests run one at a time in ``session.runtime`` (not the compiler's node),
against the test profile's code. Each test's record is written to the
session's store at the end of the run (and on the way out of an interrupted
one).

The session keeps a record of what the runtime node runs (module by module,
the MD5 of its binary) and marks it in the node; a run checks the marks and
loads again only the modules someone else replaced since. Whoever else loads
a test build into ``session.runtime`` (the watcher, the language server)
does it through :meth:`TestSession.load`, so the next run has nothing to
send again.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path

from holo.build.driver import BuildReport, build, modules_of
from holo.build.loading import LoadReport
from holo.build.output import ebin_dir
from holo.diagnostics import Diagnostic
from holo.inputs import file_text, project_model
from holo.session import Session
from holo.testing.discovery import TestCase, discover
from holo.testing.impact import ImpactStore, TestImpact, impact_of, project_identity
from holo.testing.load_time import LoadTimeCode
from holo.testing.loading import CodeSync
from holo.testing.reporting import not_run_result, result_of
from holo.testing.results import TestReport, TestResult, failure_diagnostics
from holo.testing.runner import UNRESPONSIVE_MARGIN_S, NodeRunner, Setup
from holo.testing.selection import select
from holo.testing.snapshot import Snapshot, module_key

PROFILE = "test"
DEFAULT_TIMEOUT_S = 60.0

# Called after each test: (result, tests done, tests selected).
Progress = Callable[[TestResult, int, int], None]


class TestSession:
    """Runs a project's affected tests, again and again, on one warm Session."""

    __test__ = False  # not a pytest test class

    def __init__(self, session: Session) -> None:
        self.session = session
        self._lock = threading.Lock()
        self._code: CodeSync | None = None
        self._impacts: ImpactStore | None = None
        self._runner: NodeRunner | None = None
        # How long past its timeout a test may keep the node from answering at all.
        self.unresponsive_margin_s = UNRESPONSIVE_MARGIN_S

    @property
    def impacts(self) -> ImpactStore:
        model = project_model(self.session.db)
        identity = project_identity(model, self.session.project_root.name)
        if self._impacts is None or self._impacts.identity != identity:
            if self._impacts is not None:
                self._impacts.flush()
            self._impacts = ImpactStore(self.session.store, self.session.salt, identity)
        return self._impacts

    def discover(self, build_report: BuildReport | None = None) -> list[TestCase]:
        """Every test of the project (building the test profile's module list if need be)."""
        if build_report is not None and build_report.profile == PROFILE:
            modules = build_report.modules
        else:
            modules = modules_of(self.session.db, PROFILE)
        return discover(self.session.db, modules.values())

    def run(
        self,
        build_report: BuildReport | None = None,
        *,
        everything: bool = False,
        timeout: float = DEFAULT_TIMEOUT_S,
        progress: Progress | None = None,
    ) -> TestReport:
        """Build (unless given the test profile's build), then run the affected tests.

        ``everything`` runs every test and refreshes every record.
        """
        if timeout <= 0:
            raise ValueError("the test timeout must be positive")
        with self._lock:
            return self._run(build_report, everything, timeout, progress)

    def load(self, report: BuildReport, removed: set[str] | None = None) -> LoadReport:
        """Load a test build into ``session.runtime`` as the session's own code.

        Loads what the node does not run yet, unloads ``removed`` (and the
        modules of an earlier build that this one lacks), and loads again the
        ``-on_load`` modules whose load-time code changed. The next
        :meth:`run` on the same build sends nothing again.
        """
        with self._lock:
            return self._load(report, set(removed or ()), self._load_time(report))

    def not_running(self, binaries: Mapping[str, bytes]) -> set[str]:
        """The modules of ``binaries`` the runtime node does not run exactly, as its
        loads left it (those a load refused, or that were never loaded)."""
        with self._lock:
            return self._sync().stale(set(binaries), binaries)

    @property
    def binaries_sent(self) -> int:
        """How many module binaries this session has sent to the runtime node."""
        return 0 if self._code is None else self._code.sent

    def close(self) -> None:
        with self._lock:
            if self._impacts is not None:
                self._impacts.flush()

    # ------------------------------------------------------------------

    def _run(
        self,
        given: BuildReport | None,
        everything: bool,
        timeout: float,
        progress: Progress | None,
    ) -> TestReport:
        session = self.session
        started = time.perf_counter()
        report = given
        if report is None or report.profile != PROFILE:
            report = build(session.workspace, session.compiler, PROFILE)
        built = time.perf_counter()
        load_time = self._load_time(report)
        load = self._load(report, set(), load_time)
        code = self._sync()
        stale = code.stale(set(report.modules), report.binaries)
        loaded = time.perf_counter()

        snapshot = Snapshot.take(session.db, report.modules, frozenset(stale), load_time)
        tests = discover(session.db, report.modules.values())
        impacts = self.impacts
        selection = select(tests, impacts, snapshot, everything=everything)
        selected_at = time.perf_counter()

        results: list[TestResult] = []
        # Stale modules too: what a test runs of their old code must be recorded.
        trace = sorted(report.modules)
        code_paths = [
            str(path)
            for app in sorted({m.app for m in report.modules.values()})
            if (path := ebin_dir(session.project_root, PROFILE, app or "_extra")).is_dir()
        ]
        runner = self._node_runner()
        runner.unresponsive_margin_s = self.unresponsive_margin_s
        if selection.selected:
            runner.setup(Setup(trace, str(session.project_root), code_paths))
        try:
            for test, reason in selection.selected:
                blocked = self._blocked_by(test, impacts.get(test.id), stale)
                if blocked is not None:
                    result = not_run_result(test, reason, blocked)
                else:
                    outcome = runner.run(test, timeout_s=timeout)
                    result = result_of(test, reason, outcome, report)
                    impacts.put(impact_of(test, outcome, snapshot))
                    if outcome.reloaded:
                        problems = self._restore_code(outcome.reloaded, report, load_time)
                        load.problems.extend(problems)
                        stale = code.stale(set(report.modules), report.binaries)
                        snapshot.stale = frozenset(stale)
                results.append(result)
                if progress is not None:
                    progress(result, len(results), len(selection.selected))
        finally:
            impacts.flush()
        finished = time.perf_counter()
        return TestReport(
            total=len(tests),
            results=results,
            skipped=[t.id for t in selection.skipped],
            diagnostics=list(report.diagnostics),
            load_problems=load.problems,
            loaded=load.loaded,
            timings_ms={
                "build": _ms(built - started),
                "load": _ms(loaded - built),
                "select": _ms(selected_at - loaded),
                "run": _ms(finished - selected_at),
                "total": _ms(finished - started),
            },
        )

    def _node_runner(self) -> NodeRunner:
        if self._runner is None:
            # One marker file per test, deleted after it: no directory to clean up.
            # Unguessable, so nobody else's file can pass for one.
            name = f"holo-test-{os.getpid()}-{secrets.token_hex(8)}"
            prefix = Path(_memory_tmp() or tempfile.gettempdir()) / name
            self._runner = NodeRunner(self.session.runtime, prefix)
        return self._runner

    def _sync(self) -> CodeSync:
        if self._code is None:
            self._code = CodeSync(self.session.runtime)
        return self._code

    def _load_time(self, report: BuildReport) -> LoadTimeCode:
        return LoadTimeCode(self.session.db, report.modules, report.profile)

    def _load_time_digests(self, report: BuildReport, load_time: LoadTimeCode) -> dict[str, bytes]:
        """For each -on_load module, what its on_load runs (see load_time.py)."""
        db, modules = self.session.db, report.modules

        def key_of(module: str) -> bytes:
            return module_key(db, modules[module].path)

        return {m: load_time.digest(m, key_of) for m in load_time.on_load_modules()}

    def _load(self, report: BuildReport, removed: set[str], load_time: LoadTimeCode) -> LoadReport:
        """Load the build into the runtime node (see :meth:`load`)."""
        node = self.session.runtime
        code = self._sync()
        drift = node.call("test_code_drift")
        if drift == "unknown":
            code.forget()  # a new VM: trust nothing we remember
        elif drift:
            code.forget(set(drift))  # someone else loaded other code into these
        gone = removed | (set(code.running) - set(report.modules))
        result = code.sync(report.binaries, gone, self._load_time_digests(report, load_time))
        self._mark(code)
        return result

    def _restore_code(
        self, modules: tuple[str, ...], report: BuildReport, load_time: LoadTimeCode
    ) -> list[str]:
        """Put the build's code back into modules a test replaced; the problems."""
        code = self._sync()
        replaced = {m for m in modules if m in report.binaries}
        code.forget(replaced)
        binaries = {m: report.binaries[m] for m in replaced}
        digests = {
            m: d for m, d in self._load_time_digests(report, load_time).items() if m in replaced
        }
        result = code.sync(binaries, set(), digests)
        self._mark(code)
        return result.problems

    def _mark(self, code: CodeSync) -> None:
        self.session.runtime.call("test_code_marks", {"modules": sorted(code.running)})

    @staticmethod
    def _blocked_by(test: TestCase, impact: TestImpact | None, stale: set[str]) -> str | None:
        """The module that keeps a test from running on this build's code, if any."""
        if test.module in stale:
            return test.module
        if impact is not None:
            for module, _ in impact.modules:
                if module in stale:
                    return module
        return None


def _memory_tmp() -> str | None:
    """A RAM-backed temporary directory if there is one: a marker per test is cheaper there."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


_sessions: weakref.WeakKeyDictionary[Session, TestSession] = weakref.WeakKeyDictionary()
_sessions_lock = threading.Lock()


def session_tests(session: Session) -> TestSession:
    """The TestSession of a Session, made on first use and kept as long as the Session."""
    with _sessions_lock:
        found = _sessions.get(session)
        if found is None:
            found = _sessions[session] = TestSession(session)
        return found


def run_affected(
    session: Session,
    report: BuildReport | None = None,
    *,
    all: bool = False,  # noqa: A002 - the name the CLI flag has
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: Progress | None = None,
) -> TestReport:
    """Run the tests an edit can affect on a warm Session (the watcher and the LSP call this).

    ``report``: the test profile's build if the caller already made it (else
    this builds it). ``all``: run everything and refresh every record.
    """
    return session_tests(session).run(report, everything=all, timeout=timeout, progress=progress)


def diagnostics_of(session: Session, report: TestReport) -> list[Diagnostic]:
    """The report's failures as Diagnostics (source "eunit"), each spanning its line's code."""
    return failure_diagnostics(report, source_lines(session, report))


def source_lines(session: Session, report: TestReport) -> dict[str, list[str]]:
    """The lines of the files the report's failures point into.

    They come from the session's inputs (an editor's unsaved buffer included),
    never from a fresh read of the disk.
    """
    lines: dict[str, list[str]] = {}
    for result in report.results:
        if result.passed or result.path is None or result.path in lines:
            continue
        text = file_text(session.db, result.path)
        if text is not None:
            lines[result.path] = text.decode("utf-8", "replace").splitlines()
    return lines


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 1)
