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

from typing import Any

from holo.build.node_targets import (
    NodeTargets,
    cookie_problem,
    first_set,
    from_settings,
    node_name_problem,
)
from holo.inputs import HoloSettings

SECTION = "holo"


def is_node_name(name: str) -> bool:
    """Whether ``name`` is an Erlang node name (name@host)."""
    return node_name_problem(name) is None


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
        problem = node_name_problem(name)
        if problem is None:
            nodes.append(name)
        else:
            problems.append(f"holo.nodes: {problem}")
    cookie = section.get("cookie")
    if cookie is not None:
        if not isinstance(cookie, str) or not cookie:
            problems.append("holo.cookie must be a non-empty string")
            cookie = None
        elif (problem := cookie_problem(cookie)) is not None:
            problems.append(f"holo.cookie: {problem}")
            cookie = None
    return NodeTargets(tuple(dict.fromkeys(nodes)), cookie), problems


def choose(
    client: NodeTargets | None, command_line: NodeTargets, project: HoloSettings
) -> NodeTargets:
    """The targets in effect: for nodes and cookie each, the first place that sets it."""
    return first_set([client, command_line, from_settings(project)])
