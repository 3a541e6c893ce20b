"""The test phase of `holo watch`: run what a cycle's build can affect, in its terms."""

from __future__ import annotations

from holo.build.driver import BuildReport
from holo.session import Session
from holo.testing.session import diagnostics_of, run_affected
from holo.watch.cycle import TestOutcome


def watch_test_phase(session: Session, report: BuildReport) -> TestOutcome:
    """The watch loop's :class:`holo.watch.cycle.TestPhase` (its ``run_tests``)."""
    result = run_affected(session, report)
    return TestOutcome(
        selected=result.selected,
        passed=len(result.passed),
        failed=result.failed + result.not_run,
        failures=diagnostics_of(session, result),
        messages={r.id: r.message for r in result.results if not r.passed},
    )
