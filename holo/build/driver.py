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
from holo.queries.codegen import codegen, compile_job, compile_key, compile_time_modules
from holo.queries.project_index import ModuleFile, module_index

Progress = Callable[[int, int], None]


@dataclass
class BuildReport:
    profile: str
    modules: dict[str, ModuleFile]
    results: dict[str, CompileResult]
    compiled: list[str]  # modules the compiler ran on in this build
    cached: list[str]  # modules whose output came from memory or the cache
    diagnostics: list[Diagnostic]
    ebin: dict[str, EbinChanges] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

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
    db = workspace.db
    started = time.perf_counter()
    compiler.reset_counters()
    modules = modules_of(db, profile)
    results: dict[str, CompileResult] = {}
    for layer in _layers(db, modules, profile):

        def jobs_of(layer: list[str] = layer) -> Iterator[tuple[bytes, CompileJob]]:
            for name in layer:
                path = modules[name].path
                key = compile_key(db, path, profile)
                if key is None or compiler.cached(key) is not None:
                    continue
                job = compile_job(db, path, profile)
                if job is not None:
                    yield key, job

        compiler.prefetch(jobs_of())
        for name in layer:
            results[name] = codegen(db, modules[name].path, profile)
            if progress is not None:
                progress(len(results), len(modules))
    compiled_paths = set(compiler.compiled)
    compiled = sorted(n for n, m in modules.items() if m.path in compiled_paths)
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
        cached=sorted(set(modules) - set(compiled)),
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
