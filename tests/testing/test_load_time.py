"""What a test depends on beyond the calls it made: the code an -on_load runs, a module it
only asked for module_info, the tests an EUnit {module, M} generator lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.testing import TestStatus
from tests.testing.conftest import open_session
from tests.testing.projects import LOAD_TIME, write_tree
from tests.testing.warm import WarmProject, agrees_with_full_run


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, test_cache: Path) -> Iterator[WarmProject]:
    root = write_tree(tmp_path_factory.mktemp("load_time"), LOAD_TIME)
    session = open_session(root, test_cache)
    try:
        yield WarmProject(root, session, LOAD_TIME)
    finally:
        session.close()


@pytest.fixture
def warm(project: WarmProject) -> WarmProject:
    project.restore()
    return project


def test_code_an_on_load_runs_selects_its_tests_and_runs_again(warm: WarmProject) -> None:
    # boot's init/0 calls defaults:value/0, which calls base/0; the tests only read
    # what init/0 stored. The node runs defaults' new code and boot's on_load again.
    warm.edit("src/defaults.erl", "base() -> 1.", "base() -> 2.")
    selective = warm.run()
    assert set(selective.selected) == {"boot_tests:value_test", "boot_tests:extra_test"}
    value = selective.result("boot_tests:value_test")
    assert value is not None
    assert value.reason == "defaults:base/0, which boot's -on_load runs, changed"
    assert value.status is TestStatus.FAILED
    assert value.message == "assertEqual failed: expected 1, got 2"
    assert agrees_with_full_run(selective, warm.run(all=True)) == []


def test_code_an_on_load_does_not_reach_selects_nothing(warm: WarmProject) -> None:
    warm.edit("src/defaults.erl", "unused() -> unused.", "unused() -> still_unused.")
    assert warm.run().selected == []


def test_a_function_an_on_load_now_reaches_selects_its_tests(warm: WarmProject) -> None:
    # init/0 calls extras:extra/0; the module was not there, now it is.
    warm.write("src/extras.erl", "-module(extras).\n-export([extra/0]).\n\nextra() -> 5.\n")
    selective = warm.run()
    assert set(selective.selected) == {"boot_tests:value_test", "boot_tests:extra_test"}
    extra = selective.result("boot_tests:extra_test")
    assert extra is not None
    assert extra.reason == "boot's -on_load now runs extras:extra/0"
    assert extra.status is TestStatus.FAILED  # boot was loaded again, after extras
    assert agrees_with_full_run(selective, warm.run(all=True)) == []


def test_a_module_only_asked_for_module_info_is_recorded(warm: WarmProject) -> None:
    warm.edit(
        "src/shapes.erl", "-export([square/1]).", "-export([square/1, cube/1]).\n\ncube(X) -> X."
    )
    selective = warm.run()
    no_cube = selective.result("exports_tests:no_cube_test")
    assert no_cube is not None and no_cube.status is TestStatus.FAILED
    assert no_cube.reason == "module shapes changed"
    assert set(selective.selected) == {"exports_tests:no_cube_test", "exports_tests:tier_test"}


def test_an_attribute_edit_reaches_the_node(warm: WarmProject) -> None:
    # The same code with another attribute: the node must load it all the same.
    warm.edit("src/shapes.erl", "-tier(1).", "-tier(2).")
    selective = warm.run()
    assert set(selective.selected) == {"exports_tests:no_cube_test", "exports_tests:tier_test"}
    tier = selective.result("exports_tests:tier_test")
    assert tier is not None and tier.status is TestStatus.FAILED
    assert tier.message == "assertEqual failed: expected [1], got [2]"


def test_a_test_added_to_a_listed_module_selects_the_generator(warm: WarmProject) -> None:
    warm.edit("test/listed_tests.erl", "one_test() -> ok.",
              "one_test() -> ok.\n\ntwo_test() -> ?assert(false).")
    selective = warm.run()
    assert {"listed_tests:two_test", "suite_tests:listed_test_"} <= set(selective.selected)
    listed = selective.result("suite_tests:listed_test_")
    assert listed is not None and listed.status is TestStatus.FAILED
    assert listed.reason == "module listed_tests changed"
    assert agrees_with_full_run(selective, warm.run(all=True)) == []
