"""Which tests an edit can affect: impact records against the current fingerprints.

A test is selected when

* it has no record (new, or never run with this holo and OTP);
* it did not pass last time (failed, error, timeout, crashed, not run);
* its own module's key changed (module-level change of the test module);
* a function it executed changed fingerprint, or is gone (removed, renamed,
  its module deleted); for a module whose code it replaced, any function;
* a function that loading an ``-on_load`` module it touched runs changed or
  is gone, or that ``-on_load`` now reaches a function it did not;
* a module it touched changed its module key (``-on_load``, ``-compile``
  options, exports, a parse transform's code...);
* a data file (under test/ or priv/) of its application, or of one whose
  modules it touched, was added, removed or edited: every such test runs,
  since which files a test reads is not known.

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
        replaced = (
            f" (the test replaced {module}'s code, so all of it counts)"
            if module in impact.reloaded
            else ""
        )
        if current is None:
            return f"{module}:{name}/{arity}, which it ran, is gone{replaced}"
        if current != fingerprint:
            return f"{module}:{name}/{arity} changed{replaced}"
    for loading, module, name, arity, fingerprint in impact.load_time:
        current = snapshot.fingerprint(module, (name, arity))
        if current != fingerprint:
            what = "is gone" if current is None else "changed"
            return f"{module}:{name}/{arity}, which {loading}'s -on_load runs, {what}"
    for module, key in impact.modules:
        if snapshot.key(module) != key:
            return f"module {module} changed"
    for app, digest in impact.data:
        if snapshot.data(app) != digest:
            return f"data files of {app} changed (under its test dirs or priv/)"
    recorded = {(loading, m, f, a) for loading, m, f, a, _ in impact.load_time}
    for module, _ in impact.modules:
        for target, name, arity in sorted(snapshot.load_time_reach(module)):
            if (module, target, name, arity) not in recorded:
                return f"{module}'s -on_load now runs {target}:{name}/{arity}"
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
