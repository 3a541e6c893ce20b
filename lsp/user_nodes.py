"""Hot-loading each save's build into the user's running nodes, a node at a time in step.

Each node is handed only the modules whose code differs from what it was last
handed successfully (loaded, or already running it). A node it has never
reached, or whose last load failed outright (unreachable, wrong cookie), is
handed the whole build: it may run any older code, and the agent skips what
it already runs. A module a node refused or could not replace (old code still
in use) is handed again on the next save.

Loading goes through the agent (``session.agent``), which starts Erlang
distribution only when it is first asked to reach a node. Modules whose files
were deleted are forgotten, not unloaded: the agent unloads only from holo's
own nodes. A node restarted between two saves without a save failing on it
meanwhile is handed only what changed from then on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from holo.beam.loading import LoadStatus
from holo.beam.node import BeamNode
from holo.build.loading import LoadReport, describe_problems
from holo.errors import UserError
from holo.lsp.targets import NodeTargets

log = logging.getLogger(__name__)

_GIVEN = (LoadStatus.LOADED, LoadStatus.UNCHANGED)


class UserNodes:
    """What each user node was last handed (see the module doc)."""

    def __init__(self) -> None:
        self._given: dict[str, dict[str, bytes]] = {}  # node -> module -> md5 of its code

    def load(
        self,
        agent: Callable[[], BeamNode],
        targets: NodeTargets,
        binaries: dict[str, bytes],
        removed: set[str],
        *,
        force: bool = False,
    ) -> LoadReport:
        """Hand each target node what changed for it; loaded entries are "node:module"."""
        report = LoadReport()
        for node in [n for n in self._given if n not in targets.nodes]:
            del self._given[node]
        for given in self._given.values():
            for module in removed:
                given.pop(module, None)
        digests = {module: hashlib.md5(binary).digest() for module, binary in binaries.items()}
        groups: dict[frozenset[str], list[str]] = {}
        for node in targets.nodes:
            given = self._given.get(node, {})
            changed = frozenset(m for m, digest in digests.items() if given.get(m) != digest)
            if changed:
                groups.setdefault(changed, []).append(node)
        for changed, nodes in groups.items():
            modules = {m: binaries[m] for m in sorted(changed)}
            try:
                results = agent().remote_load(nodes, modules, cookie=targets.cookie, force=force)
            except UserError as e:  # no cookie to use
                report.problems.append(f"could not load into {', '.join(nodes)}: {e}")
                continue
            except Exception as e:
                log.exception("loading into %s", nodes)
                report.problems.append(f"could not load into {', '.join(nodes)}: {e}")
                continue
            for result in results:
                node = result.node or ""
                report.problems.extend(describe_problems(result))
                if result.error is not None:
                    self._given.pop(node, None)
                    continue
                given = self._given.setdefault(node, {})
                for entry in result.modules:
                    if entry.status in _GIVEN:
                        given[entry.module] = digests[entry.module]
                    else:
                        given.pop(entry.module, None)
                    if entry.status is LoadStatus.LOADED:
                        report.loaded.append(f"{node}:{entry.module}")
        report.loaded.sort()
        return report
