"""Bursts of changes as formatters, scripts and git make them: each is one cycle, and a
change that arrives while a cycle runs wins, in the events and in the node."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.user_nodes import UserNode
from tests.watch.helpers import EBIN, WAIT_S, HoloWatch

GIT = ["git", "-c", "user.name=holo", "-c", "user.email=holo@localhost", "-c", "gc.auto=0"]


def module_text(name: str, value: int) -> str:
    return f"-module({name}).\n-export([n/0]).\nn() -> {value}.\n"


def git(root: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True)


def test_a_formatter_rewriting_ten_files_40_ms_apart_is_one_cycle(
    shop: Path, start_watch: Callable[..., HoloWatch]
) -> None:
    files = [shop / "src" / f"fmt_{i}.erl" for i in range(10)]
    for i, path in enumerate(files):
        path.write_text(module_text(path.stem, i))
    watch = start_watch(shop)
    watch.ready()
    for i, path in enumerate(files):
        if i:
            time.sleep(0.04)
        path.write_text(module_text(path.stem, i).replace("n() ->", "n() ->\n   "))
    formatted = watch.cycle()
    assert formatted["changed"] == [f"src/{p.name}" for p in files]
    assert formatted["compiled"] == [p.stem for p in files]
    assert watch.event_within(1.0) is None, "the formatter's files made more than one cycle"


def test_an_edit_during_a_large_build_wins_and_the_cycle_reports_both(
    shop: Path, user_node: UserNode, start_watch: Callable[..., HoloWatch]
) -> None:
    watch = start_watch(shop, nodes=(user_node.name,), tests=True)
    watch.ready()
    names = [f"big_{i:03d}" for i in range(300)]
    for i, name in enumerate(names):
        (shop / "src" / f"{name}.erl").write_text(module_text(name, i))
    # The default profile is written: the cycle now compiles the test profile.
    last = shop / EBIN / f"{names[-1]}.beam"
    deadline = time.monotonic() + WAIT_S
    while not last.exists():
        assert time.monotonic() < deadline, "the 300 modules were never built"
        time.sleep(0.005)
    (shop / "src" / "big_000.erl").write_text(module_text("big_000", 1000))
    built = watch.cycle()
    assert built["superseded"] == 1
    assert built["changed"] == [f"src/{name}.erl" for name in names]
    assert set(names) <= set(built["compiled"])
    assert {f"{user_node.name}:{name}" for name in names} <= set(built["loaded"])
    assert built["errors"] == 0 and built["load_problems"] == []
    assert watch.event_within(1.0) is None, "the superseded cycle was reported too"
    assert user_node.eval("{big_000:n(), big_299:n()}") == "{1000,299}"


def test_a_checkout_that_modifies_many_existing_files_is_one_cycle(
    shop: Path, user_node: UserNode, start_watch: Callable[..., HoloWatch]
) -> None:
    names = [f"co_{i:03d}" for i in range(200)]
    for i, name in enumerate(names):
        (shop / "src" / f"{name}.erl").write_text(module_text(name, i))
    git(shop, "init", "-q", "-b", "main")
    git(shop, "add", "-A")
    git(shop, "commit", "-qm", "modules")
    git(shop, "checkout", "-qb", "other")
    for i, name in enumerate(names):
        (shop / "src" / f"{name}.erl").write_text(module_text(name, i + 1000))
    git(shop, "commit", "-qam", "every module changed")
    git(shop, "checkout", "-q", "main")

    watch = start_watch(shop, nodes=(user_node.name,))
    watch.ready()
    assert user_node.eval("{co_000:n(), co_199:n()}") == "{0,199}"
    git(shop, "checkout", "-q", "other")
    checkout = watch.cycle()
    assert checkout["changed"] == [f"src/{name}.erl" for name in names]
    assert checkout["compiled"] == names
    assert {f"{user_node.name}:{name}" for name in names} <= set(checkout["loaded"])
    assert watch.event_within(1.0) is None, "the checkout made more than one cycle"
    assert user_node.eval("{co_000:n(), co_199:n()}") == "{1000,1199}"
