"""What a run of `holo test` found: per-test results, the report, and their diagnostics.

Lines here are 0-based, like every Diagnostic; the CLI's JSON prints them 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from holo.diagnostics import Diagnostic, Severity
from holo.engine import record


@record("holo.testing.TestStatus")
class TestStatus(Enum):
    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"  # an assertion did not hold
    ERROR = "error"  # an exception, a failed fixture, a test process that exited
    TIMEOUT = "timeout"  # killed after the per-test timeout
    CRASHED = "crashed"  # the node died during the test (halt(), a killed VM)
    NOT_RUN = "not_run"  # selected, but code it needs did not compile

    @property
    def ran(self) -> bool:
        return self is not TestStatus.NOT_RUN


@dataclass(frozen=True)
class CaseResult:
    """One case a generator produced, as EUnit reported it."""

    description: str
    line: int | None  # 0-based, in the test's module
    status: TestStatus
    message: str


@dataclass(frozen=True)
class TestResult:
    __test__ = False

    id: str  # "module:function"
    module: str
    function: str
    status: TestStatus
    time_ms: float
    message: str  # one line: "assertEqual failed: expected 4, got 3"
    details: str  # expected and actual values, the stack trace, each case of a generator
    path: str | None  # project-relative file of the failure (or of the test)
    line: int | None  # 0-based line of the failing assertion (or of the test)
    reason: str  # why it was selected
    cases: tuple[CaseResult, ...] = ()
    leaked_processes: int = 0  # processes it left running, which holo killed
    output: str = ""  # what it printed (truncated)
    restored: tuple[str, ...] = ()  # state it changed that holo put back after it
    replaced_code: tuple[str, ...] = ()  # project modules whose code it replaced

    @property
    def passed(self) -> bool:
        return self.status is TestStatus.PASSED


@dataclass
class TestReport:
    """One `holo test`: the selected tests' results and why the others were skipped."""

    __test__ = False

    total: int  # tests discovered
    results: list[TestResult]  # the selected tests, in the order they ran
    skipped: list[str]  # unaffected tests, not run
    diagnostics: list[Diagnostic] = field(default_factory=list)  # the test build's
    load_problems: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)  # modules the run loaded into the node

    @property
    def selected(self) -> list[str]:
        return [r.id for r in self.results]

    @property
    def passed(self) -> list[str]:
        return [r.id for r in self.results if r.passed]

    @property
    def failed(self) -> list[str]:
        """Tests that ran and did not pass."""
        return [r.id for r in self.results if r.status.ran and not r.passed]

    @property
    def not_run(self) -> list[str]:
        return [r.id for r in self.results if not r.status.ran]

    @property
    def compile_errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results) and not self.compile_errors

    def result(self, test_id: str) -> TestResult | None:
        for r in self.results:
            if r.id == test_id:
                return r
        return None


def failure_diagnostics(
    report: TestReport, line_text: dict[str, list[str]] | None = None
) -> list[Diagnostic]:
    """A Diagnostic (source "eunit") per test that did not pass, at its failing line.

    ``line_text`` (path -> the file's lines) lets the range cover the line's
    code rather than its first column only.
    """
    found = [result_diagnostic(r, line_text) for r in report.results]
    return sorted((d for d in found if d is not None), key=Diagnostic.sort_key)


def result_diagnostic(
    result: TestResult, line_text: dict[str, list[str]] | None = None
) -> Diagnostic | None:
    """The Diagnostic of a test that did not pass; None for a pass or an unplaceable one."""
    if result.passed or result.path is None or result.line is None:
        return None
    column, end = 0, 0
    lines = (line_text or {}).get(result.path)
    if lines is not None and 0 <= result.line < len(lines):
        text = lines[result.line]
        column = len(text) - len(text.lstrip())
        end = len(text.rstrip())
    return Diagnostic(
        path=result.path,
        line=result.line,
        column=column,
        end_line=result.line,
        end_column=max(end, column),
        severity=Severity.ERROR,
        code=f"eunit.{result.status.value}",
        source="eunit",
        message=f"{result.id} {result.status.value.replace('_', ' ')}: {result.message}",
    )
