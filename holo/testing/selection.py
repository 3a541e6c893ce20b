"""Which tests an edit can affect: impact records against the current fingerprints.

A test is selected when

* it has no record (new, or never run with this holo and OTP);
* it did not pass last time (failed, error, timeout, crashed, not run);
* its own module's key changed (module-level change of the test module);
* a function it executed changed fingerprint, or is gone (removed, renamed,
  its module deleted);
* a module it touched changed its module key (``-on_load``, ``-compile``
  options, exports, a parse transform's code...).

Everything else is skipped as unaffected. The first reason found is kept,
for the report and for ``holo explain``-style answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from holo.testing.discovery import TestCase
from holo.testing.impact import ImpactStore, TestImpact
from holo.testing.results import TestStatus
from holo.testing.snapshot import Snapshot


@dataclass(frozen=True)
class Selection:
    selected: list[tuple[TestCase, str]]  # (test, why), in discovery order
    skipped: list[TestCase]


def why_selected(test: TestCase, impact: TestImpact | None, snapshot: Snapshot) -> str | None:
    """Why the test must run, or None when nothing it depends on changed."""
    if impact is None:
        return "no record of an earlier run"
    if impact.outcome != TestStatus.PASSED.value:
        return f"{impact.outcome.replace('_', ' ')} last time"
    if impact.own_key != snapshot.key(test.module):
        return f"module {test.module} changed"
    for module, name, arity, fingerprint in impact.functions:
        current = snapshot.fingerprint(module, (name, arity))
        if current is None:
            return f"{module}:{name}/{arity}, which it ran, is gone"
        if current != fingerprint:
            return f"{module}:{name}/{arity} changed"
    for module, key in impact.modules:
        if snapshot.key(module) != key:
            return f"module {module} changed"
    return None


def select(
    tests: list[TestCase], impacts: ImpactStore, snapshot: Snapshot, *, everything: bool = False
) -> Selection:
    selected: list[tuple[TestCase, str]] = []
    skipped: list[TestCase] = []
    for test in tests:
        reason = "--all" if everything else why_selected(test, impacts.get(test.id), snapshot)
        if reason is None:
            skipped.append(test)
        else:
            selected.append((test, reason))
    return Selection(selected, skipped)
