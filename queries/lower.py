"""Lowering: a tree-sitter-erlang syntax tree to an :class:`ItemTree`.

One walk per form collects everything later layers need: the token
fingerprint, calls, macro and record uses, and for clauses which variables a
pattern binds. The walks use an explicit stack: deeply nested code must not
exhaust Python's recursion limit.

Given a :class:`LoweredForms` memo, a form lowered before (same bytes, same
first column) is taken from it instead, its positions moved to where the
form is now: after an edit only the forms the edit touched are lowered.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right
from typing import Any

from tree_sitter import Node, Query, QueryCursor
from tree_sitter_language_pack import get_language

from holo.queries.cst import atom_text, integer_value, string_text
from holo.queries.items import (
    FORM_LETTERS,
    Attribute,
    Clause,
    CondExpr,
    Conditional,
    Define,
    Entry,
    Include,
    ItemTree,
    LocalCall,
    MacroUse,
    Record,
    RecordUse,
    Refs,
    RemoteCall,
    Span,
    Undef,
    span,
)
from holo.queries.lowered_forms import FormKey, Lowered, LoweredForms
from holo.queries.syntax import MAYBE_PLACEHOLDER, ParsedFile, syntax_problems

_LITERAL_TYPES = frozenset(("atom", "integer", "string", "char", "float"))

_MAYBE_NAME = MAYBE_PLACEHOLDER.decode()


class _Scan:
    """What one walk over a form's tokens found."""

    __slots__ = (
        "digest",
        "local_calls",
        "remote_calls",
        "macro_uses",
        "record_uses",
        "local_funs",
        "bound",
        "uses",
        "stringified",
        "var_calls",
        "var_contexts",
    )

    def __init__(self) -> None:
        self.digest = b""
        self.local_calls: list[LocalCall] = []
        self.remote_calls: list[RemoteCall] = []
        self.macro_uses: list[MacroUse] = []
        self.record_uses: list[RecordUse] = []
        self.local_funs: list[int] = []
        self.bound: set[str] = set()
        self.uses: dict[str, Node] = {}
        self.stringified: set[str] = set()  # ??Name
        self.var_calls: list[tuple[str, int]] = []  # V(...) and fun V/N
        self.var_contexts: set[tuple[str, int, int]] = set()  # with track_contexts

    def refs(self) -> Refs:
        return Refs(
            tuple(self.local_calls),
            tuple(self.remote_calls),
            tuple(self.macro_uses),
            tuple(self.record_uses),
            tuple(self.local_funs),
        )


# Erlang's tokens, enough to fingerprint code without its layout: strings,
# quoted atoms and character literals whole (so a '%' or a space in them is
# theirs), comments (dropped), names and numbers, then operators by maximal
# munch (so "A - -1" and "A--1" differ, as they do for erl_scan).
_TOKEN = re.compile(
    rb'"(?:[^"\\]|\\.)*"'
    rb"|'(?:[^'\\]|\\.)*'"
    rb"|\$(?:\\(?:\^.|x\{[0-9a-fA-F]*\}|[0-7]{1,3}|.)|.)"
    rb"|%[^\n]*"
    rb"|[A-Za-z0-9_@#.]+"
    rb"|=:=|=/=|\.\.\.|->|<-|<=|>=|=<|==|/=|\+\+|--|\|\||::|:=|=>|<<|>>|\?=|\?\?|\S",
    re.DOTALL,
)


def tokens(source: bytes, start: int, end: int) -> list[bytes]:
    """The tokens of ``source[start:end]``, comments left out."""
    return [t for t in _TOKEN.findall(source, start, end) if t[0] != 37]  # 37: '%'


def token_digest(source: bytes, start: int, end: int) -> bytes:
    """A fingerprint of the tokens of ``source[start:end]``: layout and comments do not count."""
    return hashlib.blake2b(b"\x00".join(tokens(source, start, end)), digest_size=16).digest()


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping cover of the intervals."""
    intervals.sort()
    merged: list[tuple[int, int]] = []
    for a, b in intervals:
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


_QUERY_TEXT = """
(var) @var
(macro_call_expr name: (_) @macro_name)
(macro_string name: (_) @macro_name)
(macro_string name: (_) @stringified)
(macro_call_expr) @macro
(call) @call
(internal_fun) @internal_fun
(external_fun) @external_fun
[(record_expr) (record_update_expr) (record_index_expr) (record_field_expr)] @record
(function_clause args: (_) @pattern)
(fun_clause args: (_) @pattern)
(fun_clause name: (_) @pattern)
(match_expr lhs: (_) @pattern)
(cond_match_expr lhs: (_) @pattern)
(cr_clause pat: (_) @pattern)
(catch_clause class: (_) @pattern)
(catch_clause pat: (_) @pattern)
(catch_clause stack: (_) @pattern)
(generator lhs: (_) @pattern)
(b_generator lhs: (_) @pattern)
(map_generator lhs: (_) @pattern)
"""
_CAPTURE_NAMES = (
    "var",
    "macro_name",
    "stringified",
    "macro",
    "call",
    "internal_fun",
    "external_fun",
    "record",
    "pattern",
)
_query_holder: list[Query] = []


def _query() -> Query:
    if not _query_holder:
        _query_holder.append(Query(get_language("erlang"), _QUERY_TEXT))
    return _query_holder[0]


class _Captures:
    """Every node of interest in a file, by kind, in source order (one query, run in C)."""

    def __init__(self, root: Node) -> None:
        found = QueryCursor(_query()).captures(root)
        self.nodes: dict[str, tuple[list[int], list[Node]]] = {}
        for name in _CAPTURE_NAMES:
            # By start, then end: nested nodes that start together (``#r{}#r{}``,
            # ``f(X)(Y)``) come innermost first, whichever node the query ran on.
            nodes = sorted(found.get(name, []), key=lambda n: (n.start_byte, n.end_byte))
            self.nodes[name] = ([n.start_byte for n in nodes], nodes)

    def within(self, name: str, start: int, end: int) -> list[Node]:
        starts, nodes = self.nodes[name]
        return nodes[bisect_left(starts, start) : bisect_left(starts, end)]

    def starts_within(self, name: str, start: int, end: int) -> set[int]:
        starts, _ = self.nodes[name]
        return set(starts[bisect_left(starts, start) : bisect_left(starts, end)])


def _digest(*parts: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(b"%d:" % len(part))
        h.update(part)
    return h.digest()


# Up to this many forms to lower (the rest known from before), each gets its own
# capture query; more, and one query over the whole file is cheaper.
_PER_FORM_CAPTURES = 8

# The ItemTree's item tuples, in field order.
_KIND_ORDER = ("clause", "define", "undef", "cond", "include", "record", "attr")


class _Pending:
    """A form not lowered before: its handler, node, and memo key (None: not memoised)."""

    __slots__ = ("handler", "form", "key")

    def __init__(self, handler: Any, form: Node, key: FormKey | None) -> None:
        self.handler = handler
        self.form = form
        self.key = key


def _end_point(parsed: ParsedFile) -> tuple[int, int]:
    """(line, code-point column) of the end of the file, without indexing every line."""
    src = parsed.source
    row = src.count(b"\n")
    return row, parsed.lines.column(row, len(src) - (src.rfind(b"\n") + 1))


class Lowerer:
    """Lowers one parsed file. Use :func:`lower`."""

    def __init__(self, parsed: ParsedFile, memo: LoweredForms | None = None) -> None:
        self.parsed = parsed
        self.memo = memo
        self.src = parsed.source
        self.captures: _Captures  # of the file, or of the form being lowered
        self.produced: list[tuple[str, Any]] = []  # (form letter, item) of the current form

    # ------------------------------------------------------------ tokens

    def range(self, node: Node) -> Span:
        return span(self.parsed.range(node))

    def text(self, node: Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def atom(self, node: Node | None) -> str | None:
        if node is None or node.type != "atom":
            return None
        name = atom_text(self.text(node))
        if name == _MAYBE_NAME and self.parsed.maybe_renamed:
            return "maybe"
        return name

    def name_of(self, node: Node | None) -> str | None:
        """The text of a macro or variable name node (``var`` or ``atom``)."""
        if node is None:
            return None
        if node.type == "atom":
            return self.atom(node)
        if node.type == "var":
            return self.text(node)
        return None

    def integer(self, node: Node | None) -> int | None:
        if node is None or node.type not in ("integer", "char"):
            return None
        return integer_value(self.text(node))

    def normalised(self, node: Node) -> str:
        """The node's tokens separated by single spaces: text without layout or comments."""
        return " ".join(
            t.decode("utf-8", "replace") for t in tokens(self.src, node.start_byte, node.end_byte)
        )

    # -------------------------------------------------------------- scan

    def scan(self, root: Node, types: bool = False, track_contexts: bool = False) -> _Scan:
        """Fingerprint a form's tokens and collect its references.

        ``types``: the form is a type (spec, record declaration): ``integer()``
        there is a type, not a call, and variables are type variables.
        ``track_contexts``: record every variable occurrence with its macro
        argument context (for macro replacements).
        """
        result = _Scan()
        start, end = root.start_byte, root.end_byte
        result.digest = token_digest(self.src, start, end)
        captures = self.captures
        macros: list[Node] = []
        arguments: list[tuple[int, int, int, int]] = []  # start, end, use, arg
        for node in captures.within("macro", start, end):
            use = self._macro_use(node, result)
            if use < 0:
                continue
            macros.append(node)
            args = node.child_by_field_name("args")
            if args is not None:
                for arg, child in enumerate(args.children_by_field_name("args")):
                    arguments.append((child.start_byte, child.end_byte, use, arg))

        def context(offset: int) -> tuple[int, int]:
            found = (-1, -1)
            for arg_start, arg_end, use, arg in arguments:
                if arg_start <= offset < arg_end:
                    found = (use, arg)
            return found

        for node in captures.within("record", start, end):
            self._record_use(node, result, context(node.start_byte) if arguments else (-1, -1))
        if types:
            return result
        for node in captures.within("call", start, end):
            self._call(node, result, context(node.start_byte) if arguments else (-1, -1))
        for node in captures.within("internal_fun", start, end):
            self._internal_fun(node, result, context(node.start_byte) if arguments else (-1, -1))
        for node in captures.within("external_fun", start, end):
            self._external_fun(node, result, context(node.start_byte) if arguments else (-1, -1))
        for node in captures.within("stringified", start, end):
            result.stringified.add(self.text(node))
        variables = captures.within("var", start, end)
        if not variables:
            return result
        not_vars = captures.starts_within("macro_name", start, end)
        binding = _merge(
            [(n.start_byte, n.end_byte) for n in captures.within("pattern", start, end)]
            + [(a, b) for a, b, _, _ in arguments]
        )
        binding_starts = [a for a, _ in binding]
        bound, uses, src = result.bound, result.uses, self.src
        for node in variables:
            offset = node.start_byte
            if offset in not_vars:
                continue
            name = src[offset : node.end_byte].decode("utf-8", "replace")
            i = bisect_right(binding_starts, offset) - 1
            if i >= 0 and offset < binding[i][1]:
                bound.add(name)
            elif name not in uses:
                uses[name] = node
            if track_contexts:
                result.var_contexts.add((name, *(context(offset) if arguments else (-1, -1))))
        return result

    def _macro_use(self, node: Node, result: _Scan) -> int:
        """Record a macro use; its index in ``result.macro_uses``, or -1."""
        name_node = node.child_by_field_name("name")
        name = self.name_of(name_node)
        if name is None or name_node is None:
            return -1
        args = node.child_by_field_name("args")
        arity: int | None = None
        atoms: tuple[str | None, ...] = ()
        if args is not None:
            arguments = args.children_by_field_name("args")
            arity = len(arguments)
            atoms = tuple(self._single_atom(a) for a in arguments)
        parent = node.parent
        remote_name = (
            parent is not None
            and parent.type == "remote"
            and parent.child_by_field_name("fun") == node
        )
        where = span(self.parsed.lines.range(node.start_point, name_node.end_point))
        result.macro_uses.append((name, arity, where, atoms, remote_name))
        return len(result.macro_uses) - 1

    def _single_atom(self, argument: Node) -> str | None:
        expr = argument.child_by_field_name("expr") if argument.type == "macro_expr" else argument
        if expr is None or expr.type != "atom" or argument.named_child_count != 1:
            return None
        return self.atom(expr)

    def _record_use(self, node: Node, result: _Scan, context: tuple[int, int]) -> None:
        name_node = node.child_by_field_name("name")
        if name_node is None:
            return
        name = self.atom(name_node.child_by_field_name("name"))
        if name is None:
            return
        fields: list[tuple[str, Span]] = []
        for field in node.children_by_field_name("fields"):
            field_name = field.child_by_field_name("name")
            fname = self.atom(field_name)
            if fname is not None and field_name is not None:
                fields.append((fname, self.range(field_name)))
        index = node.child_by_field_name("field")
        if index is not None:
            field_name = index.child_by_field_name("name")
            fname = self.atom(field_name)
            if fname is not None and field_name is not None:
                fields.append((fname, self.range(field_name)))
        result.record_uses.append((name, self.range(name_node), tuple(fields), *context))

    def _call(self, node: Node, result: _Scan, context: tuple[int, int]) -> None:
        expr = node.child_by_field_name("expr")
        if expr is None:
            return
        args_node = node.child_by_field_name("args")
        args = args_node.children_by_field_name("args") if args_node is not None else []
        arity = len(args)
        kind = expr.type
        if kind == "atom":
            name = self.atom(expr)
            if name is None:
                return
            result.local_calls.append((name, arity, self.range(expr), *context))
            if (name == "record_info" or name == "is_record") and arity == 2:
                self._record_name_use(args[1], result, context)
        elif kind == "remote":
            fun = expr.child_by_field_name("fun")
            self._remote(expr, fun, arity, result, context)
            if arity == 2 and self.atom(fun) == "is_record" and self._module_atom(expr) == "erlang":
                self._record_name_use(args[1], result, context)
        elif kind == "var":
            result.var_calls.append((self.text(expr), arity))

    def _record_name_use(self, node: Node, result: _Scan, context: tuple[int, int]) -> None:
        """``record_info(_, r)`` and ``is_record(X, r)``: the compiler expands them with
        record r's definition (``is_record/3`` names the size itself, so it does not)."""
        record_name = self.atom(node)
        if record_name is not None:
            result.record_uses.append((record_name, self.range(node), (), *context))

    def _module_atom(self, remote: Node) -> str | None:
        """The module of ``m:f`` when it is written as an atom."""
        module_node = remote.child_by_field_name("module")
        if module_node is not None and module_node.type == "remote_module":
            module_node = module_node.child_by_field_name("module")
        return self.atom(module_node)

    def _remote(
        self,
        node: Node,
        fun: Node | None,
        arity: int,
        result: _Scan,
        context: tuple[int, int],
    ) -> None:
        function = self.atom(fun)
        if function is None or fun is None:
            return
        module_node = node.child_by_field_name("module")
        if module_node is not None and module_node.type in ("remote_module", "module"):
            module_node = module_node.child_by_field_name(
                "module" if module_node.type == "remote_module" else "name"
            )
        if module_node is None:
            return
        where = self.range(node) if node.type == "remote" else self.range(fun)
        if module_node.type == "atom":
            module = self.atom(module_node)
            if module is not None:
                result.remote_calls.append((module, False, function, arity, where, *context))
        elif (
            module_node.type == "macro_call_expr"
            and module_node.child_by_field_name("args") is None
        ):
            macro = self.name_of(module_node.child_by_field_name("name"))
            if macro is not None:
                result.remote_calls.append((macro, True, function, arity, where, *context))

    def _fun_arity(self, node: Node) -> int | None:
        arity = node.child_by_field_name("arity")
        if arity is None:
            return None
        return self.integer(arity.child_by_field_name("value"))

    def _internal_fun(self, node: Node, result: _Scan, context: tuple[int, int]) -> None:
        fun = node.child_by_field_name("fun")
        arity = self._fun_arity(node)
        if fun is None or arity is None:
            return
        name = self.atom(fun)
        if name is not None:
            result.local_funs.append(len(result.local_calls))
            result.local_calls.append((name, arity, self.range(fun), *context))
        elif fun.type == "var":
            result.var_calls.append((self.text(fun), arity))

    def _external_fun(self, node: Node, result: _Scan, context: tuple[int, int]) -> None:
        arity = self._fun_arity(node)
        if arity is not None:
            self._remote(node, node.child_by_field_name("fun"), arity, result, context)

    # ------------------------------------------------------------- forms

    def lower(self) -> ItemTree:
        parsed = self.parsed
        root = parsed.root
        src, lines, renamed = self.src, parsed.lines, parsed.maybe_renamed
        is_ascii = lines.ascii
        forms = root.children
        last = len(forms) - 1
        found: list[Lowered | _Pending] = []
        fresh = 0
        memo = self.memo
        for i, form in enumerate(forms):
            handler = _FORM_HANDLERS.get(form.type)
            if handler is None:
                continue
            key: FormKey | None = None
            if memo is not None and not (
                form.has_error
                or (i > 0 and forms[i - 1].has_error)
                or (i < last and forms[i + 1].has_error)
            ):
                row, column = form.start_point
                key = (
                    form.type,
                    src[form.start_byte : form.end_byte],
                    column if is_ascii else lines.column(row, column),
                    renamed,
                )
                known = memo.lookup(key, row)
                if known is not None:
                    found.append(known)
                    continue
            found.append(_Pending(handler, form, key))
            fresh += 1
        # One query over the file finds the nodes of interest fastest; for the few
        # forms an edit changed, a query over each of them.
        whole_file = _Captures(root) if fresh > _PER_FORM_CAPTURES else None
        letters: list[str] = []
        items: dict[str, list[Any]] = {letter: [] for letter in FORM_LETTERS.values()}
        for entry in found:
            if isinstance(entry, _Pending):
                self.captures = whole_file or _Captures(entry.form)
                self.produced = []
                entry.handler(self, entry.form)
                lowered = tuple(self.produced)
                if memo is not None and entry.key is not None:
                    memo.remember(entry.key, entry.form.start_point[0], lowered)
            else:
                lowered = entry
            for letter, item in lowered:
                letters.append(letter)
                items[letter].append(item)
        return ItemTree(
            parsed.path,
            "".join(letters),
            *(tuple(items[FORM_LETTERS[kind]]) for kind in _KIND_ORDER),
            root.has_error,
            _end_point(parsed),
            tuple((code, span(where), message) for code, where, message in syntax_problems(parsed)),
        )

    def _add(self, kind: str, item: Any) -> None:
        self.produced.append((FORM_LETTERS[kind], item))

    def _attribute(
        self,
        node: Node,
        kind: str,
        name: str | None = None,
        arity: int | None = None,
        entries: tuple[Entry, ...] = (),
        text: str = "",
        refs: Refs | None = None,
    ) -> None:
        attribute = Attribute(kind, name, arity, entries, text, refs or Refs(), self.range(node))
        self._add("attr", attribute)

    def fun_decl(self, node: Node) -> None:
        clause = node.child_by_field_name("clause")
        if clause is None:
            return
        if clause.type == "macro_call_expr":
            name_node: Node | None = clause
            arity = -1
        else:
            name_node = clause.child_by_field_name("name")
            args = clause.child_by_field_name("args")
            arity = len(args.children_by_field_name("args")) if args is not None else 0
        if name_node is None:
            return
        last = node.children[-1].type
        scan = self.scan(node)
        unbound = tuple(
            (name, self.range(use))
            for name, use in scan.uses.items()
            if name not in scan.bound and name != "_"
        )
        self._add(
            "clause",
            Clause(
                self.atom(name_node),
                arity,
                self.range(name_node),
                self.range(node),
                scan.digest,
                last != ";",
                scan.refs(),
                unbound,
                node.has_error,
            ),
        )

    def pp_define(self, node: Node) -> None:
        lhs = node.child_by_field_name("lhs")
        if lhs is None:
            return
        name = self.name_of(lhs.child_by_field_name("name"))
        if name is None:
            return
        args = lhs.child_by_field_name("args")
        params: list[str] = []
        if args is not None:
            params = [self.text(a) for a in args.children_by_field_name("args")]
        body = node.child_by_field_name("replacement")
        literal: str | None = None
        used_params: tuple[int, ...] = ()
        param_uses: tuple[tuple[int, int, int], ...] = ()
        param_calls: tuple[tuple[int, int], ...] = ()
        heads: list[tuple[str, int, int]] = []
        if body is not None and body.type == "replacement_function_clauses":
            for clause in body.children_by_field_name("clauses"):
                head_node = clause.child_by_field_name("name")
                clause_args = clause.child_by_field_name("args")
                if head_node is None or clause_args is None:
                    continue
                clause_arity = len(clause_args.children_by_field_name("args"))
                clause_name = self.atom(head_node)
                if clause_name is not None:
                    head = (clause_name, clause_arity, -1)
                elif head_node.type == "var" and self.text(head_node) in params:
                    head = ("", clause_arity, params.index(self.text(head_node)))
                else:
                    continue
                if head not in heads:
                    heads.append(head)
        if body is None:
            scan = _Scan()
            free: tuple[str, ...] = ()
        else:
            scan = self.scan(body, track_contexts=True)
            free = tuple(sorted((set(scan.uses) | scan.bound) - set(params)))
            direct = {v for v, use, _ in scan.var_contexts if use < 0} | scan.stringified
            used_params = tuple(i for i, p in enumerate(params) if p in direct)
            param_uses = tuple(
                sorted(
                    (params.index(v), use, arg)
                    for v, use, arg in scan.var_contexts
                    if use >= 0 and v in params and v not in direct
                )
            )
            param_calls = tuple(
                sorted({(params.index(v), a) for v, a in scan.var_calls if v in params})
            )
            if body.type in _LITERAL_TYPES:
                literal = self.text(body)
                if body.type == "atom":
                    literal = "'" + (self.atom(body) or "") + "'"
            elif body.type == "macro_call_expr" and body.child_by_field_name("args") is None:
                macro = self.name_of(body.child_by_field_name("name"))
                literal = None if macro is None else "?" + macro
        arity = None if args is None else len(params)
        fingerprint = _digest(
            name.encode(), str(arity).encode(), ",".join(params).encode(), scan.digest
        )
        define = Define(
            name,
            arity,
            fingerprint,
            literal,
            free,
            scan.refs(),
            self.range(node),
            used_params,
            param_uses,
            param_calls,
            tuple(heads),
        )
        self._add("define", define)

    def pp_undef(self, node: Node) -> None:
        name = self.name_of(node.child_by_field_name("name"))
        if name is not None:
            self._add("undef", Undef(name, self.range(node)))

    def _conditional(self, node: Node, kind: str) -> None:
        name: str | None = None
        expr: CondExpr | None = None
        if kind in ("ifdef", "ifndef"):
            name = self.name_of(node.child_by_field_name("name"))
        elif kind in ("if", "elif"):
            cond = node.child_by_field_name("cond")
            expr = self.condition(cond) if cond is not None else ("unknown", "")
        self._add("cond", Conditional(kind, name, expr, self.range(node)))

    def condition(self, node: Node, depth: int = 0) -> CondExpr:
        """An ``-if`` condition as a small tuple tree (see :data:`CondExpr`)."""
        kind = node.type
        if depth > 40:
            return ("unknown", self.text(node))
        if kind == "paren_expr":
            inner = node.child_by_field_name("expr")
            return self.condition(inner, depth + 1) if inner is not None else ("unknown", "")
        if kind in ("integer", "char"):
            value = self.integer(node)
            return ("int", value) if value is not None else ("unknown", self.text(node))
        if kind == "atom":
            return ("atom", self.atom(node))
        if kind == "string":
            text = string_text(self.text(node))
            return ("str", text) if text is not None else ("unknown", self.text(node))
        if kind == "macro_call_expr" and node.child_by_field_name("args") is None:
            return ("macro", self.name_of(node.child_by_field_name("name")))
        if kind == "call":
            fun = node.child_by_field_name("expr")
            args_node = node.child_by_field_name("args")
            args = args_node.children_by_field_name("args") if args_node is not None else []
            if self.atom(fun) == "defined" and len(args) == 1:
                target = self.name_of(args[0])
                if target is not None:
                    return ("defined", target)
        if kind == "binary_op_expr":
            lhs, rhs = node.child_by_field_name("lhs"), node.child_by_field_name("rhs")
            ops = [c for c in node.children if not c.is_named]
            if lhs is not None and rhs is not None and ops:
                return (
                    "op",
                    self.text(ops[0]),
                    self.condition(lhs, depth + 1),
                    self.condition(rhs, depth + 1),
                )
        if kind == "unary_op_expr":
            operand = node.child_by_field_name("operand")
            ops = [c for c in node.children if not c.is_named]
            if operand is not None and ops:
                return ("unop", self.text(ops[0]), self.condition(operand, depth + 1))
        return ("unknown", self.normalised(node))

    def include(self, node: Node, lib: bool) -> None:
        file_node = node.child_by_field_name("file")
        file = string_text(self.text(file_node)) if file_node is not None else None
        self._add("include", Include(lib, file, self.range(node)))

    def record_decl(self, node: Node) -> None:
        name_node = node.child_by_field_name("name")
        name = self.atom(name_node)
        if name is None or name_node is None:
            return
        fields: list[tuple[str, Span]] = []
        for field in node.children_by_field_name("fields"):
            field_name = field.child_by_field_name("name")
            fname = self.atom(field_name)
            if fname is not None and field_name is not None:
                fields.append((fname, self.range(field_name)))
        scan = self.scan(node, types=True)
        # Calls in field defaults run wherever the record is built.
        calls: list[LocalCall] = []
        remotes: list[RemoteCall] = []
        for field in node.children_by_field_name("fields"):
            default = field.child_by_field_name("expr")
            if default is not None:
                found = self.scan(default)
                calls.extend((*c[:3], -1, -1) for c in found.local_calls)
                remotes.extend((*r[:5], -1, -1) for r in found.remote_calls)
        refs = Refs(tuple(calls), tuple(remotes), tuple(scan.macro_uses), tuple(scan.record_uses))
        record = Record(
            name,
            tuple(fields),
            scan.digest,
            refs,
            self.range(node),
            self.range(name_node),
        )
        self._add("record", record)

    def entry(self, node: Node) -> Entry | None:
        """``f/1`` (fa or binary operator) or ``{f, 1}`` as (name, arity, range)."""
        kind = node.type
        name: str | None = None
        arity: int | None = None
        if kind == "fa":
            name = self.atom(node.child_by_field_name("fun"))
            arity_node = node.child_by_field_name("arity")
            if arity_node is not None:
                arity = self.integer(arity_node.child_by_field_name("value"))
        elif kind == "binary_op_expr":
            name = self.atom(node.child_by_field_name("lhs"))
            arity = self.integer(node.child_by_field_name("rhs"))
        elif kind == "tuple":
            elements = node.children_by_field_name("expr")
            if len(elements) == 2:
                name, arity = self.atom(elements[0]), self.integer(elements[1])
        if name is None or arity is None:
            return None
        return (name, arity, self.range(node))

    def entries(self, nodes: list[Node]) -> tuple[Entry, ...]:
        found = (self.entry(n) for n in nodes)
        return tuple(e for e in found if e is not None)

    def list_entries(self, node: Node | None) -> tuple[Entry, ...]:
        """Entries of a list expression (or of a single entry)."""
        if node is None:
            return ()
        if node.type == "list":
            return self.entries(node.children_by_field_name("exprs"))
        single = self.entry(node)
        return (single,) if single is not None else ()

    def module_attribute(self, node: Node) -> None:
        name_node = node.child_by_field_name("name")
        if name_node is not None and name_node.type == "macro_call_expr":
            macro = self.name_of(name_node.child_by_field_name("name")) or ""
            self._attribute(node, "module", None, text=macro)
        else:
            self._attribute(node, "module", self.atom(name_node))

    def export_attribute(self, node: Node) -> None:
        self._attribute(node, "export", entries=self.entries(node.children_by_field_name("funs")))

    def import_attribute(self, node: Node) -> None:
        module = self.atom(node.child_by_field_name("module"))
        entries = self.entries(node.children_by_field_name("funs"))
        self._attribute(node, "import", module, entries=entries)

    def export_type_attribute(self, node: Node) -> None:
        entries = self.entries(node.children_by_field_name("types"))
        self._attribute(node, "export_type", entries=entries)

    def optional_callbacks_attribute(self, node: Node) -> None:
        entries = self.entries(node.children_by_field_name("callbacks"))
        self._attribute(node, "optional_callbacks", entries=entries)

    def behaviour_attribute(self, node: Node) -> None:
        self._attribute(node, "behaviour", self.atom(node.child_by_field_name("name")))

    def _signature(self, node: Node, kind: str) -> None:
        name = self.atom(node.child_by_field_name("fun"))
        sigs = node.children_by_field_name("sigs")
        if name is None or not sigs:
            return
        args = sigs[0].child_by_field_name("args")
        arity = len(args.children_by_field_name("args")) if args is not None else 0
        text = " ; ".join(self.normalised(sig) for sig in sigs)
        refs = self.scan(node, types=True).refs()
        self._attribute(node, kind, name, arity, text=text, refs=refs)

    def spec(self, node: Node) -> None:
        self._signature(node, "spec")

    def callback(self, node: Node) -> None:
        self._signature(node, "callback")

    def type_alias(self, node: Node) -> None:
        type_name = node.child_by_field_name("name")
        if type_name is None:
            return
        name = self.atom(type_name.child_by_field_name("name"))
        args = type_name.child_by_field_name("args")
        arity = len(args.children_by_field_name("args")) if args is not None else 0
        refs = self.scan(node, types=True).refs()
        named: list[Entry] = []  # the types its definition names: ``u()`` is a "call" there
        for call in self.captures.within("call", node.start_byte, node.end_byte):
            used = self.atom(call.child_by_field_name("expr"))
            used_args = call.child_by_field_name("args")
            if used is not None and used_args is not None:
                used_arity = len(used_args.children_by_field_name("args"))
                named.append((used, used_arity, self.range(call)))
        text = self.normalised(node)
        self._attribute(node, "type", name, arity, entries=tuple(named), text=text, refs=refs)

    def compile_options_attribute(self, node: Node) -> None:
        options = node.child_by_field_name("options")
        if options is None:
            return
        items = options.children_by_field_name("exprs") if options.type == "list" else [options]
        for option in items:
            if option.type == "atom":
                self._attribute(node, "compile", self.atom(option))
            elif option.type == "tuple":
                elements = option.children_by_field_name("expr")
                if len(elements) != 2:
                    continue
                key = self.atom(elements[0])
                value = elements[1]
                text = self.atom(value) or ""
                entries = () if text else self.list_entries(value)
                self._attribute(node, "compile", key, entries=entries, text=text)

    def wild_attribute(self, node: Node) -> None:
        name_node = node.child_by_field_name("name")
        name = self.atom(name_node.child_by_field_name("name")) if name_node is not None else None
        value = node.child_by_field_name("value")
        if name not in ("on_load", "nifs"):
            if name is not None:
                # -vsn, -author, -dialyzer, -my_attr(...): they reach the BEAM file as written.
                self.other_attribute(node, name, value)
            return
        if value is not None and value.type == "paren_expr":
            value = value.child_by_field_name("expr")
        self._attribute(node, name, entries=self.list_entries(value))

    def other_attribute(self, node: Node, name: str, value: Node | None) -> None:
        text = self.normalised(value if value is not None else node)
        refs = self.scan(node, types=True).refs()
        self._attribute(node, "other", name, text=text, refs=refs)


_FORM_HANDLERS: dict[str, Any] = {
    "fun_decl": Lowerer.fun_decl,
    "pp_define": Lowerer.pp_define,
    "pp_undef": Lowerer.pp_undef,
    "pp_ifdef": lambda self, n: self._conditional(n, "ifdef"),
    "pp_ifndef": lambda self, n: self._conditional(n, "ifndef"),
    "pp_if": lambda self, n: self._conditional(n, "if"),
    "pp_elif": lambda self, n: self._conditional(n, "elif"),
    "pp_else": lambda self, n: self._conditional(n, "else"),
    "pp_endif": lambda self, n: self._conditional(n, "endif"),
    "pp_include": lambda self, n: self.include(n, False),
    "pp_include_lib": lambda self, n: self.include(n, True),
    "record_decl": Lowerer.record_decl,
    "module_attribute": Lowerer.module_attribute,
    "export_attribute": Lowerer.export_attribute,
    "import_attribute": Lowerer.import_attribute,
    "export_type_attribute": Lowerer.export_type_attribute,
    "optional_callbacks_attribute": Lowerer.optional_callbacks_attribute,
    "behaviour_attribute": Lowerer.behaviour_attribute,
    "spec": Lowerer.spec,
    "callback": Lowerer.callback,
    "type_alias": Lowerer.type_alias,
    "opaque": Lowerer.type_alias,
    "nominal": Lowerer.type_alias,
    "compile_options_attribute": Lowerer.compile_options_attribute,
    "wild_attribute": Lowerer.wild_attribute,
    # Forms the grammar gives their own node: the whole form stands for its value.
    "deprecated_attribute": lambda self, n: self.other_attribute(n, "deprecated", None),
    "file_attribute": lambda self, n: self.other_attribute(n, "file", None),
    "feature_attribute": lambda self, n: self.other_attribute(n, "feature", None),
}


def lower(parsed: ParsedFile, memo: LoweredForms | None = None) -> ItemTree:
    """The item tree of a parsed file.

    ``memo``: forms lowered before, reused when the same form comes again
    (equal to lowering it afresh; see :mod:`holo.queries.lowered_forms`).
    """
    return Lowerer(parsed, memo).lower()
