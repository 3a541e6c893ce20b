"""One build: which modules to compile, in which order, and what came of it.

The driver is an edge. It asks the codegen queries for every module of a
profile, but first hands the compiler all the jobs that are not cached yet,
layer by layer: the project's parse transforms and behaviours before their
users, and within a layer everything at once on the agent's schedulers. Then
it writes `_build/holo` and reports. Loading is in :mod:`holo.build.loading`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from holo.beam.compile_job import CompileJob, CompileResult
from holo.build.compiler import Compiler
from holo.build.output import EbinChanges, sync_ebin
from holo.diagnostics import Diagnostic, Severity
from holo.engine import Database
from holo.inputs import project_model
from holo.project.workspace import Workspace
from holo.queries.app_resource import app_resource
from holo.queries.codegen import (
    codegen,
    compile_cycle,
    compile_job,
    compile_key,
    compile_time_modules,
)
from holo.queries.project_index import ModuleFile, module_index

Progress = Callable[[int, int], None]


@dataclass
class BuildReport:
    profile: str
    modules: dict[str, ModuleFile]
    results: dict[str, CompileResult]
    compiled: list[str]  # modules the compiler ran on in this build
    cached: list[str]  # modules whose output came from memory or the cache, not the compiler
    diagnostics: list[Diagnostic]
    ebin: dict[str, EbinChanges] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        # A module without a BEAM failed, whatever severity its diagnostics have.
        return all(r.ok for r in self.results.values()) and not any(
            d.severity is Severity.ERROR for d in self.diagnostics
        )

    @property
    def binaries(self) -> dict[str, bytes]:
        return {m: r.binary for m, r in self.results.items() if r.binary is not None}


def modules_of(db: Database, profile: str) -> dict[str, ModuleFile]:
    """The modules a profile builds: sources (and dependencies'); test code too for "test"."""
    return {m.module: m for m in module_index(db) if profile == "test" or not m.is_test}


def _layers(db: Database, modules: dict[str, ModuleFile], profile: str) -> list[list[str]]:
    """Modules in compile-time order: each layer needs only modules of earlier layers."""
    needs = {
        name: set(compile_time_modules(db, m.path, profile)) & modules.keys()
        for name, m in modules.items()
    }
    layers, done = [], set()
    while needs:
        ready = sorted(name for name, deps in needs.items() if deps <= done)
        if not ready:  # a cycle: codegen reports it for each module on it
            ready = sorted(needs)
        layers.append(ready)
        done.update(ready)
        for name in ready:
            del needs[name]
    return layers


def build(
    workspace: Workspace,
    compiler: Compiler,
    profile: str = "default",
    *,
    write: bool = True,
    progress: Progress | None = None,
) -> BuildReport:
    """Compile a profile's modules (what is not cached), write `_build/holo`, report.

    ``progress(done, total)`` is called as each module's result becomes known,
    from the cache or from the compiler, never twice with the same ``done``.
    """
    db = workspace.db
    started = time.perf_counter()
    compiler.reset_counters()
    modules = modules_of(db, profile)
    results: dict[str, CompileResult] = {}
    keys: dict[str, bytes] = {}  # modules that reach the compiler (no cycle, some source)
    found: set[str] = set()

    def found_one(name: str) -> None:
        if name not in found:
            found.add(name)
            if progress is not None:
                progress(len(found), len(modules))

    for layer in _layers(db, modules, profile):
        waiting: dict[bytes, list[str]] = {}  # key -> modules whose result it brings

        def jobs_of(
            layer: list[str] = layer, waiting: dict[bytes, list[str]] = waiting
        ) -> Iterator[tuple[bytes, CompileJob]]:
            for name in layer:
                path = modules[name].path
                key = None if compile_cycle(db, path, profile) else compile_key(db, path, profile)
                if key is None:
                    found_one(name)
                    continue
                keys[name] = key
                if compiler.cached(key) is not None:
                    found_one(name)
                    continue
                job = compile_job(db, path, profile)
                if job is None:
                    found_one(name)
                    continue
                waiting.setdefault(key, []).append(name)
                yield key, job

        def came_back(key: bytes, waiting: dict[bytes, list[str]] = waiting) -> None:
            for name in waiting.get(key, ()):
                found_one(name)

        compiler.prefetch(jobs_of(), came_back)
        for name in layer:
            result = codegen(db, modules[name].path, profile)
            if not result.settled and name in keys:
                # The memo may hold what the agent could not answer in an earlier
                # build; this build asked again.
                job = compile_job(db, modules[name].path, profile)
                if job is not None:
                    result = compiler.result(keys[name], job)
            results[name] = result
            found_one(name)
    compiled_paths = set(compiler.compiled)
    compiled = sorted(n for n, m in modules.items() if m.path in compiled_paths)
    cached = sorted(
        n for n, key in keys.items() if key in compiler.hits and n not in compiled
    )
    diagnostics = list(project_model(db).diagnostics)
    for result in results.values():
        diagnostics.extend(result.diagnostics)
    apps = sorted({m.app for m in modules.values()})
    for app in apps:
        diagnostics.extend(app_resource(db, app).diagnostics)
    compile_done = time.perf_counter()
    report = BuildReport(
        profile=profile,
        modules=modules,
        results=results,
        compiled=compiled,
        cached=cached,
        diagnostics=sorted(set(diagnostics), key=Diagnostic.sort_key),
    )
    if write:
        for app in apps:
            in_app = {n for n, m in modules.items() if m.app == app}
            beams = {n: r.binary for n, r in results.items() if n in in_app and r.binary}
            failed = {n for n in in_app if results[n].binary is None}
            report.ebin[app] = sync_ebin(
                workspace.root, profile, app or "_extra", beams, app_resource(db, app).text,
                keep=failed,
            )
    finished = time.perf_counter()
    # Analysis and compilation overlap (jobs go to the agent as they are known),
    # so they are timed as one phase.
    report.timings_ms = {
        "compile": round((compile_done - started) * 1e3, 1),
        "write": round((finished - compile_done) * 1e3, 1),
    }
    return report
