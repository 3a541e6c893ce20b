"""Documentation of a function as its source writes it: the ``-spec`` and the doc above it.

The doc is the ``-doc`` attribute (OTP 27's) before the function, else the
``%%`` comment block right above it (or above its ``-spec``). In an EDoc
block (``%% @doc ...``) the text from ``@doc`` on is kept, other tags
dropped. Pure functions over a tree-sitter tree and its bytes: the server
uses them on project files through the graph and on OTP's sources directly.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from tree_sitter import Node

from holo.queries.cst import atom_text, string_text

_COMMENT_PREFIX = re.compile(r"^%+ ?")
_EDOC_TAG = re.compile(r"^@(\w+)\s*")


@dataclass(frozen=True)
class FunctionDocs:
    spec: str | None  # the -spec form's source text
    doc: str | None


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def clause_head(source: bytes, form: Node) -> tuple[str, int] | None:
    """(name, arity) of a function clause form."""
    clause = form.child_by_field_name("clause") if form.type == "fun_decl" else None
    if clause is None or clause.type != "function_clause":
        return None
    name = _name_of(source, clause.child_by_field_name("name"))
    if name is None:
        return None
    args = clause.child_by_field_name("args")
    return name, len(args.children_by_field_name("args")) if args is not None else 0


def _name_of(source: bytes, node: Node | None) -> str | None:
    if node is None or node.type != "atom":
        return None
    return atom_text(_text(source, node))


def _spec_of(source: bytes, form: Node) -> tuple[str, int] | None:
    name = _name_of(source, form.child_by_field_name("fun"))
    sigs = form.children_by_field_name("sigs")
    if name is None or not sigs:
        return None
    args = sigs[0].child_by_field_name("args")
    return name, len(args.children_by_field_name("args")) if args is not None else 0


def _doc_attribute(source: bytes, form: Node) -> str | None:
    if form.type != "wild_attribute":
        return None
    attr_name = form.child_by_field_name("name")
    if _name_of(source, attr_name.child_by_field_name("name") if attr_name else None) != "doc":
        return None
    value = form.child_by_field_name("value")
    if value is None or value.type != "string":
        return None
    token = _text(source, value)
    if token.startswith('"""'):
        return textwrap.dedent(token[3:-3]).strip()
    text = string_text(token)
    return text.strip() if text is not None else None


def comment_doc(comments: list[str]) -> str | None:
    """The doc of a ``%%`` comment block: EDoc's ``@doc`` part if it has one, else all of it."""
    lines = [_COMMENT_PREFIX.sub("", c.rstrip()) for c in comments]
    kept: list[str] = []
    in_doc = not any(_EDOC_TAG.match(line.strip()) for line in lines)
    for line in lines:
        tag = _EDOC_TAG.match(line.strip())
        if tag is not None:
            in_doc = tag.group(1) == "doc"
            line = line.strip()[tag.end() :] if in_doc else ""
            if not in_doc or not line:
                continue
        if in_doc:
            kept.append(line)
    text = "\n".join(kept).strip()
    return text or None


def function_docs(root: Node, source: bytes, name: str, arity: int) -> FunctionDocs | None:
    """The spec and doc of name/arity (any arity when ``arity`` < 0); None if not defined."""
    forms = root.children
    spec: str | None = None
    for form in forms:
        if form.type == "spec" and spec is None:
            found = _spec_of(source, form)
            if found is not None and found[0] == name and arity in (found[1], -1):
                spec = _text(source, form)
    previous: tuple[str, int] | None = None
    for index, form in enumerate(forms):
        head = clause_head(source, form)
        if head is not None and head != previous and head[0] == name and arity in (head[1], -1):
            return FunctionDocs(spec, _doc_before(source, forms, index))
        if form.type != "comment":
            previous = head
    return None


def _doc_before(source: bytes, forms: list[Node], index: int) -> str | None:
    """The ``-doc`` or the comment block right above forms[index] (or above its -spec)."""
    comments: list[str] = []
    next_row = forms[index].start_point[0]
    for form in reversed(forms[:index]):
        if form.type == "wild_attribute":
            doc = _doc_attribute(source, form)
            if doc is not None and not comments:
                return doc
            break
        if form.type == "spec" and not comments:
            next_row = form.start_point[0]
            continue
        if form.type != "comment" or form.end_point[0] + 1 < next_row:
            break  # another form, or a blank line: the block above is not this function's
        comments.append(_text(source, form))
        next_row = form.start_point[0]
    return comment_doc(comments[::-1]) if comments else None
