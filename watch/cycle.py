"""One watch cycle: from a batch of changed paths to loaded code and test results.

Phases, each timed: detect (the save to the start of the cycle: the OS, the
watcher, the wait for a burst to end), analyse (re-read the files, holo's
diagnostics), compile (the default profile into `_build/holo`, and the test
profile when tests run), load (holo's runtime node and the user's nodes,
after the settle time the loop asks for, see holo.watch.loop), tests (the
ones the change can affect). Every phase is in every result, 0 when it did not
run.

A module that does not compile keeps its previous code loaded and its error
is shown until fixed; a deleted module is unloaded and its .beam removed.

Newer changes waiting supersede a cycle at its next check: after analysis,
between the two profiles, before loading (stale code never reaches a node)
and before the tests. A superseded cycle reports nothing; what it did (the
paths that changed, the modules it compiled and loaded) is reported by the
cycle that supersedes it, so one burst of saves is one reported cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from holo.build.driver import BuildReport, build, modules_of
from holo.build.loading import LoadReport, NodeLoader
from holo.build.node_targets import NO_TARGETS, NodeTargets
from holo.build.user_nodes import UserNodeLoader
from holo.diagnostics import Diagnostic, Severity
from holo.errors import UserError
from holo.inputs import project_model
from holo.project.workspace import ChangeSummary
from holo.queries.app_resource import app_resource
from holo.queries.project_check import project_diagnostics
from holo.queries.project_index import module_index
from holo.session import Session
from holo.watch.targets import resolve_targets

PHASES = ("detect", "analyse", "compile", "load", "tests", "total")


@dataclass
class TestFailure:
    id: str  # "module:function"
    message: str  # one line
    details: str  # expected and actual values, the stack, a generator's cases
    diagnostic: Diagnostic | None  # at the failing assertion; None when it has no place


@dataclass
class TestOutcome:
    selected: list[str] = field(default_factory=list)
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    failures: list[TestFailure] = field(default_factory=list)
    load_problems: list[str] = field(default_factory=list)  # code a test replaced, put back


class TestPhase(Protocol):
    """Loads the test build into the runtime node, and runs the tests it can affect there."""

    def load(self, session: Session, report: BuildReport, removed: set[str]) -> LoadReport: ...

    def run(self, session: Session, report: BuildReport) -> TestOutcome: ...


@dataclass
class CycleResult:
    changed: list[str]  # project-relative paths
    compiled: list[str]
    loaded: list[str]
    diagnostics: list[Diagnostic]  # of the files whose diagnostics changed since last shown
    errors: int  # errors in the whole project now
    load_problems: list[str]
    tests: TestOutcome | None
    timings_ms: dict[str, float]
    unloaded: list[str] = field(default_factory=list)  # deleted modules, from holo's node
    error_files: dict[str, int] = field(default_factory=dict)  # path -> errors, whole project
    modules: int = 0  # modules of the default profile
    superseded: int = 0  # earlier cycles whose work this one reports


@dataclass
class WatchOptions:
    nodes: list[str] = field(default_factory=list)  # from the command line
    cookie: str | None = None
    force: bool = False
    tests: bool = True


@dataclass
class _Pending:
    """What superseded cycles did, for the cycle that reports it."""

    saved_at: float
    changed: set[str] = field(default_factory=set)
    compiled: set[str] = field(default_factory=set)
    loaded: set[str] = field(default_factory=set)  # into holo's node
    loaded_remote: set[str] = field(default_factory=set)  # "node:module"
    unloaded: set[str] = field(default_factory=set)
    load_problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    superseded: int = 0


class Superseded(Exception):
    """Newer changes are waiting: the cycle stops at its next check."""


class Cycle:
    """The state one watch session keeps between cycles."""

    def __init__(
        self,
        session: Session,
        options: WatchOptions,
        run_tests: TestPhase | None,
        targets: NodeTargets = NO_TARGETS,
    ) -> None:
        self.session = session
        self.options = options
        self.targets = targets
        self.run_tests = run_tests if options.tests else None
        self.loader = NodeLoader(session.runtime)
        self.user_nodes = UserNodeLoader(lambda: session.agent)
        self.known_modules: set[str] = set()
        self.shown: dict[str, tuple[Diagnostic, ...]] = {}
        self.errors = 0
        self._pending: _Pending | None = None

    def run(
        self,
        changed: Iterable[Path],
        saved_at: float,
        newer_waiting: Callable[[], bool] = lambda: False,
        *,
        load_not_before: float = 0.0,
    ) -> CycleResult | None:
        """Run a cycle over the paths changed since the last; None when newer changes
        superseded it (the next cycle reports its work).

        ``load_not_before`` (a perf_counter time): a cycle waits for it before loading,
        watching for newer changes meanwhile.
        """
        pending = self._pending
        if pending is None:
            pending = self._pending = _Pending(saved_at)
            pending.timings["detect"] = _ms(max(0.0, time.perf_counter() - saved_at))
        pending.saved_at = min(pending.saved_at, saved_at)
        try:
            result = self._run(sorted(set(changed)), pending, newer_waiting, load_not_before)
        except Superseded:
            pending.superseded += 1
            return None
        self._pending = None
        return result

    @property
    def pending(self) -> int:
        """The paths superseded cycles changed, which the next cycle reports (at least 1
        when a cycle was superseded)."""
        pending = self._pending
        return 0 if pending is None else max(1, len(pending.changed))

    def abandon(self) -> list[str]:
        """Forget what superseded cycles did (the cycle after them failed); their paths."""
        pending, self._pending = self._pending, None
        return sorted(pending.changed) if pending is not None else []

    # ------------------------------------------------------------------

    def _run(
        self,
        paths: list[Path],
        pending: _Pending,
        newer_waiting: Callable[[], bool],
        load_not_before: float,
    ) -> CycleResult:
        timings = pending.timings

        def check() -> None:
            if newer_waiting():
                raise Superseded

        with _Phase(timings, "analyse"):
            summary = self.session.workspace.apply_changes(paths) if paths else None
            if summary is not None:
                pending.changed.update(summary.changed_files, summary.added, summary.removed,
                                       self._changed_config(paths, summary))
                if summary.project_changed:
                    pending.load_problems.extend(self._reread_targets())
            own = self._holo_diagnostics()
        check()

        with _Phase(timings, "compile"):
            report = build(self.session.workspace, self.session.compiler, "default")
            pending.compiled.update(report.compiled)
        reports = [report]
        runtime_report = report
        if self.run_tests is not None:
            check()
            with _Phase(timings, "compile"):
                runtime_report = build(self.session.workspace, self.session.compiler, "test")
                pending.compiled.update(runtime_report.compiled)
            reports.append(runtime_report)
        check()
        with _Phase(timings, "load"):
            while time.perf_counter() < load_not_before:
                time.sleep(0.002)
                check()
            modules = set(runtime_report.modules)
            removed = self.known_modules - modules
            if self.run_tests is not None:  # the runtime node runs the test build
                local = self.run_tests.load(self.session, runtime_report, removed)
            else:
                local = self.loader.sync(
                    runtime_report.binaries, removed, force=self.options.force
                )
            self.known_modules = modules
            remote = self.user_nodes.load(
                self.targets, report.binaries, removed, force=self.options.force
            )
            pending.loaded.update(local.loaded)
            pending.loaded_remote.update(remote.loaded)
            pending.unloaded.update(local.unloaded)
            pending.load_problems.extend(local.problems + remote.problems)

        tests = None
        if self.run_tests is not None:
            check()
            with _Phase(timings, "tests"):
                tests = self.run_tests.run(self.session, runtime_report)
            pending.load_problems.extend(tests.load_problems)

        found = own | _compiler_diagnostics(reports, own)
        error_files: dict[str, int] = {}
        for d in found:
            if d.severity is Severity.ERROR:
                error_files[d.path] = error_files.get(d.path, 0) + 1
        self.errors = sum(error_files.values())
        timings["total"] = _ms(max(0.0, time.perf_counter() - pending.saved_at))
        return CycleResult(
            changed=sorted(pending.changed),
            compiled=sorted(pending.compiled),
            loaded=sorted(pending.loaded) + sorted(pending.loaded_remote),
            diagnostics=self._newly_shown(found),
            errors=self.errors,
            load_problems=pending.load_problems,
            tests=tests,
            timings_ms={phase: timings[phase] for phase in PHASES},
            unloaded=sorted(pending.unloaded),
            error_files=dict(sorted(error_files.items())),
            modules=len(modules_of(self.session.db, "default")),
            superseded=pending.superseded,
        )

    def _changed_config(self, paths: list[Path], summary: ChangeSummary) -> set[str]:
        """The configuration files among ``paths`` when they changed the project model
        (they are not file texts, so the summary does not name them)."""
        if not summary.project_changed:
            return set()
        workspace = self.session.workspace
        keys = (workspace.key(p) for p in paths)
        return {k for k in keys if not k.startswith("/") and workspace.project.is_config(k)}

    def _reread_targets(self) -> list[str]:
        """Take the nodes and cookie rebar.config now names (unless the command line named
        them); a problem keeps the previous ones and is reported."""
        settings = project_model(self.session.db).settings
        try:
            self.targets = resolve_targets(
                self.options.nodes, self.options.cookie, settings, where="rebar.config: "
            )
        except UserError as e:
            return [f"{e}; still loading into {', '.join(self.targets.nodes) or 'no node'}"]
        return []

    def _holo_diagnostics(self) -> set[Diagnostic]:
        """What `holo check` reports (rebar.config, the project's own modules and headers),
        and the project's .app.src files' problems."""
        db = self.session.db
        found = set(project_diagnostics(db).diagnostics)
        for app in sorted({m.app for m in module_index(db) if not m.is_dependency}):
            found.update(app_resource(db, app).diagnostics)
        return found

    def _newly_shown(self, found: set[Diagnostic]) -> list[Diagnostic]:
        """The diagnostics of the files whose diagnostics changed since the last result."""
        by_path: dict[str, list[Diagnostic]] = {}
        for d in sorted(found, key=Diagnostic.sort_key):
            by_path.setdefault(d.path, []).append(d)
        current = {path: tuple(ds) for path, ds in by_path.items()}
        changed = [
            d
            for path in sorted(current.keys() | self.shown.keys())
            if self.shown.get(path, ()) != current.get(path, ())
            for d in current.get(path, ())
        ]
        self.shown = current
        return changed


def _compiler_diagnostics(reports: list[BuildReport], own: set[Diagnostic]) -> set[Diagnostic]:
    """What OTP's compiler found in the project's own modules that holo did not.

    Both profiles compile most modules; their diagnostics count once. Where holo
    already reports an error in a file, the compiler's errors there are mostly
    the same mistake seen again, so they wait until holo's are fixed; a compiler
    warning on a line where holo reports something is the same finding.
    """
    holo_error_files = {d.path for d in own if d.severity is Severity.ERROR}
    holo_lines = {(d.path, d.line, d.severity) for d in own}
    found: set[Diagnostic] = set()
    for report in reports:
        for name, result in report.results.items():
            module = report.modules.get(name)
            if module is None or module.is_dependency:
                continue
            for d in result.diagnostics:
                if d.source != "erlc" or (d.path, d.line, d.severity) in holo_lines:
                    continue
                if d.severity is Severity.ERROR and d.path in holo_error_files:
                    continue
                found.add(d)
    return found


class _Phase:
    """Adds the time spent inside to a phase's total."""

    def __init__(self, timings: dict[str, float], phase: str) -> None:
        self.timings = timings
        self.phase = phase

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.phase] = round(
            self.timings[self.phase] + (time.perf_counter() - self.start) * 1e3, 1
        )


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 1)
