"""Counters of what the engine did in each revision, for tests, benchmarks and `holo explain`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RevisionStats:
    """What happened while one revision was current, counted per query name."""

    revision: int
    executed: Counter[str] = field(default_factory=Counter)  # the function ran
    reused: Counter[str] = field(default_factory=Counter)  # re-verified without running
    loaded: Counter[str] = field(default_factory=Counter)  # restored from the persistent cache
    backdated: Counter[str] = field(default_factory=Counter)  # ran, value equal: cut off early

    def summary(self) -> dict[str, dict[str, int]]:
        names = sorted(set(self.executed) | set(self.reused) | set(self.loaded))
        return {
            name: {
                "executed": self.executed[name],
                "reused": self.reused[name],
                "loaded": self.loaded[name],
                "backdated": self.backdated[name],
            }
            for name in names
        }
