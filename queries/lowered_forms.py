"""Lowered forms kept per process, by content, so an edit re-lowers only the forms it changed.

Lowering a form reads nothing but the form's own syntax tree, its bytes, the
code-point column it starts at (columns on its first line count from the
line's start) and whether the file was parsed with ``maybe`` renamed. An
error-free form's tree is a function of its bytes, so those make the key. What
a form lowers to depends on the line it starts at only through its spans,
which :func:`shift` moves: a form found at another line is the remembered
result moved there, equal to lowering it afresh.

The lowering leaves out of the memo forms that have syntax errors or sit next
to one: how the parser recovers from an error depends on its surroundings.
The memo only ever saves work: a form it does not hold is lowered as usual.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from holo.queries.items import (
    Attribute,
    Clause,
    Conditional,
    Define,
    Include,
    Record,
    Refs,
    Undef,
)

# (form node type, the form's bytes, its first column in code points, maybe renamed)
FormKey = tuple[str, bytes, int, bool]
# What one form lowered to: (form letter, item) in order (a -compile form gives several).
Lowered = tuple[tuple[str, Any], ...]

# Bounded: a dropped form is lowered again when next seen. Enough for the
# files being edited and the headers they include, not for a whole project.
CAPACITY = 10_000

_ONE_LINE = (1 << 96) | (1 << 32)  # adds 1 to both line fields of a packed Span


class LoweredForms:
    """What recently lowered forms lowered to, by :data:`FormKey`, with the line each was at."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._memo: OrderedDict[FormKey, tuple[int, Lowered]] = OrderedDict()

    def lookup(self, key: FormKey, line: int) -> Lowered | None:
        """What the form ``key`` starting at ``line`` lowers to, if it was lowered before."""
        with self._lock:
            entry = self._memo.get(key)
            if entry is None:
                return None
            self._memo.move_to_end(key)
        at, lowered = entry
        if at == line:
            return lowered
        moved = tuple((letter, shift(item, line - at)) for letter, item in lowered)
        with self._lock:
            if key in self._memo:
                self._memo[key] = (line, moved)  # the next lookup at this line shares these
        return moved

    def remember(self, key: FormKey, line: int, lowered: Lowered) -> None:
        memo = self._memo
        with self._lock:
            if key in memo:
                memo.move_to_end(key)
            memo[key] = (line, lowered)
            if len(memo) > self.capacity:
                memo.popitem(last=False)

    def __len__(self) -> int:
        return len(self._memo)


# ------------------------------------------------------------------ shifting


def _refs(refs: Refs, by: int) -> Refs:
    if not (refs.local_calls or refs.remote_calls or refs.macro_uses or refs.record_uses):
        return refs
    k = by * _ONE_LINE
    return Refs(
        tuple((c[0], c[1], c[2] + k, c[3], c[4]) for c in refs.local_calls),
        tuple((c[0], c[1], c[2], c[3], c[4] + k, c[5], c[6]) for c in refs.remote_calls),
        tuple((m[0], m[1], m[2] + k, m[3], m[4]) for m in refs.macro_uses),
        tuple(
            (u[0], u[1] + k, tuple((f, s + k) for f, s in u[2]), u[3], u[4])
            for u in refs.record_uses
        ),
        refs.local_funs,
    )


def shift(item: Any, by: int) -> Any:
    """``item`` (a lowered form) with every position ``by`` lines further down."""
    cls = type(item)
    k = by * _ONE_LINE
    if cls is Clause:
        return Clause(
            item.name,
            item.arity,
            item.head + k,
            item.range + k,
            item.fingerprint,
            item.ends,
            _refs(item.refs, by),
            tuple((name, where + k) for name, where in item.unbound),
            item.has_error,
        )
    if cls is Attribute:
        return Attribute(
            item.kind,
            item.name,
            item.arity,
            tuple((n, a, where + k) for n, a, where in item.entries),
            item.text,
            _refs(item.refs, by),
            item.range + k,
        )
    if cls is Define:
        return Define(
            item.name,
            item.arity,
            item.fingerprint,
            item.literal,
            item.free_vars,
            _refs(item.refs, by),
            item.range + k,
            item.used_params,
            item.param_uses,
            item.param_calls,
            item.function_heads,
        )
    if cls is Record:
        return Record(
            item.name,
            tuple((n, where + k) for n, where in item.fields),
            item.fingerprint,
            _refs(item.refs, by),
            item.range + k,
            item.name_range + k,
        )
    if cls is Conditional:
        return Conditional(item.kind, item.name, item.expr, item.range + k)
    if cls is Include:
        return Include(item.lib, item.file, item.range + k)
    if cls is Undef:
        return Undef(item.name, item.range + k)
    raise TypeError(f"cannot move a {cls.__name__}")
