"""The user's nodes `holo watch` loads code into, and the cookie to reach them with.

They come from the command line (``--node``, ``--cookie``), else from the
``{holo, [{nodes, [...]}, {cookie, C}]}`` section of rebar.config, and the
cookie last from ``~/.erlang.cookie``. They are checked before the first
build, so a typo costs one line, not a build.
"""

from __future__ import annotations

from dataclasses import dataclass

from holo.beam.node import check_node_name, default_cookie
from holo.errors import UserError
from holo.inputs import HoloSettings

# An atom holds at most 255 characters; the agent turns both into atoms.
MAX_ATOM = 255


@dataclass(frozen=True)
class Targets:
    nodes: tuple[str, ...] = ()
    cookie: str | None = None  # resolved; None only when there are no nodes


NO_TARGETS = Targets()


def node_name_problem(name: str) -> str | None:
    try:
        check_node_name(name)
    except UserError as e:
        return str(e)
    if len(name) > MAX_ATOM or any(c.isspace() for c in name):
        return f"{name!r} is not an Erlang node name (name@host)"
    return None


def cookie_problem(cookie: str) -> str | None:
    if not cookie:
        return "the cookie is empty"
    if len(cookie) > MAX_ATOM:
        return f"the cookie is longer than {MAX_ATOM} characters"
    if any(c.isspace() or not c.isprintable() for c in cookie):
        return "the cookie holds spaces or control characters"
    return None


def resolve_targets(
    nodes: list[str] | tuple[str, ...],
    cookie: str | None,
    settings: HoloSettings,
    *,
    where: str = "",
) -> Targets:
    """The nodes and cookie to use: the command line's, else the settings', else (for the
    cookie) ~/.erlang.cookie. Raises UserError naming the first problem."""
    chosen = tuple(nodes) if nodes else tuple(settings.nodes)
    for name in chosen:
        problem = node_name_problem(name)
        if problem is not None:
            raise UserError(f"{where}{problem}")
    if not chosen:
        return Targets()
    secret = cookie if cookie is not None else settings.cookie
    if secret is None:
        secret = default_cookie()  # raises UserError when it cannot be read
    problem = cookie_problem(secret)
    if problem is not None:
        raise UserError(f"{where}{problem}")
    return Targets(chosen, secret)
