"""The user's nodes `holo watch` loads code into, and the cookie to reach them with.

They come from the command line (``--node``, ``--cookie``), else from the
``{holo, [{nodes, [...]}, {cookie, C}]}`` section of rebar.config, and the
cookie last from ``~/.erlang.cookie``. They are checked, and the cookie read,
before the first build, so a typo costs one line, not a build.
"""

from __future__ import annotations

from holo.beam.node import default_cookie
from holo.build.node_targets import (
    NodeTargets,
    cookie_problem,
    first_set,
    from_settings,
    node_name_problem,
)
from holo.errors import UserError
from holo.inputs import HoloSettings


def resolve_targets(
    nodes: list[str] | tuple[str, ...],
    cookie: str | None,
    settings: HoloSettings,
    *,
    where: str = "",
) -> NodeTargets:
    """The nodes and cookie to use, the cookie resolved when there are nodes. Raises
    UserError naming the first problem, prefixed with ``where``."""
    chosen = first_set([NodeTargets(tuple(nodes), cookie), from_settings(settings)])
    for name in chosen.nodes:
        problem = node_name_problem(name)
        if problem is not None:
            raise UserError(f"{where}{problem}")
    if not chosen.nodes:
        return NodeTargets()
    secret = chosen.cookie if chosen.cookie is not None else default_cookie()
    problem = cookie_problem(secret)
    if problem is not None:
        raise UserError(f"{where}{problem}")
    return NodeTargets(chosen.nodes, secret)
