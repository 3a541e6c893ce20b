"""Diagnostics over LSP: published on open and on every change, for the newest version only."""

from __future__ import annotations

import pytest
from lsprotocol import types

from tests.lsp.conftest import Editor
from tests.lsp.demo import GEOMETRY, HEADER, SHAPES

pytestmark = pytest.mark.asyncio


async def test_an_error_typed_appears_and_clears_when_fixed(editor: Editor) -> None:
    uri = editor.open("src/geometry.erl")
    assert await editor.diagnostics(uri, 1) == []

    broken = GEOMETRY.replace("    N * N.", "    N * M.")
    version = editor.change(uri, broken)
    found = await editor.diagnostics(uri, version)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in found] == [
        ("H0212", broken.split("\n").index("    N * M."), 8)
    ]
    assert "'M' is unbound" in found[0].message

    fixed = editor.change(uri, GEOMETRY)
    assert await editor.diagnostics(uri, fixed) == []


async def test_an_unsaved_header_edit_changes_an_including_modules_diagnostics(
    editor: Editor,
) -> None:
    shapes = editor.open("src/shapes.erl")
    header = editor.open("include/demo.hrl")
    assert await editor.diagnostics(shapes, 1) == []
    assert await editor.diagnostics(header, 1) == []

    # Nothing is saved: the header's buffer alone drops ?SCALE.
    editor.change(header, HEADER.replace("-define(SCALE, 10).\n", ""))
    found = await editor.until(
        lambda: [p for p in editor.publishes(shapes) if p.version == 1 and p.diagnostics]
    )
    assert {d.code for d in found[-1].diagnostics} == {"H0201"}
    assert "?SCALE" in found[-1].diagnostics[0].message
    assert (editor.root / "include/demo.hrl").read_text() == HEADER

    editor.change(header, HEADER)
    await editor.until(lambda: not editor.publishes(shapes)[-1].diagnostics)


async def test_an_unsaved_interface_change_updates_open_callers(editor: Editor) -> None:
    shapes = editor.open("src/shapes.erl")
    geometry = editor.open("src/geometry.erl")
    assert await editor.diagnostics(shapes, 1) == []
    assert await editor.diagnostics(geometry, 1) == []

    editor.change(geometry, GEOMETRY.replace("-export([scale/1, ", "-export(["))
    found = await editor.until(lambda: [p for p in editor.publishes(shapes) if p.diagnostics])
    calls = found[-1].diagnostics
    assert [d.code for d in calls] == ["H0300", "H0300"]  # both calls to geometry:scale/1
    assert all("geometry:scale/1" in d.message for d in calls)

    editor.change(geometry, GEOMETRY)
    await editor.until(lambda: not editor.publishes(shapes)[-1].diagnostics)


async def test_rapid_edits_publish_only_the_newest_version(editor: Editor) -> None:
    uri = editor.open("src/shapes.erl")
    await editor.diagnostics(uri, 1)
    # The first edit makes the module large (seconds of analysis); the next ones arrive
    # while it is analysed, cancel it, and only the newest of them is analysed and published.
    padding = "".join(f"pad{i}() -> pad{i + 1}().\n" for i in range(40_000))
    editor.change(uri, SHAPES + padding)
    sent: dict[int, int] = {}  # version -> the line of its one unbound variable
    for k in range(3, 22):
        body = "\n" * (k % 4) + f"    _ = Unbound{k},\n"
        text = SHAPES.replace("corners(Size) ->\n", "corners(Size) ->\n" + body)
        sent[editor.change(uri, text)] = text.split("\n").index(f"    _ = Unbound{k},")
    last = max(sent)
    found = await editor.diagnostics(uri, last)

    assert [p.version for p in editor.publishes(uri)] == [1, last]
    assert [(d.code, d.range.start.line) for d in found] == [("H0212", sent[last])]
    assert f"'Unbound{last}'" in found[0].message


async def test_closing_a_document_clears_its_diagnostics(editor: Editor) -> None:
    uri = editor.open("src/geometry.erl", GEOMETRY.replace("N * N.", "N * M."))
    assert await editor.diagnostics(uri, 1)
    editor.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    await editor.until(lambda: editor.publishes(uri)[-1].version is None)
    assert list(editor.publishes(uri)[-1].diagnostics) == []
