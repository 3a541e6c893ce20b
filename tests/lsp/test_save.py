"""Save: the server compiles, hot-loads into holo's runtime node, reruns the affected tests,
and publishes the compiler's warnings and the failing tests as diagnostics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.lsp.conftest import Editor, start_editor, stop_editor
from tests.lsp.demo import GEOMETRY, GEOMETRY_TESTS, write_demo

pytestmark = pytest.mark.asyncio

# erlc warns that this always fails; holo's own checks say nothing about it.
BADARITH = "\nbad() ->\n    1 + a.\n"


@pytest_asyncio.fixture
async def building(tmp_path: Path, cache_dir: Path) -> AsyncIterator[Editor]:
    started = await start_editor(write_demo(tmp_path / "demo"), cache_dir)
    yield started
    await stop_editor(started)


def ends(editor: Editor) -> list[types.WorkDoneProgressEnd]:
    return [
        value
        for reports in editor.client.progress_reports.values()
        for value in reports
        if isinstance(value, types.WorkDoneProgressEnd)
        and value.message
        and "passed" in value.message
    ]


async def test_save_compiles_runs_the_affected_tests_and_reports_failures(
    building: Editor,
) -> None:
    editor = building
    geometry = editor.open("src/geometry.erl")
    await editor.diagnostics(geometry, 1)
    tests_uri = editor.uri("test/geometry_tests.erl")

    # scale/1 now scales by 11: scale_test fails. bad/0 gets erlc's warning.
    broken = (
        GEOMETRY.replace("origin/0]", "origin/0, bad/0]").replace(
            "X * ?SCALE, y = Y * ?SCALE", "X * (?SCALE + 1), y = Y * (?SCALE + 1)"
        )
        + BADARITH
    )
    version = editor.change(geometry, broken)
    assert await editor.diagnostics(geometry, version) == []  # holo's checks: nothing
    editor.save(geometry)

    failures = await editor.until(lambda: [p for p in editor.publishes(tests_uri) if p.diagnostics])
    (failure,) = failures[-1].diagnostics
    assert failure.source == "eunit"
    assert "geometry_tests:scale_test" in failure.message
    # What the assertion expected and what scale/1 returned instead.
    assert "expected {point,10,20}, got {point,11,22}" in failure.message
    assert failure.range.start.line == GEOMETRY_TESTS.split("\n").index(
        "    ?assertEqual(#point{x = 10, y = 20}, geometry:scale(#point{x = 1, y = 2}))."
    )
    warned = await editor.until(
        lambda: [
            p for p in editor.publishes(geometry) if any(d.source == "erlc" for d in p.diagnostics)
        ]
    )
    (warning,) = [d for d in warned[-1].diagnostics if d.source == "erlc"]
    assert warning.severity == types.DiagnosticSeverity.Warning
    assert warning.range.start.line == broken.split("\n").index("    1 + a.")
    assert warned[-1].version == version
    (end,) = await editor.until(lambda: ends(editor))
    assert "1 failed" in (end.message or "")
    begins = [
        value
        for reports in editor.client.progress_reports.values()
        for value in reports
        if isinstance(value, types.WorkDoneProgressBegin)
    ]
    assert "holo: build and test" in [b.title for b in begins]

    # Fixed and saved again: the failure and the warning go away.
    fixed = editor.change(geometry, GEOMETRY)
    editor.save(geometry)
    (_, end) = await editor.until(lambda: ends(editor)[1:] and ends(editor))
    assert "2 passed, 0 failed" in (end.message or "")  # scale_test passes again
    assert list(editor.publishes(tests_uri)[-1].diagnostics) == []
    assert [d for d in editor.publishes(geometry)[-1].diagnostics] == []
    assert editor.publishes(geometry)[-1].version == fixed

    # A module deleted on disk is unloaded from holo's node at the next save.
    (editor.root / "src/shapes.erl").unlink()
    editor.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(uri=editor.uri("src/shapes.erl"), type=types.FileChangeType.Deleted)
            ]
        )
    )
    editor.save(geometry)
    (*_, end) = await editor.until(lambda: ends(editor)[2:] and ends(editor))
    assert "1 unloaded (shapes)" in (end.message or "")
