"""Property test: random query graphs under random edit sequences, restarts and corruption.

Every query in a generated graph reads inputs and earlier queries, some of
them only under a condition on a value it read first (dependencies change from
run to run), and returns a small number (so equal results, and early cutoff,
are common). After every step the test checks:

* each top-level result equals a from-scratch evaluation of the same programs;
* a query is only re-executed when one of the inputs it transitively read at
  its previous execution was set to a different value since (a query that is
  not persisted starts a new process with no previous execution);
* both still hold after a restart from the persisted cache, and after a crash
  that left records of older states in it (they must not be taken); after the cache
  was corrupted on purpose, results are still right and only the queries whose
  entries were damaged (or whose inputs changed) run again.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holo.engine import Database, Durability, Input, MemoryStore, Query

_graph_ids = itertools.count()
MODULUS = 3


@dataclass(frozen=True)
class Read:
    kind: str  # "input" or "query"
    index: int


@dataclass(frozen=True)
class Program:
    """Reads `first`; if its value is even, then the `then` reads, else the `otherwise` ones."""

    first: Read
    then: tuple[Read, ...]
    otherwise: tuple[Read, ...]


@st.composite
def programs(draw: st.DrawFn) -> tuple[int, list[Program], list[Durability], list[bool]]:
    n_inputs = draw(st.integers(1, 5))
    n_queries = draw(st.integers(1, 7))
    progs = []
    for j in range(n_queries):
        def reads(j: int = j) -> st.SearchStrategy[Read]:
            options = [st.builds(Read, st.just("input"), st.integers(0, n_inputs - 1))]
            if j > 0:
                options.append(st.builds(Read, st.just("query"), st.integers(0, j - 1)))
            return st.one_of(options)

        progs.append(
            Program(
                first=draw(reads()),
                then=tuple(draw(st.lists(reads(), max_size=3))),
                otherwise=tuple(draw(st.lists(reads(), max_size=3))),
            )
        )
    durabilities = draw(st.lists(st.sampled_from(list(Durability)), min_size=n_inputs,
                                 max_size=n_inputs))
    persisted = draw(st.lists(st.booleans(), min_size=n_queries, max_size=n_queries))
    return n_inputs, progs, durabilities, persisted


steps = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.integers(0, 4), st.integers(0, 4)),
        st.tuples(st.just("restart"), st.just(0), st.just(0)),
        st.tuples(st.just("crash"), st.just(0), st.just(0)),
        st.tuples(st.just("corrupt"), st.integers(0, 6), st.integers(0, 2)),
    ),
    min_size=1,
    max_size=12,
)


@dataclass
class Harness:
    n_inputs: int
    progs: list[Program]
    durabilities: list[Durability]
    persisted: list[bool]
    store: MemoryStore = field(default_factory=MemoryStore)
    values: list[int] = field(default_factory=list)
    # How many times each input has been set to a different value.
    versions: list[int] = field(default_factory=list)
    # Per query, the input versions it had transitively read at its last execution.
    read_at_execution: dict[int, dict[int, int]] = field(default_factory=dict)
    executed: list[int] = field(default_factory=list)
    # read_at_execution as of the last persist: all a restarted process can reuse.
    persisted_reads: dict[int, dict[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        gid = next(_graph_ids)
        self.values = [0] * self.n_inputs
        self.versions = [0] * self.n_inputs
        self.inputs = [Input(f"prop{gid}_in{i}") for i in range(self.n_inputs)]
        self.queries: list[Query[int]] = []
        for j in range(len(self.progs)):
            self.queries.append(
                Query(self._make_fn(j), f"prop{gid}_q{j}", persist=self.persisted[j])
            )
        self.db = self._new_db()

    def _new_db(self) -> Database:
        db = Database(store=self.store, salt=b"property")
        for i, inp in enumerate(self.inputs):
            inp.set(db, value=self.values[i], durability=self.durabilities[i])
        return db

    def _make_fn(self, j: int) -> Any:
        def fn(db: Database) -> int:
            self.executed.append(j)
            transitive: dict[int, int] = {}
            total = 0
            for read in self._reads(j, lambda r: self._read(db, r, transitive)):
                total += read
            self.read_at_execution[j] = transitive
            return total % MODULUS

        return fn

    def _read(self, db: Database, read: Read, transitive: dict[int, int]) -> int:
        if read.kind == "input":
            transitive[read.index] = self.versions[read.index]
            return self.inputs[read.index](db)
        value = self.queries[read.index](db)
        transitive.update(self.read_at_execution[read.index])
        return value

    def _reads(self, j: int, get: Any) -> Any:
        prog = self.progs[j]
        first = get(prog.first)
        yield first
        for r in prog.then if first % 2 == 0 else prog.otherwise:
            yield get(r)

    def scratch(self, j: int) -> int:
        def get(r: Read) -> int:
            return self.values[r.index] if r.kind == "input" else self.scratch(r.index)

        return sum(self._reads(j, get)) % MODULUS

    def set(self, i: int, value: int) -> None:
        i %= self.n_inputs
        if self.values[i] != value:
            self.versions[i] += 1
        self.values[i] = value
        self.inputs[i].set(self.db, value=value, durability=self.durabilities[i])

    def persist(self) -> None:
        self.db.persist()
        self.persisted_reads = {
            j: dict(r) for j, r in self.read_at_execution.items() if self.persisted[j]
        }

    def stale(self, j: int) -> bool:
        """Whether an input query j read at its last execution changed since."""
        seen = self.read_at_execution.get(j)
        return seen is None or any(self.versions[i] != v for i, v in seen.items())

    def evaluate_all(self, allowed_without_change: set[int]) -> None:
        stale_before = {j: self.stale(j) for j in range(len(self.queries))}
        self.executed.clear()
        for j in reversed(range(len(self.queries))):
            assert self.queries[j](self.db) == self.scratch(j), f"query {j} is wrong"
        for j in self.executed:
            assert stale_before[j] or j in allowed_without_change, (
                f"query {j} re-ran though none of its inputs changed"
            )

    def corrupt(self, which: int, how: int) -> set[int]:
        keys = {self.db._persist_key((q, ())): j for j, q in enumerate(self.queries)}
        damaged = set()
        for key, j in keys.items():
            if j % 7 != which % 7 or key not in self.store.entries:
                continue
            entry = self.store.entries[key]
            if how == 0:
                entry = entry[: len(entry) // 2]
            elif how == 1:
                entry = entry[:-1] + bytes([entry[-1] ^ 0xFF])
            else:
                entry = b"garbage"
            self.store.entries[key] = entry
            damaged.add(j)
        return damaged


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), steps)
def test_random_graphs_stay_correct_and_minimal(graph: Any, edits: list[Any]) -> None:
    n_inputs, progs, durabilities, persisted = graph
    h = Harness(n_inputs, progs, durabilities, persisted)
    h.evaluate_all(set())
    for kind, a, b in edits:
        allowed: set[int] = set()
        if kind == "set":
            h.set(a, b)
        elif kind == "restart":
            h.persist()
            h.read_at_execution = {j: dict(r) for j, r in h.persisted_reads.items()}
            h.db = h._new_db()
        elif kind == "crash":  # no persist: the store keeps records of older states
            h.read_at_execution = {j: dict(r) for j, r in h.persisted_reads.items()}
            h.db = h._new_db()
        else:
            h.persist()
            allowed = h.corrupt(a, b)
            for j in allowed:  # no valid record of these until the next persist
                h.persisted_reads.pop(j, None)
            h.read_at_execution = {j: dict(r) for j, r in h.persisted_reads.items()}
            h.db = h._new_db()
        h.evaluate_all(allowed)
