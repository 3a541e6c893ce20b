"""What a module depends on, in the three senses codegen and test selection need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from holo.engine import record
from holo.queries.project_index import profile_module_path
from holo.queries.resolve import resolve
from holo.queries.stored import stored


@record("holo.ModuleDependencies")
@dataclass(frozen=True)
class ModuleDependencies:
    module: str
    # Compile time: changing one of these can change the module's BEAM code.
    headers: tuple[str, ...]  # every header it includes, transitively
    parse_transforms: tuple[str, ...]
    behaviours: tuple[str, ...]  # behaviour modules that are project modules
    # Interface: project modules whose exports it calls (it must be re-checked
    # when their interface changes).
    interface: tuple[str, ...]
    # Run time: every module it calls, project or not.
    runtime: tuple[str, ...]


@stored(version=2)
def module_dependencies(db: Any, module: str, profile: str) -> ModuleDependencies | None:
    """The module's compile-time, interface and run-time dependencies; None if unknown."""
    path = profile_module_path(db, module, profile)
    if path is None:
        return None
    resolved = resolve(db, path, profile)
    if resolved is None:
        return None
    called = {m for f in resolved.functions for m, _, _ in f.remote_calls}
    called.discard(module)
    def in_project(m: str) -> bool:
        return profile_module_path(db, m, profile) is not None

    project_called = {m for m in called if in_project(m)}
    behaviours = {b for b, _, _ in resolved.behaviours if in_project(b)}
    transforms = tuple(dict.fromkeys(resolved.compile.parse_transforms))
    return ModuleDependencies(
        module,
        resolved.includes,
        transforms,
        tuple(sorted(behaviours)),
        tuple(sorted(project_called | behaviours)),
        tuple(sorted(called)),
    )
