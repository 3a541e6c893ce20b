"""The test phase of `holo watch`: run what a cycle's build can affect, in its terms."""

from __future__ import annotations

from holo.build.driver import BuildReport
from holo.session import Session
from holo.testing.results import result_diagnostic
from holo.testing.session import run_affected, source_lines
from holo.watch.cycle import TestFailure, TestOutcome


def watch_test_phase(session: Session, report: BuildReport) -> TestOutcome:
    """The watch loop's :class:`holo.watch.cycle.TestPhase` (its ``run_tests``)."""
    result = run_affected(session, report)
    lines = source_lines(session, result)
    return TestOutcome(
        selected=result.selected,
        passed=len(result.passed),
        failed=result.failed + result.not_run,
        failures=[
            TestFailure(r.id, r.message, r.details, result_diagnostic(r, lines))
            for r in result.results
            if not r.passed
        ],
    )
