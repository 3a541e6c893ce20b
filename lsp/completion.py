"""Completion: module names, a module's exports after ``mod:``, local functions, records
after ``#``, record fields after ``#rec{`` or ``#rec.``, macros after ``?``.

The context comes from the text before the cursor (:func:`context_at`); the
candidates from the graph (:func:`completions`). OTP's module names are not
derivable inside a query (a query cannot list an input's keys), so the
server adds them itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lsprotocol.types import CompletionItemKind

from holo.engine import query, record
from holo.inputs import auto_imported_bifs, external_module
from holo.lsp.definitions import PREDEFINED_MACROS, item_trees, record_definition, search_files
from holo.lsp.project import file_profile, visible_files
from holo.queries.interface import module_interface
from holo.queries.project_index import module_index
from holo.queries.resolve import resolve

FUNCTION = CompletionItemKind.Function.value
MODULE = CompletionItemKind.Module.value
RECORD = CompletionItemKind.Struct.value
FIELD = CompletionItemKind.Field.value
MACRO = CompletionItemKind.Constant.value

REMOTE, MACROS, RECORDS, FIELDS, NAMES = "remote", "macro", "record", "field", "name"

_ATOM = r"(?:[a-z][A-Za-z0-9_@]*|'[^'\\]*')"
# The first that matches wins: ``#rec{f = lists:`` completes lists' exports.
_CONTEXTS = (
    (REMOTE, re.compile(rf"(?<![:A-Za-z0-9_@'])({_ATOM}):([a-z][A-Za-z0-9_@]*)?$")),
    (MACROS, re.compile(r"\?()([A-Za-z_][A-Za-z0-9_@]*)?$")),
    (FIELDS, re.compile(rf"#({_ATOM})\.([a-z][A-Za-z0-9_@]*)?$")),
    (FIELDS, re.compile(rf"#({_ATOM})\{{[^{{}}]*?([a-z][A-Za-z0-9_@]*)?$")),
    (RECORDS, re.compile(r"#()([a-z][A-Za-z0-9_@]*)?$")),
    (NAMES, re.compile(r"(?<![A-Za-z0-9_@?#:.])()([a-z][A-Za-z0-9_@]*)$")),
)


@dataclass(frozen=True)
class Context:
    kind: str
    argument: str  # the module of REMOTE, the record of FIELDS
    prefix: str  # what is typed of the name so far


def context_at(line_prefix: str) -> Context | None:
    """What to complete after ``line_prefix`` (the line up to the cursor)."""
    if _in_comment_or_string(line_prefix):
        return None
    for kind, pattern in _CONTEXTS:
        found = pattern.search(line_prefix)
        if found is not None:
            argument = found.group(1).strip("'")
            return Context(kind, argument, found.group(2) or "")
    return None


def _in_comment_or_string(line_prefix: str) -> bool:
    quote: str | None = None
    chars = iter(line_prefix)
    for char in chars:
        if quote is not None:
            if char == "\\":
                next(chars, None)
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "$":
            next(chars, None)  # a character literal: $% is no comment
        elif char == "%":
            return True
    return quote == '"'


@record("holo.lsp.Completion")
@dataclass(frozen=True)
class Completion:
    label: str
    kind: int  # an LSP CompletionItemKind
    insert: str
    detail: str = ""


@query(name="lsp_completions")
def completions(db: Any, path: str, kind: str, argument: str) -> tuple[Completion, ...]:
    """Every candidate of a context in ``path`` (the server filters by what is typed)."""
    profile = file_profile(db, path)
    if kind == REMOTE:
        return _exports(db, argument, profile)
    if kind == MACROS:
        names = {
            (d.name, d.arity)
            for _, tree in item_trees(db, search_files(db, path))
            for d in tree.defines
        }
        names |= {(name, None) for name in PREDEFINED_MACROS}
        return tuple(
            Completion(name if arity is None else f"{name}/{arity}", MACRO, name)
            for name, arity in sorted(names, key=lambda n: (n[0], n[1] or -1))
        )
    if kind == RECORDS:
        names = {r.name for _, tree in item_trees(db, search_files(db, path)) for r in tree.records}
        return tuple(Completion(name, RECORD, name) for name in sorted(names))
    if kind == FIELDS:
        found = record_definition(db, path, argument)
        if found is None:
            return ()
        return tuple(Completion(name, FIELD, name, f"#{argument}") for name, _ in found[1].fields)
    if kind == NAMES:
        return _names(db, path, profile)
    return ()


def _function(name: str, arity: int, detail: str = "") -> Completion:
    return Completion(f"{name}/{arity}", FUNCTION, name, detail)


def _exports(db: Any, module: str, profile: str) -> tuple[Completion, ...]:
    interface = module_interface(db, module, profile)
    if interface is not None:
        exports = interface.exports
    else:
        otp = external_module(db, module)
        exports = otp.exports if otp is not None else frozenset()
    return tuple(_function(name, arity, module) for name, arity in sorted(exports))


def _names(db: Any, path: str, profile: str) -> tuple[Completion, ...]:
    found: list[Completion] = []
    resolved = resolve(db, path, profile) if visible_files(db, path) else None
    if resolved is not None:
        found += [_function(f.name, f.arity) for f in resolved.functions]
        found += [_function(name, arity, module) for module, name, arity in resolved.imports]
    found += [_function(name, arity, "erlang") for name, arity in sorted(auto_imported_bifs(db))]
    found += [Completion(m.module, MODULE, m.module, m.app) for m in module_index(db)]
    return tuple(dict.fromkeys(found))
