"""One watch cycle: from a batch of changed paths to loaded code and test results.

Phases, each timed: detect (the save to the batch: debounce and the OS),
analyse (re-read the files, diagnostics), compile (the default profile into
`_build/holo`, and the test profile when tests run), load (holo's runtime node
and the user's nodes), tests (the ones the change can affect).

A module that does not compile keeps its previous code loaded and its error
is shown until fixed; a deleted module is unloaded and its .beam removed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from holo.build.driver import BuildReport, build, modules_of
from holo.build.loading import NodeLoader, remote_load
from holo.diagnostics import Diagnostic, Severity
from holo.project.workspace import ChangeSummary
from holo.queries.app_resource import app_resource
from holo.queries.project_check import project_diagnostics
from holo.queries.project_index import module_index
from holo.session import Session


@dataclass
class TestOutcome:
    selected: list[str] = field(default_factory=list)
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    failures: list[Diagnostic] = field(default_factory=list)  # at the failing assertions
    messages: dict[str, str] = field(default_factory=dict)  # test id -> what went wrong


class TestPhase(Protocol):
    """Runs the tests a build can affect, in the runtime node, and says how they went."""

    def __call__(self, session: Session, report: BuildReport) -> TestOutcome: ...


@dataclass
class CycleResult:
    changed: list[str]  # project-relative paths
    compiled: list[str]
    loaded: list[str]
    diagnostics: list[Diagnostic]  # of the files whose diagnostics changed in this cycle
    errors: int  # errors in the whole project now
    load_problems: list[str]
    tests: TestOutcome | None
    timings_ms: dict[str, float]
    superseded: bool = False  # newer changes arrived: the newest state wins
    unloaded: list[str] = field(default_factory=list)  # deleted modules, from holo's node


@dataclass
class WatchOptions:
    nodes: list[str] = field(default_factory=list)
    cookie: str | None = None
    force: bool = False
    tests: bool = True


class Cycle:
    """The state one watch session keeps between cycles."""

    def __init__(
        self, session: Session, options: WatchOptions, run_tests: TestPhase | None
    ) -> None:
        self.session = session
        self.options = options
        self.run_tests = run_tests if options.tests else None
        self.loader = NodeLoader(session.runtime)
        self.known_modules: set[str] = set()
        self.shown: dict[str, tuple[Diagnostic, ...]] = {}

    def run(
        self,
        changed: Iterable[Path],
        detected_at: float,
        newer_waiting: Callable[[], bool] = lambda: False,
    ) -> CycleResult:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        paths = sorted(set(changed))
        summary = self.session.workspace.apply_changes(paths) if paths else None
        diagnostics, errors = self._diagnostics()
        analysed = time.perf_counter()
        timings["analyse"] = _ms(analysed - start)
        # What really changed: editors' temporaries and touched-but-equal files drop out.
        rel = (
            sorted({*summary.changed_files, *summary.added, *summary.removed,
                    *self._changed_config(paths, summary)})
            if summary else []
        )
        result = CycleResult(rel, [], [], diagnostics, errors, [], None, timings)
        if newer_waiting():
            result.superseded = True
            return self._finish(result, start, detected_at)

        report = build(self.session.workspace, self.session.compiler, "default")
        profile_for_runtime = "test" if self.run_tests is not None else "default"
        runtime_report = (
            build(self.session.workspace, self.session.compiler, "test")
            if profile_for_runtime == "test"
            else report
        )
        result.compiled = sorted(set(report.compiled) | set(runtime_report.compiled))
        compiled = time.perf_counter()
        timings["compile"] = _ms(compiled - analysed)

        modules = set(modules_of(self.session.db, profile_for_runtime))
        removed = self.known_modules - modules
        self.known_modules = modules
        local = self.loader.sync(runtime_report.binaries, removed, force=self.options.force)
        remote: list[str] = []
        remote_problems: list[str] = []
        if self.options.nodes:
            remote, remote_problems = remote_load(
                self.session.agent, self.options.nodes, report.binaries,
                self.options.cookie, self.options.force,
            )
        result.loaded = sorted(local.loaded) + remote
        result.unloaded = sorted(local.unloaded)
        result.load_problems = local.problems + remote_problems
        loaded = time.perf_counter()
        timings["load"] = _ms(loaded - compiled)

        if self.run_tests is not None and not newer_waiting():
            result.tests = self.run_tests(self.session, runtime_report)
            timings["tests"] = _ms(time.perf_counter() - loaded)
        elif self.run_tests is not None:
            result.superseded = True
        return self._finish(result, start, detected_at)

    def _finish(self, result: CycleResult, start: float, detected_at: float) -> CycleResult:
        result.timings_ms["detect"] = _ms(max(0.0, start - detected_at))
        result.timings_ms["total"] = _ms(time.perf_counter() - detected_at)
        return result

    def _changed_config(self, paths: list[Path], summary: ChangeSummary) -> set[str]:
        """The configuration files among ``paths`` when they changed the project model
        (they are not file texts, so the summary does not name them)."""
        if not summary.project_changed:
            return set()
        workspace = self.session.workspace
        keys = (workspace.key(p) for p in paths)
        return {k for k in keys if not k.startswith("/") and workspace.project.is_config(k)}

    def _diagnostics(self) -> tuple[list[Diagnostic], int]:
        """Diagnostics of the files whose diagnostics changed since the last cycle, and the
        number of errors in the whole project.

        The project's problems are what `holo check` reports (rebar.config, the
        project's own modules and headers) and its .app.src files' problems.
        """
        db = self.session.db
        found = set(project_diagnostics(db).diagnostics)
        for app in sorted({m.app for m in module_index(db) if not m.is_dependency}):
            found.update(app_resource(db, app).diagnostics)
        by_path: dict[str, list[Diagnostic]] = {}
        for d in sorted(found, key=Diagnostic.sort_key):
            by_path.setdefault(d.path, []).append(d)
        current = {path: tuple(ds) for path, ds in by_path.items()}
        changed = [
            d for path, ds in current.items() if self.shown.get(path, ()) != ds for d in ds
        ]
        self.shown = current
        return changed, sum(1 for d in found if d.severity is Severity.ERROR)

def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 1)
