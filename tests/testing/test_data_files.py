"""Files tests read that are not code (under test/ and priv/): an edit there selects
every test of the application, since which file a test reads is not known."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.testing import TestStatus
from tests.testing.conftest import open_session
from tests.testing.projects import DATA, write_tree
from tests.testing.warm import WarmProject, agrees_with_full_run

EVERY_TEST = {"reader_tests:answer_test", "reader_tests:fixture_test", "pure_tests:pure_test"}
REASON = "data files of fixtures changed (under its test dirs or priv/)"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, test_cache: Path) -> Iterator[WarmProject]:
    root = write_tree(tmp_path_factory.mktemp("data"), DATA)
    session = open_session(root, test_cache)
    try:
        yield WarmProject(root, session, DATA)
    finally:
        session.close()


@pytest.fixture
def warm(project: WarmProject) -> WarmProject:
    project.restore()
    return project


def test_a_fixture_edit_selects_every_test_of_the_app(warm: WarmProject) -> None:
    warm.write("test/fixtures/input.txt", "out\n")
    selective = warm.run()
    assert set(selective.selected) == EVERY_TEST
    assert {r.reason for r in selective.results} == {REASON}
    assert selective.failed == ["reader_tests:fixture_test"]
    assert agrees_with_full_run(selective, warm.run(all=True)) == []


def test_a_priv_file_added_or_edited_selects_every_test_of_the_app(warm: WarmProject) -> None:
    warm.write("priv/answer.txt", "43\n")
    selective = warm.run()
    assert set(selective.selected) == EVERY_TEST
    answer = selective.result("reader_tests:answer_test")
    assert answer is not None and answer.status is TestStatus.FAILED
    warm.restore()
    warm.write("priv/notes.txt", "new\n")
    assert set(warm.run().selected) == EVERY_TEST
    (warm.root / "priv" / "notes.txt").unlink()
    warm.session.workspace.apply_changes([warm.root / "priv" / "notes.txt"])
