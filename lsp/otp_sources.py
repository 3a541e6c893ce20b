"""OTP's sources, read at the edge: where a function, type or module is, and its docs.

holo knows OTP's modules from their BEAM files (the ``external_module``
input) and never reads OTP's ``.erl`` sources into the graph. Going to the
definition of ``lists:map/2`` or hovering it opens the source here, parses it
with the same grammar, and looks the name up. A few parsed files are kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from tree_sitter import Node
from tree_sitter_language_pack import get_parser

from holo.lsp.cursor import ANY_ARITY
from holo.lsp.definitions import Site
from holo.lsp.docs import FunctionDocs, clause_head, function_docs
from holo.queries.cst import atom_text
from holo.queries.source import Range

KEEP = 8


class _Parsed:
    def __init__(self, path: Path, source: bytes) -> None:
        self.path = path
        self.source = source
        self.root: Node = get_parser("erlang").parse(source).root_node
        self._starts: list[int] | None = None

    def _column(self, row: int, byte_column: int) -> int:
        if self._starts is None:
            self._starts = [0] + [i + 1 for i, b in enumerate(self.source) if b == 10]
        start = self._starts[row] if row < len(self._starts) else 0
        return len(self.source[start : start + byte_column].decode("utf-8", "replace"))

    def range(self, node: Node) -> Range:
        (line, start), (end_line, end) = node.start_point, node.end_point
        return (line, self._column(line, start), end_line, self._column(end_line, end))


class OtpSources:
    """Parsed OTP source files, by path (a small LRU)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: OrderedDict[tuple[str, float], _Parsed] = OrderedDict()

    def _load(self, path: str) -> _Parsed | None:
        file = _existing_source(Path(path))
        if file is None:
            return None
        try:
            key = (str(file), file.stat().st_mtime)
            with self._lock:
                if key in self._parsed:
                    self._parsed.move_to_end(key)
                    return self._parsed[key]
            parsed = _Parsed(file, file.read_bytes())
        except OSError:
            return None
        with self._lock:
            self._parsed[key] = parsed
            while len(self._parsed) > KEEP:
                self._parsed.popitem(last=False)
        return parsed

    def locate(self, site: Site) -> Site | None:
        """``site`` with the range of what its ``find`` names, in the file that exists."""
        parsed = self._load(site.path)
        if parsed is None or site.find is None:
            return None
        kind, name, arity = site.find
        found = _find(parsed, kind, name, arity)
        return Site(str(parsed.path), parsed.range(found) if found is not None else site.range)

    def docs(self, site: Site) -> FunctionDocs | None:
        parsed = self._load(site.path)
        if parsed is None or site.find is None:
            return None
        _, name, arity = site.find
        return function_docs(parsed.root, parsed.source, name, arity)


def _existing_source(path: Path) -> Path | None:
    """The module's source: at the conventional place, else anywhere under ``src``."""
    if path.is_file():
        return path
    src = path.parent
    if src.name == "src" and src.is_dir():
        return next(iter(sorted(src.rglob(path.name))), None)
    return None


def _find(parsed: _Parsed, kind: str, name: str, arity: int) -> Node | None:
    source = parsed.source
    for form in parsed.root.children:
        if kind == "function":
            head = clause_head(source, form)
            if head is not None and head[0] == name and arity in (ANY_ARITY, head[1]):
                clause = form.child_by_field_name("clause")
                return clause.child_by_field_name("name") if clause is not None else form
        elif kind == "type" and form.type in ("type_alias", "opaque", "nominal"):
            type_name = form.child_by_field_name("name")
            name_node = type_name.child_by_field_name("name") if type_name is not None else None
            args = type_name.child_by_field_name("args") if type_name is not None else None
            count = len(args.children_by_field_name("args")) if args is not None else 0
            if (
                name_node is not None
                and atom_text(parsed.source[name_node.start_byte : name_node.end_byte].decode())
                == name
                and arity in (ANY_ARITY, count)
            ):
                return name_node
        elif kind == "module" and form.type == "module_attribute":
            return form
    return None
