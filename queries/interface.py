"""A module's interface: what other modules can see of it, and nothing else.

``module_interface`` is the firewall of the graph. Other modules' checks read
it, never a module's item tree or resolved form, and it holds no positions
and no function bodies: editing a body re-runs it, finds it equal, and the
engine cuts off there (invariant 2: a body edit never invalidates another
module's derived data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from holo.engine import record
from holo.inputs import external_module
from holo.queries.project_index import profile_module_path
from holo.queries.resolve import ResolvedModule, resolve
from holo.queries.stored import stored

# Parse transforms that do not add, remove or rename functions or calls, so
# holo's checks still hold for modules that use them.
HARMLESS_TRANSFORMS = frozenset(("ms_transform", "eunit_autoexport", "qlc_pt"))

ALWAYS_EXPORTED = frozenset((("module_info", 0), ("module_info", 1)))


@record("holo.ModuleInterface")
@dataclass(frozen=True)
class ModuleInterface:
    module: str
    exports: frozenset[tuple[str, int]]  # with export_all, eunit's autoexport and module_info
    export_all: bool
    specs: tuple[tuple[str, int, bytes], ...]  # exported functions' specs: name, arity, digest
    # name, arity, digest of the definition (the local types it names included;
    # empty when the module does not define it): no positions
    export_types: tuple[tuple[str, int, bytes], ...]
    callbacks: frozenset[tuple[str, int]]  # non-empty when the module defines a behaviour
    optional_callbacks: frozenset[tuple[str, int]]
    # A parse transform holo does not know may add functions: callers do not
    # report calls to it as undefined.
    uncertain: bool


def exported_functions(resolved: ResolvedModule) -> tuple[frozenset[tuple[str, int]], bool]:
    """The functions a resolved module exports, and whether it exports all."""
    defined = resolved.defined
    flags = resolved.compile.flags
    export_all = "export_all" in flags
    exports = {(n, a) for n, a, *_ in resolved.exports}
    if export_all:
        exports |= defined
    if "eunit_autoexport" in resolved.compile.parse_transforms:
        exports.add(("test", 0))
        exports |= {
            (n, a) for n, a in defined if a == 0 and (n.endswith("_test") or n.endswith("_test_"))
        }
    if resolved.callbacks:
        exports.add(("behaviour_info", 1))
    return frozenset(exports | ALWAYS_EXPORTED), export_all


@stored(version=3)
def module_interface(db: Any, module: str, profile: str) -> ModuleInterface | None:
    """The interface of a project (or dependency) module; None if the project has none."""
    path = profile_module_path(db, module, profile)
    if path is None:
        return None
    resolved = resolve(db, path, profile)
    if resolved is None:
        return None
    exports, export_all = exported_functions(resolved)
    specs = tuple(
        sorted((n, a, digest) for n, a, digest, _, _ in resolved.specs if (n, a) in exports)
    )
    unknown_transforms = set(resolved.compile.parse_transforms) - HARMLESS_TRANSFORMS
    type_digests = {(n, a): digest for n, a, digest in resolved.types}
    export_types = tuple(
        sorted({(n, a, type_digests.get((n, a), b"")) for n, a in resolved.export_types})
    )
    return ModuleInterface(
        module,
        exports,
        export_all,
        specs,
        export_types,
        frozenset((n, a) for n, a, _ in resolved.callbacks),
        frozenset(resolved.optional_callbacks),
        bool(unknown_transforms) or resolved.module != module,
    )


@dataclass(frozen=True)
class Callee:
    """What a caller may know of a module it calls."""

    exports: frozenset[tuple[str, int]]
    callbacks: frozenset[tuple[str, int]]
    optional_callbacks: frozenset[tuple[str, int]]
    uncertain: bool
    in_project: bool


def callee(db: Any, module: str, profile: str) -> Callee | None:
    """A project module's interface, else OTP's module; None when neither has it."""
    interface = module_interface(db, module, profile)
    if interface is not None:
        return Callee(
            interface.exports,
            interface.callbacks,
            interface.optional_callbacks,
            interface.uncertain,
            True,
        )
    external = external_module(db, module)
    if external is None:
        return None
    return Callee(
        frozenset(external.exports) | ALWAYS_EXPORTED,
        frozenset(external.callbacks),
        frozenset(external.optional_callbacks),
        False,
        False,
    )
