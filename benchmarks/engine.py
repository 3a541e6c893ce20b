"""Engine benchmark: a 100k-query graph over 10k inputs.

Prints the cost of a cached hit, of re-verifying the top query after one leaf
change that is cut off early, of re-verifying through the durability shortcut,
of persisting and restoring the graph, and the memory per memo.

    .venv/bin/python benchmarks/engine.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

from holo.engine import Database, DiskStore, Durability, Input, Query

INPUTS = 10_000
MIDS = 80_000
GROUP_SIZE = 8

source: Input[str] = Input("bench_source")
unrelated: Input[str] = Input("bench_unrelated")


def leaf_fn(db: Database, i: int) -> int:
    return len(source(db, i))


def mid_fn(db: Database, j: int) -> int:
    return (leaf(db, j % INPUTS) + leaf(db, (j * 7) % INPUTS)) % 97


def group_fn(db: Database, g: int) -> int:
    start = g * GROUP_SIZE
    return sum(mid(db, j) for j in range(start, min(start + GROUP_SIZE, MIDS))) % 1009


def top_fn(db: Database) -> int:
    return sum(group(db, g) for g in range(GROUPS)) % 1_000_003


def side_fn(db: Database) -> int:
    return len(unrelated(db))


GROUPS = (MIDS + GROUP_SIZE - 1) // GROUP_SIZE
leaf = Query(leaf_fn, "bench_leaf", persist=True)
mid = Query(mid_fn, "bench_mid", persist=True)
group = Query(group_fn, "bench_group", persist=True)
top = Query(top_fn, "bench_top", persist=True)
side = Query(side_fn, "bench_side")
QUERIES = INPUTS + MIDS + GROUPS + 1


def set_inputs(db: Database) -> None:
    for i in range(INPUTS):
        source.set(db, i, value="x" * (i % 13), durability=Durability.HIGH)
    unrelated.set(db, value="a", durability=Durability.LOW)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> str:
    p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
    return f"{statistics.median(samples) * 1e3:8.2f} ms (p95 {p95 * 1e3:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    sys.setrecursionlimit(10_000)
    print(f"graph: {QUERIES:,} queries over {INPUTS:,} inputs "
          f"({INPUTS:,} leaves, {MIDS:,} mids, {GROUPS:,} groups, 1 top)")

    db = Database()
    set_inputs(db)
    side(db)
    print(f"cold evaluation of the top query     {timed(lambda: top(db)):8.3f} s")

    n = 200_000
    t = timed(lambda: [leaf(db, 5) for _ in range(n)])
    print(f"cached hit, from outside a query     {t / n * 1e6:8.3f} µs")

    inner = Query(lambda d: [leaf(d, 5) for _ in range(n)], "bench_inner_hits")
    t = timed(lambda: inner(db))
    print(f"cached hit, inside a running query   {t / n * 1e6:8.3f} µs")

    cutoff, propagate, durable = [], [], []
    for r in range(args.rounds):
        i = (r * 37) % INPUTS
        # Same length: leaf(i) re-runs, returns an equal value, and the change stops there.
        source.set(db, i, value=("y" if r % 2 else "z") * (i % 13), durability=Durability.HIGH)
        cutoff.append(timed(lambda: top(db)))
        # A new length: the change travels leaf -> mids -> groups -> top.
        source.set(db, i, value="x" * ((i % 13) + 1 + r), durability=Durability.HIGH)
        propagate.append(timed(lambda: top(db)))
        # A LOW input changes: every memo of the HIGH graph is valid by durability alone.
        unrelated.set(db, value="b" * (r + 2), durability=Durability.LOW)
        durable.append(timed(lambda: top(db)))
    print(f"re-verify top, one leaf cut off      {median_ms(cutoff)}   target <= 50 ms")
    print(f"re-verify top, change propagates     {median_ms(propagate)}")
    print(f"re-verify top, durability shortcut   {median_ms(durable)}")

    with TemporaryDirectory() as tmp:
        store = DiskStore(Path(tmp) / "cache")
        persisting = Database(store=store, salt=b"bench")
        set_inputs(persisting)
        top(persisting)
        t = timed(persisting.persist)
        print(f"persist {persisting.memo_count():,} memos to disk        {t:8.3f} s")
        restored = Database(store=store, salt=b"bench")
        set_inputs(restored)
        t = timed(lambda: top(restored))
        loaded = sum(restored.stats.loaded.values())
        executed = sum(restored.stats.executed.values())
        print(f"restore from disk (fresh process)    {t:8.3f} s  ({loaded:,} loaded, "
              f"{executed} executed)")
        store.close()

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    measured = Database()
    set_inputs(measured)
    inputs_done = tracemalloc.get_traced_memory()[0]
    top(measured)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_memo = (after - inputs_done) / measured.memo_count()
    print(f"memory per memo (incl. edges, keys)  {per_memo:8.0f} B  "
          f"({(after - before) / 2**20:.1f} MiB for the whole graph)")


if __name__ == "__main__":
    main()
