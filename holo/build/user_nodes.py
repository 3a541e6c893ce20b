"""Keeping the user's running nodes on a build's code, handing each only what it lacks.

A node may run any older code when holo first reaches it (a release, an
earlier session), so it is handed the whole build and the agent skips what it
already runs. After that holo remembers, per node, the MD5 of each module the
node took (loaded, or already running it), and hands it only modules whose
code differs: a one-module edit sends one module, not the project. Nodes that
lack the same modules share one request to the agent, which reaches each on
its own, so one node that is down never holds up the others.

A node that could not be reached (down, wrong cookie, the agent lost) is
forgotten: it may have restarted, so the next load hands it everything again.
A module a node did not take (old code still in use, refused, failed) is
handed again next time. A node no longer named is forgotten, and so is a
module whose source was deleted: it is not unloaded from the user's nodes
(the agent unloads only from holo's own), but if it comes back it is handed
over again.

Names and the cookie are checked before anything is sent, so a bad one is
that node's problem, never a failed request. Distribution starts in the agent
only when a load has a node to reach.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from holo.beam.errors import BeamError
from holo.beam.loading import LoadResult, LoadStatus
from holo.beam.node import BeamNode, default_cookie
from holo.build.loading import describe_problems
from holo.build.node_targets import NodeTargets, cookie_problem, node_name_problem
from holo.errors import UserError

log = logging.getLogger(__name__)

_TAKEN = (LoadStatus.LOADED, LoadStatus.UNCHANGED)


@dataclass(frozen=True)
class NodeLoad:
    """What one load did on one node. A node that lacked nothing has all fields empty."""

    node: str
    loaded: tuple[str, ...] = ()  # modules that now run the new code
    failed: tuple[str, ...] = ()  # modules it did not take: blocked, refused, failed
    unreachable: str | None = None  # why it could not be reached at all
    problems: tuple[str, ...] = ()  # one line each, for the user


@dataclass(frozen=True)
class UserNodesReport:
    """One load into every target node, a :class:`NodeLoad` each in the targets' order."""

    nodes: tuple[NodeLoad, ...] = ()

    @property
    def loaded(self) -> list[str]:
        """``"node:module"`` for each module a node now runs the new code of."""
        return sorted(f"{n.node}:{module}" for n in self.nodes for module in n.loaded)

    @property
    def problems(self) -> list[str]:
        return [problem for n in self.nodes for problem in n.problems]

    @property
    def unreachable(self) -> list[str]:
        return [n.node for n in self.nodes if n.unreachable is not None]


class UserNodeLoader:
    """What each user node was last handed (see the module doc)."""

    def __init__(self, agent: Callable[[], BeamNode]) -> None:
        self._agent = agent  # called only when there is something to load
        self._given: dict[str, dict[str, bytes]] = {}  # node -> module -> md5 it runs

    def load(
        self,
        targets: NodeTargets,
        binaries: Mapping[str, bytes],
        removed: Iterable[str] = (),
        *,
        force: bool = False,
    ) -> UserNodesReport:
        """Hand each target node what it lacks of ``binaries``; ``removed``: modules whose
        source is gone since the last load."""
        nodes = tuple(dict.fromkeys(targets.nodes))
        for node in [n for n in self._given if n not in nodes]:
            del self._given[node]
        gone = set(removed)
        for given in self._given.values():
            for module in gone & given.keys():
                del given[module]
        outcomes: dict[str, NodeLoad] = {}
        reachable = []
        for node in nodes:
            problem = node_name_problem(node)
            if problem is None:
                reachable.append(node)
            else:
                outcomes[node] = _unreachable(node, problem)
        digests = {module: hashlib.md5(binary).digest() for module, binary in binaries.items()}
        groups: dict[tuple[str, ...], list[str]] = {}
        for node in reachable:
            given = self._given.get(node, {})
            lacking = tuple(sorted(m for m, digest in digests.items() if given.get(m) != digest))
            if lacking:
                groups.setdefault(lacking, []).append(node)
            else:
                outcomes[node] = NodeLoad(node)
        if groups:
            cookie, problem = _cookie(targets.cookie)
            for modules, group in groups.items():
                if problem is None:
                    handed = {m: binaries[m] for m in modules}
                    outcomes.update(self._hand(group, handed, digests, cookie, force))
                else:
                    outcomes.update((node, _unreachable(node, problem)) for node in group)
        for node, outcome in outcomes.items():
            if outcome.unreachable is not None:
                self._given.pop(node, None)
        return UserNodesReport(tuple(outcomes[node] for node in nodes))

    def _hand(
        self,
        nodes: list[str],
        modules: dict[str, bytes],
        digests: dict[str, bytes],
        cookie: str,
        force: bool,
    ) -> dict[str, NodeLoad]:
        try:
            results = self._agent().remote_load(nodes, modules, cookie=cookie, force=force)
        except (BeamError, UserError) as e:
            log.warning("loading into %s: %s", ", ".join(nodes), e)
            return {node: _unreachable(node, str(e)) for node in nodes}
        return {result.node or "": self._record(result, digests) for result in results}

    def _record(self, result: LoadResult, digests: dict[str, bytes]) -> NodeLoad:
        node = result.node or ""
        problems = tuple(describe_problems(result))
        if result.error is not None:
            return NodeLoad(node, unreachable=result.error, problems=problems)
        given = self._given.setdefault(node, {})
        loaded, failed = [], []
        for entry in result.modules:
            if entry.status in _TAKEN:
                given[entry.module] = digests[entry.module]
            else:
                given.pop(entry.module, None)
                failed.append(entry.module)
            if entry.status is LoadStatus.LOADED:
                loaded.append(entry.module)
        return NodeLoad(node, tuple(sorted(loaded)), tuple(sorted(failed)), problems=problems)


def _cookie(cookie: str | None) -> tuple[str, str | None]:
    """The cookie to use, and what is wrong with it (then nothing is sent)."""
    if cookie is None:
        try:
            cookie = default_cookie()
        except UserError as e:
            return "", str(e)
    return cookie, cookie_problem(cookie)


def _unreachable(node: str, why: str) -> NodeLoad:
    return NodeLoad(node, unreachable=why, problems=(f"could not load into {node}: {why}",))
