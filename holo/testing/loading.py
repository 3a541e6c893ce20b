"""Keeping the runtime node on a test build's code, and knowing which modules run it.

Like :class:`holo.build.loading.NodeLoader` (only what changed is loaded, all
of one build together), with three differences tests need:

* a module counts as running this build's code when the node loaded it *or*
  already ran exactly that code (the watcher may have loaded the same build a
  moment before);
* loads are forced (a test node keeps no process worth sparing on old code);
* a module the node answers "unchanged" for, although it ran other bytes
  before, is loaded again: the agent compares the code's MD5, which leaves
  out attributes, so a ``-vsn`` or custom attribute edit would not reach
  ``module_info(attributes)``;
* an ``-on_load`` module is loaded again, even when its own binary did not
  change, when the code its ``-on_load`` function runs changed (a
  ``load_time`` digest, see :mod:`holo.testing.load_time`): deleted, then
  loaded, so that the function runs again on the new code, and a NIF
  library it loads is loaded afresh rather than upgraded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from holo.beam.loading import LoadResult, LoadStatus
from holo.beam.node import BeamNode
from holo.build.loading import LoadReport, describe_problems

_RUNNING = (LoadStatus.LOADED, LoadStatus.UNCHANGED)
_GONE = (LoadStatus.UNLOADED, LoadStatus.NOT_LOADED)


class CodeSync:
    def __init__(self, node: BeamNode) -> None:
        self.node = node
        self.running: dict[str, bytes] = {}  # module -> md5 of the binary the node runs
        self.load_time: dict[str, bytes] = {}  # -on_load module -> what its on_load ran
        self.sent = 0  # binaries sent to the node, ever

    def forget(self, modules: set[str] | None = None) -> None:
        """Trust nothing about these modules (all when None): the next sync loads them."""
        if modules is None:
            self.running.clear()
            self.load_time.clear()
            return
        for module in modules:
            self.running.pop(module, None)
            self.load_time.pop(module, None)

    def sync(
        self,
        binaries: Mapping[str, bytes],
        removed: set[str],
        load_time: Mapping[str, bytes] | None = None,
    ) -> LoadReport:
        """Load what changed, unload what is gone, and load again the ``-on_load``
        modules whose ``load_time`` digest changed."""
        report = LoadReport()
        digests = {m: hashlib.md5(b).digest() for m, b in binaries.items()}
        changed = {m: b for m, b in binaries.items() if self.running.get(m) != digests[m]}
        fresh: set[str] = set()  # loaded now, their on_load ran on the new code
        if changed:
            result = self._load(changed)
            same_code: list[str] = []  # other bytes, the same code: attributes differ
            for entry in result.modules:
                if entry.status is LoadStatus.UNCHANGED and entry.module in self.running:
                    same_code.append(entry.module)
                elif entry.status in _RUNNING:
                    self.running[entry.module] = digests[entry.module]
                else:
                    self.running.pop(entry.module, None)
                if entry.status is LoadStatus.LOADED:
                    fresh.add(entry.module)
            report.problems.extend(describe_problems(result))
            if same_code:
                fresh.update(self._load_again(sorted(same_code), binaries, digests, report))
            report.loaded.extend(sorted(fresh))
        gone = sorted(m for m in removed if m in self.running)
        if gone:
            result = self.node.unload(gone, force=True)
            for entry in result.modules:
                if entry.status in _GONE:
                    self.running.pop(entry.module, None)
                    self.load_time.pop(entry.module, None)
                    if entry.status is LoadStatus.UNLOADED:
                        report.unloaded.append(entry.module)
            report.problems.extend(describe_problems(result))
        if load_time:
            self._reload_on_load(binaries, load_time, fresh, report)
        return report

    def _reload_on_load(
        self,
        binaries: Mapping[str, bytes],
        load_time: Mapping[str, bytes],
        fresh: set[str],
        report: LoadReport,
    ) -> None:
        again = sorted(
            m
            for m, digest in load_time.items()
            if m in self.running and m not in fresh and self.load_time.get(m) != digest
        )
        for module in fresh:
            if module in load_time:
                self.load_time[module] = load_time[module]
        if not again:
            return
        digests = {m: self.running[m] for m in again}
        for module in self._load_again(again, binaries, digests, report):
            self.load_time[module] = load_time[module]
            if module not in report.loaded:
                report.loaded.append(module)
        report.loaded.sort()

    def _load_again(
        self,
        modules: list[str],
        binaries: Mapping[str, bytes],
        digests: Mapping[str, bytes],
        report: LoadReport,
    ) -> set[str]:
        """Delete these modules, then load them: the ones now running ``binaries``."""
        report.problems.extend(describe_problems(self.node.unload(modules, force=True)))
        result = self._load({m: binaries[m] for m in modules})
        report.problems.extend(describe_problems(result))
        loaded: set[str] = set()
        for entry in result.modules:
            if entry.status in _RUNNING:
                self.running[entry.module] = digests[entry.module]
                loaded.add(entry.module)
            else:
                self.running.pop(entry.module, None)
                self.load_time.pop(entry.module, None)
        return loaded

    def _load(self, binaries: Mapping[str, bytes]) -> LoadResult:
        self.sent += len(binaries)
        return self.node.load(dict(binaries), force=True)

    def stale(self, modules: set[str], binaries: Mapping[str, bytes]) -> set[str]:
        """Modules that do not run this build's code: not compiled, or not loaded."""
        return {
            m
            for m in modules
            if m not in binaries or self.running.get(m) != hashlib.md5(binaries[m]).digest()
        }
