"""What the cursor is on: a function, a module, a record or field, a macro, an include, a type.

Read from the file's syntax tree (tree-sitter-erlang), where every use has its
own node shape: ``call`` with an atom is a local call, ``remote`` a remote
one, ``record_name`` a record, ``macro_call_expr`` a macro, and so on. Inside
``-spec``, ``-type`` and record field types a call is a type, not a function.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from holo.engine import record
from holo.queries.cst import atom_text, string_text
from holo.queries.source import Range
from holo.queries.syntax import ParsedFile

FUNCTION = "function"
TYPE = "type"
MODULE = "module"
RECORD = "record"
FIELD = "field"
MACRO = "macro"
INCLUDE = "include"
INCLUDE_LIB = "include_lib"

ANY_ARITY = -1
NO_ARGUMENTS = -2  # a macro used without parentheses: ``?NAME``

_TYPE_CONTEXTS = frozenset(("type_sig", "field_type", "type_alias", "opaque", "nominal"))
_RECORD_NODES = frozenset(
    ("record_expr", "record_update_expr", "record_index_expr", "record_field_expr", "record_decl")
)
_NAME_TOKENS = frozenset(("atom", "var", "string"))


@record("holo.lsp.Target")
@dataclass(frozen=True)
class Target:
    """A name under the cursor, with what it names.

    ``module`` is the module written before ``:`` (a remote call or type);
    None for a local name. ``module_macro`` is set instead when that module is
    a macro (``?SERVER:call()``). ``record`` is the record of a field.
    ``arity``: ANY_ARITY when the name is used without one (``fun f`` does
    not exist, but ``-spec`` names and type names carry theirs);
    NO_ARGUMENTS for ``?NAME``.
    """

    kind: str
    name: str
    arity: int
    range: Range
    module: str | None = None
    module_macro: str | None = None
    record: str = ""
    definition: bool = False  # the cursor is on the definition itself


def node_at(parsed: ParsedFile, line: int, column: int) -> Node | None:
    """The name token at a (line, code-point column), or the one just before it."""
    text = parsed.lines.line_text(line)
    byte_column = len(text[:column].encode("utf-8"))
    root = parsed.root
    node = root.descendant_for_point_range((line, byte_column), (line, byte_column))
    if (node is None or node.type not in _NAME_TOKENS) and byte_column > 0:
        before = root.descendant_for_point_range((line, byte_column - 1), (line, byte_column - 1))
        if before is not None and (before.type in _NAME_TOKENS or before.type in ("?", "#")):
            node = before
    return node


def target_at(parsed: ParsedFile, line: int, column: int) -> Target | None:
    """What the name at a position refers to; None for anything else (a variable, a number)."""
    node = node_at(parsed, line, column)
    if node is None:
        return None
    if node.type in ("?", "#") and node.parent is not None:
        name = node.parent.child_by_field_name("name")
        if name is not None and node.parent.type == "record_name":
            name = name if name.type == "atom" else None
        if name is None:
            return None
        node = name
    return _Reader(parsed).classify(node)


class _Reader:
    def __init__(self, parsed: ParsedFile) -> None:
        self.parsed = parsed

    def text(self, node: Node) -> str:
        return self.parsed.text(node)

    def atom(self, node: Node | None) -> str | None:
        if node is None or node.type != "atom":
            return None
        return atom_text(self.text(node))

    def name(self, node: Node | None) -> str | None:
        """A macro's name: an atom or a variable token."""
        if node is None:
            return None
        if node.type == "var":
            return self.text(node)
        return self.atom(node)

    @staticmethod
    def count(node: Node | None, field: str = "args") -> int:
        return len(node.children_by_field_name(field)) if node is not None else 0

    def arity_value(self, node: Node | None) -> int:
        """The N of ``/N`` (an ``arity`` node)."""
        value = node.child_by_field_name("value") if node is not None else None
        if value is None:
            return ANY_ARITY
        try:
            return int(self.text(value))
        except ValueError:
            return ANY_ARITY

    def classify(self, node: Node) -> Target | None:
        parent = node.parent
        if parent is None:
            return None
        where = self.parsed.range(node)
        kind = parent.type
        if node.type == "string":
            if kind in ("pp_include", "pp_include_lib"):
                file = string_text(self.text(node))
                if file is None:
                    return None
                return Target(
                    INCLUDE if kind == "pp_include" else INCLUDE_LIB, file, ANY_ARITY, where
                )
            return None
        if kind in ("macro_call_expr", "macro_lhs") and parent.child_by_field_name("name") == node:
            name = self.name(node)
            if name is None:
                return None
            args = parent.child_by_field_name("args")
            arity = NO_ARGUMENTS if args is None else self.count(args)
            return Target(MACRO, name, arity, where, definition=kind == "macro_lhs")
        name = self.atom(node)
        if name is None:
            return None
        in_types = _in_type_context(node)
        if kind == "call" and parent.child_by_field_name("expr") == node:
            arity = self.count(parent.child_by_field_name("args"))
            return Target(TYPE if in_types else FUNCTION, name, arity, where)
        if kind == "remote" and parent.child_by_field_name("fun") == node:
            return self._remote(parent, name, where, in_types)
        if kind in ("remote_module", "module") or (
            kind in ("behaviour_attribute", "import_attribute", "module_attribute")
            and parent.child_by_field_name("module" if kind == "import_attribute" else "name")
            == node
        ):
            return Target(MODULE, name, ANY_ARITY, where, definition=kind == "module_attribute")
        if kind == "external_fun" and parent.child_by_field_name("fun") == node:
            module_node = parent.child_by_field_name("module")
            module = self.atom(module_node.child_by_field_name("name")) if module_node else None
            arity = self.arity_value(parent.child_by_field_name("arity"))
            return Target(FUNCTION, name, arity, where, module=module)
        if kind == "internal_fun" and parent.child_by_field_name("fun") == node:
            return Target(
                FUNCTION, name, self.arity_value(parent.child_by_field_name("arity")), where
            )
        if kind == "fa":
            return self._entry(parent, name, where)
        if kind == "function_clause" and parent.child_by_field_name("name") == node:
            arity = self.count(parent.child_by_field_name("args"))
            return Target(FUNCTION, name, arity, where, definition=True)
        if kind in ("spec", "callback") and parent.child_by_field_name("fun") == node:
            sigs = parent.children_by_field_name("sigs")
            arity = self.count(sigs[0].child_by_field_name("args")) if sigs else ANY_ARITY
            return Target(FUNCTION, name, arity, where) if kind == "spec" else None
        if kind == "type_name":
            arity = self.count(parent.child_by_field_name("args"))
            return Target(TYPE, name, arity, where, definition=True)
        if kind == "record_name" and parent.parent is not None:
            return Target(RECORD, name, ANY_ARITY, where)
        if kind == "record_decl" and parent.child_by_field_name("name") == node:
            return Target(RECORD, name, ANY_ARITY, where, definition=True)
        if (
            kind in ("record_field", "record_field_name")
            and parent.child_by_field_name("name") == node
        ):
            owner = parent.parent
            while owner is not None and owner.type not in _RECORD_NODES:
                owner = owner.parent
            if owner is None:
                return None
            record_name = owner.child_by_field_name("name")
            if record_name is not None and record_name.type == "record_name":
                record_name = record_name.child_by_field_name("name")
            rec = self.atom(record_name)
            if rec is None:
                return None
            return Target(
                FIELD, name, ANY_ARITY, where, record=rec, definition=owner.type == "record_decl"
            )
        return None

    def _remote(self, remote: Node, name: str, where: Range, in_types: bool) -> Target:
        module_node = remote.child_by_field_name("module")
        if module_node is not None and module_node.type == "remote_module":
            module_node = module_node.child_by_field_name("module")
        module = self.atom(module_node)
        macro = None
        if module is None and module_node is not None and module_node.type == "macro_call_expr":
            macro = self.name(module_node.child_by_field_name("name"))
        call = remote.parent
        arity = ANY_ARITY
        if call is not None and call.type == "call":
            arity = self.count(call.child_by_field_name("args"))
        kind = TYPE if in_types else FUNCTION
        return Target(kind, name, arity, where, module=module, module_macro=macro)

    def _entry(self, fa: Node, name: str, where: Range) -> Target | None:
        arity = self.arity_value(fa.child_by_field_name("arity"))
        attribute = fa.parent
        while attribute is not None and attribute.parent is not None and attribute.parent.parent:
            attribute = attribute.parent  # up to the form
        kind = attribute.type if attribute is not None else ""
        if kind == "import_attribute":
            module = self.atom(attribute.child_by_field_name("module")) if attribute else None
            return Target(FUNCTION, name, arity, where, module=module)
        if kind == "export_type_attribute":
            return Target(TYPE, name, arity, where)
        if kind == "optional_callbacks_attribute":
            return None
        return Target(FUNCTION, name, arity, where)


def _in_type_context(node: Node) -> bool:
    current: Node | None = node.parent
    while current is not None:
        kind = current.type
        if kind in _TYPE_CONTEXTS:
            return True
        if kind in ("field_expr", "fun_decl", "source_file"):
            return False
        current = current.parent
    return False
