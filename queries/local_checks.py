"""Checks that need nothing but the module itself (and the headers it includes).

Undefined and unused local functions, unbound variables, the module name,
and every problem ``resolve`` found (includes, macros, records, conditionals,
duplicate definitions).
"""

from __future__ import annotations

import posixpath
from typing import Any

from holo.diagnostics import Diagnostic
from holo.inputs import auto_imported_bifs, file_text
from holo.queries import codes
from holo.queries.interface import HARMLESS_TRANSFORMS, callee, exported_functions
from holo.queries.items import unpack
from holo.queries.locate import Trees
from holo.queries.resolve import ResolvedModule, resolve
from holo.queries.source import MAX_SOURCE_BYTES
from holo.queries.stored import stored

# Functions every module has without defining them.
BUILT_IN = frozenset((("module_info", 0), ("module_info", 1), ("record_info", 2)))


@stored(version=2)
def local_diagnostics(db: Any, path: str, profile: str) -> tuple[Diagnostic, ...]:
    """The module-local problems of ``path`` under ``profile``."""
    resolved = resolve(db, path, profile)
    if resolved is None:
        return ()
    raw = file_text(db, path)
    if raw is not None and len(raw) > MAX_SOURCE_BYTES:
        return ()  # syntax_diagnostics says why
    trees = Trees(db)
    found = [trees.problem(p) for p in resolved.problems]
    if path.endswith(".erl"):
        found.extend(_module_name(trees, path, resolved, raw))
    if not set(resolved.compile.parse_transforms) - HARMLESS_TRANSFORMS:
        found.extend(_undefined_functions(db, trees, resolved))
        found.extend(_unused_functions(db, trees, resolved))
    found.extend(_unbound_variables(trees, resolved))
    return codes.sorted_unique(found)


def _module_name(
    trees: Trees, path: str, resolved: ResolvedModule, raw: bytes | None
) -> list[Diagnostic]:
    stem = posixpath.basename(path)[:-4]
    if resolved.module is None:
        # erlc points at the first form, or at the end of a file without forms.
        tree = trees.get(path)
        line, column = tree.end if tree is not None else (0, 0)
        if tree is not None and tree.forms:
            kind, index = tree.forms[0]
            line, column = trees.at(path, kind, index, "form")[:2]
        empty = not raw or not raw.strip()
        message = (
            f"no module definition: the file is empty; start it with '-module({stem}).'"
            if empty
            else f"no module definition: add '-module({stem}).' before the first function"
        )
        return [codes.diagnostic(path, (line, column, line, column), codes.NO_MODULE, message)]
    if resolved.module != stem and resolved.module_at is not None:
        file, kind, index = resolved.module_at
        return [
            codes.diagnostic(
                file,
                trees.at(file, kind, index, "form"),
                codes.MODULE_NAME_MISMATCH,
                f"module name '{resolved.module}' does not match file name '{stem}.erl': "
                f"rename the module to '{stem}' or the file to '{resolved.module}.erl'",
            )
        ]
    return []


def _callable_locally(db: Any, resolved: ResolvedModule) -> frozenset[tuple[str, int]]:
    """What ``f(...)`` and ``fun f/N`` may name without a module: definitions, BIFs."""
    bifs = auto_imported_bifs(db)
    if resolved.compile.no_auto_import_all:
        bifs = frozenset()
    elif resolved.compile.no_auto_import:
        bifs = bifs - set(resolved.compile.no_auto_import)
    return resolved.defined | bifs | BUILT_IN


def _undefined_functions(db: Any, trees: Trees, resolved: ResolvedModule) -> list[Diagnostic]:
    # Calls may name imported functions too (typecheck checks them against
    # their module); ``fun f/N`` may not: erlc reports it undefined.
    imported = resolved.imported()
    referable = _callable_locally(db, resolved)
    known = referable | set(imported)
    defined_arities: dict[str, list[int]] = {}
    for name, arity in resolved.defined:
        defined_arities.setdefault(name, []).append(arity)
    found: list[Diagnostic] = []

    def report(file: str, where: codes.Range, name: str, arity: int, via: str) -> None:
        others = sorted(defined_arities.get(name, ()))
        hint = (
            f"; {name} is defined with arity {', '.join(map(str, others))}"
            if others
            else "; define it, import it, or call it as Module:" + name
        )
        message = f"function {name}/{arity} is undefined{via}{hint}"
        found.append(codes.diagnostic(file, where, codes.UNDEFINED_FUNCTION, message))

    for rc in resolved.clauses:
        tree = trees.get(rc.file)
        if tree is None:
            continue
        clause = tree.clauses[rc.index]
        funs = clause.refs.local_funs
        for i, (name, arity, where, _, _) in enumerate(clause.refs.local_calls):
            if i in rc.dropped_calls:
                continue
            if i in funs and (name, arity) not in referable and (name, arity) in imported:
                module = imported[(name, arity)]
                message = (
                    f"function {name}/{arity} is undefined: 'fun {name}/{arity}' cannot name "
                    f"an imported function; write 'fun {module}:{name}/{arity}'"
                )
                found.append(
                    codes.diagnostic(rc.file, unpack(where), codes.UNDEFINED_FUNCTION, message)
                )
            elif (name, arity) not in known:
                report(rc.file, unpack(where), name, arity, "")
        for use, name, arity in rc.macro_calls:
            if (name, arity) not in known:
                macro = clause.refs.macro_uses[use]
                report(rc.file, unpack(macro[2]), name, arity, f" (called by macro ?{macro[0]})")
    for name, arity, file, index, entry in resolved.on_load:
        if (name, arity) not in resolved.defined:
            where = trees.at(file, "attr", index, "entry", entry)
            found.append(
                codes.diagnostic(
                    file,
                    where,
                    codes.UNDEFINED_FUNCTION,
                    f"on_load function {name}/{arity} is undefined; define it",
                )
            )
    return found


def _unused_functions(db: Any, trees: Trees, resolved: ResolvedModule) -> list[Diagnostic]:
    flags = resolved.compile.flags
    if "nowarn_unused_function" in flags:
        return []
    exports, export_all = exported_functions(resolved)
    if export_all:
        return []
    roots = set(exports)
    roots.update((n, a) for n, a, *_ in resolved.on_load)
    roots.update(resolved.nifs)
    roots.update(resolved.compile.nowarn_unused)
    if any(posixpath.basename(h) == "eunit.hrl" for h in resolved.includes):
        roots.update(
            (f.name, 0)
            for f in resolved.functions
            if f.arity == 0 and (f.name.endswith("_test") or f.name.endswith("_test_"))
        )
    for behaviour, _, _ in resolved.behaviours:
        module = callee(db, behaviour, resolved.profile)
        if module is not None:
            roots |= module.callbacks
    by_key = {(f.name, f.arity): f for f in resolved.functions}
    reached: set[tuple[str, int]] = set()
    stack = [key for key in roots if key in by_key]
    while stack:
        key = stack.pop()
        if key in reached:
            continue
        reached.add(key)
        stack.extend(c for c in by_key[key].local_calls if c in by_key and c not in reached)
    found: list[Diagnostic] = []
    for function in resolved.functions:
        key = (function.name, function.arity)
        if key in reached:
            continue
        first = resolved.clauses[function.clauses[0]]
        where = trees.at(first.file, "clause", first.index, "head")
        found.append(
            codes.diagnostic(
                first.file,
                where,
                codes.UNUSED_FUNCTION,
                f"function {function.name}/{function.arity} is unused: export it, call it, "
                "or remove it",
            )
        )
    return found


def _unbound_variables(trees: Trees, resolved: ResolvedModule) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for rc in resolved.clauses:
        if not rc.unbound:
            continue
        tree = trees.get(rc.file)
        if tree is None:
            continue
        clause = tree.clauses[rc.index]
        for i in rc.unbound:
            name, packed = clause.unbound[i]
            where = unpack(packed)
            found.append(
                codes.diagnostic(
                    rc.file,
                    where,
                    codes.UNBOUND_VARIABLE,
                    f"variable '{name}' is unbound: no pattern of this clause binds it "
                    "(a typo, or a variable from another clause?)",
                )
            )
    return found
