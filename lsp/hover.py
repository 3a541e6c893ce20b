"""Hover: what the name under the cursor is, in Markdown.

A function shows its module, name and arity, its ``-spec`` and its doc
(:mod:`holo.lsp.docs`); a record, macro or type shows its declaration. For
a function in OTP the query returns the :class:`Site` to read, and the
server reads the doc from OTP's source itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from holo.engine import query, record
from holo.inputs import external_module
from holo.lsp import cursor
from holo.lsp.cursor import ANY_ARITY
from holo.lsp.definitions import Site, definition_of, function_module, target_at
from holo.lsp.docs import FunctionDocs, function_docs
from holo.queries.project_index import module_index
from holo.queries.source import Range
from holo.queries.syntax import ParsedFile, parse


@record("holo.lsp.HoverInfo")
@dataclass(frozen=True)
class HoverInfo:
    """Hover text for a range; ``otp`` is set when the docs are in an OTP source to read."""

    markdown: str
    range: Range
    otp: Site | None = None
    title: str = ""


def range_text(parsed: ParsedFile, where: Range) -> str:
    """The source text of a code-point range of a parsed file."""
    line, column, end_line, end_column = where
    if line == end_line:
        return parsed.lines.line_text(line)[column:end_column]
    parts = [parsed.lines.line_text(line)[column:]]
    parts += [parsed.lines.line_text(row) for row in range(line + 1, end_line)]
    parts.append(parsed.lines.line_text(end_line)[:end_column])
    return "\n".join(parts)


def function_markdown(title: str, docs: FunctionDocs | None) -> str:
    parts = [f"**{title}**"]
    if docs is not None and docs.spec:
        parts.append(f"```erlang\n{docs.spec}\n```")
    if docs is not None and docs.doc:
        parts.append(docs.doc)
    return "\n\n".join(parts)


def _code(text: str) -> str:
    return f"```erlang\n{text}\n```"


@query(name="lsp_hover")
def hover(db: Any, path: str, line: int, column: int) -> HoverInfo | None:
    """The hover of the name at a position of ``path``; None where there is nothing to say."""
    target = target_at(db, path, line, column)
    if target is None:
        return None
    sites = definition_of(db, path, target)
    kind = target.kind
    if kind == cursor.FUNCTION:
        module = function_module(db, path, target)
        arity = target.arity if target.arity != ANY_ARITY else "_"
        title = f"{module}:{target.name}/{arity}" if module else f"{target.name}/{arity}"
        if not sites:
            return HoverInfo(f"**{title}**", target.range)
        site = sites[0]
        if site.find is not None:
            return HoverInfo("", target.range, site, title)
        parsed = parse(db, site.path)
        docs = (
            function_docs(parsed.root, parsed.source, target.name, target.arity)
            if parsed is not None
            else None
        )
        return HoverInfo(function_markdown(title, docs), target.range)
    if kind == cursor.MODULE:
        entry = next((m for m in module_index(db) if m.module == target.name), None)
        if entry is not None:
            where = "test module" if entry.is_test else "module"
            return HoverInfo(f"**{target.name}**: {where} of app `{entry.app}`", target.range)
        otp = external_module(db, target.name)
        if otp is not None:
            return HoverInfo(f"**{target.name}**: OTP module of app `{otp.app}`", target.range)
        return None
    if kind in (cursor.RECORD, cursor.FIELD, cursor.MACRO, cursor.TYPE) and sites:
        site = sites[0]
        if kind == cursor.FIELD:
            record_sites = definition_of(
                db, path, cursor.Target(cursor.RECORD, target.record, ANY_ARITY, target.range)
            )
            site = record_sites[0] if record_sites else site
        parsed = parse(db, site.path) if site.find is None else None
        if parsed is None:
            return None
        declaration = _declaration(parsed, site.range)
        return HoverInfo(_code(declaration), target.range)
    if kind in (cursor.INCLUDE, cursor.INCLUDE_LIB) and sites:
        return HoverInfo(f"`{sites[0].path}`", target.range)
    return None


def _declaration(parsed: ParsedFile, where: Range) -> str:
    """The whole form that starts at ``where`` (a record's name is inside its form)."""
    line, column = where[0], where[1]
    text = parsed.lines.line_text(line)
    byte_column = len(text[:column].encode("utf-8"))
    node = parsed.root.descendant_for_point_range((line, byte_column), (line, byte_column))
    while node is not None and node.parent is not None and node.parent.parent is not None:
        node = node.parent
    if node is None:
        return range_text(parsed, where)
    return parsed.text(node)
