"""The engine one behaviour at a time: memoising, early cutoff, durability, cycles, cancellation."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from holo.engine import (
    Cancelled,
    CycleError,
    Database,
    Durability,
    EngineError,
    Input,
    MemoryStore,
    MissingInput,
    Query,
)

_ids = itertools.count()


def fresh(kind: str) -> str:
    return f"t{next(_ids)}_{kind}"


def make_query(fn: Callable[..., Any], persist: bool = False) -> Query[Any]:
    return Query(fn, fresh(fn.__name__), persist=persist)


class Chain:
    """text -> length -> parity -> report: length changes often, parity less, report rarely."""

    def __init__(self, persist: bool = False) -> None:
        self.text: Input[str] = Input(fresh("text"))
        self.calls: list[str] = []

        def length(db: Database) -> int:
            self.calls.append("length")
            return len(self.text(db))

        def parity(db: Database) -> str:
            self.calls.append("parity")
            return "even" if self.length(db) % 2 == 0 else "odd"

        def report(db: Database) -> str:
            self.calls.append("report")
            return f"the text has an {self.parity(db)} length"

        self.length = make_query(length, persist)
        self.parity = make_query(parity, persist)
        self.report = make_query(report, persist)


def test_a_query_runs_once_per_revision_and_again_only_when_its_input_changes() -> None:
    c, db = Chain(), Database()
    c.text.set(db, value="ab")
    assert c.report(db) == "the text has an even length"
    assert c.report(db) == "the text has an even length"
    assert c.calls == ["report", "parity", "length"]
    c.calls.clear()
    c.text.set(db, value="abc")
    assert c.report(db) == "the text has an odd length"
    assert sorted(c.calls) == ["length", "parity", "report"]


def test_setting_an_equal_value_is_not_a_change() -> None:
    c, db = Chain(), Database()
    c.text.set(db, value="ab")
    c.report(db)
    revision = db.revision
    assert c.text.set(db, value="ab") is False
    c.calls.clear()
    c.report(db)
    assert c.calls == [] and db.revision == revision


def test_early_cutoff_stops_at_an_unchanged_value() -> None:
    c, db = Chain(), Database()
    c.text.set(db, value="ab")
    c.report(db)
    c.calls.clear()
    c.text.set(db, value="cd")  # same length: length re-runs, parity and report do not
    assert c.report(db) == "the text has an even length"
    assert c.calls == ["length"]
    c.calls.clear()
    c.text.set(db, value="abcd")  # new length, same parity: report does not re-run
    c.report(db)
    assert c.calls == ["length", "parity"]
    assert db.stats.backdated[c.parity.name] == 1
    assert db.stats.executed[c.report.name] == 0
    assert db.stats.reused[c.report.name] == 1


def test_durability_lets_high_memos_skip_walking_their_dependencies() -> None:
    otp: Input[str] = Input(fresh("otp"))
    src: Input[str] = Input(fresh("src"))

    def stdlib_size(db: Database) -> int:
        return len(otp(db))

    def stdlib_report(db: Database) -> str:
        return f"stdlib has {size(db)} bytes"

    def module_size(db: Database) -> int:
        return len(src(db))

    size, report, module = (
        make_query(stdlib_size),
        make_query(stdlib_report),
        make_query(module_size),
    )
    db = Database()
    otp.set(db, value="x" * 10, durability=Durability.HIGH)
    src.set(db, value="a", durability=Durability.LOW)
    report(db), module(db)
    src.set(db, value="ab", durability=Durability.LOW)
    report(db)
    # Valid by durability alone: its dependency `size` was not even looked at.
    assert db.stats.reused[report.name] == 1
    assert db.stats.reused[size.name] == 0 and db.stats.executed[size.name] == 0
    otp.set(db, value="x" * 11, durability=Durability.HIGH)
    assert report(db) == "stdlib has 11 bytes"


def test_lowering_an_inputs_durability_still_invalidates_high_memos() -> None:
    inp: Input[int] = Input(fresh("inp"))
    double = make_query(lambda db: inp(db) * 2)
    db = Database()
    inp.set(db, value=1, durability=Durability.HIGH)
    assert double(db) == 2
    inp.set(db, value=5, durability=Durability.LOW)
    assert double(db) == 10


def test_dependencies_follow_what_the_last_run_actually_read() -> None:
    flag: Input[bool] = Input(fresh("flag"))
    a: Input[int] = Input(fresh("a"))
    b: Input[int] = Input(fresh("b"))
    calls = []

    def pick(db: Database) -> int:
        calls.append(1)
        return a(db) if flag(db) else b(db)

    q = make_query(pick)
    db = Database()
    flag.set(db, value=True)
    a.set(db, value=1)
    b.set(db, value=2)
    assert q(db) == 1
    b.set(db, value=3)  # not read by the last run
    assert q(db) == 1 and len(calls) == 1
    flag.set(db, value=False)
    assert q(db) == 3 and len(calls) == 2
    a.set(db, value=9)  # no longer read
    assert q(db) == 3 and len(calls) == 2


def test_a_cycle_is_an_error_that_names_it() -> None:
    names: dict[str, Query[Any]] = {}

    def ping(db: Database, n: int) -> int:
        return names["pong"](db, n)

    def pong(db: Database, n: int) -> int:
        return names["ping"](db, n)

    names["ping"], names["pong"] = make_query(ping), make_query(pong)
    with pytest.raises(CycleError) as err:
        names["ping"](Database(), 7)
    assert err.value.cycle[0] == err.value.cycle[-1]
    assert f"{names['ping'].name}(7)" in str(err.value)
    assert f"{names['pong'].name}(7)" in str(err.value)


def test_reading_an_unset_input_without_default_is_an_error() -> None:
    inp: Input[int] = Input(fresh("unset"))
    q = make_query(lambda db: inp(db))
    with pytest.raises(MissingInput, match="unset"):
        q(Database())


def test_removing_an_input_with_a_default_reads_as_the_default() -> None:
    inp: Input[bytes | None] = Input(fresh("file"), default=None)
    exists = make_query(lambda db, path: inp(db, path) is not None)
    db = Database()
    assert exists(db, "a.erl") is False
    inp.set(db, "a.erl", value=b"-module(a).")
    assert exists(db, "a.erl") is True
    assert inp.remove(db, "a.erl") is True
    assert exists(db, "a.erl") is False


def test_a_failing_query_stores_nothing_and_runs_again() -> None:
    inp: Input[int] = Input(fresh("divisor"))
    calls = []

    def divide(db: Database) -> float:
        calls.append(1)
        return 1 / inp(db)

    q = make_query(divide)
    db = Database()
    inp.set(db, value=0)
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            q(db)
    assert len(calls) == 2
    inp.set(db, value=4)
    assert q(db) == 0.25


def test_queries_must_not_set_inputs() -> None:
    inp: Input[int] = Input(fresh("x"))
    q = make_query(lambda db: inp.set(db, value=1))
    with pytest.raises(EngineError, match="must not set inputs"):
        q(Database())


def test_setting_an_input_cancels_a_query_running_for_an_older_revision() -> None:
    inp: Input[int] = Input(fresh("n"))
    started = threading.Event()
    step = make_query(lambda db, i: inp(db) + i)

    def slow_sum(db: Database) -> int:
        total = 0
        for i in itertools.count():
            started.set()
            total += step(db, i % 50)
            if i > 5_000_000:
                return total
            time.sleep(0.0001)
        return total

    slow = make_query(slow_sum)
    db = Database()
    inp.set(db, value=1)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            slow(db)
        except BaseException as e:  # recorded for the assertion below
            outcome.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(10)
    inp.set(db, value=2)  # returns once the worker has unwound
    worker.join(10)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)
    assert step(db, 3) == 5  # the new revision is current and consistent


def test_persisted_results_are_reused_across_databases_only_while_inputs_match() -> None:
    store = MemoryStore()
    c = Chain(persist=True)
    db = Database(store=store, salt=b"v1")
    c.text.set(db, value="abcd")
    assert c.report(db) == "the text has an even length"
    assert db.persist() == 3
    c.calls.clear()

    same = Database(store=store, salt=b"v1")
    c.text.set(same, value="abcd")
    assert c.report(same) == "the text has an even length"
    assert c.calls == [] and same.stats.loaded[c.report.name] == 1

    other_salt = Database(store=store, salt=b"v2")
    c.text.set(other_salt, value="abcd")
    c.report(other_salt)
    assert c.calls.count("report") == 1

    c.calls.clear()
    edited = Database(store=store, salt=b"v1")
    c.text.set(edited, value="abcdef")
    assert c.report(edited) == "the text has an even length"
    # length re-ran (its input changed); parity re-ran and was equal; report was reused.
    assert c.calls == ["length", "parity"]
    assert edited.explain(c.length)[0].startswith(f"{c.length.name}() ran at revision")


def test_explain_walks_from_a_query_down_to_the_input_that_changed() -> None:
    c, db = Chain(), Database()
    c.text.set(db, value="a")
    c.report(db)
    c.text.set(db, value="ab")
    c.report(db)
    lines = db.explain(c.report)
    assert lines[0] == f"{c.report.name}() ran at revision 2 because {c.parity.name}() changed"
    assert lines[1] == f"{c.parity.name}() ran at revision 2 because {c.length.name}() changed"
    assert lines[-1] == f"{c.text.name}() was set at revision 2"


def test_each_revision_keeps_its_own_counters() -> None:
    c, db = Chain(), Database()
    c.text.set(db, value="a")
    c.report(db)
    first = db.stats
    c.text.set(db, value="ab")
    c.report(db)
    assert db.history[-1] is first
    assert first.executed[c.report.name] == 1
    assert db.stats.revision == first.revision + 1
    assert db.stats.summary()[c.length.name]["executed"] == 1


def test_a_result_read_through_unpersisted_queries_is_restored_only_while_their_inputs_match(
) -> None:
    store = MemoryStore()
    text: Input[str] = Input(fresh("text"))
    calls: list[str] = []

    def tokens(db: Database) -> tuple[str, ...]:  # not persisted: a parse tree, say
        calls.append("tokens")
        return tuple(text(db).split())

    def count(db: Database) -> int:
        calls.append("count")
        return len(tokens_q(db))

    tokens_q = make_query(tokens)
    count_q = make_query(count, persist=True)
    db = Database(store=store)
    text.set(db, value="a b c")
    assert count_q(db) == 3
    db.persist()

    calls.clear()
    warm = Database(store=store)
    text.set(warm, value="a b c")
    assert count_q(warm) == 3
    assert calls == []  # restored without running the unpersisted query in between

    edited = Database(store=store)
    text.set(edited, value="a b c d")
    assert count_q(edited) == 4
