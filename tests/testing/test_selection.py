"""Selecting the tests an edit can affect, on a warm session, as a developer saving files would.

Each test starts from the project as written (every test passing, nothing
selected), makes one kind of edit and checks which tests run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from holo.build.driver import build
from holo.build.loading import NodeLoader
from holo.session import Session
from holo.testing import TestReport, TestStatus, run_affected, session_tests
from holo.watch.tests import watch_test_phase
from tests.testing.conftest import open_session
from tests.testing.projects import SELECTION, line_of, write_tree


@dataclass
class Warm:
    root: Path
    session: Session

    def run(self, **options: object) -> TestReport:
        return run_affected(self.session, **options)  # type: ignore[arg-type]

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.write_text(text)
        self.session.workspace.apply_changes([path])

    def edit(self, rel: str, old: str, new: str) -> None:
        text = (self.root / rel).read_text()
        assert old in text, f"{old!r} is not in {rel}"
        self.write(rel, text.replace(old, new, 1))

    def restore(self) -> None:
        changed = []
        for rel, text in SELECTION.items():
            path = self.root / rel
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
                changed.append(path)
        if changed:
            self.session.workspace.apply_changes(changed)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, test_cache: Path) -> Iterator[Warm]:
    root = write_tree(tmp_path_factory.mktemp("selection"), SELECTION)
    session = open_session(root, test_cache)
    try:
        first = run_affected(session, all=True)
        assert first.ok and len(first.selected) == first.total == 10, first.failed
        yield Warm(root, session)
    finally:
        session.close()


@pytest.fixture
def warm(project: Warm) -> Warm:
    """The project as written, every record fresh: the next run selects nothing."""
    project.restore()
    settled = project.run()
    assert settled.ok, [(r.id, r.message) for r in settled.results if not r.passed]
    assert project.run().selected == []
    return project


def ids(report: TestReport) -> set[str]:
    return set(report.selected)


def test_a_body_edit_selects_the_tests_that_ran_that_function(warm: Warm) -> None:
    warm.edit("src/util.erl", "clamp(X, _Lo, _Hi) -> X.", "clamp(X, _Lo, _Hi) -> X + 0.")
    report = warm.run()
    assert report.selected == ["util_tests:clamp_test"]
    assert report.results[0].reason == "util:clamp/3 changed"
    assert report.ok
    assert len(report.skipped) == report.total - 1


def test_a_header_macro_selects_only_the_functions_that_use_it(warm: Warm) -> None:
    warm.edit("include/geo.hrl", "-define(UNUSED, 1).", "-define(UNUSED, 2).\n-define(NEW, 3).")
    assert warm.run().selected == []
    warm.edit("include/geo.hrl", "-define(PI, 3).", "-define(PI, 4).")
    report = warm.run()
    assert ids(report) == {"geo_tests:area_test", "geo_tests:labelled_test"}
    assert report.result("geo_tests:area_test").status is TestStatus.FAILED  # type: ignore[union-attr]


def test_test_module_edits_select_the_tests_they_touch(warm: Warm) -> None:
    warm.edit("test/geo_tests.erl", "geo:perimeter(2)", "geo:perimeter(1 + 1)")
    assert warm.run().selected == ["geo_tests:perimeter_test"]
    warm.edit("test/geo_tests.erl", "label(X) -> {area, X}.", "label(X) -> {area, X + 0}.")
    assert warm.run().selected == ["geo_tests:labelled_test"]


def test_a_new_test_runs_with_its_module_only(warm: Warm) -> None:
    warm.edit("test/util_tests.erl", "legacy_test() ->", "new_test() -> ok.\n\nlegacy_test() ->")
    report = warm.run()
    assert "util_tests:new_test" in report.selected
    assert report.result("util_tests:new_test").reason == "no record of an earlier run"  # type: ignore[union-attr]
    # The module's set of tests is part of its key: its other tests may run, nothing else.
    assert all(t.startswith("util_tests:") for t in report.selected)


def test_failing_tests_run_until_they_pass(warm: Warm) -> None:
    warm.edit("src/util.erl", "when X > Hi -> Hi;", "when X > Hi -> X;")
    assert warm.run().failed == ["util_tests:clamp_test"]
    again = warm.run()  # nothing changed, but it failed last time
    assert again.selected == ["util_tests:clamp_test"]
    assert again.results[0].reason == "failed last time"
    warm.restore()
    fixed = warm.run()
    assert fixed.selected == ["util_tests:clamp_test"] and fixed.ok
    assert warm.run().selected == []


def test_on_load_and_compile_options_select_every_test_of_the_module(warm: Warm) -> None:
    # init/0 runs when boot loads, never inside a test: its module key covers it.
    warm.edit("src/boot.erl", "{?MODULE, value}, 1)", "{?MODULE, value}, 2)")
    report = warm.run()
    assert report.selected == ["other_tests:boot_test"]
    assert report.results[0].status is TestStatus.FAILED
    assert report.results[0].reason == "boot:init/0, which boot's -on_load runs, changed"
    warm.restore()
    warm.run()
    warm.edit("src/opts.erl", "-export([answer/0]).", "-export([answer/0]).\n-compile(export_all).")
    assert warm.run().selected == ["other_tests:opts_test"]


def test_removing_a_function_selects_its_tests(warm: Warm) -> None:
    warm.edit("src/util.erl", "legacy/0, ", "")
    warm.edit("src/util.erl", "legacy() -> old.\n", "")
    report = warm.run()
    assert "util_tests:legacy_test" in ids(report)
    # util's exports changed too: the other tests that touched util may run, nothing else.
    assert ids(report) <= {f"util_tests:{t}" for t in ("legacy_test", "clamp_test", "dynamic_test")}
    legacy = report.result("util_tests:legacy_test")
    assert legacy is not None and legacy.status is TestStatus.ERROR and "undef" in legacy.message


def test_gen_server_callbacks_and_dynamic_calls_are_recorded(warm: Warm) -> None:
    warm.edit("src/store.erl", "maps:get(K, Map, none)", "maps:get(K, Map, missing)")
    assert warm.run().selected == ["other_tests:store_test_"]
    warm.restore()
    warm.run()
    warm.edit("src/util.erl", "twice(X) -> 2 * X.", "twice(X) -> X + X.")
    assert warm.run().selected == ["util_tests:dynamic_test"]


def test_all_runs_everything_and_refreshes_the_records(warm: Warm) -> None:
    warm.edit("src/geo.erl", "perimeter(Side) -> ?SIDES * Side.", "perimeter(Side) -> Side.")
    assert warm.run().failed == ["geo_tests:perimeter_test"]
    warm.restore()
    impacts = session_tests(warm.session).impacts
    everything = warm.run(all=True)
    assert len(everything.selected) == everything.total and everything.ok
    assert impacts.get("geo_tests:perimeter_test").outcome == "passed"  # type: ignore[union-attr]
    assert warm.run().selected == []


def test_tests_whose_code_compiles_still_run(warm: Warm) -> None:
    warm.edit("src/util.erl", "legacy() -> old.", "legacy() -> old +.")
    warm.edit("src/geo.erl", "area(R) -> ?PI * R * R.", "area(R) -> R * R * ?PI.")
    report = warm.run()
    assert report.compile_errors and not report.ok
    assert report.result("geo_tests:area_test").status is TestStatus.PASSED  # type: ignore[union-attr]
    legacy = report.result("util_tests:legacy_test")
    assert legacy is not None and legacy.status is TestStatus.NOT_RUN
    assert "util" in legacy.message
    warm.restore()
    # util's code is back to what legacy_test last ran: only area's tests run again.
    assert ids(warm.run()) == {"geo_tests:area_test", "geo_tests:labelled_test"}


def test_another_process_selects_from_the_same_records(
    warm: Warm, session_factory: Callable[..., Session]
) -> None:
    warm.edit("src/util.erl", "clamp(X, _Lo, _Hi) -> X.", "clamp(X, _Lo, _Hi) -> X + 0.")
    other = session_factory(warm.root)
    report = run_affected(other)
    assert report.selected == ["util_tests:clamp_test"] and report.ok


def test_code_someone_else_loaded_is_replaced_before_tests_run(warm: Warm) -> None:
    # A watcher hot-loads the default profile into the same node: no TEST, no tag_test/0.
    default = build(warm.session.workspace, warm.session.compiler, "default")
    NodeLoader(warm.session.runtime).sync(default.binaries, set(), force=True)
    report = warm.run(all=True)
    assert report.result("tagged:tag_test").status is TestStatus.PASSED  # type: ignore[union-attr]
    assert report.ok, (report.load_problems, report.diagnostics)


def test_the_watch_phase_reports_failures_at_their_assertion(warm: Warm) -> None:
    warm.edit("src/geo.erl", "perimeter(Side) -> ?SIDES * Side.", "perimeter(Side) -> Side.")
    report = build(warm.session.workspace, warm.session.compiler, "test")
    outcome = watch_test_phase.run(warm.session, report)
    assert outcome.selected == outcome.failed == ["geo_tests:perimeter_test"]
    [failure] = outcome.failures
    text = SELECTION["test/geo_tests.erl"]
    line = line_of(text, "perimeter_test() ->")
    where = failure.diagnostic
    assert where is not None
    assert (where.path, where.line, where.source) == ("test/geo_tests.erl", line, "eunit")
    assert where.end_column == len(text.splitlines()[line])
    assert failure.id == "geo_tests:perimeter_test"
    assert "expected 8, got 2" in failure.message


def test_a_build_loaded_through_the_session_is_not_sent_again(warm: Warm) -> None:
    # What the watcher and the language server do: load the test build, then run.
    tests = session_tests(warm.session)
    warm.edit("src/util.erl", "legacy() -> old.", "legacy() -> older.")
    report = build(warm.session.workspace, warm.session.compiler, "test")
    sent = tests.binaries_sent
    loaded = tests.load(report, set())
    assert (loaded.loaded, loaded.unloaded, loaded.problems) == (["util"], [], [])
    assert tests.binaries_sent == sent + 1
    run = tests.run(report)
    assert run.loaded == [] and tests.binaries_sent == sent + 1
    assert run.failed == ["util_tests:legacy_test"]  # on the code load() put there
