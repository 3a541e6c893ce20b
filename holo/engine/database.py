"""The memoising database: revisions, verification, early cutoff, durability, persistence.

How a fetch works (salsa's algorithm, see docs/architecture.md):

1. A memo verified in the current revision is returned as it is.
2. If no input of the memo's durability (or higher) changed since it was
   verified, it is valid without looking at its dependencies.
3. Otherwise its dependencies are checked in the order they were read; the
   first one that changed after the memo was verified makes it re-execute.
4. A re-executed query whose new value equals the old keeps its old
   ``changed_at`` (early cutoff), so nothing downstream re-runs.

Between 2 and 3 sits a shortcut taken from DICE: the database keeps reverse
edges, and setting an input marks its transitive dependents dirty. A memo that
is not dirty is valid without looking at its dependencies, so re-verifying
after an edit costs what the edit can reach, not the size of the graph.

A persistent query that has no memo in memory looks in the store for a record
of its last result: the dependencies it read, with their fingerprints. If each
dependency, fetched in order, still has the recorded fingerprint, the stored
value is taken without running the query (rustc's "try-mark-green").

Threads: one query runs at a time (the database lock). Setting an input from
another thread sets a flag that makes the running query raise
:class:`Cancelled` at its next fetch, then waits for the lock.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from threading import get_ident
from typing import Any

from holo.engine import codec
from holo.engine.durability import Durability
from holo.engine.errors import Cancelled, CycleError, EngineError, MissingInput, describe_slot
from holo.engine.query import REGISTRY, Input, Query
from holo.engine.stats import RevisionStats
from holo.engine.store import Store

log = logging.getLogger(__name__)

Slot = tuple[Any, tuple[Any, ...]]  # (Query | Input, key)

_HIGHEST = max(Durability)


class Reason:
    """Why a memo was last computed; kept for `holo explain`."""

    NEW = "new"  # nothing in memory or in the store
    STALE_CACHE = "stale-cache"  # the stored record's dependency differed: detail names it
    DEPENDENCY = "dependency"  # a dependency changed since it was verified: detail names it
    LOADED = "loaded"  # restored from the store, not run


class _InputSlot:
    __slots__ = ("value", "changed_at", "durability", "fp")

    def __init__(self, value: Any, changed_at: int, durability: Durability) -> None:
        self.value = value
        self.changed_at = changed_at
        self.durability = durability
        self.fp: bytes | None = None


class Memo:
    __slots__ = (
        "value",
        "deps",
        "verified_at",
        "changed_at",
        "executed_at",
        "durability",
        "reason",
        "reason_detail",
        "fp",
        "dirty",
    )

    def __init__(
        self,
        value: Any,
        deps: tuple[Slot, ...],
        revision: int,
        changed_at: int,
        durability: Durability,
        reason: str,
        reason_detail: Slot | None,
    ) -> None:
        self.value = value
        self.deps = deps
        self.verified_at = revision
        self.executed_at = revision
        self.changed_at = changed_at
        self.durability = durability
        self.reason = reason
        self.reason_detail = reason_detail
        self.fp: bytes | None = None
        # Set when an input this memo transitively read has changed since it was verified.
        self.dirty = False


class _Frame:
    __slots__ = ("deps", "durability", "changed_at")

    def __init__(self) -> None:
        self.deps: list[Slot] = []
        self.durability = _HIGHEST
        self.changed_at = 0


def _equal(old: Any, new: Any) -> bool:
    if old is new:
        return True
    try:
        return bool(old == new)
    except Exception:  # a value whose == raises is simply not equal
        return False


def _name(slot: Slot) -> str:
    return describe_slot(slot[0].name, slot[1])


class Database:
    """Inputs, memos and the revision clock. Create one per workspace."""

    def __init__(self, store: Store | None = None, salt: bytes = b"") -> None:
        self.store = store
        # Mixed into every persistent key: holo's version, the OTP version, the
        # options that change every result. A different salt is a different cache.
        self.salt = salt
        self._revision = 1
        self._read_this_revision = False
        self._last_changed = [1] * len(Durability)
        self._inputs: dict[Slot, _InputSlot] = {}
        self._memos: dict[Slot, Memo] = {}
        self._dependents: dict[Slot, set[Slot]] = {}
        self._unsaved: set[Slot] = set()
        self._stack: list[_Frame] = []
        self._active: dict[Slot, None] = {}
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._cancel_requested = False
        self.stats = RevisionStats(self._revision)
        self.history: deque[RevisionStats] = deque(maxlen=64)
        # Outside functions a query may call, each a pure function of its
        # arguments memoised by content (OTP's compiler, as "compiler"). Set by
        # the edge that owns them; queries reach them as db.services[name].
        self.services: dict[str, Any] = {}

    # ----------------------------------------------------------------- reading

    @property
    def revision(self) -> int:
        return self._revision

    def fetch(self, q: Query[Any], key: tuple[Any, ...]) -> Any:
        """The value of ``q(*key)`` in the current revision, recording the read."""
        if self._owner != get_ident():
            return self._fetch_from_outside(q, key)
        slot = (q, key)
        stack = self._stack
        memo = self._memos.get(slot)
        if memo is None or memo.verified_at != self._revision:
            if self._cancel_requested and stack:
                raise Cancelled()
            memo = self._refresh(slot, memo)
        if stack:
            frame = stack[-1]
            frame.deps.append(slot)
            if memo.durability < frame.durability:
                frame.durability = memo.durability
            if memo.changed_at > frame.changed_at:
                frame.changed_at = memo.changed_at
        return memo.value

    def _fetch_from_outside(self, q: Query[Any], key: tuple[Any, ...]) -> Any:
        # Inlined rather than `with self._reading()`: this is every caller's hot path.
        self._lock.acquire()
        self._owner = get_ident()
        self._read_this_revision = True
        try:
            memo = self._memos.get((q, key))
            if memo is not None and memo.verified_at == self._revision:
                return memo.value
            return self.fetch(q, key)
        finally:
            self._owner = None
            self._active.clear()
            self._lock.release()

    def read_input(self, inp: Input[Any], key: tuple[Any, ...]) -> Any:
        if self._owner != get_ident():
            with self._reading():
                return self.read_input(inp, key)
        slot = (inp, key)
        s = self._input_slot(slot)
        if s is None:
            raise MissingInput(_name(slot))
        if self._stack:
            frame = self._stack[-1]
            frame.deps.append(slot)
            if s.durability < frame.durability:
                frame.durability = s.durability
            if s.changed_at > frame.changed_at:
                frame.changed_at = s.changed_at
        return s.value

    def check_cancelled(self) -> None:
        """For long loops inside a query: unwind if a newer revision is waiting."""
        if self._cancel_requested:
            raise Cancelled()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock:
            self._owner = get_ident()
            self._read_this_revision = True
            try:
                yield
            finally:
                self._owner = None
                self._active.clear()

    def _input_slot(self, slot: Slot) -> _InputSlot | None:
        s = self._inputs.get(slot)
        if s is None and slot[0].has_default:
            # An input never set reads as its default, as if set before revision 1.
            s = self._inputs[slot] = _InputSlot(slot[0].default, 0, Durability.LOW)
        return s

    # --------------------------------------------------------- verification

    def _refresh(self, slot: Slot, memo: Memo | None) -> Memo:
        if slot in self._active:
            names = [_name(s) for s in self._active]
            start = names.index(_name(slot))
            raise CycleError([*names[start:], _name(slot)])
        self._active[slot] = None
        try:
            if memo is None:
                stale_dep: Slot | None = None
                if slot[0].persist and self.store is not None:
                    memo, stale_dep = self._load(slot)
                    if memo is not None:
                        return memo
                if stale_dep is not None:
                    return self._execute(slot, None, Reason.STALE_CACHE, stale_dep)
                return self._execute(slot, None, Reason.NEW, None)
            if self._last_changed[memo.durability] <= memo.verified_at or not memo.dirty:
                memo.verified_at = self._revision
                self.stats.reused[slot[0].name] += 1
                return memo
            for dep in memo.deps:
                if self._cancel_requested:
                    raise Cancelled()
                if self._changed_after(dep, memo.verified_at):
                    return self._execute(slot, memo, Reason.DEPENDENCY, dep)
            memo.verified_at = self._revision
            memo.dirty = False
            self.stats.reused[slot[0].name] += 1
            return memo
        finally:
            del self._active[slot]

    def _changed_after(self, dep: Slot, revision: int) -> bool:
        if dep[0].is_input:
            s = self._input_slot(dep)
            return s is None or s.changed_at > revision
        m = self._memos.get(dep)
        if m is None or m.verified_at != self._revision:
            m = self._refresh(dep, m)
        return m.changed_at > revision

    def _execute(self, slot: Slot, old: Memo | None, reason: str, detail: Slot | None) -> Memo:
        q, key = slot
        frame = _Frame()
        self._stack.append(frame)
        try:
            value = q.fn(self, *key)
        finally:
            self._stack.pop()
        self.stats.executed[q.name] += 1
        changed_at = frame.changed_at
        if old is not None and frame.durability >= old.durability and _equal(old.value, value):
            value = old.value
            changed_at = old.changed_at
            self.stats.backdated[q.name] += 1
        memo = Memo(
            value, tuple(frame.deps), self._revision, changed_at, frame.durability, reason, detail
        )
        if old is not None and value is old.value:
            memo.fp = old.fp
        self._link(slot, old.deps if old is not None else (), memo.deps)
        self._memos[slot] = memo
        if q.persist:
            self._unsaved.add(slot)
        return memo

    def _link(self, slot: Slot, old_deps: tuple[Slot, ...], new_deps: tuple[Slot, ...]) -> None:
        """Keep the reverse edges in step with what the memo read."""
        if old_deps == new_deps:
            return
        dependents = self._dependents
        for dep in set(old_deps).difference(new_deps):
            users = dependents.get(dep)
            if users is not None:
                users.discard(slot)
        for dep in new_deps:
            users = dependents.get(dep)
            if users is None:
                dependents[dep] = {slot}
            else:
                users.add(slot)

    def _mark_dirty(self, slot: Slot) -> None:
        """Mark everything that transitively read ``slot``.

        Invariant: a dirty memo's dependents are dirty too, so the walk stops
        at memos already marked.
        """
        pending = list(self._dependents.get(slot, ()))
        memos, dependents = self._memos, self._dependents
        while pending:
            user = pending.pop()
            memo = memos.get(user)
            if memo is None or memo.dirty:
                continue
            memo.dirty = True
            pending.extend(dependents.get(user, ()))

    # ------------------------------------------------------------- writing

    def set_input(
        self, inp: Input[Any], key: tuple[Any, ...], value: Any, durability: Durability
    ) -> bool:
        with self._writing():
            slot = (inp, key)
            s = self._inputs.get(slot)
            if s is not None and s.durability == durability and _equal(s.value, value):
                return False
            self._bump(max(durability, s.durability) if s is not None else durability)
            self._inputs[slot] = _InputSlot(value, self._revision, durability)
            self._mark_dirty(slot)
            return True

    def remove_input(self, inp: Input[Any], key: tuple[Any, ...]) -> bool:
        with self._writing():
            slot = (inp, key)
            s = self._inputs.get(slot)
            if s is None or (inp.has_default and s.value is inp.default and s.changed_at == 0):
                return False
            self._bump(s.durability)
            if inp.has_default:
                self._inputs[slot] = _InputSlot(inp.default, self._revision, Durability.LOW)
            else:
                del self._inputs[slot]
            self._mark_dirty(slot)
            return True

    def input_keys(self, inp: Input[Any]) -> list[tuple[Any, ...]]:
        """Keys set for an input (for the edges that mirror files; not for queries)."""
        return [key for (i, key) in self._inputs if i is inp]

    @contextmanager
    def _writing(self) -> Iterator[None]:
        if self._owner == get_ident() and self._stack:
            raise EngineError("a query must not set inputs")
        self._cancel_requested = True
        with self._lock:
            self._cancel_requested = False
            yield

    def _bump(self, durability: Durability) -> None:
        if self._read_this_revision:
            self._revision += 1
            self._read_this_revision = False
            self.history.append(self.stats)
            self.stats = RevisionStats(self._revision)
        for level in range(durability + 1):
            self._last_changed[level] = self._revision

    # --------------------------------------------------------- persistence

    def _persist_key(self, slot: Slot) -> bytes:
        q, key = slot
        version = b"%d" % q.version
        return codec.digest(self.salt, b"memo", q.name.encode(), version, codec.encode(key))

    def _fingerprint(self, slot: Slot) -> bytes:
        holder: _InputSlot | Memo | None
        holder = self._inputs.get(slot) if slot[0].is_input else self._memos.get(slot)
        assert holder is not None, _name(slot)
        if holder.fp is None:
            holder.fp = codec.fingerprint(holder.value)
        return holder.fp

    def _load(self, slot: Slot) -> tuple[Memo | None, Slot | None]:
        """Restore a persisted memo if every recorded dependency still has its fingerprint.

        Returns (memo, None) on success, (None, the first differing dependency)
        when the record is stale, and (None, None) when there is no usable record.
        """
        assert self.store is not None
        payload = self.store.get(self._persist_key(slot))
        if payload is None:
            return None, None
        try:
            recorded_deps, value_bytes = codec.decode(payload)
            value = codec.decode(value_bytes)
            deps = [(REGISTRY[name], tuple(key), fp) for name, key, fp in recorded_deps]
        except (codec.CodecError, KeyError, TypeError, ValueError) as e:
            log.debug("unusable cache record for %s: %s", _name(slot), e)
            return None, None
        frame = _Frame()
        for dq, dkey, fp in deps:
            dslot = (dq, dkey)
            if dq.is_input:
                s = self._input_slot(dslot)
                if s is None:
                    return None, dslot
                durability, changed_at = s.durability, s.changed_at
            else:
                m = self._memos.get(dslot)
                if m is None or m.verified_at != self._revision:
                    m = self._refresh(dslot, m)
                durability, changed_at = m.durability, m.changed_at
            try:
                same = self._fingerprint(dslot) == fp
            except codec.CodecError:
                same = False
            if not same:
                return None, dslot
            frame.deps.append(dslot)
            frame.durability = min(frame.durability, durability)
            frame.changed_at = max(frame.changed_at, changed_at)
        memo = Memo(
            value,
            tuple(frame.deps),
            self._revision,
            frame.changed_at,
            frame.durability,
            Reason.LOADED,
            None,
        )
        self._link(slot, (), memo.deps)
        self._memos[slot] = memo
        self.stats.loaded[slot[0].name] += 1
        return memo, None

    def persist(self) -> int:
        """Write the persistent queries' new results to the store; returns how many."""
        if self.store is None:
            return 0
        with self._reading():
            items = []
            for slot in list(self._unsaved):
                memo = self._memos.get(slot)
                if memo is None or memo.verified_at != self._revision:
                    continue  # not known to be current: its next run will save it
                self._unsaved.discard(slot)
                try:
                    deps = tuple(
                        (d[0].name, d[1], self._fingerprint(d)) for d in self._recorded_deps(memo)
                    )
                    payload = codec.encode((deps, codec.encode(memo.value)))
                except codec.CodecError as e:
                    log.warning("cannot persist %s: %s", _name(slot), e)
                    continue
                items.append((self._persist_key(slot), payload))
            self.store.set_many(items)
            return len(items)

    def _recorded_deps(self, memo: Memo) -> list[Slot]:
        """What a persisted record lists: the memo's dependencies, with each
        non-persisted query replaced by what it read, recursively.

        A non-persisted query is a pure function of what it read, in the order
        it read it, so checking those in order proves its value unchanged, and
        restoring the record never has to run it or fingerprint its value.
        """
        recorded: list[Slot] = []
        seen: set[Slot] = set()

        def walk(deps: tuple[Slot, ...]) -> None:
            for dep in deps:
                if dep[0].is_input or dep[0].persist:
                    if dep not in seen:
                        seen.add(dep)
                        recorded.append(dep)
                else:
                    inner = self._memos.get(dep)
                    if inner is None:
                        raise codec.CodecError(f"{_name(dep)} is no longer in memory")
                    walk(inner.deps)

        walk(memo.deps)
        return recorded

    # -------------------------------------------------------- introspection

    def explain(self, q: Query[Any] | Input[Any], *key: Any) -> list[str]:
        """Why ``q(*key)`` was last computed: the chain down to the input that changed."""
        lines: list[str] = []
        slot: Slot | None = (q, key)
        seen: set[Slot] = set()
        while slot is not None and slot not in seen:
            seen.add(slot)
            name = _name(slot)
            if slot[0].is_input:
                s = self._inputs.get(slot)
                if s is None:
                    lines.append(f"{name} is not set")
                elif s.changed_at == 0:
                    lines.append(f"{name} was never set and reads as its default")
                else:
                    lines.append(f"{name} was set at revision {s.changed_at}")
                break
            memo = self._memos.get(slot)
            if memo is None:
                lines.append(f"{name} has not been computed")
                break
            detail = memo.reason_detail
            if memo.reason == Reason.LOADED:
                lines.append(f"{name} was restored from the cache: no dependency had changed")
            elif memo.reason == Reason.NEW:
                lines.append(
                    f"{name} ran at revision {memo.executed_at}: nothing was in memory or the cache"
                )
            elif memo.reason == Reason.STALE_CACHE and detail is not None:
                lines.append(
                    f"{name} ran at revision {memo.executed_at}: "
                    f"its cached result had read {_name(detail)}, which has changed since"
                )
            elif detail is not None:
                lines.append(
                    f"{name} ran at revision {memo.executed_at} because {_name(detail)} changed"
                )
            slot = detail
        return lines

    def memo_count(self) -> int:
        return len(self._memos)
