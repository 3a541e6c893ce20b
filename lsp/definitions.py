"""Go to definition: from the name under the cursor to where it is defined.

Functions resolve through the module's resolved form (local definitions,
``-import``, auto-imported BIFs) and other modules' files; records, fields,
macros and types through the item trees of the file and the headers it
includes; includes through the headers ``resolve`` found. Modules in OTP
resolve to OTP's sources, which holo does not read into the graph: such a
:class:`Site` says what to look for (``find``) and the server finds it in
the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from holo.engine import query, record
from holo.inputs import auto_imported_bifs, workspace_files
from holo.lsp import cursor
from holo.lsp.cursor import ANY_ARITY, NO_ARGUMENTS, Target
from holo.lsp.project import (
    NOWHERE,
    file_profile,
    module_name,
    module_site,
    otp_source,
    visible_files,
)
from holo.queries.item_tree import item_tree
from holo.queries.items import Define, ItemTree, Record, unpack
from holo.queries.project_index import module_path
from holo.queries.resolve import ResolvedModule, resolve
from holo.queries.source import Range
from holo.queries.syntax import parse

# Macros every module has; ?MODULE and ?MODULE_STRING lead to -module.
PREDEFINED_MACROS = frozenset(
    (
        "MODULE",
        "MODULE_STRING",
        "FILE",
        "LINE",
        "MACHINE",
        "FUNCTION_NAME",
        "FUNCTION_ARITY",
        "OTP_RELEASE",
        "FEATURE_AVAILABLE",
        "FEATURE_ENABLED",
    )
)


@record("holo.lsp.Site")
@dataclass(frozen=True)
class Site:
    """A place in a file: a file_text key (or an OTP source's absolute path) and a range.

    ``find`` is set for OTP sources: (kind, name, arity) of what to look for
    there, kind being "function", "type" or "module".
    """

    path: str
    range: Range
    find: tuple[str, str, int] | None = None


@query(name="lsp_target")
def target_at(db: Any, path: str, line: int, column: int) -> Target | None:
    """What the name at (line, code-point column) of ``path`` refers to."""
    parsed = parse(db, path)
    if parsed is None or parsed.too_large:
        return None
    return cursor.target_at(parsed, line, column)


@query(name="lsp_definition")
def definition(db: Any, path: str, line: int, column: int) -> tuple[Site, ...]:
    """Where the name at a position of ``path`` is defined (several for overloaded names)."""
    target = target_at(db, path, line, column)
    if target is None:
        return ()
    return definition_of(db, path, target)


def definition_of(db: Any, path: str, target: Target) -> tuple[Site, ...]:
    kind = target.kind
    if kind == cursor.FUNCTION:
        return _function(db, path, target)
    if kind == cursor.MODULE:
        return _module(db, target.name)
    if kind == cursor.RECORD:
        found = record_definition(db, path, target.name)
        return (Site(found[0], unpack(found[1].name_range)),) if found else ()
    if kind == cursor.FIELD:
        return _field(db, path, target)
    if kind == cursor.MACRO:
        return _macro(db, path, target)
    if kind == cursor.TYPE:
        return _type(db, path, target)
    if kind in (cursor.INCLUDE, cursor.INCLUDE_LIB):
        found = include_path(db, path, target.name, kind == cursor.INCLUDE_LIB)
        return (Site(found, NOWHERE),) if found else ()
    return ()


# ------------------------------------------------------------------ functions


def resolved_of(db: Any, path: str) -> ResolvedModule | None:
    return resolve(db, path, file_profile(db, path))


def function_sites(db: Any, resolved: ResolvedModule, name: str, arity: int) -> tuple[Site, ...]:
    """The first clause's name of each definition of name/arity in a resolved module."""
    sites = []
    for function in resolved.functions:
        if function.name == name and arity in (ANY_ARITY, function.arity):
            clause = resolved.clauses[function.clauses[0]]
            tree = item_tree(db, clause.file)
            if tree is not None and clause.index < len(tree.clauses):
                sites.append(Site(clause.file, unpack(tree.clauses[clause.index].head)))
    return tuple(sites)


def function_module(db: Any, path: str, target: Target) -> str | None:
    """The module a function name belongs to: written, via a macro, imported, or a BIF's."""
    if target.module is not None:
        return target.module
    if target.module_macro is not None:
        return macro_atom(db, path, target.module_macro)
    resolved = resolved_of(db, path)
    if resolved is not None:
        if any(
            f.name == target.name and target.arity in (ANY_ARITY, f.arity)
            for f in resolved.functions
        ):
            return module_name(db, path)
        for module, name, arity in resolved.imports:
            if name == target.name and target.arity in (ANY_ARITY, arity):
                return module
    if (target.name, target.arity) in auto_imported_bifs(db):
        return "erlang"
    return module_name(db, path)


def _function(db: Any, path: str, target: Target) -> tuple[Site, ...]:
    remote = target.module is not None or target.module_macro is not None
    if not remote:  # defined in this file (or a header it includes)?
        resolved = resolved_of(db, path)
        sites = function_sites(db, resolved, target.name, target.arity) if resolved else ()
        if sites:
            return sites
    module = function_module(db, path, target)
    if module is None:
        return ()
    return remote_function(db, module, target.name, target.arity, or_module=remote)


def remote_function(
    db: Any, module: str, name: str, arity: int, or_module: bool = True
) -> tuple[Site, ...]:
    """Where module:name/arity is defined; the module itself when it has no such function
    and ``or_module``."""
    target_path = module_path(db, module)
    if target_path is not None:
        resolved = resolved_of(db, target_path)
        sites = function_sites(db, resolved, name, arity) if resolved is not None else ()
        return sites or (_module(db, module) if or_module else ())
    source = otp_source(db, module)
    return (Site(source, NOWHERE, ("function", name, arity)),) if source else ()


def _module(db: Any, module: str) -> tuple[Site, ...]:
    found = module_site(db, module)
    if found is not None:
        return (Site(*found),)
    source = otp_source(db, module)
    return (Site(source, NOWHERE, ("module", module, ANY_ARITY)),) if source else ()


def macro_atom(db: Any, path: str, macro: str) -> str | None:
    """The atom a no-argument macro stands for (``?MODULE``, ``-define(SERVER, foo)``)."""
    if macro == "MODULE":
        return module_name(db, path)
    for _, define in _defines(db, path, macro):
        literal = define.literal
        if define.arity is None and literal and literal.startswith("'"):
            return literal[1:-1]
    return None


# ------------------------------------------------- records, macros and types


def _headers(db: Any) -> list[str]:
    return [p for p in workspace_files(db) if p.endswith(".hrl")]


def search_files(db: Any, path: str) -> list[str]:
    """Where a name used in ``path`` may be defined: what it includes, then (for a header,
    which sees what its includer defined before it) every project header."""
    files = list(visible_files(db, path)) or [path]
    if path.endswith(".hrl"):
        files += [h for h in _headers(db) if h not in files]
    return files


def item_trees(db: Any, files: list[str]) -> list[tuple[str, ItemTree]]:
    found = []
    for file in files:
        tree = item_tree(db, file)
        if tree is not None:
            found.append((file, tree))
    return found


def record_definition(db: Any, path: str, name: str) -> tuple[str, Record] | None:
    for file, tree in item_trees(db, search_files(db, path)):
        for decl in tree.records:
            if decl.name == name:
                return file, decl
    return None


def _field(db: Any, path: str, target: Target) -> tuple[Site, ...]:
    found = record_definition(db, path, target.record)
    if found is None:
        return ()
    file, decl = found
    return tuple(Site(file, unpack(where)) for name, where in decl.fields if name == target.name)


def _defines(db: Any, path: str, name: str) -> list[tuple[str, Define]]:
    return [
        (file, define)
        for file, tree in item_trees(db, search_files(db, path))
        for define in tree.defines
        if define.name == name
    ]


def macro_definitions(db: Any, path: str, name: str, arity: int) -> list[tuple[str, Define]]:
    """The definitions a use ``?name`` (NO_ARGUMENTS) or ``?name(...)`` may expand."""
    found = _defines(db, path, name)
    wanted = None if arity == NO_ARGUMENTS else arity
    exact = [(f, d) for f, d in found if d.arity == wanted or arity == ANY_ARITY]
    return exact or found


def _macro(db: Any, path: str, target: Target) -> tuple[Site, ...]:
    if target.name in ("MODULE", "MODULE_STRING"):
        module = module_name(db, path)
        return _module(db, module) if module else ()
    return tuple(
        Site(file, unpack(d.range))
        for file, d in macro_definitions(db, path, target.name, target.arity)
    )


def _type(db: Any, path: str, target: Target) -> tuple[Site, ...]:
    module = target.module
    if module is None and target.module_macro is not None:
        module = macro_atom(db, path, target.module_macro)
    files = search_files(db, path)
    if module is not None:
        module_file = module_path(db, module)
        if module_file is None:
            source = otp_source(db, module)
            return (Site(source, NOWHERE, ("type", target.name, target.arity)),) if source else ()
        files = list(visible_files(db, module_file)) or [module_file]
    return tuple(
        Site(file, unpack(attribute.range))
        for file, tree in item_trees(db, files)
        for attribute in tree.attributes_of("type")
        if attribute.name == target.name and target.arity in (ANY_ARITY, attribute.arity)
    )


# ------------------------------------------------------------------ includes


def include_path(db: Any, path: str, file: str, lib: bool) -> str | None:
    """The header an ``-include``/``-include_lib`` of ``path`` read (as resolve found it)."""
    app, _, rest = file.partition("/")
    wanted = rest if lib and rest else file
    found = [h for h in visible_files(db, path)[1:] if h == file or h.endswith("/" + wanted)]
    if len(found) > 1 and lib:
        # Two headers of the same name: the one in the named app (its dir, or OTP's app-vsn).
        found = [h for h in found if f"/{app}/" in f"/{h}" or f"/{app}-" in h] or found
    return found[0] if found else None
