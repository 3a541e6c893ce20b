"""`holo watch` end to end: a real process over a real project, files changed the way
editors and git change them, and a real user node whose running code is checked
(see tests/watch/helpers.py)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.beam.helpers import children_of, is_running
from tests.user_nodes import UserNode
from tests.watch.helpers import (
    EBIN,
    PHASES,
    HoloWatch,
    beams_running_from,
    discount,
    edit,
    errors_in,
)


def test_an_edited_function_is_compiled_and_runs_on_the_users_node(
    shop: Path, watch: HoloWatch, user_node: UserNode
) -> None:
    pricing = shop / "src" / "shop_pricing.erl"
    assert discount(user_node) == "100"
    edit(pricing, "Subtotal div 10;", "Subtotal div 4;", atomic=True)
    saved = watch.cycle()
    assert saved["changed"] == ["src/shop_pricing.erl"]
    assert saved["compiled"] == ["shop_pricing"]
    assert saved["loaded"] == ["shop_pricing", f"{user_node.name}:shop_pricing"]
    assert saved["errors"] == 0 and saved["load_problems"] == [] and not saved["superseded"]
    assert discount(user_node) == "250"

    edit(pricing, "Subtotal div 4;", "Subtotal div 5;")  # in place this time
    rewritten = watch.cycle()
    assert rewritten["compiled"] == ["shop_pricing"]
    assert discount(user_node) == "200"
    # A comment moves no code: the same code, so nothing is loaded.
    edit(pricing, "%% Prices, discounts", "%% Prices and discounts")
    comment = watch.cycle()
    assert comment["changed"] == ["src/shop_pricing.erl"] and comment["loaded"] == []
    assert discount(user_node) == "200"


def test_a_broken_module_keeps_its_previous_code_running_until_it_is_fixed(
    shop: Path, watch: HoloWatch, user_node: UserNode
) -> None:
    pricing = shop / "src" / "shop_pricing.erl"
    good = pricing.read_text()
    edit(pricing, "-spec vat(", "broken((\n-spec vat(")
    broken = watch.cycle()
    syntax = [d for d in errors_in(broken, "src/shop_pricing.erl") if d["code"] == "H0100"]
    assert len(syntax) == 1 and "syntax error" in syntax[0]["message"]
    broken_line = good[: good.index("-spec vat(")].count("\n") + 1
    assert syntax[0]["line"] == broken_line
    assert broken["errors"] == len(errors_in(broken, "src/shop_pricing.erl")) > 0
    assert broken["loaded"] == []
    assert discount(user_node) == "100"  # the previous code still runs
    assert (shop / EBIN / "shop_pricing.beam").exists()

    pricing.write_text(good.replace("Subtotal div 10;", "Subtotal div 2;"))
    fixed = watch.cycle()
    assert fixed["errors"] == 0
    assert errors_in(fixed, "src/shop_pricing.erl") == []
    assert f"{user_node.name}:shop_pricing" in fixed["loaded"]
    assert discount(user_node) == "500"


def test_a_deleted_module_loses_its_beam_and_is_unloaded(shop: Path, watch: HoloWatch) -> None:
    ebin = shop / EBIN
    assert (ebin / "shop_inventory.beam").exists()
    (shop / "src" / "shop_inventory.erl").unlink()
    deleted = watch.cycle()
    assert deleted["changed"] == ["src/shop_inventory.erl"]
    assert deleted["compiled"] == [] and deleted["unloaded"] == ["shop_inventory"]
    assert not (ebin / "shop_inventory.beam").exists()
    assert "shop_inventory" not in (ebin / "shop.app").read_text()
    # Its callers are told the module is gone (a warning: it may come from elsewhere).
    assert {d["file"] for d in deleted["diagnostics"]} == {"src/shop_cart.erl"}
    assert all("shop_inventory" in d["message"] for d in deleted["diagnostics"])


def test_a_renamed_module_file_needs_its_module_attribute_renamed_too(
    shop: Path, watch: HoloWatch, user_node: UserNode
) -> None:
    ebin = shop / EBIN
    stock = shop / "src" / "shop_stock.erl"
    a_day_ago = time.time() - 86400
    os.utime(shop / "src" / "shop_inventory.erl", (a_day_ago, a_day_ago))
    os.rename(shop / "src" / "shop_inventory.erl", stock)
    renamed = watch.cycle()
    assert renamed["changed"] == ["src/shop_inventory.erl", "src/shop_stock.erl"]
    # A moved file keeps its mtime, which says nothing about when it was moved.
    assert renamed["timings_ms"]["detect"] < 3600_000
    (mismatch,) = errors_in(renamed, "src/shop_stock.erl")
    assert "'shop_inventory' does not match file name 'shop_stock.erl'" in mismatch["message"]
    assert renamed["unloaded"] == ["shop_inventory"] and renamed["loaded"] == []
    assert not (ebin / "shop_inventory.beam").exists() and not (ebin / "shop_stock.beam").exists()

    edit(stock, "-module(shop_inventory).", "-module(shop_stock).")
    fixed = watch.cycle()
    assert fixed["compiled"] == ["shop_stock"] and fixed["errors"] == 0
    assert fixed["loaded"] == ["shop_stock", f"{user_node.name}:shop_stock"]
    assert (ebin / "shop_stock.beam").exists()
    expression = 'shop_stock:available(shop_stock:add_stock(shop_stock:new(), <<"pear">>, 3), ' \
        '<<"pear">>)'
    assert user_node.eval(expression) == "3"


def test_a_header_macro_recompiles_its_users_only_and_an_unused_one_nothing(
    shop: Path, watch: HoloWatch, user_node: UserNode
) -> None:
    header = shop / "include" / "shop.hrl"
    header.write_text(header.read_text() + "\n-define(NOBODY_USES_THIS, 42).\n")
    unused = watch.cycle()
    assert unused["changed"] == ["include/shop.hrl"]
    assert unused["compiled"] == [] and unused["loaded"] == []

    assert user_node.eval("shop_pricing:vat(1000)") == "200"
    edit(header, "-define(VAT_RATE, 0.20).", "-define(VAT_RATE, 0.25).", atomic=True)
    used = watch.cycle()
    users = sorted(p.stem for p in (shop / "src").glob("*.erl") if "?VAT_RATE" in p.read_text())
    assert users == ["shop_pricing"]
    assert used["compiled"] == users
    assert used["loaded"] == ["shop_pricing", f"{user_node.name}:shop_pricing"]
    assert user_node.eval("shop_pricing:vat(1000)") == "250"


FLAGS = """-module(shop_flags).
-export([mode/0]).
-ifdef(SHOP_FAST).
mode() -> fast.
-else.
mode() -> normal.
-endif.
"""


def test_a_define_added_to_rebar_config_changes_the_code_of_the_module_that_tests_it(
    shop: Path, user_node: UserNode, start_watch: Callable[..., HoloWatch]
) -> None:
    (shop / "src" / "shop_flags.erl").write_text(FLAGS)
    watch = start_watch(shop, nodes=(user_node.name,))
    assert watch.ready()["errors"] == 0
    assert user_node.eval("shop_flags:mode()") == "normal"
    edit(shop / "rebar.config", "{d, 'SHOP_CURRENCY', \"EUR\"}",
         "{d, 'SHOP_CURRENCY', \"EUR\"},\n    {d, 'SHOP_FAST'}")
    configured = watch.cycle()
    assert configured["changed"] == ["rebar.config"]
    assert "shop_flags" in configured["compiled"]
    # Every module was compiled with the new options; only one's code changed.
    assert configured["loaded"] == ["shop_flags", f"{user_node.name}:shop_flags"]
    assert user_node.eval("shop_flags:mode()") == "fast"

    edit(shop / "rebar.config", "{d, 'SHOP_FAST'}", "{d, 'SHOP_FAST'")
    broken = watch.cycle()
    (problem,) = errors_in(broken, "rebar.config")
    assert "rebar.config does not parse" in problem["message"]
    assert broken["errors"] == 1


def test_a_burst_of_200_new_modules_is_one_cycle(
    shop: Path, watch: HoloWatch, user_node: UserNode
) -> None:
    texts = {
        shop / "src" / f"burst_{i:03d}.erl":
            f"-module(burst_{i:03d}).\n-export([n/0]).\nn() -> {i}.\n"
        for i in range(200)
    }
    # Written as fast as a checkout writes them, with a pause halfway like git's on a busy
    # machine: long enough to end the watcher's batch, too short to end the burst.
    for i, (path, text) in enumerate(texts.items()):
        if i == len(texts) // 2:
            time.sleep(0.1)
        path.write_text(text)
    burst = watch.cycle()
    names = sorted(p.stem for p in texts)
    assert burst["changed"] == [f"src/{name}.erl" for name in names]
    assert burst["compiled"] == names and burst["errors"] == 0
    assert {f"{user_node.name}:{name}" for name in names} <= set(burst["loaded"])
    assert not burst["superseded"]
    assert watch.event_within(1.0) is None, "a second cycle followed the burst"
    assert user_node.eval("{burst_000:n(), burst_199:n()}") == "{0,199}"


@pytest.mark.parametrize("how", ["SIGTERM to holo", "Ctrl-C to its process group"])
def test_stopping_holo_watch_leaves_none_of_its_nodes_running(
    shop: Path, start_watch: Callable[..., HoloWatch], how: str
) -> None:
    watch = start_watch(shop, own_process_group=True)
    watch.ready()
    nodes = watch.beam_children()
    assert len(nodes) == 2  # the agent that compiles and the runtime that runs the code
    assert beams_running_from(watch.cache) == sorted(nodes)
    helpers = [pid for node in nodes for pid in children_of(node)]
    if how == "SIGTERM to holo":
        watch.process.send_signal(signal.SIGTERM)
    else:  # a terminal sends SIGINT to every process of the foreground group
        os.killpg(watch.process.pid, signal.SIGINT)
    assert watch.process.wait(30) == 0
    deadline = time.monotonic() + 10
    while any(is_running(pid) for pid in nodes + helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in nodes + helpers if is_running(pid)] == []
    assert beams_running_from(watch.cache) == []  # nor one started while stopping
    assert "Traceback" not in watch.stderr_path.read_text()


def test_with_tests_on_a_save_reruns_the_affected_tests_and_reports_failures(
    shop: Path, start_watch: Callable[..., HoloWatch]
) -> None:
    """Depends on the test phase being wired into `holo watch` (run_tests)."""
    watch = start_watch(shop, tests=True)
    watch.ready()
    pricing = shop / "src" / "shop_pricing.erl"
    edit(pricing, "Subtotal div 10;", "Subtotal div 4;")
    failing = watch.cycle()["tests"]
    broken = {"shop_pricing_tests:discount_test_", "shop_pricing_tests:totals_test"}
    assert broken <= set(failing["selected"])
    assert set(failing["failed"]) == broken
    assert failing["passed"] == len(failing["selected"]) - len(broken)
    failures = {f["id"]: f for f in failing["failures"]}
    assert set(failures) == broken
    # Where each failed, and what it expected and got.
    case = failures["shop_pricing_tests:discount_test_"]
    tests_file = (shop / "test" / "shop_pricing_tests.erl").read_text().splitlines()
    tenoff_line = next(i for i, t in enumerate(tests_file) if "<<\"TENOFF\">>" in t) + 1
    assert (case["file"], case["line"]) == ("test/shop_pricing_tests.erl", tenoff_line)
    assert "expected 100, got 250" in case["message"]
    assert "expected: 100\n" in case["details"] and "got: 250\n" in case["details"]
    totals = failures["shop_pricing_tests:totals_test"]
    assert "discount => 59" in totals["message"] and "discount => 147" in totals["message"]

    edit(pricing, "Subtotal div 4;", "Subtotal div 10;")
    passing = watch.cycle()["tests"]
    assert broken <= set(passing["selected"])
    assert passing["failed"] == [] and passing["passed"] == len(passing["selected"])


READY_KEYS = {"event", "modules", "compiled", "errors", "tests", "timings_ms"}
CYCLE_KEYS = {"event", "changed", "compiled", "loaded", "unloaded", "diagnostics", "errors",
              "load_problems", "tests", "superseded", "timings_ms"}


@pytest.mark.parametrize("tests", [False, True], ids=["--no-tests", "with tests"])
def test_every_event_times_every_phase(
    shop: Path, start_watch: Callable[..., HoloWatch], tests: bool
) -> None:
    watch = start_watch(shop, tests=tests)
    ready = watch.ready()
    assert set(ready) == READY_KEYS
    assert set(ready["timings_ms"]) == PHASES
    edit(shop / "src" / "shop_pricing.erl", "Subtotal div 10;", "Subtotal div 4;")
    cycle = watch.cycle()
    assert set(cycle) == CYCLE_KEYS
    assert set(cycle["timings_ms"]) == PHASES
    assert set(cycle["tests"]) == {"selected", "passed", "failed", "failures"}
    for event in (ready, cycle):
        assert all(isinstance(v, float) and v >= 0 for v in event["timings_ms"].values())
    if tests:
        assert cycle["tests"]["selected"] and cycle["timings_ms"]["tests"] > 0
    else:
        assert ready["timings_ms"]["tests"] == cycle["timings_ms"]["tests"] == 0
        assert cycle["tests"]["selected"] == []


PROBE = """-module(shop_probe_tests).
-include_lib("eunit/include/eunit.hrl").
%% Runs in holo's runtime node, like every test.
inventory_is_gone_test() ->
    ?assertEqual({false, non_existing},
                 {code:is_loaded(shop_inventory), code:which(shop_inventory)}).
"""


def test_a_deleted_module_is_no_longer_loaded_in_holos_runtime_node(
    shop: Path, start_watch: Callable[..., HoloWatch]
) -> None:
    """Asked of the node itself, by a test that runs in it."""
    watch = start_watch(shop, tests=True)
    watch.ready()
    (shop / "test" / "shop_probe_tests.erl").write_text(PROBE)
    probe = "shop_probe_tests:inventory_is_gone_test"
    loaded = watch.cycle()["tests"]
    assert loaded["failed"] == [probe]  # the module is there, loaded from its .beam
    (failure,) = loaded["failures"]
    assert "shop_inventory" in failure["details"] and "got: {{file," in failure["details"]

    (shop / "src" / "shop_inventory.erl").unlink()
    deleted = watch.cycle()
    assert deleted["unloaded"] == ["shop_inventory"]
    assert probe in deleted["tests"]["selected"]  # it failed last time
    assert probe not in deleted["tests"]["failed"]


def test_a_restart_over_a_warm_cache_compiles_nothing(
    shop: Path, start_watch: Callable[..., HoloWatch]
) -> None:
    first = start_watch(shop)
    assert len(first.ready()["compiled"]) == 5
    first.close()
    again = start_watch(shop)
    ready = again.ready()
    assert ready["compiled"] == [] and ready["modules"] == 5 and ready["errors"] == 0
    edit(shop / "src" / "shop_pricing.erl", "Subtotal div 10;", "Subtotal div 4;")
    assert again.cycle()["compiled"] == ["shop_pricing"]
