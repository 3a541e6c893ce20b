"""The first layer of type checking: does what a module names exist with that arity?

``typecheck(db, module, profile)`` reads the module's own resolved form and
item trees, and of every other module only its interface (``module_interface``
for project modules, the ``external_module`` input for OTP's). So a body edit
in a callee, which leaves its interface equal, does not re-run it.

Checked: remote calls (``m:f(...)``, ``fun m:f/N``, those macros expand to,
and calls of functions ``-import``ed from m) against the callee's exports;
unknown modules; behaviours' callbacks;
``-export`` and ``-spec`` of functions the module does not define.
A call whose module is a variable is skipped; so are calls from modules with
a parse transform holo does not know, and calls to such modules.
"""

from __future__ import annotations

import difflib
import posixpath
from typing import Any

from holo.diagnostics import Diagnostic
from holo.queries import codes
from holo.queries.interface import HARMLESS_TRANSFORMS, Callee, callee, exported_functions
from holo.queries.items import Span, unpack
from holo.queries.locate import Trees
from holo.queries.project_index import profile_module_path
from holo.queries.resolve import ResolvedModule, resolve
from holo.queries.stored import stored


@stored(version=3)
def typecheck(db: Any, module: str, profile: str) -> tuple[Diagnostic, ...]:
    """Problems with what ``module`` names in other modules, and with its exports and specs."""
    path = profile_module_path(db, module, profile)
    if path is None:
        return ()
    return check_resolved(db, path, profile)


def check_resolved(db: Any, path: str, profile: str) -> tuple[Diagnostic, ...]:
    resolved = resolve(db, path, profile)
    if resolved is None:
        return ()
    trees = Trees(db)
    found: list[Diagnostic] = []
    found.extend(_exports_and_specs(trees, resolved))
    found.extend(_behaviours(db, trees, resolved))
    if not set(resolved.compile.parse_transforms) - HARMLESS_TRANSFORMS:
        found.extend(_remote_calls(db, trees, resolved))
    return codes.sorted_unique(found)


def _exports_and_specs(trees: Trees, resolved: ResolvedModule) -> list[Diagnostic]:
    defined = resolved.defined
    found: list[Diagnostic] = []
    for name, arity, file, index, entry in resolved.exports:
        if (name, arity) not in defined:
            found.append(
                codes.diagnostic(
                    file,
                    trees.at(file, "attr", index, "entry", entry),
                    codes.EXPORT_UNDEFINED,
                    f"function {name}/{arity} is exported but not defined{_arities(defined, name)}",
                )
            )
    for name, arity, _, file, index in resolved.specs:
        if (name, arity) not in defined:
            found.append(
                codes.diagnostic(
                    file,
                    trees.at(file, "attr", index, "form"),
                    codes.SPEC_UNDEFINED,
                    f"spec for undefined function {name}/{arity}{_arities(defined, name)}",
                )
            )
    return found


def _arities(defined: frozenset[tuple[str, int]], name: str) -> str:
    others = sorted(a for n, a in defined if n == name)
    if not others:
        return ""
    return f" ({name} is defined with arity {', '.join(map(str, others))})"


def _behaviours(db: Any, trees: Trees, resolved: ResolvedModule) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    if not resolved.behaviours:
        return found
    exports, _ = exported_functions(resolved)
    defined = resolved.defined
    for behaviour, file, index in resolved.behaviours:
        where = trees.at(file, "attr", index, "form")
        module = callee(db, behaviour, resolved.profile)
        if module is None:
            found.append(
                codes.diagnostic(
                    file,
                    where,
                    codes.UNKNOWN_MODULE,
                    f"behaviour {behaviour} is undefined: no module of the project, its "
                    "dependencies or OTP is called that",
                )
            )
            continue
        for name, arity in sorted(module.callbacks - module.optional_callbacks):
            if (name, arity) in exports:
                continue
            if (name, arity) in defined:
                why = "is defined but not exported: add it to -export"
            else:
                others = sorted(a for n, a in defined if n == name)
                why = (
                    f"is not defined ({name} is defined with arity {', '.join(map(str, others))})"
                    if others
                    else "is not defined"
                )
            found.append(
                codes.diagnostic(
                    file,
                    where,
                    codes.MISSING_CALLBACK,
                    f"callback {name}/{arity} of behaviour {behaviour} {why}",
                )
            )
    return found


def _remote_calls(db: Any, trees: Trees, resolved: ResolvedModule) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    callees: dict[str, Callee | None] = {}

    # ``where`` stays a packed Span until a diagnostic needs it: most calls are fine.
    def check(file: str, where: Span, module: str, function: str, arity: int, via: str) -> None:
        if module not in callees:
            callees[module] = callee(db, module, resolved.profile)
        target = callees[module]
        if target is None:
            found.append(
                codes.diagnostic(
                    file,
                    unpack(where),
                    codes.UNKNOWN_MODULE,
                    f"module {module} is not in the project, its dependencies or OTP{via}: "
                    "check the name, or add the application that has it",
                )
            )
            return
        if target.uncertain or (function, arity) in target.exports:
            return
        found.append(
            codes.diagnostic(
                file,
                unpack(where),
                codes.UNDEFINED_REMOTE,
                f"{module}:{function}/{arity} is not exported by {module}{via}"
                + _export_hint(module, function, target),
            )
        )

    imported = resolved.imported()

    for rc in resolved.clauses:
        tree = trees.get(rc.file)
        if tree is None:
            continue
        clause = tree.clauses[rc.index]
        for i, remote in enumerate(clause.refs.remote_calls):
            module = rc.module_of(i, remote)
            if module is not None:
                check(rc.file, remote[4], module, remote[2], remote[3], "")
        for use, module, function, arity in rc.macro_remote_calls:
            macro = clause.refs.macro_uses[use]
            via = f" (called by macro ?{macro[0]})"
            check(rc.file, macro[2], module, function, arity, via)
        if not imported:
            continue
        funs = clause.refs.local_funs
        for i, (name, arity, where, _, _) in enumerate(clause.refs.local_calls):
            module = imported.get((name, arity))
            if module is not None and i not in rc.dropped_calls and i not in funs:
                via = f" (imported with -import({module}, [...]))"
                check(rc.file, where, module, name, arity, via)
        for use, name, arity in rc.macro_calls:
            module = imported.get((name, arity))
            if module is not None:
                macro = clause.refs.macro_uses[use]
                via = f" (called by macro ?{macro[0]}, imported with -import({module}, [...]))"
                check(rc.file, macro[2], module, name, arity, via)
    return found


def _export_hint(module: str, function: str, target: Callee) -> str:
    """What to do about a call of a function ``module`` does not export."""
    others = sorted(a for n, a in target.exports if n == function)
    if others:
        return f"; it exports {function}/{', '.join(map(str, others))}"
    names = sorted({n for n, _ in target.exports})
    close = difflib.get_close_matches(function, names, n=3, cutoff=0.7)
    if close:
        exported = ", ".join(
            f"{n}/{a}" for n in close for a in sorted(a for m, a in target.exports if m == n)
        )
        suggestion = f"; check the spelling: {module} exports {exported}"
        return suggestion + (f", or export it from {module}" if target.in_project else "")
    if target.in_project:
        return f"; export it from {module}, or check the name"
    return f"; check the spelling: {module} exports no function with a similar name"


def module_of(path: str) -> str:
    return posixpath.basename(path).rsplit(".", 1)[0]
