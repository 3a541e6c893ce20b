"""The test phase of `holo watch`: the test build goes into the runtime node as the test
session's own code, and the tests it can affect run there."""

from __future__ import annotations

from holo.build.driver import BuildReport
from holo.build.loading import LoadReport
from holo.session import Session
from holo.testing.results import result_diagnostic
from holo.testing.session import run_affected, session_tests, source_lines
from holo.watch.cycle import TestFailure, TestOutcome


class WatchTests:
    """The watch loop's :class:`holo.watch.cycle.TestPhase`."""

    def load(self, session: Session, report: BuildReport, removed: set[str]) -> LoadReport:
        # Through the test session's record, so the run after it sends nothing again.
        return session_tests(session).load(report, removed)

    def run(self, session: Session, report: BuildReport) -> TestOutcome:
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
            load_problems=result.load_problems,
        )


watch_test_phase = WatchTests()
