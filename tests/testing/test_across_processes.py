"""Selection from a restored cache: what a fresh process reads back of the last run.

Each step closes its Session and opens a new one on the same cache directory,
as a CI job or the next `holo test` would; the persisted test lists, module
keys and -on_load facts must select what a clean computation would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from holo.testing import run_affected
from tests.testing.conftest import open_session
from tests.testing.projects import LOAD_TIME, write_tree


def _selected(root: Path, cache: Path) -> set[str]:
    session = open_session(root, cache)
    try:
        report = run_affected(session)
        assert report.failed == [], report.failed
        return set(report.selected)
    finally:
        session.close()


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_fresh_process_selects_from_the_restored_records(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = write_tree(tmp_path_factory.mktemp("across"), LOAD_TIME)
    cache = tmp_path_factory.mktemp("across-cache")
    first = _selected(root, cache)
    assert "boot_tests:value_test" in first
    assert _selected(root, cache) == set()

    # Code only boot's -on_load reaches: found from restored -on_load facts.
    _edit(root, "src/defaults.erl", "base() -> 1.", "base() -> 1 + 0.")
    assert _selected(root, cache) == {"boot_tests:value_test", "boot_tests:extra_test"}

    # A new test in a module whose test list was restored: the changed module's
    # tests, and the generator that lists the module.
    two = "one_test() -> ok.\ntwo_test() -> ok."
    _edit(root, "test/listed_tests.erl", "one_test() -> ok.", two)
    assert _selected(root, cache) == {
        "listed_tests:one_test",
        "listed_tests:two_test",
        "suite_tests:listed_test_",
    }

    # The application's env is in every module key of the app.
    _edit(root, "src/load_time.app.src", "{env, []}", "{env, [{level, 1}]}")
    assert "boot_tests:value_test" in _selected(root, cache)
    assert _selected(root, cache) == set()
