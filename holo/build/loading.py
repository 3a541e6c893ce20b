"""Loading a build's code into running nodes: holo's own and the user's.

Only what changed is loaded, all of one build together; a module that did not
compile keeps its previous code; a module whose source was deleted is
unloaded from holo's node.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from holo.beam.loading import LoadResult, LoadStatus
from holo.beam.node import BeamNode


@dataclass
class LoadReport:
    loaded: list[str] = field(default_factory=list)  # modules now running their new code
    unloaded: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each, for the user


class NodeLoader:
    """Keeps a node's loaded code in step with successive builds."""

    def __init__(self, node: BeamNode) -> None:
        self.node = node
        self._loaded: dict[str, bytes] = {}  # module -> md5 of the binary it runs

    def sync(
        self, binaries: dict[str, bytes], removed: set[str], *, force: bool = False
    ) -> LoadReport:
        report = LoadReport()
        changed = {
            module: binary
            for module, binary in binaries.items()
            if self._loaded.get(module) != hashlib.md5(binary).digest()
        }
        if changed:
            result = self.node.load(changed, force=force)
            report.loaded.extend(self._record(result, changed))
            report.problems.extend(describe_problems(result))
        gone = sorted(m for m in removed if m in self._loaded)
        if gone:
            result = self.node.unload(gone, force=force)
            for module in result.modules:
                if module.status is LoadStatus.UNLOADED:
                    self._loaded.pop(module.module, None)
                    report.unloaded.append(module.module)
            report.problems.extend(describe_problems(result))
        return report

    def _record(self, result: LoadResult, changed: dict[str, bytes]) -> list[str]:
        loaded = []
        for module in result.modules:
            if module.status is LoadStatus.LOADED:
                self._loaded[module.module] = hashlib.md5(changed[module.module]).digest()
                loaded.append(module.module)
        return sorted(loaded)


def describe_problems(result: LoadResult) -> list[str]:
    where = f" on {result.node}" if result.node else ""
    if result.error:
        return [f"could not load into {result.node}: {result.error}"]
    problems = []
    for module in result.modules:
        if module.status in (
            LoadStatus.LOADED, LoadStatus.UNCHANGED, LoadStatus.UNLOADED, LoadStatus.NOT_LOADED
        ):
            continue
        line = f"{module.module}{where}: {module.status.value}"
        if module.message:
            line += f": {module.message}"
        for user in module.old_code_users:
            line += f"; still running old code: {user.describe()}"
        problems.append(line)
    return problems


def remote_load(
    node: BeamNode, targets: list[str], binaries: dict[str, bytes], cookie: str | None,
    force: bool,
) -> tuple[list[str], list[str]]:
    """Make the user's nodes run these modules; returns (node:module loaded, problems).

    A node may run any older code (a release, an earlier session), so it is
    handed the whole build and the agent skips what it already runs.
    """
    if not targets or not binaries:
        return [], []
    loaded, problems = [], []
    for result in node.remote_load(targets, binaries, cookie=cookie, force=force):
        problems.extend(describe_problems(result))
        loaded.extend(
            f"{result.node}:{m.module}" for m in result.modules if m.status is LoadStatus.LOADED
        )
    return loaded, problems
