"""The user's running nodes a save hot-loads into, and the cookie to reach them.

Three places can name them; for each of ``nodes`` and ``cookie`` separately
the first that sets it wins:

1. the client's settings: ``initializationOptions`` and every
   ``workspace/didChangeConfiguration``, as ``{"holo": {"nodes": [...],
   "cookie": "..."}}`` or ``{"nodes": [...], "cookie": "..."}``;
2. the command line: ``holo lsp --node NAME --cookie C``;
3. rebar.config: ``{holo, [{nodes, [...]}, {cookie, C}]}``.

So an editor can name a node of its own and still use the project's cookie,
or keep the cookie out of rebar.config. An empty list names no nodes (the
next place decides). No cookie anywhere means ``~/.erlang.cookie``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from holo.inputs import HoloSettings

SECTION = "holo"


@dataclass(frozen=True)
class NodeTargets:
    nodes: tuple[str, ...] = ()
    cookie: str | None = None


def is_node_name(name: str) -> bool:
    """Whether ``name`` is an Erlang node name (name@host)."""
    local, at, host = name.partition("@")
    return bool(local and at and host and "@" not in host)


def from_client(settings: Any) -> tuple[NodeTargets | None, list[str]]:
    """The targets a client's settings name (None: it says nothing about them), and what is
    wrong with them, one line each."""
    if not isinstance(settings, dict):
        return None, []
    section = settings.get(SECTION, settings)
    if not isinstance(section, dict) or not ({"nodes", "cookie"} & section.keys()):
        return None, []
    problems: list[str] = []
    nodes: list[str] = []
    given = section.get("nodes", [])
    if isinstance(given, str):
        given = [given]
    if not isinstance(given, list):
        problems.append(f"holo.nodes must be a list of node names, not {given!r}")
        given = []
    for name in given:
        if isinstance(name, str) and is_node_name(name):
            nodes.append(name)
        else:
            problems.append(f"holo.nodes: {name!r} is not an Erlang node name (name@host)")
    cookie = section.get("cookie")
    if cookie is not None and (not isinstance(cookie, str) or not cookie):
        problems.append("holo.cookie must be a non-empty string")
        cookie = None
    return NodeTargets(tuple(dict.fromkeys(nodes)), cookie), problems


def choose(
    client: NodeTargets | None, command_line: NodeTargets, project: HoloSettings
) -> NodeTargets:
    """The targets in effect: for nodes and cookie each, the first place that sets it."""
    layers = [t for t in (client, command_line) if t is not None]
    layers.append(NodeTargets(tuple(project.nodes), project.cookie))
    nodes = next((t.nodes for t in layers if t.nodes), ())
    cookie = next((t.cookie for t in layers if t.cookie is not None), None)
    return NodeTargets(nodes, cookie)
