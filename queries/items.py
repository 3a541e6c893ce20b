"""The item tree: what one .erl or .hrl file declares, lowered from its syntax tree.

The item tree is the per-file summary every later layer reads instead of the
syntax tree. It keeps the file's forms in source order, preprocessor
directives included, because what is active depends on the macros defined
before each ``-ifdef`` (``resolve`` walks the forms with the macro environment).

Positions live here and only here: they shift on every edit above them, so
nothing derived from an item tree that other modules read keeps them. Each is
a ``Span``, one int packing a ``Range`` (0-based line, code-point column, end
line, end column): item trees are large, and one int encodes, decodes and
compares far faster than a tuple of four. ``unpack(span)`` gives the Range.

Fingerprints (blake2b over a form's tokens, without positions, whitespace or
comments) identify content: editing one function body changes that clause's
fingerprint and nothing else's; moving it changes none.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from holo.engine import record
from holo.queries.source import Range

Span = int  # a Range packed by span()
_BITS = 32
_MASK = (1 << _BITS) - 1


def span(where: Range) -> Span:
    line, column, end_line, end_column = where
    return (((line << _BITS | column) << _BITS | end_line) << _BITS) | end_column


def unpack(packed: Span) -> Range:
    return (
        packed >> 3 * _BITS,
        (packed >> 2 * _BITS) & _MASK,
        (packed >> _BITS) & _MASK,
        packed & _MASK,
    )


# References inside a macro call's argument end with (use, arg): the index of
# that macro use in the form's macro_uses and the argument's index; (-1, -1)
# elsewhere. A macro that never mentions a parameter drops its argument (think
# ``-define(ASSERT(E), ok)``), and with it what the argument refers to.
LocalCall = tuple[str, int, Span, int, int]  # name, arity, where (a call or ``fun f/N``), use, arg
# module (an atom, or a macro's name when module_is_macro), module_is_macro,
# function, arity, where, use, arg
RemoteCall = tuple[str, bool, str, int, Span, int, int]
# name, argument count (None: ``?X`` without parentheses), where, each
# argument's atom when the argument is one atom (else None), and whether the
# use is a remote call's function name (``M:?F(X)``)
MacroUse = tuple[str, int | None, Span, tuple[str | None, ...], bool]
FieldUse = tuple[str, Span]
# record name, where ``#name`` is, fields named, use, arg
RecordUse = tuple[str, Span, tuple[FieldUse, ...], int, int]
Entry = tuple[str, int, Span]  # name/arity in an attribute list, with its position


@record("holo.item.Refs")
@dataclass(frozen=True)
class Refs:
    """What a form refers to, each reference with its position."""

    local_calls: tuple[LocalCall, ...] = ()
    remote_calls: tuple[RemoteCall, ...] = ()
    macro_uses: tuple[MacroUse, ...] = ()
    record_uses: tuple[RecordUse, ...] = ()
    # Indices of the local calls that are ``fun f/N`` references: they name a
    # function of the module or a BIF, never an import (erlc: "undefined").
    local_funs: tuple[int, ...] = ()


NO_REFS = Refs()


@record("holo.item.Clause", remember=True)
@dataclass(frozen=True)
class Clause:
    """One function clause (tree-sitter-erlang gives each clause its own form).

    A definition is a run of clauses, each but the last ending in ``;``; the
    clauses of one definition may be split by ``-ifdef`` directives, so
    ``resolve`` groups the active ones.
    """

    name: str | None  # None when the name is a macro: ``?NAME(X) -> ...``
    arity: int  # -1 for a form that is one macro call (its replacement defines the clauses)
    head: Span  # the name: where erlc reports problems with the function
    range: Span
    fingerprint: bytes
    ends: bool  # ends with '.': the last clause of its definition
    refs: Refs
    # The first use of each variable that no pattern of the clause binds and no
    # macro argument mentions: the clause's unbound-variable candidates.
    unbound: tuple[tuple[str, Span], ...]
    has_error: bool

    @cached_property
    def without_positions(self) -> tuple[Any, ...]:
        """Name, arity, error flag, references and unbound candidates, without positions:
        all that resolving the clause reads of it (not stored; worked out once per object)."""
        refs = self.refs
        return (
            self.name,
            self.arity,
            self.has_error,
            tuple((c[0], c[1], c[3], c[4]) for c in refs.local_calls),
            refs.local_funs,
            tuple((r[0], r[1], r[2], r[3], r[5], r[6]) for r in refs.remote_calls),
            tuple((m[0], m[1], m[3], m[4]) for m in refs.macro_uses),
            tuple((u[0], tuple(f for f, _ in u[2]), u[3], u[4]) for u in refs.record_uses),
            tuple(name for name, _ in self.unbound),
        )


@record("holo.item.Define", remember=True)
@dataclass(frozen=True)
class Define:
    name: str
    arity: int | None  # None for ``-define(X, ...)``, N for ``-define(X(A1..AN), ...)``
    fingerprint: bytes  # over name, parameters and the replacement's tokens
    # The replacement when it is one token (an atom, integer, string, or "?NAME"),
    # for ``-if`` conditions and ``?SERVER:call()`` module names.
    literal: str | None
    free_vars: tuple[str, ...]  # variables of the replacement that are not parameters
    refs: Refs  # references of the replacement; they count where the macro is used
    range: Span
    used_params: tuple[int, ...]  # the parameters the replacement mentions outside macro calls
    # (parameter, macro use, argument): a parameter passed on to another macro,
    # used only if that macro uses that argument.
    param_uses: tuple[tuple[int, int, int], ...]
    # (parameter, arity) for ``P(...)`` and ``fun P/N`` where P is a parameter:
    # ``?PASS(foo)`` with ``-define(PASS(N), {N, fun N/1})`` refers to foo/1.
    param_calls: tuple[tuple[int, int], ...]
    # Functions the replacement defines when it is function clauses, for
    # forms like ``?TABLE(config).`` at the top level: (name, arity, parameter)
    # where parameter >= 0 when a parameter names the function.
    function_heads: tuple[tuple[str, int, int], ...]


@record("holo.item.Undef")
@dataclass(frozen=True)
class Undef:
    name: str
    range: Span


# A condition of ``-if``/``-elif`` as a small tree of tuples:
# ("int", n) ("atom", a) ("str", s) ("macro", name) ("defined", name)
# ("op", operator, left, right) ("unop", operator, operand) ("unknown", source text)
CondExpr = tuple


@record("holo.item.Conditional")
@dataclass(frozen=True)
class Conditional:
    kind: str  # "ifdef" "ifndef" "if" "elif" "else" "endif"
    name: str | None  # the macro of ifdef/ifndef
    expr: CondExpr | None  # the condition of if/elif
    range: Span


@record("holo.item.Include")
@dataclass(frozen=True)
class Include:
    lib: bool  # -include_lib
    file: str | None  # None when the argument is not a plain string
    range: Span


@record("holo.item.Record", remember=True)
@dataclass(frozen=True)
class Record:
    name: str
    fields: tuple[tuple[str, Span], ...]
    fingerprint: bytes
    refs: Refs  # macros and records its field defaults and types use
    range: Span
    name_range: Span


@record("holo.item.Attribute", remember=True)
@dataclass(frozen=True)
class Attribute:
    """A module attribute. ``kind`` says which, and which fields mean what:

    ===================  =====================  ======================================
    kind                 name / arity           entries / text
    ===================  =====================  ======================================
    module               the module (None if    text: the macro's name for
                         a macro names it)      ``-module(?M)``
    export, export_type  -                      entries
    import               the module             entries
    behaviour            the behaviour module   -
    callback, spec       function, arity        text: the normalised signature
    optional_callbacks  -                       entries
    type                 type name, arity       text: the normalised definition ("-type"/
                                                "-opaque" included); entries: the local
                                                types it names; exported via export_type
    on_load, nifs        -                      entries
    compile              the option's name      text: its argument when an atom
                         (one per option)       (parse_transform); entries: its
                                                name/arity list (nowarn_unused_function, ...)
    other                the attribute's name   text: its normalised value (-vsn, -author,
                                                -dialyzer, -deprecated, -file, -feature,
                                                user attributes: what reaches the BEAM)
    ===================  =====================  ======================================
    """

    kind: str
    name: str | None
    arity: int | None
    entries: tuple[Entry, ...]
    text: str
    refs: Refs
    range: Span


FormRef = tuple[str, int]  # (kind, index into the ItemTree tuple of that kind)

# One letter per form kind, for ItemTree.form_kinds.
FORM_LETTERS = {
    "clause": "c",
    "define": "d",
    "undef": "u",
    "cond": "i",
    "include": "h",
    "record": "r",
    "attr": "a",
}
_KINDS = {letter: kind for kind, letter in FORM_LETTERS.items()}


@record("holo.item.ItemTree")
@dataclass(frozen=True)
class ItemTree:
    path: str
    # Every form below in source order, a letter per form (see FORM_LETTERS):
    # the n-th of a kind is index n of that kind's tuple. ``forms`` spells it out.
    form_kinds: str
    clauses: tuple[Clause, ...]
    defines: tuple[Define, ...]
    undefs: tuple[Undef, ...]
    conditionals: tuple[Conditional, ...]
    includes: tuple[Include, ...]
    records: tuple[Record, ...]
    attributes: tuple[Attribute, ...]
    has_errors: bool
    end: tuple[int, int]  # line and column of the end of the file
    # (code, span, message): the encoding problem and syntax errors (see syntax_problems)
    syntax: tuple[tuple[str, Span, str], ...]

    @cached_property
    def memo(self) -> dict[str, Any]:
        """Scratch space for what later layers derive from this tree, per process (not stored)."""
        return {}

    @cached_property
    def forms(self) -> tuple[FormRef, ...]:
        counts = dict.fromkeys(_KINDS, 0)
        found: list[FormRef] = []
        for letter in self.form_kinds:
            found.append((_KINDS[letter], counts[letter]))
            counts[letter] += 1
        return tuple(found)

    def attributes_of(self, kind: str) -> list[Attribute]:
        return [a for a in self.attributes if a.kind == kind]

    @property
    def module_name(self) -> str | None:
        for attr in self.attributes:
            if attr.kind == "module":
                return attr.name
        return None

    def functions(self) -> list[FunctionSpan]:
        """The file's function definitions as written, ignoring conditional compilation."""
        spans: list[FunctionSpan] = []
        current: list[int] = []
        for index, clause in enumerate(self.clauses):
            current.append(index)
            if clause.ends:
                spans.append(_span(self.clauses, current))
                current = []
        if current:
            spans.append(_span(self.clauses, current))
        return spans


@dataclass(frozen=True)
class FunctionSpan:
    """A definition as the source shows it: for outlines, folding and tests."""

    name: str | None
    arity: int
    head: Range
    range: Range
    clauses: tuple[int, ...]
    fingerprint: bytes


def _span(clauses: tuple[Clause, ...], indices: list[int]) -> FunctionSpan:
    first, last = clauses[indices[0]], clauses[indices[-1]]
    h = hashlib.blake2b(digest_size=16)
    for i in indices:
        h.update(clauses[i].fingerprint)
    start, end = unpack(first.range), unpack(last.range)
    return FunctionSpan(
        first.name,
        first.arity,
        unpack(first.head),
        (start[0], start[1], end[2], end[3]),
        tuple(indices),
        h.digest(),
    )
