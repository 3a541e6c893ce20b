"""Turning what the runner said about a test into the TestResult users see.

Where a failure points: the failing assertion's line; else the test's own
frame in the stack; else the first project frame; else the failing case of a
generator; else the test's definition (timeouts, crashes).
"""

from __future__ import annotations

from holo.build.driver import BuildReport
from holo.testing.discovery import TestCase
from holo.testing.results import CaseResult, TestResult, TestStatus
from holo.testing.runner import Failure, Outcome


def not_run_result(test: TestCase, reason: str, module: str) -> TestResult:
    return TestResult(
        id=test.id,
        module=test.module,
        function=test.function,
        status=TestStatus.NOT_RUN,
        time_ms=0.0,
        message=f"{module} did not compile or load",
        details="",
        path=test.path,
        line=test.line,
        reason=reason,
    )


def result_of(test: TestCase, reason: str, outcome: Outcome, report: BuildReport) -> TestResult:
    failure = outcome.failure
    path, line = test.path, test.line
    located = locate(test, failure, outcome, report)
    if located is not None:
        path, line = located
    cases = tuple(
        CaseResult(
            c.description,
            c.line - 1 if isinstance(c.line, int) and c.line > 0 else None,
            c.status,
            c.failure.message if c.failure is not None else "",
        )
        for c in outcome.cases
    )
    message = outcome.summary
    if test.generator and outcome.status in (TestStatus.FAILED, TestStatus.ERROR):
        bad = [c for c in cases if c.status is not TestStatus.PASSED]
        if bad and len(cases) > 1:
            message = f"{len(bad)} of {len(cases)} cases did not pass; first: {message}"
    return TestResult(
        id=test.id,
        module=test.module,
        function=test.function,
        status=outcome.status,
        time_ms=round(outcome.time_us / 1000, 3),
        message=message,
        details=details_text(outcome, cases),
        path=path,
        line=line,
        reason=reason,
        cases=cases,
        leaked_processes=outcome.leaked,
        output=outcome.output,
        restored=outcome.restored,
        replaced_code=outcome.reloaded,
    )


def locate(
    test: TestCase, failure: Failure | None, outcome: Outcome, report: BuildReport
) -> tuple[str, int] | None:
    """Where a failure happened: the assertion, else the test's own frame, else the first
    project frame, else the failing generator case's line."""
    if failure is None:
        return None
    modules = report.modules
    if failure.assert_module in modules and failure.assert_line:
        return modules[failure.assert_module].path, failure.assert_line - 1
    frames = [(m, line) for m, _, _, line in failure.frames if m in modules and line]
    for module, line in frames:
        if module == test.module:
            return modules[module].path, line - 1
    if frames:
        module, line = frames[0]
        return modules[module].path, line - 1
    for case in outcome.cases:
        if case.status is not TestStatus.PASSED and case.line:
            return test.path, case.line - 1
    return None


def details_text(outcome: Outcome, cases: tuple[CaseResult, ...]) -> str:
    parts = []
    if outcome.failure is not None and outcome.failure.details:
        parts.append(outcome.failure.details)
    if len(cases) > 1:
        for case in cases:
            where = f" (line {case.line + 1})" if case.line is not None else ""
            text = f": {case.message}" if case.message else ""
            parts.append(f"  {case.status.value}: {case.description}{where}{text}")
    if outcome.leaked:
        parts.append(f"  left {outcome.leaked} process(es) running; holo killed them")
    if outcome.restored:
        parts.append(f"  changed what holo put back after it: {', '.join(outcome.restored)}")
    if outcome.reloaded:
        parts.append(
            f"  replaced the code of {', '.join(outcome.reloaded)}; holo loaded the build's back"
        )
    return "\n".join(parts)
