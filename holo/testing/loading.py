"""Keeping the runtime node on a test build's code, and knowing which modules run it.

Like :class:`holo.build.loading.NodeLoader` (only what changed is loaded, all
of one build together), with two differences tests need: a module counts as
running this build's code when the node loaded it *or* already ran exactly
that code (the watcher may have loaded the same build a moment before), and
loads are forced (a test node keeps no process worth sparing on old code).
"""

from __future__ import annotations

import hashlib

from holo.beam.loading import LoadStatus
from holo.beam.node import BeamNode
from holo.build.loading import describe_problems

_RUNNING = (LoadStatus.LOADED, LoadStatus.UNCHANGED)
_GONE = (LoadStatus.UNLOADED, LoadStatus.NOT_LOADED)


class CodeSync:
    def __init__(self, node: BeamNode) -> None:
        self.node = node
        self.running: dict[str, bytes] = {}  # module -> md5 of the binary the node runs

    def forget(self) -> None:
        """Trust nothing about the node: the next sync loads every module again."""
        self.running.clear()

    def sync(self, binaries: dict[str, bytes], removed: set[str]) -> list[str]:
        """Load what changed, unload what is gone; the problems, one line each."""
        digests = {m: hashlib.md5(b).digest() for m, b in binaries.items()}
        changed = {m: b for m, b in binaries.items() if self.running.get(m) != digests[m]}
        problems: list[str] = []
        if changed:
            result = self.node.load(changed, force=True)
            for entry in result.modules:
                if entry.status in _RUNNING:
                    self.running[entry.module] = digests[entry.module]
                else:
                    self.running.pop(entry.module, None)
            problems.extend(describe_problems(result))
        gone = sorted(m for m in removed if m in self.running)
        if gone:
            result = self.node.unload(gone, force=True)
            for entry in result.modules:
                if entry.status in _GONE:
                    self.running.pop(entry.module, None)
            problems.extend(describe_problems(result))
        return problems

    def stale(self, modules: set[str], binaries: dict[str, bytes]) -> set[str]:
        """Modules that do not run this build's code: not compiled, or not loaded."""
        return {
            m
            for m in modules
            if m not in binaries or self.running.get(m) != hashlib.md5(binaries[m]).digest()
        }
