"""Find references of functions, records, record fields and macros across the project.

As ELP does it: first a text search for the name over every file of the
project (cheap, and it leaves few candidates), then semantic filtering of
the candidates with what holo knows of them: a local call counts when the
module it is in is the function's (or imports it), a remote call when its
module (after macro expansion) is; a record or macro use counts when the
file sees the same definition (it is the defining file or includes it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from holo.engine import query
from holo.inputs import auto_imported_bifs, file_text, workspace_files
from holo.lsp import cursor
from holo.lsp.cursor import ANY_ARITY, Target
from holo.lsp.definitions import (
    Site,
    function_module,
    macro_definitions,
    record_definition,
    resolved_of,
    target_at,
)
from holo.lsp.project import module_name, visible_files
from holo.queries.item_tree import item_tree
from holo.queries.items import ItemTree, Refs, unpack
from holo.queries.project_index import module_path
from holo.queries.resolve import ResolvedModule
from holo.queries.source import Range


@query(name="lsp_references")
def references(
    db: Any, path: str, line: int, column: int, include_declaration: bool
) -> tuple[Site, ...]:
    """Every use of the name at a position of ``path``, sorted by file and position."""
    target = target_at(db, path, line, column)
    if target is None:
        return ()
    if target.kind == cursor.FUNCTION:
        found = _function_references(db, path, target, include_declaration)
    elif target.kind in (cursor.RECORD, cursor.FIELD):
        found = _record_references(db, path, target, include_declaration)
    elif target.kind == cursor.MACRO:
        found = _macro_references(db, path, target, include_declaration)
    else:
        return ()
    return tuple(sorted(set(found), key=lambda s: (s.path, s.range)))


def files_mentioning(db: Any, path: str, *words: str) -> list[str]:
    """The project's files whose text contains every one of ``words`` (and ``path`` itself)."""
    needles = [word.encode("utf-8") for word in words]
    found = []
    for file in workspace_files(db):
        text = file_text(db, file)
        if text is not None and all(needle in text for needle in needles):
            found.append(file)
    if path not in found:
        found.append(path)
    return found


def _function_candidates(db: Any, path: str, module: str, name: str) -> list[str]:
    """Files that may call module:name. Another module can only call it by naming the module
    (``m:f()``, ``-import(m, ...)``), or through a macro a header defines; so unless some
    header names the module, files that do not are skipped. Auto-imported BIFs are called
    without ``erlang:``."""
    defining = module_path(db, module)
    if module == "erlang" or any(
        module.encode() in (file_text(db, h) or b"")
        for h in workspace_files(db)
        if h.endswith(".hrl")
    ):
        return files_mentioning(db, path, name)
    found = files_mentioning(db, path, name, module)
    if defining is not None and defining not in found:
        found.append(defining)
    return found


def _forms_refs(tree: ItemTree) -> Iterator[Refs]:
    for clause in tree.clauses:
        yield clause.refs
    for define in tree.defines:
        yield define.refs
    for decl in tree.records:
        yield decl.refs
    for attribute in tree.attributes:
        yield attribute.refs


# ------------------------------------------------------------------ functions


def _name_range(where: Range, name: str) -> Range:
    """The function name at the end of a ``module:name`` range."""
    line, column, end_line, end_column = where
    if end_column >= len(name) and (end_line > line or end_column - len(name) >= column):
        return (end_line, end_column - len(name), end_line, end_column)
    return where


def _local_owner(
    db: Any, resolved: ResolvedModule, own: str | None, name: str, arity: int
) -> str | None:
    """The module a local call name/arity in a resolved module goes to."""
    if any(f.name == name and f.arity == arity for f in resolved.functions):
        return own
    for module, imported, imported_arity in resolved.imports:
        if imported == name and imported_arity == arity:
            return module
    if (name, arity) in auto_imported_bifs(db):
        return "erlang"
    return own


def _function_references(
    db: Any, path: str, target: Target, include_declaration: bool
) -> list[Site]:
    module = function_module(db, path, target)
    if module is None:
        return []
    name, arity = target.name, target.arity

    def matches(n: str, a: int) -> bool:
        return n == name and arity in (ANY_ARITY, a)

    found: list[Site] = []
    for file in _function_candidates(db, path, module, name):
        if not file.endswith(".erl"):
            continue
        resolved = resolved_of(db, file)
        if resolved is None:
            continue
        own = module_name(db, file)
        for rc in resolved.clauses:
            tree = item_tree(db, rc.file)
            if tree is None or rc.index >= len(tree.clauses):
                continue
            clause = tree.clauses[rc.index]
            for i, call in enumerate(clause.refs.local_calls):
                if i in rc.dropped_calls or not matches(call[0], call[1]):
                    continue
                if _local_owner(db, resolved, own, call[0], call[1]) == module:
                    found.append(Site(rc.file, unpack(call[2])))
            for i, call in enumerate(clause.refs.remote_calls):
                if rc.module_of(i, call) == module and matches(call[2], call[3]):
                    found.append(Site(rc.file, _name_range(unpack(call[4]), call[2])))
            for use, called_name, called_arity in rc.macro_calls:
                if matches(called_name, called_arity) and (
                    _local_owner(db, resolved, own, called_name, called_arity) == module
                ):
                    found.append(Site(rc.file, unpack(clause.refs.macro_uses[use][2])))
            for use, called_module, called_name, called_arity in rc.macro_remote_calls:
                if called_module == module and matches(called_name, called_arity):
                    found.append(Site(rc.file, unpack(clause.refs.macro_uses[use][2])))
        tree = item_tree(db, file)
        if tree is None:
            continue
        for attribute in tree.attributes:
            if (
                attribute.kind == "export"
                and own == module
                or (attribute.kind == "import" and attribute.name == module)
            ):
                found.extend(
                    Site(file, unpack(where)) for n, a, where in attribute.entries if matches(n, a)
                )
    defining = module_path(db, module) if include_declaration else None
    resolved = resolved_of(db, defining) if defining is not None else None
    if resolved is not None:
        found.extend(_definition_heads(db, resolved, matches))
    return found


def _definition_heads(
    db: Any, resolved: ResolvedModule, matches: Callable[[str, int], bool]
) -> list[Site]:
    sites = []
    for function in resolved.functions:
        if not matches(function.name, function.arity):
            continue
        for position in function.clauses:
            rc = resolved.clauses[position]
            tree = item_tree(db, rc.file)
            if tree is not None and rc.index < len(tree.clauses):
                sites.append(Site(rc.file, unpack(tree.clauses[rc.index].head)))
    return sites


# ----------------------------------------------------------- records, fields


def _sees(db: Any, file: str, defining: str) -> bool:
    """Whether a file uses the definitions of ``defining`` (headers are not checked:
    what they see depends on the module that includes them)."""
    return file == defining or not file.endswith(".erl") or defining in visible_files(db, file)


def _record_references(db: Any, path: str, target: Target, include_declaration: bool) -> list[Site]:
    record_name = target.record if target.kind == cursor.FIELD else target.name
    definition = record_definition(db, path, record_name)
    if definition is None:
        return []
    defining, decl = definition
    field = target.name if target.kind == cursor.FIELD else None
    found: list[Site] = []
    if include_declaration:
        if field is None:
            found.append(Site(defining, unpack(decl.name_range)))
        else:
            found.extend(Site(defining, unpack(w)) for f, w in decl.fields if f == field)
    for file in files_mentioning(db, path, field or record_name):
        tree = item_tree(db, file)
        if tree is None or not _sees(db, file, defining):
            continue
        for refs in _forms_refs(tree):
            for use in refs.record_uses:
                if use[0] != record_name:
                    continue
                if field is None:
                    found.append(Site(file, unpack(use[1])))
                else:
                    found.extend(Site(file, unpack(w)) for f, w in use[2] if f == field)
    return found


# ------------------------------------------------------------------- macros


def _macro_references(db: Any, path: str, target: Target, include_declaration: bool) -> list[Site]:
    definitions = macro_definitions(db, path, target.name, target.arity)
    if not definitions:
        return []
    defining, define = definitions[0]

    def matches(arity: int | None) -> bool:
        return define.arity is None or arity == define.arity

    found: list[Site] = []
    if include_declaration:
        found.append(Site(defining, unpack(define.range)))
    for file in files_mentioning(db, path, target.name):
        tree = item_tree(db, file)
        if tree is None or not _sees(db, file, defining):
            continue
        for refs in _forms_refs(tree):
            found.extend(
                Site(file, unpack(use[2]))
                for use in refs.macro_uses
                if use[0] == target.name and matches(use[1])
            )
        found.extend(
            Site(file, unpack(cond.range))
            for cond in tree.conditionals
            if cond.name == target.name and cond.kind in ("ifdef", "ifndef")
        )
    return found
