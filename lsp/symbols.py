"""Document and workspace symbols: functions, records (with their fields), macros, types.

``file_symbols`` reads one item tree and is persisted, so a warm start
answers a workspace symbol search without lowering anything;
``workspace_symbols`` joins every file's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lsprotocol.types import SymbolKind

from holo.engine import query, record
from holo.inputs import file_text, workspace_files
from holo.lsp.project import MAX_ANALYSED_BYTES
from holo.queries.item_tree import item_tree
from holo.queries.items import unpack
from holo.queries.source import Range

FUNCTION = SymbolKind.Function.value
RECORD = SymbolKind.Struct.value
FIELD = SymbolKind.Field.value
MACRO = SymbolKind.Constant.value
TYPE = SymbolKind.TypeParameter.value


@record("holo.lsp.Symbol")
@dataclass(frozen=True)
class Symbol:
    name: str
    kind: int  # an LSP SymbolKind
    range: Range  # the whole definition
    selection: Range  # its name
    children: tuple[Symbol, ...] = ()


@query(name="lsp_file_symbols", persist=True, version=2)
def file_symbols(db: Any, path: str) -> tuple[Symbol, ...]:
    """What ``path`` defines, in source order (nothing for a file too large to analyse
    as it is typed, so a workspace search never waits for one to be parsed)."""
    text = file_text(db, path)
    if text is None or len(text) > MAX_ANALYSED_BYTES:
        return ()
    tree = item_tree(db, path)
    if tree is None:
        return ()
    found: list[Symbol] = []
    for function in tree.functions():
        if function.name is not None:
            found.append(
                Symbol(f"{function.name}/{function.arity}", FUNCTION, function.range, function.head)
            )
    for decl in tree.records:
        fields = tuple(Symbol(name, FIELD, unpack(w), unpack(w)) for name, w in decl.fields)
        found.append(Symbol(decl.name, RECORD, unpack(decl.range), unpack(decl.name_range), fields))
    for define in tree.defines:
        name = define.name if define.arity is None else f"{define.name}/{define.arity}"
        where = unpack(define.range)
        found.append(Symbol(name, MACRO, where, where))
    for attribute in tree.attributes_of("type"):
        where = unpack(attribute.range)
        found.append(Symbol(f"{attribute.name}/{attribute.arity}", TYPE, where, where))
    return tuple(sorted(found, key=lambda s: s.range))


# (name, kind, path, selection range)
IndexEntry = tuple[str, int, str, Range]


@query(name="lsp_workspace_symbols")
def workspace_symbols(db: Any) -> tuple[IndexEntry, ...]:
    """Every top-level symbol of every project file."""
    return tuple(
        (symbol.name, symbol.kind, path, symbol.selection)
        for path in workspace_files(db)
        for symbol in file_symbols(db, path)
    )


def matches(query_text: str, name: str) -> bool:
    """Whether a workspace symbol query selects a name: its characters in order, any case."""
    if not query_text:
        return True
    name = name.lower()
    position = 0
    for char in query_text.lower():
        position = name.find(char, position)
        if position < 0:
            return False
        position += 1
    return True
