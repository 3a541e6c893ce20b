"""Tests that change the node under later tests: state they leave, code they replace, a VM
they stop. A selective run must give each test the outcome a full run gives it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.testing import TestStatus, run_affected, session_tests
from tests.testing.conftest import open_session
from tests.testing.projects import ISOLATION, WEDGED, write_tree
from tests.testing.warm import WarmProject, agrees_with_full_run, failures


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, test_cache: Path) -> Iterator[WarmProject]:
    root = write_tree(tmp_path_factory.mktemp("isolation"), ISOLATION)
    session = open_session(root, test_cache)
    try:
        yield WarmProject(root, session, ISOLATION)
    finally:
        session.close()


@pytest.fixture
def warm(project: WarmProject) -> WarmProject:
    project.restore()
    return project


def test_state_a_test_leaves_is_put_back_after_it(warm: WarmProject) -> None:
    # a_tests runs first: application env (kernel's, an unloaded app's; unloading the
    # app it loaded drops that one's), persistent terms (a new one, one an -on_load
    # put), an OS variable.
    full = warm.run(all=True)
    assert full.ok, failures(full)
    sets = full.result("a_tests:sets_state_test")
    assert sets is not None
    assert set(sets.restored) == {
        "application isolation, which it loaded: unloaded",
        "application env kernel holo_isolation_probe",
        "application env isolation_unloaded flag",
        "persistent_term isolation_key",
        "persistent_term {settings,level}",
        "OS environment variable HOLO_ISOLATION_PROBE",
    }
    assert "persistent_term isolation_key" in sets.details
    # b_tests alone gives what it gave after a_tests.
    warm.edit("test/b_tests.erl", "reads_state_test() ->", "reads_state_test() ->\n    ok,")
    selective = warm.run()
    assert selective.selected == ["b_tests:reads_state_test"]
    assert agrees_with_full_run(selective, full) == []


def test_code_a_test_replaces_counts_whole_and_is_put_back(warm: WarmProject) -> None:
    full = warm.run(all=True)
    assert full.ok, failures(full)  # build_code_is_back_test: the build's greet, no leftovers
    passthrough = full.result("reload_tests:passthrough_test")
    assert passthrough is not None and passthrough.replaced_code == ("greet",)
    record = session_tests(warm.session).impacts.get("reload_tests:passthrough_test")
    assert record is not None and record.reloaded == ("greet",)
    # Its calls ran in greet_meck_original, never counted: all of greet counts.
    assert {("greet", "hello", 0), ("greet", "twice", 1)} <= {
        (m, f, a) for m, f, a, _ in record.functions
    }

    warm.edit("src/greet.erl", "twice(X) -> X * 2.", "twice(X) -> X * 3.")
    selective = warm.run()
    assert selective.selected == ["reload_tests:passthrough_test"]
    [result] = selective.results
    assert result.status is TestStatus.FAILED
    assert result.reason == (
        "greet:twice/1 changed (the test replaced greet's code, so all of it counts)"
    )
    assert agrees_with_full_run(selective, warm.run(all=True)) == []


def test_a_test_that_stops_the_vm_is_killed_and_the_run_goes_on(
    tmp_path: Path, test_cache: Path
) -> None:
    root = write_tree(tmp_path / "wedged", WEDGED)
    session = open_session(root, test_cache)
    try:
        tests = session_tests(session)
        tests.unresponsive_margin_s = 1.0  # the runner's own timeout cannot fire in a stopped VM
        restarts = session.runtime.restarts
        report = run_affected(session, all=True, timeout=1.0)
        stopped = report.result("wedged_tests:stops_the_vm_test")
        assert stopped is not None and stopped.status is TestStatus.TIMEOUT
        assert "the node stopped answering: holo restarted it" in stopped.message
        assert session.runtime.restarts == restarts + 1
        after = report.result("wedged_tests:runs_after_test")
        assert after is not None and after.status is TestStatus.PASSED
        record = tests.impacts.get("wedged_tests:stops_the_vm_test")
        assert record is not None and record.outcome == "crashed"  # what it ran is unknown
    finally:
        session.close()
