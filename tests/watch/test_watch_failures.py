"""`holo watch` when things go wrong: code only OTP's compiler rejects, a node that dies
under user code, the file watcher failing. A real process each time; the watch must
say what happened and, where it can, keep going."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.beam.helpers import is_running
from tests.user_nodes import UserNode
from tests.watch.helpers import (
    EBIN,
    IS_BIG,
    LOCAL_CALL_IN_GUARD,
    TENOFF,
    HoloWatch,
    beams_running_from,
    discount,
    edit,
    errors_in,
)


def test_an_error_only_the_compiler_finds_is_shown_and_the_old_code_runs_until_fixed(
    shop: Path, watch: HoloWatch, user_node: UserNode
) -> None:
    pricing = shop / "src" / "shop_pricing.erl"
    pricing.write_text(pricing.read_text().replace(TENOFF, LOCAL_CALL_IN_GUARD) + IS_BIG)
    broken = watch.cycle()
    (error,) = errors_in(broken, "src/shop_pricing.erl")
    assert error["source"] == "erlc"
    assert "is_big/1" in error["message"] and "guard" in error["message"]
    guard_line = pricing.read_text().splitlines().index(LOCAL_CALL_IN_GUARD.splitlines()[0])
    assert error["line"] == guard_line + 1
    assert broken["errors"] == 1 and broken["compiled"] == ["shop_pricing"]
    assert broken["loaded"] == []
    assert discount(user_node) == "100"  # the previous code still runs
    assert (shop / EBIN / "shop_pricing.beam").exists()

    # Another module's edit: the error is still counted, and shown nowhere new.
    edit(shop / "src" / "shop_cart.erl", "%%", "%% (edited)")
    elsewhere = watch.cycle()
    assert elsewhere["errors"] == 1 and elsewhere["diagnostics"] == []

    edit(pricing, " when is_big(Subtotal)", "")
    fixed = watch.cycle()
    assert fixed["errors"] == 0 and errors_in(fixed, "src/shop_pricing.erl") == []
    # is_big/1 is now unused: holo and OTP's compiler both say so, and it is shown once.
    (unused,) = fixed["diagnostics"]
    assert unused["severity"] == "warning" and "is_big/1" in unused["message"]
    assert f"{user_node.name}:shop_pricing" in fixed["loaded"]
    assert discount(user_node) == "250"


BOOM = """-module(shop_boom).
-on_load(init/0).
-export([answer/0]).
init() -> {init_result}.
answer() -> 42.
"""


def test_a_cycle_whose_node_dies_is_reported_and_the_next_save_still_works(
    shop: Path, start_watch: Callable[..., HoloWatch]
) -> None:
    """Loading a module whose -on_load halts the VM kills holo's runtime node, then the
    node holo starts in its place: the load fails, and the watch must go on."""
    watch = start_watch(shop)
    watch.ready()
    nodes_before = set(watch.beam_children())
    boom = shop / "src" / "shop_boom.erl"
    boom.write_text(BOOM.format(init_result="erlang:halt(3)"))
    failed = watch.next_event()
    assert failed["event"] == "error", failed
    assert failed["changed"] == ["src/shop_boom.erl"]
    assert "the cycle failed" in failed["message"] and "BeamNodeDied" in failed["message"]
    assert "Traceback" not in watch.stderr_text()

    boom.write_text(BOOM.format(init_result="ok"))
    recovered = watch.cycle()
    assert recovered["changed"] == ["src/shop_boom.erl"]
    assert "shop_boom" in recovered["loaded"] and recovered["errors"] == 0
    assert set(watch.beam_children()) != nodes_before  # a new runtime node runs it

    edit(shop / "src" / "shop_pricing.erl", "Subtotal div 10;", "Subtotal div 4;")
    assert watch.cycle()["loaded"] == ["shop_pricing"]


def test_a_runtime_node_killed_between_saves_is_replaced_and_loaded_again(
    shop: Path, user_node: UserNode, start_watch: Callable[..., HoloWatch]
) -> None:
    watch = start_watch(shop, nodes=(user_node.name,))
    watch.ready()
    for pid in watch.beam_children():
        os.kill(pid, signal.SIGKILL)
    edit(shop / "src" / "shop_pricing.erl", "Subtotal div 10;", "Subtotal div 5;")
    saved = watch.cycle()
    assert saved["loaded"] == ["shop_pricing", f"{user_node.name}:shop_pricing"]
    assert discount(user_node) == "200"


def test_a_watcher_that_fails_says_so_in_one_line_and_holo_exits_non_zero(
    shop: Path, start_watch: Callable[..., HoloWatch]
) -> None:
    watch = start_watch(shop)
    watch.ready()
    nodes = watch.beam_children()
    # A file name that is not UTF-8: the watcher cannot report it, and stops.
    with open(os.path.join(os.fsencode(shop / "src"), b"\xff.erl"), "w") as f:
        f.write("-module(x).\n")
    stopped = watch.next_event()
    assert stopped["event"] == "error"
    assert stopped["message"].startswith("the file watcher stopped")
    assert "restart it" in stopped["message"]
    assert watch.process.wait(30) == 1
    assert watch.event_within(0.5) is None  # nothing after it
    stderr = watch.stderr_text()
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 10
    while any(is_running(pid) for pid in nodes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert beams_running_from(watch.cache) == []
