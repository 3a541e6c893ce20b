"""Running tests in the runtime node: every way a test can end, and what it executed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.diagnostics import Severity
from holo.session import Session
from holo.testing import (
    TestReport,
    TestStatus,
    failure_diagnostics,
    module_tests,
    run_affected,
    session_tests,
)
from tests.testing.conftest import open_session
from tests.testing.projects import OUTCOMES, line_of, write_tree

CALC_TESTS = OUTCOMES["test/calc_tests.erl"]


@pytest.fixture(scope="module")
def outcomes(
    tmp_path_factory: pytest.TempPathFactory, test_cache: Path
) -> Iterator[tuple[Session, TestReport, int]]:
    """The OUTCOMES project run once with --all (timeout 1 s); the runtime's restarts before."""
    root = write_tree(tmp_path_factory.mktemp("outcomes"), OUTCOMES)
    session = open_session(root, test_cache)
    try:
        restarts_before = session.runtime.restarts
        report = run_affected(session, all=True, timeout=1.0)
        yield session, report, restarts_before
    finally:
        session.close()


def status_of(report: TestReport, test_id: str) -> TestStatus:
    result = report.result(test_id)
    assert result is not None, f"{test_id} did not run"
    return result.status


def test_discovery_finds_eunit_tests_where_eunit_would(outcomes: tuple) -> None:
    session, report, _ = outcomes
    calc = module_tests(session.db, "src/calc.erl")
    assert [t.id for t in calc] == ["calc:internal_test"]  # -ifdef(TEST) on, -ifndef(TEST) off
    assert calc[0].line == line_of(OUTCOMES["src/calc.erl"], "internal_test() ->")
    assert calc[0].subject == "calc"
    plain = module_tests(session.db, "src/plain.erl")
    assert [t.id for t in plain] == ["plain:exported_test"]  # hidden_test/0 is not exported
    tests = module_tests(session.db, "test/calc_tests.erl")
    assert all(t.subject == "calc" for t in tests)  # calc_tests pairs with calc
    generators = {t.function for t in tests if t.generator}
    assert generators == {"cases_test_", "good_cases_test_", "broken_setup_test_"}
    assert report.total == len(tests) + 2
    assert report.selected[0] == "calc:internal_test"


def test_passes_and_assertion_failures(outcomes: tuple) -> None:
    _, report, _ = outcomes
    assert status_of(report, "calc_tests:add_test") is TestStatus.PASSED
    fails = report.result("calc_tests:fails_test")
    assert fails is not None and fails.status is TestStatus.FAILED
    assert fails.message == "assertEqual failed: expected 5, got 4"
    assert fails.path == "test/calc_tests.erl"
    assert fails.line == line_of(CALC_TESTS, "(5, calc:add(2, 2))")
    assert "expected: 5" in fails.details and "got: 4" in fails.details
    match = report.result("calc_tests:match_test")
    assert match is not None and match.status is TestStatus.FAILED
    assert match.message == "assertMatch failed: expected { ok , _ }, got 2"
    assert match.line == line_of(CALC_TESTS, "assertMatch")


def test_exceptions_are_errors_at_the_failing_line(outcomes: tuple) -> None:
    _, report, _ = outcomes
    error = report.result("calc_tests:error_test")
    assert error is not None and error.status is TestStatus.ERROR
    assert error.message.startswith("error: badarith in calc:crash/1")
    # The test's frame is gone (a tail call): the project frame left is where it failed.
    assert error.path == "src/calc.erl"
    assert error.line == line_of(OUTCOMES["src/calc.erl"], "crash(X) ->")
    assert "an error occurred when evaluating an arithmetic expression" in error.details
    killed = report.result("calc_tests:self_kill_test")
    assert killed is not None and killed.status is TestStatus.ERROR
    assert "exited: killed" in killed.message


def test_hangs_time_out_and_dead_nodes_are_crashes(outcomes: tuple) -> None:
    session, report, restarts_before = outcomes
    assert status_of(report, "calc_tests:hang_test") is TestStatus.TIMEOUT
    halted = report.result("calc_tests:halt_test")
    assert halted is not None and halted.status is TestStatus.CRASHED
    assert "node died" in halted.message
    assert status_of(report, "calc_tests:vm_kill_test") is TestStatus.CRASHED
    assert session.runtime.restarts == restarts_before + 2  # once each: never run twice
    # Everything after the crashes still ran, on the project's code.
    assert status_of(report, "calc_tests:server_test") is TestStatus.PASSED
    assert status_of(report, "calc_tests:last_test") is TestStatus.PASSED


def test_leaked_processes_are_killed_and_reported(outcomes: tuple) -> None:
    _, report, _ = outcomes
    leak = report.result("calc_tests:leak_test")
    assert leak is not None and leak.status is TestStatus.PASSED
    assert leak.leaked_processes == 1
    assert status_of(report, "calc_tests:no_leak_left_test") is TestStatus.PASSED


def test_generators_run_under_eunit_with_their_fixtures(outcomes: tuple) -> None:
    _, report, _ = outcomes
    cases = report.result("calc_tests:cases_test_")
    assert cases is not None and cases.status is TestStatus.FAILED
    assert [c.status for c in cases.cases] == [TestStatus.PASSED, TestStatus.FAILED]
    assert cases.cases[1].message == "assertEqual failed: expected 3, got 2"
    assert cases.line == line_of(CALC_TESTS, "(3, calc:double(1))")  # the failing case
    assert status_of(report, "calc_tests:good_cases_test_") is TestStatus.PASSED
    broken = report.result("calc_tests:broken_setup_test_")
    assert broken is not None and broken.status is TestStatus.ERROR
    assert "setup failed" in broken.message and "no_fixture" in broken.message


def test_failures_become_eunit_diagnostics(outcomes: tuple) -> None:
    _, report, _ = outcomes
    diagnostics = {d.message.split(" ")[0]: d for d in failure_diagnostics(report)}
    fails = diagnostics["calc_tests:fails_test"]
    assert (fails.path, fails.source) == ("test/calc_tests.erl", "eunit")
    assert fails.line == line_of(CALC_TESTS, "(5, calc:add(2, 2))")
    assert fails.severity is Severity.ERROR and fails.code == "eunit.failed"
    assert "calc_tests:add_test" not in diagnostics
    assert set(diagnostics) == set(report.failed)


def test_impact_records_count_every_process(outcomes: tuple) -> None:
    session, _, _ = outcomes
    impacts = session_tests(session).impacts
    server = impacts.get("calc_tests:server_test")
    assert server is not None and server.outcome == "passed"
    executed = {(m, f, a) for m, f, a, _ in server.functions}
    assert {("counter", "handle_call", 3), ("counter", "init", 1)} <= executed  # gen_server
    worker = impacts.get("calc_tests:worker_test")
    assert worker is not None
    executed = {(m, f, a) for m, f, a, _ in worker.functions}
    # scaled/1 ran in a spawned process; the fun it ran in belongs to scaled_in_worker/1.
    assert {("calc", "scaled", 1), ("calc", "scaled_in_worker", 1)} <= executed
    assert ("calc", "add", 2) not in executed
    assert {m for m, _ in worker.modules} == {"calc", "calc_tests"}
    crashed = impacts.get("calc_tests:halt_test")
    assert crashed is not None and crashed.outcome == "crashed"
