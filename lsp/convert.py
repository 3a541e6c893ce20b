"""holo's records as LSP types: diagnostics, locations, symbols, completion items."""

from __future__ import annotations

from lsprotocol import types

from holo.diagnostics import Diagnostic, Severity
from holo.lsp.completion import Completion
from holo.lsp.positions import LineTable
from holo.lsp.symbols import Symbol

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def diagnostic(d: Diagnostic, table: LineTable, encoding: str) -> types.Diagnostic:
    return types.Diagnostic(
        range=table.range((d.line, d.column, d.end_line, d.end_column), encoding),
        message=d.message,
        severity=_SEVERITY.get(d.severity, types.DiagnosticSeverity.Error),
        code=d.code,
        source=d.source,
    )


def diagnostics(
    found: tuple[Diagnostic, ...], table: LineTable, encoding: str
) -> list[types.Diagnostic]:
    return [diagnostic(d, table, encoding) for d in found]


def document_symbol(symbol: Symbol, table: LineTable, encoding: str) -> types.DocumentSymbol:
    return types.DocumentSymbol(
        name=symbol.name,
        kind=types.SymbolKind(symbol.kind),
        range=table.range(symbol.range, encoding),
        selection_range=table.range(symbol.selection, encoding),
        children=[document_symbol(child, table, encoding) for child in symbol.children] or None,
    )


def completion_item(item: Completion) -> types.CompletionItem:
    return types.CompletionItem(
        label=item.label,
        kind=types.CompletionItemKind(item.kind),
        insert_text=item.insert,
        filter_text=item.insert,
        detail=item.detail or None,
    )
