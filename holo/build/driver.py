"""One build: which modules to compile, in which order, and what came of it.

The driver is an edge. It asks the codegen queries for every module of a
profile, but first streams to the compiler every job that is not cached yet:
a module's job goes to the agent as soon as its compile key is known and the
project modules it needs at compile time (its parse transforms and
behaviours) have their results, so the agent compiles while holo analyses
the next modules, and a module that needs none (most of them) goes at once.
What still waits when nothing else can move is a compile-time cycle. Then it
writes `_build/holo` and reports. Loading is in :mod:`holo.build.loading`.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from holo.beam.compile_job import CompileResult
from holo.build.compiler import Compiler
from holo.build.output import EbinChanges, EbinWriter, Written, sync_ebin
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


class _Schedule:
    """Which modules may go to the compiler: those whose compile-time needs have results."""

    def __init__(self, db: Database, modules: dict[str, ModuleFile], profile: str) -> None:
        self._db = db
        self._modules = modules
        self._profile = profile
        self._done: set[str] = set()
        self._unmet: dict[str, set[str]] = {}  # module -> what it waits for
        self._waiters: dict[str, list[str]] = {}  # module -> the modules waiting for it
        self.ready: deque[str] = deque()

    def add(self, name: str) -> None:
        """Consider a module: ready now, or once what it needs is done."""
        needs = compile_time_modules(self._db, self._modules[name].path, self._profile)
        unmet = {dep for dep in needs if dep in self._modules and dep not in self._done}
        if not unmet:
            self.ready.append(name)
            return
        self._unmet[name] = unmet
        for dep in unmet:
            self._waiters.setdefault(dep, []).append(name)

    def done(self, name: str) -> None:
        """A module's result is known: what waited only for it is ready."""
        self._done.add(name)
        for waiter in self._waiters.pop(name, ()):
            unmet = self._unmet.get(waiter)
            if unmet is not None:
                unmet.discard(name)
                if not unmet:
                    del self._unmet[waiter]
                    self.ready.append(waiter)

    @property
    def waiting(self) -> bool:
        return bool(self._unmet)

    def break_cycles(self) -> None:
        """Nothing is on its way, yet modules wait: they wait on a cycle.

        The modules on a cycle are ready (codegen reports the cycle for each);
        those that only need one wait on, for its failed result.
        """
        on_cycle = sorted(
            name for name in self._unmet
            if compile_cycle(self._db, self._modules[name].path, self._profile)
        )
        for name in on_cycle or sorted(self._unmet):
            del self._unmet[name]
            self.ready.append(name)


def _compile_all(
    db: Database,
    compiler: Compiler,
    modules: dict[str, ModuleFile],
    profile: str,
    writer: EbinWriter | None,
    progress: Progress | None,
) -> dict[str, bytes]:
    """Get every module's result into the compiler's memory, streaming the jobs
    it has to run; the compile key of each module that has one."""
    keys: dict[str, bytes] = {}  # modules that reach the compiler (no cycle, some source)
    waiting: dict[bytes, list[str]] = {}  # key -> modules whose result it brings
    found: set[str] = set()
    schedule = _Schedule(db, modules, profile)

    def found_one(name: str, result: CompileResult | None = None) -> None:
        """A module's result is known; ``result`` is one the compiler just made,
        written at once (a cached one most likely is on disk already: sync_ebin sees)."""
        if name in found:
            return
        found.add(name)
        schedule.done(name)
        if writer is not None and result is not None and result.binary is not None:
            writer.put(modules[name].app or "_extra", name, result.binary)
        if progress is not None:
            progress(len(found), len(modules))

    def came_back(key: bytes, result: CompileResult | None) -> None:
        for name in waiting.pop(key, ()):
            found_one(name, result)

    stream = compiler.stream(came_back)

    def send(name: str) -> None:
        """Hand the module's job to the compiler, unless its result is known already."""
        path = modules[name].path
        key = None if compile_cycle(db, path, profile) else compile_key(db, path, profile)
        if key is None:
            found_one(name)
            return
        keys[name] = key
        if compiler.cached(key) is not None:
            found_one(name)
            return
        job = compile_job(db, path, profile)
        if job is None:
            found_one(name)
            return
        waiting.setdefault(key, []).append(name)
        if not stream.submit(key, job):  # answered in this build already
            came_back(key, None)

    def send_ready() -> None:
        while schedule.ready:
            send(schedule.ready.popleft())

    try:
        for name in sorted(modules):
            schedule.add(name)
            send_ready()
            stream.poll()
            send_ready()
        while schedule.ready or schedule.waiting:
            send_ready()
            if not schedule.waiting:
                break
            if not stream.wait():
                schedule.break_cycles()
        stream.finish()
    except BaseException:  # cancelled by a newer revision, or holo's own bug
        stream.abandon()
        raise
    for name in modules:  # what had no key, or came back without a result of its own
        found_one(name)
    return keys


@dataclass(frozen=True)
class _Settled:
    """What a build found, at the revision it saw, when every result was settled: the
    same revision has the same answers (queries are pure), so a build of the same
    profile at that revision needs none of its queries again."""

    db: Database
    revision: int
    modules: dict[str, ModuleFile]
    results: dict[str, CompileResult]
    keys: dict[str, bytes]
    diagnostics: list[Diagnostic]
    apps: list[str]
    app_files: dict[str, bytes | None]


# Per compiler (one per Session) and profile: its last build, when it can stand again.
_settled: weakref.WeakKeyDictionary[Compiler, dict[str, _Settled]] = weakref.WeakKeyDictionary()


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
    revision = db.revision
    last = _settled.get(compiler, {}).get(profile)
    if last is not None and last.db is db and last.revision == revision:
        # Nothing changed since that build: its results, every one from memory.
        found = last
        compiled: list[str] = []
        cached = sorted(last.keys)
        if progress is not None:
            for done in range(1, len(last.modules) + 1):
                progress(done, len(last.modules))
        written: dict[str, dict[str, Written]] = {}
    else:
        writer = EbinWriter(workspace.root, profile) if write else None
        try:
            found = _analyse_and_compile(db, compiler, profile, writer, progress, revision)
        except BaseException:
            if writer is not None:
                with contextlib.suppress(OSError):
                    writer.finish()
            raise
        compiled_paths = set(compiler.compiled)
        compiled = sorted(n for n, m in found.modules.items() if m.path in compiled_paths)
        ran = set(compiled)
        cached = sorted(
            n for n, key in found.keys.items() if key in compiler.hits and n not in ran
        )
        written = writer.finish() if writer is not None else {}
        if db.revision == revision and all(r.settled for r in found.results.values()):
            _settled.setdefault(compiler, {})[profile] = found
        else:
            _settled.get(compiler, {}).pop(profile, None)
    compile_done = time.perf_counter()
    modules, results = found.modules, found.results
    report = BuildReport(
        profile=profile,
        modules=dict(modules),
        results=dict(results),
        compiled=compiled,
        cached=cached,
        diagnostics=list(found.diagnostics),
    )
    if write:
        beams_of: dict[str, dict[str, bytes]] = {app: {} for app in found.apps}
        failed_of: dict[str, set[str]] = {app: set() for app in found.apps}
        for name, result in results.items():
            app = modules[name].app
            if result.binary is not None:
                beams_of[app][name] = result.binary
            else:
                failed_of[app].add(name)
        for app in found.apps:
            report.ebin[app] = sync_ebin(
                workspace.root, profile, app or "_extra", beams_of[app], found.app_files[app],
                keep=failed_of[app], written=written.get(app or "_extra"),
            )
    finished = time.perf_counter()
    # Analysis and compilation overlap (jobs go to the agent as they are known),
    # so they are timed as one phase.
    report.timings_ms = {
        "compile": round((compile_done - started) * 1e3, 1),
        "write": round((finished - compile_done) * 1e3, 1),
    }
    return report


def _analyse_and_compile(
    db: Database,
    compiler: Compiler,
    profile: str,
    writer: EbinWriter | None,
    progress: Progress | None,
    revision: int,
) -> _Settled:
    """Every module's result, compiling what is not cached; and what the report needs."""
    modules = modules_of(db, profile)
    keys = _compile_all(db, compiler, modules, profile, writer, progress)
    results: dict[str, CompileResult] = {}
    for name in sorted(modules):
        result = codegen(db, modules[name].path, profile)
        if not result.settled and name in keys:
            # The memo may hold what the agent could not answer in an earlier
            # build; this build asked again.
            job = compile_job(db, modules[name].path, profile)
            if job is not None:
                result = compiler.result(keys[name], job)
        results[name] = result
    diagnostics = list(project_model(db).diagnostics)
    for result in results.values():
        diagnostics.extend(result.diagnostics)
    apps = sorted({m.app for m in modules.values()})
    app_files: dict[str, bytes | None] = {}
    for app in apps:
        resource = app_resource(db, app)
        diagnostics.extend(resource.diagnostics)
        app_files[app] = resource.text
    return _Settled(
        db, revision, modules, results, keys,
        sorted(set(diagnostics), key=Diagnostic.sort_key), apps, app_files,
    )  # fmt: skip
