"""Loading each cycle's code into the user's nodes, handing each only what it lacks.

A node may run any older code when the watch starts (a release, an earlier
session), so the first load hands it the whole build and the agent skips what
it already runs. After that holo remembers, per node, the MD5 of each module
it gave the node, and hands it only modules whose code differs: a one-module
edit sends one module, not the project. A node that could not be reached
forgets what it was given (it may have restarted), so it gets everything again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from holo.beam.loading import LoadStatus
from holo.beam.node import BeamNode
from holo.build.loading import describe_problems
from holo.watch.targets import Targets

_RUNNING = (LoadStatus.LOADED, LoadStatus.UNCHANGED)


class RemoteLoader:
    def __init__(self, agent: Callable[[], BeamNode]) -> None:
        self._agent = agent
        self.given: dict[str, dict[str, bytes]] = {}  # node -> module -> md5 of what it runs

    def sync(
        self, targets: Targets, binaries: dict[str, bytes], *, force: bool = False
    ) -> tuple[list[str], list[str]]:
        """Load what each node lacks; returns ("node:module" loaded, problems)."""
        if not targets.nodes or not binaries:
            return [], []
        digests = {m: hashlib.md5(b).digest() for m, b in binaries.items()}
        # Nodes that lack the same modules share one request (usually all of them do).
        groups: dict[tuple[str, ...], list[str]] = {}
        for node in targets.nodes:
            given = self.given.get(node, {})
            lacking = tuple(sorted(m for m in binaries if given.get(m) != digests[m]))
            if lacking:
                groups.setdefault(lacking, []).append(node)
        loaded: list[str] = []
        problems: list[str] = []
        for modules, nodes in groups.items():
            results = self._agent().remote_load(
                nodes, {m: binaries[m] for m in modules}, cookie=targets.cookie, force=force
            )
            for result in results:
                node = result.node or ""
                problems.extend(describe_problems(result))
                if result.error is not None:
                    self.given.pop(node, None)
                    continue
                given = self.given.setdefault(node, {})
                for entry in result.modules:
                    if entry.status in _RUNNING:
                        given[entry.module] = digests[entry.module]
                    else:  # blocked, refused, failed: offered again next time
                        given.pop(entry.module, None)
                    if entry.status is LoadStatus.LOADED:
                        loaded.append(f"{node}:{entry.module}")
        return sorted(loaded), problems
