"""The user's running nodes holo loads code into, and the cookie to reach them with.

Several places can name them (the command line, an editor's settings,
rebar.config's ``{holo, [{nodes, [...]}, {cookie, C}]}``); each command puts
them in its own order, and for ``nodes`` and ``cookie`` separately the first
place that sets one wins (:func:`first_set`). No cookie anywhere means
``~/.erlang.cookie``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from holo.beam.node import check_node_name
from holo.errors import UserError
from holo.inputs import HoloSettings

# An atom holds at most 255 characters; the agent turns names and cookies into atoms.
MAX_ATOM = 255


@dataclass(frozen=True)
class NodeTargets:
    nodes: tuple[str, ...] = ()
    cookie: str | None = None  # None: ~/.erlang.cookie


NO_TARGETS = NodeTargets()


def from_settings(settings: HoloSettings) -> NodeTargets:
    """What rebar.config's holo section names."""
    return NodeTargets(tuple(settings.nodes), settings.cookie)


def first_set(layers: Iterable[NodeTargets | None]) -> NodeTargets:
    """For nodes and cookie each, what the first layer that sets it says (an empty list of
    nodes sets nothing); ``None`` layers say nothing."""
    given = [layer for layer in layers if layer is not None]
    nodes = next((layer.nodes for layer in given if layer.nodes), ())
    cookie = next((layer.cookie for layer in given if layer.cookie is not None), None)
    return NodeTargets(tuple(dict.fromkeys(nodes)), cookie)


def node_name_problem(name: object) -> str | None:
    """What keeps ``name`` from naming an Erlang node (name@host), or None."""
    if not isinstance(name, str):
        return f"{name!r} is not an Erlang node name (name@host)"
    try:
        check_node_name(name)
    except UserError as e:
        return str(e)
    if len(name) > MAX_ATOM or any(c.isspace() for c in name):
        return f"{name!r} is not an Erlang node name (name@host)"
    return None


def cookie_problem(cookie: str) -> str | None:
    """What keeps ``cookie`` from being an Erlang cookie, or None."""
    if not cookie:
        return "the cookie is empty"
    if len(cookie) > MAX_ATOM:
        return f"the cookie is longer than {MAX_ATOM} characters"
    if any(c.isspace() or not c.isprintable() for c in cookie):
        return "the cookie holds spaces or control characters"
    return None
