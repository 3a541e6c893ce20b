"""Loading into the user's nodes: each node is handed only what it lacks, and one node
that cannot be reached costs only its own line. Real nodes, a real agent."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.beam import BeamNode
from holo.build.node_targets import NodeTargets
from holo.build.user_nodes import NodeLoad, UserNodeLoader
from tests.beam.helpers import compile_module
from tests.user_nodes import UserNode, short_host

COOKIE = "holo_un_" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BeamNode]:
    with BeamNode(cache_dir=tmp_path_factory.mktemp("holo-cache")) as node:
        yield node


@pytest.fixture
def user_node() -> Iterator[UserNode]:
    node = UserNode(COOKIE, "holo_un_")
    yield node
    node.close()


class CountingAgent:
    """The agent, counting how often the loader asks for it (it asks once per request)."""

    def __init__(self, agent: BeamNode) -> None:
        self.agent = agent
        self.asked = 0

    def __call__(self) -> BeamNode:
        self.asked += 1
        return self.agent


def version(agent: BeamNode, module: str, n: int) -> bytes:
    return compile_module(agent, module, f"-export([v/0]).\nv() -> {n}.\n")


def nobody() -> str:
    return f"holo_un_nobody_{secrets.token_hex(4)}@{short_host()}"


def test_a_node_that_is_down_does_not_stop_the_other_from_loading(
    agent: BeamNode, user_node: UserNode
) -> None:
    missing = nobody()
    asked = CountingAgent(agent)
    loader = UserNodeLoader(asked)
    targets = NodeTargets((user_node.name, missing), COOKIE)
    build = {"un_a": version(agent, "un_a", 1), "un_b": version(agent, "un_b", 1)}

    first = loader.load(targets, build)
    up, down = first.nodes
    assert up == NodeLoad(user_node.name, loaded=("un_a", "un_b"))
    assert down.node == missing and down.unreachable is not None and down.loaded == ()
    (problem,) = first.problems
    assert problem.startswith(f"could not load into {missing}: ")
    assert first.loaded == [f"{user_node.name}:un_a", f"{user_node.name}:un_b"]
    assert first.unreachable == [missing]
    assert user_node.eval("{un_a:v(), un_b:v()}") == "{1,1}"

    # One module changed: the node that took the build is handed that one alone; the node
    # that was down is still handed everything, in a request of its own.
    build["un_a"] = version(agent, "un_a", 2)
    second = loader.load(targets, build)
    assert second.nodes[0] == NodeLoad(user_node.name, loaded=("un_a",))
    assert second.unreachable == [missing]
    assert asked.asked == 3
    assert user_node.eval("{un_a:v(), un_b:v()}") == "{2,1}"

    # Nothing changed and only the live node named: no request at all.
    assert loader.load(NodeTargets((user_node.name,), COOKIE), build).nodes == (
        NodeLoad(user_node.name),
    )
    assert asked.asked == 3


def test_a_node_that_went_away_is_handed_the_whole_build_when_it_is_back(
    agent: BeamNode, user_node: UserNode
) -> None:
    loader = UserNodeLoader(lambda: agent)
    targets = NodeTargets((user_node.name,), COOKIE)
    build = {"un_c": version(agent, "un_c", 1), "un_d": version(agent, "un_d", 1)}
    assert loader.load(targets, build).loaded == [f"{user_node.name}:un_c",
                                                  f"{user_node.name}:un_d"]

    user_node.close()  # the user restarts their node, which then runs none of holo's code
    build["un_c"] = version(agent, "un_c", 2)
    assert loader.load(targets, build).unreachable == [user_node.name]
    back = UserNode(COOKIE, name=user_node.name.split("@")[0])
    try:
        (again,) = loader.load(targets, build).nodes
        # un_d did not change, but the node that is back lacks it.
        assert again == NodeLoad(user_node.name, loaded=("un_c", "un_d"))
        assert back.eval("{un_c:v(), un_d:v()}") == "{2,1}"
    finally:
        back.close()


def test_bad_names_and_cookies_are_each_nodes_problem_and_nothing_is_sent(
    agent: BeamNode, user_node: UserNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = CountingAgent(agent)
    loader = UserNodeLoader(asked)
    build = {"un_e": version(agent, "un_e", 1)}

    named = loader.load(NodeTargets(("nohost", user_node.name), COOKIE), build)
    bad, good = named.nodes
    assert bad.problems == ("could not load into nohost: "
                            "'nohost' is not an Erlang node name (name@host)",)
    assert good == NodeLoad(user_node.name, loaded=("un_e",))
    assert asked.asked == 1

    build["un_e"] = version(agent, "un_e", 2)
    spaced = loader.load(NodeTargets((user_node.name,), "two words"), build)
    assert spaced.problems == [
        f"could not load into {user_node.name}: the cookie holds spaces or control characters"
    ]
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.erlang.cookie there
    (unread,) = loader.load(NodeTargets((user_node.name,)), build).problems
    assert "no cookie given and cannot read" in unread
    assert asked.asked == 1
    assert user_node.eval("un_e:v()") == "1"

    wrong = loader.load(NodeTargets((user_node.name,), "holo_un_wrong"), build)
    assert wrong.unreachable == [user_node.name]
    assert user_node.eval("un_e:v()") == "1"
    assert loader.load(NodeTargets((user_node.name,), COOKIE), build).loaded == [
        f"{user_node.name}:un_e"
    ]
    assert user_node.eval("un_e:v()") == "2"
