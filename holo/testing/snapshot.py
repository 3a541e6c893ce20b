"""The code a test run sees: every module's function and module fingerprints, at one moment.

A test's impact record compares against these. Function fingerprints come
from ``function_fingerprints`` (test profile: after macro and record
expansion, so a header edit changes exactly the functions that use it).

``module_key`` is a module's fingerprint for what can change behaviour
without changing any function's fingerprint: ``module_level_fingerprint``
(exports, imports, ``-compile`` options, ``-on_load``, ``-nifs``,
behaviours), plus

* the functions it defines, under ``export_all`` (they are its exports);
* every function's fingerprint when the module has ``-on_load`` (the on_load
  function runs when the module loads, not during the test, so its calls are
  never counted) or asks for inlining (an inlined function's body runs
  inside its caller, uncounted). What ``-on_load`` runs in *other* modules
  is not in the key (their body edits must not change this module's
  derived data): impact records hold it (:mod:`holo.testing.load_time`);
* the code of the project's parse transforms the module is compiled with,
  and of the project modules they call: they run at compile time;
* its application's ``.app.src`` (env defaults, ``mod``, registered names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from holo.engine import codec, query
from holo.inputs import data_digest, external_module, file_text, project_model
from holo.queries.item_tree import item_tree
from holo.queries.project_index import ModuleFile, compile_env, file_app_of, module_path
from holo.queries.resolve import (
    ResolvedModule,
    function_fingerprints,
    module_level_fingerprint,
    resolve,
)
from holo.testing.load_time import MFA, LoadTimeCode

PROFILE = "test"
ABSENT = b""  # the key of a module the project does not have
UNBUILT = b"unbuilt"  # the fingerprint of code the node did not get from this build

Function = tuple[str, int]
# Compiler-generated functions: '-f/1-fun-0-', '-f/1-lc$^0/1-0-', '-inlined-f/1-'.
_GENERATED = re.compile(r"^-(?:inlined-)?(.+?)/(\d+)-")


def source_function(name: str, arity: int) -> Function:
    """The source function whose code a compiled function is: funs and comprehensions
    belong to the function they are written in."""
    if name.startswith("-"):
        match = _GENERATED.match(name)
        if match is not None:
            return match.group(1), int(match.group(2))
    return name, arity


def _asks_for_inlining(db: Any, path: str, resolved: ResolvedModule) -> bool:
    for file in (path, *resolved.includes):
        tree = item_tree(db, file)
        if tree is None:
            continue
        for attr in tree.attributes_of("compile"):
            if (attr.name or "").startswith("inline") or "inline" in attr.text:
                return True
    model = project_model(db)
    app = file_app_of(model, path)
    sources = [model.erl_opts.source, app.erl_opts.source if app is not None else ""]
    return any("inline" in source for source in sources)


def _parse_transforms(db: Any, path: str, resolved: ResolvedModule) -> list[str]:
    names = [*compile_env(db, path, PROFILE).parse_transforms, *resolved.compile.parse_transforms]
    own = resolved.module
    return sorted({n for n in names if n != own and module_path(db, n) is not None})


def _compile_time_code(db: Any, transforms: list[str]) -> list[bytes]:
    """Fingerprints of the transforms and every project module they reach by remote calls."""
    seen: set[str] = set()
    queue = list(transforms)
    parts: list[bytes] = []
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_path(db, module)
        if path is None:
            continue
        parts.append(module.encode())
        parts.append(codec.fingerprint(function_fingerprints(db, path, PROFILE)))
        parts.append(module_level_fingerprint(db, path, PROFILE))
        resolved = resolve(db, path, PROFILE)
        if resolved is not None:
            queue.extend(m for f in resolved.functions for m, _, _ in f.remote_calls)
    return parts


@query(name="holo.testing.module_key", persist=True)
def module_key(db: Any, path: str) -> bytes:
    """A module's fingerprint for test selection beyond its functions' (see the module doc)."""
    resolved = resolve(db, path, PROFILE)
    if resolved is None:
        return ABSENT
    parts = [b"level", module_level_fingerprint(db, path, PROFILE)]
    if "export_all" in resolved.compile.flags:
        # Every function is exported: a new one changes what module_info(exports) says.
        parts.append(repr(sorted(resolved.defined)).encode())
    if resolved.on_load or _asks_for_inlining(db, path, resolved):
        parts.append(b"functions")
        parts.extend(fp for _, fp in function_fingerprints(db, path, PROFILE))
    app = file_app_of(project_model(db), path)
    if app is not None and app.app_src is not None:
        # Its env, mod and registered names change what application:start/get_env do.
        parts.extend((b"app", codec.fingerprint(file_text(db, app.app_src))))
    transforms = _parse_transforms(db, path, resolved)
    if transforms:
        parts.append(b"transforms")
        parts.extend(_compile_time_code(db, transforms))
    return codec.digest(*parts)


@dataclass
class Snapshot:
    """Fingerprints of every module of one test build, taken before its tests run.

    ``stale`` modules run code that is not this build's (they did not compile
    or load): what a test executes of them is recorded as ``UNBUILT``, which
    never matches, so the test is selected again once they build.
    """

    db: Any
    modules: Mapping[str, ModuleFile]
    functions: dict[str, dict[Function, bytes]]
    keys: dict[str, bytes]
    stale: frozenset[str]
    load_time: LoadTimeCode
    _remotes: dict[str, dict[Function, tuple[str, ...]]] = field(default_factory=dict)
    _data: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def take(
        cls,
        db: Any,
        modules: Mapping[str, ModuleFile],
        stale: frozenset[str] = frozenset(),
        load_time: LoadTimeCode | None = None,
    ) -> Snapshot:
        functions = {
            name: dict(function_fingerprints(db, entry.path, PROFILE))
            for name, entry in modules.items()
        }
        keys = {name: module_key(db, entry.path) for name, entry in modules.items()}
        if load_time is None:
            load_time = LoadTimeCode(db, modules)
        return cls(db, modules, functions, keys, stale, load_time)

    def app_of(self, module: str) -> str | None:
        entry = self.modules.get(module)
        return entry.app if entry is not None and entry.app else None

    def data(self, app: str) -> bytes:
        """The digest of the app's data files (under its test dirs and priv/)."""
        found = self._data.get(app)
        if found is None:
            found = self._data[app] = data_digest(self.db, app)
        return found

    def load_time_reach(self, module: str) -> frozenset[MFA]:
        """The project functions loading ``module`` runs (its ``-on_load``'s reach)."""
        return self.load_time.reach(module)

    def fingerprint(self, module: str, function: Function) -> bytes | None:
        table = self.functions.get(module)
        return None if table is None else table.get(function)

    def key(self, module: str) -> bytes:
        return self.keys.get(module, ABSENT)

    def recorded_key(self, module: str) -> bytes:
        return UNBUILT if module in self.stale else self.key(module)

    def recorded_fingerprint(self, module: str, function: Function) -> bytes | None:
        found = self.fingerprint(module, function)
        if found is None:
            return None
        return UNBUILT if module in self.stale else found

    def referenced_modules(self, module: str, function: Function) -> tuple[str, ...]:
        """Modules a function names in remote calls (statically), that are not OTP's.

        A test that calls ``m:g()`` records ``m`` even when ``g`` is missing or
        never ran, so a change to ``m``'s exports selects it again.
        """
        table = self._remotes.get(module)
        if table is None:
            table = {}
            entry = self.modules.get(module)
            resolved = resolve(self.db, entry.path, PROFILE) if entry is not None else None
            if resolved is not None:
                for f in resolved.functions:
                    targets = {m for m, _, _ in f.remote_calls}
                    table[(f.name, f.arity)] = tuple(
                        sorted(
                            m
                            for m in targets
                            if m in self.modules or external_module(self.db, m) is None
                        )
                    )
            self._remotes[module] = table
        return table.get(function, ())
