"""Parsing: a file's text to a tree-sitter syntax tree, and the syntax errors in it.

The grammar is WhatsApp's tree-sitter-erlang (the one the Erlang Language
Platform uses). Preprocessor directives and macro calls are ordinary nodes,
so a file parses on its own, before anything is included or expanded.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from tree_sitter import Node, Parser, Tree
from tree_sitter_language_pack import get_parser

from holo.engine import query
from holo.inputs import file_text
from holo.queries import codes
from holo.queries.reparse import RecentTrees
from holo.queries.source import MAX_SOURCE_BYTES, Decoded, LineIndex, Range, decode

# Beyond this many syntax errors a file is reported with a summary, not one
# diagnostic per error (random bytes produce thousands).
MAX_SYNTAX_ERRORS = 50

# OTP 25 reads `maybe` as an atom unless the maybe_expr feature is enabled;
# the grammar always reads it as a keyword. A file that does not parse that way
# is parsed again with every `maybe` spelled `mAybe` (same length, so positions
# hold), and the lowering reads `mAybe` back as `maybe`.
MAYBE_PLACEHOLDER = b"mAybe"
_MAYBE = re.compile(rb"\bmaybe\b")
_MAYBE_FEATURE = re.compile(rb"-\s*feature\s*\(\s*maybe_expr\s*,\s*enable")

_local = threading.local()


def _parser() -> Parser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = get_parser("erlang")
    return parser


class ParsedFile:
    """A file's syntax tree with the bytes it was parsed from.

    Equal when the bytes are equal, so a re-parse of unchanged text is cut off
    early. Not persisted: the tree cannot be encoded, only re-parsed.
    """

    __slots__ = ("path", "raw_size", "decoded", "source", "tree", "lines", "maybe_renamed")

    def __init__(self, path: str, raw: bytes, recent: RecentTrees | None = None) -> None:
        """``recent``: parse from the file's previous tree when it has one (and keep this one)."""
        self.path = path
        self.raw_size = len(raw)
        self.decoded: Decoded = decode(raw) if len(raw) <= MAX_SOURCE_BYTES else decode(b"")
        source = self.decoded.utf8
        parser = _parser()
        tree = recent.parse(parser, path, source) if recent is not None else None
        if tree is None:
            tree = parser.parse(source)
        self.maybe_renamed = False
        if tree.root_node.has_error and _MAYBE.search(source) and not _MAYBE_FEATURE.search(source):
            renamed = _MAYBE.sub(MAYBE_PLACEHOLDER, source)
            retry = parser.parse(renamed)
            if not retry.root_node.has_error:
                source, tree, self.maybe_renamed = renamed, retry, True
        if recent is not None and not tree.root_node.has_error:
            recent.keep(path, source, tree)
        self.source: bytes = source
        self.tree: Tree = tree
        self.lines = LineIndex(source)

    @property
    def root(self) -> Node:
        return self.tree.root_node

    @property
    def too_large(self) -> bool:
        return self.raw_size > MAX_SOURCE_BYTES

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def range(self, node: Node) -> Range:
        return self.lines.range(node.start_point, node.end_point)

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, ParsedFile)
            and self.path == other.path
            and self.raw_size == other.raw_size
            and self.source == other.source
        )

    def __hash__(self) -> int:
        return hash((self.path, self.source))

    def __fingerprint__(self) -> bytes:
        return self.path.encode() + b"\0" + self.source

    def __repr__(self) -> str:
        return f"<ParsedFile {self.path} ({self.raw_size} bytes)>"


@query
def parse(db: Any, path: str) -> ParsedFile | None:
    """The syntax tree of ``file_text(path)``; None when there is no such file.

    For features that need the tree itself (the language server's). The
    analysis does not go through it: ``item_tree`` parses privately, so a warm
    run restores item trees from the cache without parsing, and trees are not
    kept in memory for every file of a large project.
    """
    raw = file_text(db, path)
    if raw is None:
        return None
    return ParsedFile(path, raw)


def syntax_problems(parsed: ParsedFile) -> tuple[tuple[str, Range, str], ...]:
    """(code, range, message) of the encoding problem and syntax errors of a parsed file."""
    found: list[tuple[str, Range, str]] = []
    if parsed.too_large:
        message = (
            f"this file is {parsed.raw_size / 2**20:.1f} MB; holo does not analyse "
            f"files over {MAX_SOURCE_BYTES // 2**20} MB"
        )
        return ((codes.UNREADABLE, (0, 0, 0, 0), message),)
    problem = parsed.decoded.problem
    if problem is not None:
        where = (problem.line, problem.column, problem.line, problem.column + 1)
        found.append((codes.UNREADABLE, where, problem.message))
    errors = _error_nodes(parsed.root)
    for node in errors[:MAX_SYNTAX_ERRORS]:
        found.append(_syntax_error(parsed, node))
    if len(errors) > MAX_SYNTAX_ERRORS:
        found.append(
            (
                codes.SYNTAX_ERROR,
                found[-1][1],
                f"{len(errors) - MAX_SYNTAX_ERRORS} more syntax errors follow; "
                "is this an Erlang source file?",
            )
        )
    return tuple(found)


# Forms whose syntax errors are the grammar's, not the code's. holo reads
# nothing from -deprecated, so an error inside one costs nothing else: inside a
# deprecated_attribute node the grammar did recognise, and a whole
# ``-deprecated([f/0, g/1]).`` (Name/Arity entries, which OTP's own sources
# use), for which it has no rule and which becomes a top-level ERROR node.
_GRAMMAR_GAPS = frozenset(("deprecated_attribute",))
_NAME_ARITY = rb"(?:[a-z][A-Za-z0-9_@]*|'[^'\\]*')\s*/\s*(?:\d+|'_')"
_NAME_ARITY_DEPRECATED = re.compile(
    rb"-\s*deprecated\s*\(\s*\[?\s*"
    + _NAME_ARITY
    + rb"(?:\s*,\s*"
    + _NAME_ARITY
    + rb")*\s*\]?\s*\)\s*\."
)


def _is_grammar_gap(node: Node) -> bool:
    if node.type in _GRAMMAR_GAPS:
        return True
    if not node.is_error or node.parent is None or node.parent.parent is not None:
        return False
    text = node.text or b""
    return _NAME_ARITY_DEPRECATED.fullmatch(text) is not None


def _error_nodes(root: Node) -> list[Node]:
    """The outermost ERROR nodes and every MISSING node, in source order."""
    found: list[Node] = []
    if not root.has_error:
        return found
    stack = [root]
    while stack:
        node = stack.pop()
        if _is_grammar_gap(node):
            continue
        if node.is_missing or node.is_error:
            found.append(node)
            if node.is_error:
                # MISSING nodes inside an ERROR add nothing the ERROR does not say.
                continue
        stack.extend(c for c in reversed(node.children) if c.has_error or c.is_missing)
    return found


_OPERATORS = frozenset(
    (
        *("+", "-", "*", "/", "++", "--", "==", "/=", "=:=", "=/=", "<", ">", "=<", ">="),
        *("!", "=", "<-", "<=", "||", "::", "andalso", "orelse", "and", "or", "xor"),
        *("band", "bor", "bxor", "bsl", "bsr", "div", "rem", "not", "bnot"),
    )
)
_CLOSERS = frozenset((".", ",", ";", ")", "]", "}", "end", "->", "of", "when"))


def _first_leaf(node: Node) -> Node:
    while node.child_count:
        node = node.children[0]
    return node


def _syntax_error(parsed: ParsedFile, node: Node) -> tuple[str, Range, str]:
    if node.is_missing:
        row, col = node.start_point
        column = parsed.lines.column(row, col)
        expected = node.type if not node.is_named else node.type.replace("_", " ")
        return (
            codes.SYNTAX_ERROR,
            (row, column, row, column),
            f"syntax error: missing '{expected}' here",
        )
    leaf = _first_leaf(node)
    token = parsed.text(leaf) if leaf.end_byte > leaf.start_byte else parsed.text(node)
    token = token.splitlines()[0] if token else ""
    if len(token) > 40:
        token = token[:37] + "..."
    at_end = node.end_byte >= len(parsed.source.rstrip())
    following = node.next_sibling
    if (
        node.child_count == 1
        and not leaf.is_named
        and token in _OPERATORS
        and following is not None
        and following.type in _CLOSERS
    ):
        message = (
            f"syntax error before '{following.type}': the operator '{token}' "
            "needs an operand on its right"
        )
    elif node.start_byte == node.end_byte or not token:
        message = "syntax error: unexpected end of file; is a '.' or a closing bracket missing?"
    elif at_end and node.named_child_count:
        message = (
            f"syntax error: the form starting with '{token}' is not finished "
            "(a closing bracket or the final '.' is missing)"
        )
    else:
        message = f"syntax error: unexpected '{token}'"
    where = parsed.range(leaf) if leaf.end_byte > leaf.start_byte else parsed.range(node)
    return (codes.SYNTAX_ERROR, where, message)
