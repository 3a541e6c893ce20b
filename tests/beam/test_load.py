"""Hot loading into the agent's own node: atomic batches, old code in use, sticky modules."""

from __future__ import annotations

from holo.beam import BeamNode, LoadStatus
from tests.beam.helpers import apply, compile_module


def version(node: BeamNode, name: str, n: int, extra: str = "") -> bytes:
    return compile_module(
        node,
        name,
        f"-export([v/0, loop/0{extra and ', ' + extra}]).\n"
        f"v() -> {n}.\n"
        "loop() -> receive stop -> ok end.\n",
    )


def test_the_agent_starts_without_distribution(node: BeamNode) -> None:
    assert apply(node, "erlang", "node") == "nonode@nohost"
    assert apply(node, "erlang", "is_alive") is False


def test_load_then_call(node: BeamNode) -> None:
    result = node.load({"plain": version(node, "plain", 1)})
    assert result.ok and result.node is None
    assert result.status("plain") is LoadStatus.LOADED
    assert apply(node, "plain", "v") == 1


def test_loading_the_code_a_node_already_runs_changes_nothing(node: BeamNode) -> None:
    v1, v2 = version(node, "same", 1), version(node, "same", 2)
    assert node.load({"same": v1}).status("same") is LoadStatus.LOADED
    again = node.load({"same": v1})
    assert again.ok and again.status("same") is LoadStatus.UNCHANGED
    assert apply(node, "erlang", "check_old_code", "same") is False  # no second version made
    assert node.load({"same": v2}).status("same") is LoadStatus.LOADED
    assert apply(node, "same", "v") == 2


def test_code_that_differs_only_in_its_attributes_is_loaded(node: BeamNode) -> None:
    # The module md5 leaves attributes out: -vsn alone must still reach the node.
    body = "-export([v/0]).\nv() -> 1.\n"
    v1 = compile_module(node, "vsned", '-vsn("1").\n' + body)
    v2 = compile_module(node, "vsned", '-vsn("2").\n' + body)
    assert node.load({"vsned": v1}).status("vsned") is LoadStatus.LOADED
    assert node.load({"vsned": v2}).status("vsned") is LoadStatus.LOADED
    assert apply(node, "vsned", "module_info", "attributes") == [("vsn", [ord("2")])]
    # Attributes in another order than the BEAM chunk keeps them (sorted): unchanged.
    both = "-behaviour(gen_server).\n-my_attr(1).\n-behaviour(supervisor).\n" + body
    v3 = compile_module(node, "vsned", both)
    assert node.load({"vsned": v3}).status("vsned") is LoadStatus.LOADED
    assert node.load({"vsned": v3}).status("vsned") is LoadStatus.UNCHANGED


def test_modules_of_one_load_arrive_together(node: BeamNode) -> None:
    caller_v1 = compile_module(node, "pair_a", "-export([v/0]).\nv() -> {a1, pair_b:v()}.\n")
    callee_v1 = compile_module(node, "pair_b", "-export([v/0]).\nv() -> b1.\n")
    assert node.load([("pair_a", caller_v1), ("pair_b", callee_v1)]).ok
    assert apply(node, "pair_a", "v") == ("a1", "b1")

    caller_v2 = compile_module(node, "pair_a", "-export([v/0]).\nv() -> {a2, pair_b:v()}.\n")
    callee_v2 = compile_module(node, "pair_b", "-export([v/0]).\nv() -> b2.\n")
    assert node.load({"pair_a": caller_v2, "pair_b": callee_v2}).ok
    assert apply(node, "pair_a", "v") == ("a2", "b2")

    # One bad BEAM in a batch: nothing of the batch is loaded.
    caller_v3 = compile_module(node, "pair_a", "-export([v/0]).\nv() -> {a3, pair_b:v()}.\n")
    result = node.load({"pair_a": caller_v3, "pair_b": b"FOR1 not a beam"})
    assert not result.ok
    assert result.status("pair_a") is LoadStatus.FAILED
    assert result.status("pair_b") is LoadStatus.FAILED
    assert "not a BEAM" in next(m.message for m in result.modules if m.module == "pair_b")
    assert apply(node, "pair_a", "v") == ("a2", "b2")


def test_old_code_in_use_blocks_a_load_unless_forced(node: BeamNode) -> None:
    assert node.load({"sitter": version(node, "sitter", 1)}).ok
    process = apply(node, "erlang", "spawn", "sitter", "loop", [])
    assert apply(node, "erlang", "register", "sitter_proc", process) is True
    # v1 becomes old code, still run by the process: that is fine.
    assert node.load({"sitter": version(node, "sitter", 2)}).ok
    # v3 would have to purge v1 from under the process: refused, and reported.
    blocked = node.load(
        {"sitter": version(node, "sitter", 3), "bystander": version(node, "bystander", 1)}
    )
    assert blocked.status("sitter") is LoadStatus.BLOCKED
    assert blocked.status("bystander") is LoadStatus.LOADED
    (sitter,) = [m for m in blocked.modules if m.module == "sitter"]
    (user,) = sitter.old_code_users
    assert user.registered_name == "sitter_proc"
    assert user.current_function == ("sitter", "loop", 0)
    assert user.pid.startswith("<0.") and user.pid in sitter.message
    assert "force" in sitter.message
    assert apply(node, "sitter", "v") == 2
    assert apply(node, "erlang", "is_process_alive", process) is True

    forced = node.load({"sitter": version(node, "sitter", 3)}, force=True)
    assert forced.ok
    assert apply(node, "sitter", "v") == 3
    assert apply(node, "erlang", "is_process_alive", process) is False


def test_sticky_and_agent_modules_are_refused(node: BeamNode) -> None:
    fake = version(node, "lists_stand_in", 1)
    result = node.load({"lists": fake, "holo_agent": fake, "fine": version(node, "fine", 1)})
    assert result.status("lists") is LoadStatus.REFUSED
    assert "sticky" in next(m.message for m in result.modules if m.module == "lists")
    assert result.status("holo_agent") is LoadStatus.REFUSED
    assert result.status("fine") is LoadStatus.LOADED
    assert apply(node, "lists", "reverse", [1, 2]) == [2, 1]
    assert node.ping().otp_release


def test_unload_removes_a_module(node: BeamNode) -> None:
    assert node.load({"doomed": version(node, "doomed", 1)}).ok
    result = node.unload(["doomed", "never_loaded"])
    assert result.status("doomed") is LoadStatus.UNLOADED
    assert result.status("never_loaded") is LoadStatus.NOT_LOADED
    assert apply(node, "code", "is_loaded", "doomed") is False
    assert node.unload(["lists"]).status("lists") is LoadStatus.REFUSED


def test_unload_leaves_running_processes_their_code_unless_forced(node: BeamNode) -> None:
    for force in (False, True):
        assert node.load({"busy": version(node, "busy", 1)}).ok
        process = apply(node, "erlang", "spawn", "busy", "loop", [])
        assert node.unload(["busy"], force=force).status("busy") is LoadStatus.UNLOADED
        assert apply(node, "code", "is_loaded", "busy") is False
        assert apply(node, "erlang", "is_process_alive", process) is not force
        apply(node, "erlang", "exit", process, "kill")
