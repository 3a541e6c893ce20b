"""Code that runs when a module loads: its ``-on_load`` function and what that reaches.

An ``-on_load`` function runs when its module is loaded, before any test and
outside call counting, and it may call other project modules
(``init() -> persistent_term:put(k, defaults:value())``). The project
functions it can run are found statically from ``resolve``'s per-function
calls: local calls, imported calls and remote calls into project modules,
transitively; a module reached that has an ``-on_load`` of its own adds that
function too, since loading it runs it. Calls through variables (``apply/3``,
``M:F()``) cannot be followed.

This is worked out per test run from memoised queries, never inside a query
keyed by the ``-on_load`` module: a body edit in code it reaches must not
invalidate that module's derived data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from holo.engine import codec, query
from holo.queries.project_index import ModuleFile
from holo.queries.resolve import ResolvedFunction, ResolvedModule, resolve

PROFILE = "test"

MFA = tuple[str, str, int]


@query(name="holo.testing.on_load", persist=True, version=2)
def on_load_of(db: Any, path: str, profile: str) -> tuple[tuple[str, int], ...]:
    """The ``-on_load`` function(s) of the module in ``path``, as ``profile`` compiles it.

    Persisted and small: a warm run learns which modules have one without
    decoding every module's resolved result.
    """
    resolved = resolve(db, path, profile)
    if resolved is None:
        return ()
    return tuple((name, arity) for name, arity, *_ in resolved.on_load)


class LoadTimeCode:
    """The load-time reach of the ``-on_load`` modules of one build, found on demand."""

    def __init__(
        self, db: Any, modules: Mapping[str, ModuleFile], profile: str = PROFILE
    ) -> None:
        self.db = db
        self.modules = modules
        # The build's profile: what it resolved already, and what the node runs.
        self.profile = profile
        self._resolved: dict[str, ResolvedModule | None] = {}
        self._functions: dict[str, dict[tuple[str, int], ResolvedFunction]] = {}
        self._reach: dict[str, frozenset[MFA]] = {}

    def _resolve(self, module: str) -> ResolvedModule | None:
        if module not in self._resolved:
            entry = self.modules.get(module)
            self._resolved[module] = (
                resolve(self.db, entry.path, self.profile) if entry is not None else None
            )
        return self._resolved[module]

    def _function(self, module: str, name: str, arity: int) -> ResolvedFunction | None:
        table = self._functions.get(module)
        if table is None:
            resolved = self._resolve(module)
            table = {} if resolved is None else {(f.name, f.arity): f for f in resolved.functions}
            self._functions[module] = table
        return table.get((name, arity))

    def on_load(self, module: str) -> tuple[tuple[str, int], ...]:
        """The module's ``-on_load`` function(s), if it has one."""
        entry = self.modules.get(module)
        return on_load_of(self.db, entry.path, self.profile) if entry is not None else ()

    def on_load_modules(self) -> list[str]:
        return sorted(m for m in self.modules if self.on_load(m))

    def reach(self, module: str) -> frozenset[MFA]:
        """The project functions loading ``module`` can run (empty without ``-on_load``)."""
        found = self._reach.get(module)
        if found is not None:
            return found
        seen: set[MFA] = set()
        loading: set[str] = set()
        queue: list[MFA] = []

        def loads(target: str) -> None:
            if target not in loading:
                loading.add(target)
                queue.extend((target, name, arity) for name, arity in self.on_load(target))

        loads(module)
        while queue:
            mfa = queue.pop()
            if mfa in seen:
                continue
            target, name, arity = mfa
            function = self._function(target, name, arity)
            if function is None:
                continue  # undefined, or not the project's
            seen.add(mfa)
            resolved = self._resolve(target)
            imports = {(f, a): m for m, f, a in resolved.imports} if resolved is not None else {}
            for local in function.local_calls:
                if self._function(target, *local) is not None:
                    queue.append((target, *local))
                elif local in imports:
                    queue.append((imports[local], *local))
            for callee, callee_name, callee_arity in function.remote_calls:
                if callee in self.modules:
                    loads(callee)
                    queue.append((callee, callee_name, callee_arity))
        result = frozenset(seen)
        self._reach[module] = result
        return result

    def digest(self, module: str, key_of: Callable[[str], bytes]) -> bytes:
        """What loading ``module`` runs, as one value: its reach's fingerprints and the
        module keys (``key_of``) of the modules they are in."""
        parts: list[bytes] = []
        for target, name, arity in sorted(self.reach(module)):
            function = self._function(target, name, arity)
            assert function is not None
            parts.append(f"{target}:{name}/{arity}".encode())
            parts.append(function.fingerprint)
        for target in sorted({m for m, _, _ in self.reach(module)}):
            parts.append(target.encode())
            parts.append(key_of(target))
        return codec.digest(b"holo.load-time/1", *parts)
