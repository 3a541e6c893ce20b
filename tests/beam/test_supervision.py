"""The node stays up: restarts after a death, fails clearly, and leaves no VM behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from holo.beam import AgentRequestError, BeamNode, BeamNodeClosed, BeamNodeDied, BeamStartError
from tests.beam.helpers import (
    DEADLINE,
    apply,
    children_of,
    compile_module,
    is_running,
    load_probe,
    wait_until,
)


def test_a_killed_node_restarts_with_its_modules_and_handlers(node: BeamNode) -> None:
    assert node.load(
        {"survivor": compile_module(node, "survivor", "-export([v/0]).\nv() -> 7.\n")}
    ).ok
    old_pid, restarts = node.os_pid, node.restarts
    os.kill(old_pid, signal.SIGKILL)
    # The probe's handler (registered through the bridge) and the module are back.
    assert apply(node, "survivor", "v") == 7
    assert node.os_pid != old_pid and node.restarts == restarts + 1
    assert not is_running(old_pid)


def test_a_request_in_flight_when_the_node_dies_is_sent_again(node: BeamNode) -> None:
    old_pid = node.os_pid
    future = node.submit("sleep", 500)
    os.kill(old_pid, signal.SIGKILL)
    assert future.result(DEADLINE) == "slept"
    assert node.os_pid != old_pid


def test_user_code_that_halts_the_node_fails_its_request_clearly(node: BeamNode) -> None:
    halter = compile_module(node, "halter", "-export([go/0]).\ngo() -> erlang:halt(0).\n")
    assert node.load({"halter": halter}).ok
    restarts = node.restarts
    with pytest.raises(BeamNodeDied, match=r"died twice while serving 'apply'.*halt"):
        apply(node, "halter", "go")
    assert node.restarts == restarts + 2  # once, then once more for the retry
    assert node.ping().os_pid == node.os_pid  # and the node serves again


def test_a_module_that_kills_every_new_vm_is_dropped(beam_cache: Path, tmp_path: Path) -> None:
    trigger = tmp_path / "halt-now"
    body = (
        "-on_load(init/0).\n"
        f'init() -> case filelib:is_file("{trigger}") of true -> erlang:halt(0); false -> ok end.\n'
    )
    with BeamNode(cache_dir=beam_cache) as own:
        assert own.load({"poison": compile_module(own, "poison", body)}).ok
        trigger.write_text("")  # from now on, loading poison halts the VM
        os.kill(own.os_pid, signal.SIGKILL)
        start_errors = []

        def serves() -> bool:
            try:
                return own.ping().os_pid > 0
            except BeamStartError as e:
                start_errors.append(str(e))
                return False

        wait_until(serves, "the node to serve again")
        assert all("poison" in error and "load it again" in error for error in start_errors)
        load_probe(own)
        assert apply(own, "code", "is_loaded", "poison") is False


def test_what_user_code_prints_goes_to_the_log_not_into_the_frames(node: BeamNode) -> None:
    marker = f"printed-by-user-code-{os.getpid()}"
    assert apply(node, "io", "format", f"{marker}~n".encode(), []) == "ok"
    # erlang:display/1 writes to fd 1 itself, past Erlang's I/O system.
    displayed = f"displayed-by-user-code-{os.getpid()}"
    assert apply(node, "erlang", "display", displayed.encode()) is True
    assert node.call("echo", [1, 2]) == [1, 2]
    wait_until(lambda: marker in node.log_path.read_text(errors="replace"), "the print in the log")
    wait_until(lambda: displayed in node.log_path.read_text(errors="replace"), "the display")


def test_an_unknown_request_and_a_crashing_handler_fail_only_themselves(node: BeamNode) -> None:
    with pytest.raises(AgentRequestError) as unknown:
        node.call("no_such_request", {})
    assert unknown.value.why == "unknown_request"
    with pytest.raises(AgentRequestError) as crashed:
        apply(node, "erlang", "error", "boom")
    assert crashed.value.why == "crash" and "boom" in crashed.value.agent_message
    assert node.call("echo", "still_fine") == "still_fine"


def test_a_timeout_cancels_the_request_in_the_agent(node: BeamNode) -> None:
    with pytest.raises(TimeoutError, match="'park'"):
        node.call("park", "parked_request", timeout=0.2)
    wait_until(lambda: apply(node, "erlang", "whereis", "parked_request") is None, "the kill")


def test_acall_serves_an_asyncio_loop_without_blocking_it(node: BeamNode) -> None:
    async def scenario() -> tuple[object, object, bool]:
        parked = asyncio.create_task(node.acall("park", "parked_async"))
        await asyncio.sleep(0)
        # The loop runs other work, and other requests, while one is pending.
        echoed, slept = await asyncio.gather(node.acall("echo", b"bytes"), node.acall("sleep", 1))
        parked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await parked
        return echoed, slept, parked.cancelled()

    assert asyncio.run(scenario()) == (b"bytes", "slept", True)
    wait_until(lambda: apply(node, "erlang", "whereis", "parked_async") is None, "the cancel")


def test_close_leaves_no_process_behind(beam_cache: Path) -> None:
    node = BeamNode(cache_dir=beam_cache)
    pid = node.os_pid
    helpers = children_of(pid)  # erl_child_setup, which starts the VM's port programs
    assert is_running(pid) and helpers
    node.close()
    assert not is_running(pid)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    for helper in helpers:
        wait_until(lambda helper=helper: not is_running(helper), f"helper {helper} to exit")
    with pytest.raises(BeamNodeClosed):
        node.call("ping")
    node.close()  # twice is fine


def test_the_vm_dies_with_a_holo_that_never_closed_it(beam_cache: Path) -> None:
    script = (
        "import os, sys\n"
        "from holo.beam import BeamNode\n"
        f"node = BeamNode(cache_dir={str(beam_cache)!r})\n"
        "print(node.os_pid, flush=True)\n"
        "os._exit(0)\n"  # no close(), no atexit
    )
    holo = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    out, _ = holo.communicate()
    assert holo.returncode == 0
    pid = int(out.strip())
    wait_until(lambda: not is_running(pid), f"the orphaned VM {pid} to exit")
    # Nobody was left to remove that VM's temporary directory: the next holo does.
    leftovers = list(Path(tempfile.gettempdir()).glob(f"holo-agent-{holo.pid}-*"))
    assert leftovers
    BeamNode(cache_dir=beam_cache).close()
    assert not any(path.exists() for path in leftovers)


def test_a_node_that_cannot_start_says_why(beam_cache: Path) -> None:
    with pytest.raises(BeamStartError, match="no-such-erl"):
        BeamNode(cache_dir=beam_cache, erl="no-such-erl")


def _parked(node: BeamNode, name: str) -> bool:
    return apply(node, "erlang", "whereis", name) is not None


def test_calls_with_a_limit_run_that_many_at_once_in_the_order_sent(node: BeamNode) -> None:
    first, second, third = (node.submit("park", f"limited_{i}", limit=2) for i in (1, 2, 3))
    wait_until(lambda: _parked(node, "limited_1") and _parked(node, "limited_2"), "two to run")
    assert first.started_at is not None and second.started_at is not None
    # Two of its kind run: the third waits for its turn, and other kinds do not.
    assert node.call("echo", "not held up") == "not held up"
    assert not _parked(node, "limited_3")
    assert third.started_at is None
    assert first.cancel()
    wait_until(lambda: _parked(node, "limited_3"), "the third to take the free place")
    assert third.started_at is not None
    assert not _parked(node, "limited_1")
    assert second.cancel() and third.cancel()
    wait_until(lambda: not _parked(node, "limited_2") and not _parked(node, "limited_3"), "kills")


def test_a_call_cancelled_while_it_waits_for_its_turn_never_runs(node: BeamNode) -> None:
    running = node.submit("park", "turn_running", limit=1)
    waiting = node.submit("park", "turn_waiting", limit=1)
    wait_until(lambda: _parked(node, "turn_running"), "the first to run")
    assert waiting.cancel()
    assert running.cancel()
    # Had the cancelled call kept its place, it would run now and hold the only one.
    after = node.submit("park", "turn_after", limit=1)
    wait_until(lambda: _parked(node, "turn_after"), "the next call to run")
    assert not _parked(node, "turn_waiting")
    assert after.cancel()
    wait_until(lambda: not _parked(node, "turn_after"), "the kill")
