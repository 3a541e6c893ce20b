"""`holo watch` end to end: a real process over a real project, files changed the way
editors and git change them, and a real user node whose running code is checked.

Each test starts `holo watch --json` on its own copy of examples/shop, with its own
cache, and reads its events (one JSON object per line) from a reader thread. The
user's node is shared by the module: an `erl -sname` node that evaluates the
expressions the tests write to its stdin, so a check of what it runs costs a line,
not a new VM.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.beam.helpers import children_of, is_running

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "shop"
COOKIE = "holo_watch_" + secrets.token_hex(8)
EBIN = Path("_build", "holo", "default", "lib", "shop", "ebin")

Event = dict[str, Any]

# The user node's loop: read an expression per line, print "=> " and its value on one line.
EVAL_LOOP = """
Loop = fun Loop() ->
    case io:get_line("") of
        eof -> halt();
        Line ->
            Result = try
                {ok, Tokens, _} = erl_scan:string(Line),
                {ok, Exprs} = erl_parse:parse_exprs(Tokens),
                {value, Value, _} = erl_eval:exprs(Exprs, []),
                Value
            catch Class:Reason -> {Class, Reason}
            end,
            io:put_chars(["=> ", io_lib:print(Result, 1, 1000000, -1), "\\n"]),
            Loop()
    end
end,
Loop().
"""


def _lines_into(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


class UserNode:
    """A user's running node, named and with a cookie, as `--node` targets it."""

    def __init__(self) -> None:
        name = "holo_w_" + secrets.token_hex(4)
        self.name = f"{name}@{socket.gethostname().split('.')[0]}"
        self.process = subprocess.Popen(
            ["erl", "-sname", name, "-setcookie", COOKIE, "-noshell", "-eval", EVAL_LOOP],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(
            target=_lines_into, args=(self.process.stdout, self.lines), daemon=True
        ).start()

    def eval(self, expression: str, timeout: float = 30) -> str:
        """What the node answers to an Erlang expression (no trailing dot), printed flat."""
        assert self.process.stdin is not None
        self.process.stdin.write(expression + ".\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the user node did not answer {expression}") from None
            assert line is not None, "the user node exited"
            if line.startswith("=> "):
                return line[3:].rstrip("\n")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


class HoloWatch:
    """A `holo watch --json` process and the events it prints."""

    def __init__(
        self,
        root: Path,
        cache: Path,
        *,
        nodes: tuple[str, ...] = (),
        tests: bool = False,
        own_process_group: bool = False,
    ) -> None:
        command = [sys.executable, "-m", "holo.cli", "watch", str(root), "--json",
                   "--cache-dir", str(cache)]
        for node in nodes:
            command += ["--node", node, "--cookie", COOKIE]
        if not tests:
            command.append("--no-tests")
        self.cache = cache
        self.stderr_path = cache.parent / f"{cache.name}-watch-stderr.txt"
        self.stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            start_new_session=own_process_group,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(
            target=_lines_into, args=(self.process.stdout, self.lines), daemon=True
        ).start()

    def next_event(self, timeout: float = 60) -> Event:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event from holo watch in {timeout} s{self._tail()}") from None
        assert line is not None, f"holo watch exited{self._tail()}"
        event: Event = json.loads(line)
        return event

    def ready(self) -> Event:
        event = self.next_event()
        assert event["event"] == "ready", event
        # The watcher registers its OS watches as the first build starts; give it a moment.
        time.sleep(0.2)
        return event

    def cycle(self) -> Event:
        event = self.next_event()
        assert event["event"] == "cycle", event
        return event

    def event_within(self, seconds: float) -> Event | None:
        """The next event if one comes within ``seconds``."""
        try:
            line = self.lines.get(timeout=seconds)
        except queue.Empty:
            return None
        return json.loads(line) if line is not None else None

    def beam_children(self) -> list[int]:
        return [pid for pid in children_of(self.process.pid) if _is_beam(pid)]

    def _tail(self) -> str:
        self.stderr.flush()
        text = self.stderr_path.read_text()
        return f"; stderr:\n{text[-3000:]}" if text else ""

    def close(self) -> None:
        """Stop holo (its nodes die with it, even when it is killed)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()
        self.stderr.close()


def _is_beam(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/exe").resolve().name == "beam.smp"
    except OSError:
        return False


def beams_running_from(cache: Path) -> list[int]:
    """Every BEAM whose command line names this cache (holo's nodes load their code from
    it), whoever its parent is now: a node that outlived holo was re-parented."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _is_beam(int(entry)) and is_running(int(entry)):
            with contextlib.suppress(OSError):
                if str(cache).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
    return sorted(found)


@pytest.fixture(scope="module")
def user_node() -> Iterator[UserNode]:
    node = UserNode()
    try:
        assert node.eval("node()") == node.name  # distribution is up
        yield node
    finally:
        node.close()


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("_build"))
    return root


@pytest.fixture
def start_watch(tmp_path: Path) -> Iterator[Callable[..., HoloWatch]]:
    started: list[HoloWatch] = []

    def start(root: Path, **options: Any) -> HoloWatch:
        watch = HoloWatch(root, tmp_path / "cache", **options)
        started.append(watch)
        return watch

    yield start
    for watch in started:
        watch.close()


@pytest.fixture
def watch(shop: Path, user_node: UserNode, start_watch: Callable[..., HoloWatch]) -> HoloWatch:
    """holo watch over the shop, loading into the user's node too."""
    watch = start_watch(shop, nodes=(user_node.name,))
    ready = watch.ready()
    assert ready["errors"] == 0 and ready["modules"] == 5, ready
    return watch


def edit(path: Path, old: str, new: str, *, atomic: bool = False) -> None:
    """Replace text in a file: written in place, or saved atomically as many editors do
    (a temporary file renamed over the original)."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    text = text.replace(old, new, 1)
    if atomic:
        temporary = path.with_name(path.name + "___jb_tmp___")
        temporary.write_text(text)
        os.replace(temporary, path)
    else:
        path.write_text(text)


def discount(node: UserNode) -> str:
    return node.eval('shop_pricing:discount(1000, <<"TENOFF">>)')


def errors_in(event: Event, file: str) -> list[Event]:
    return [d for d in event["diagnostics"] if d["file"] == file and d["severity"] == "error"]


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

    edit(pricing, "Subtotal div 4;", "Subtotal div 10;")
    passing = watch.cycle()["tests"]
    assert broken <= set(passing["selected"])
    assert passing["failed"] == [] and passing["passed"] == len(passing["selected"])
