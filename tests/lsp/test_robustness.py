"""What must not break the server: huge or binary documents, unanswerable requests,
positions in UTF-16 or UTF-8, a workspace that cannot be opened."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.conftest import Editor, start_editor, stop_editor
from tests.lsp.demo import GEOMETRY, write_demo

pytestmark = pytest.mark.asyncio


async def test_a_random_bytes_document_does_not_stop_other_work(editor: Editor) -> None:
    # 1 MiB as an editor shows binary data (undecodable bytes as U+FFFD): 1.9 MB of
    # UTF-8, under the size the server analyses as it is typed.
    junk = random.Random(7).randbytes(2**20).decode("utf-8", "replace")
    huge = editor.open("src/huge.erl", junk)
    geometry = editor.open("src/geometry.erl")
    broken = editor.change(geometry, GEOMETRY.replace("    N * N.", "    N * M."))
    (definition,) = await editor.definition(geometry, editor.position(geometry, "square(A#", 2))
    assert definition.range.start == editor.position(geometry, "square(N) ->")
    assert [d.code for d in await editor.diagnostics(geometry, broken)] == ["H0212"]

    found = await editor.diagnostics(huge, 1)
    assert "H0100" in {d.code for d in found} <= {"H0100", "H0101", "H0102"}
    # The server still answers about the huge document itself.
    hover = await editor.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=huge),
            position=types.Position(line=3, character=2),
        )
    )
    assert hover is None or hover.contents is not None


def huge_module(size: int) -> str:
    """A valid module of about ``size`` bytes."""
    count = size // 40
    lines = [f"f{i}(X) -> f{i + 1}(X + {i % 10})." for i in range(count)]
    return "-module(big).\n-export([f0/1]).\n\n" + "\n".join(lines) + f"\nf{count}(X) -> X.\n"


async def test_5_mb_documents_are_not_analysed_and_the_rest_stays_responsive(
    editor: Editor,
) -> None:
    geometry = editor.open("src/geometry.erl")
    await editor.diagnostics(geometry, 1)
    junk = random.Random(11).randbytes(5 * 2**20).decode("utf-8", "replace")
    noise = editor.open("src/noise.erl", junk)
    big_text = huge_module(5 * 2**20)
    big = editor.open("src/big.erl", big_text)
    broken = editor.change(geometry, GEOMETRY.replace("    N * N.", "    N * M."))

    # The other document is checked, and answered about, while the huge ones are open.
    assert [d.code for d in await editor.diagnostics(geometry, broken)] == ["H0212"]
    (square,) = await editor.definition(geometry, editor.position(geometry, "square(A#", 2))
    assert square.range.start == editor.position(geometry, "square(N) ->")
    for uri in (noise, big):
        (too_large,) = await editor.diagnostics(uri, 1)
        assert too_large.code == "H0103"
        assert too_large.severity == types.DiagnosticSeverity.Warning
        assert "holo checks documents up to 2 MB as they are typed" in too_large.message
        assert await editor.definition(uri, types.Position(line=3, character=2)) == []
    symbols = await editor.client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=big))
    )
    assert not symbols
    assert not await editor.client.workspace_symbol_async(
        types.WorkspaceSymbolParams(query="f4711")
    )

    # Cut down to a normal size, the document is checked again.
    small = editor.change(big, huge_module(2000).replace("(X) -> X.\n", "(X) -> Y.\n"))
    found = await editor.diagnostics(big, small)
    assert [d.code for d in found] == ["H0212"]


async def test_requests_it_cannot_answer_get_empty_results(editor: Editor) -> None:
    geometry = editor.open("src/geometry.erl")
    await editor.diagnostics(geometry, 1)
    document = types.TextDocumentIdentifier(uri=geometry)
    comment = editor.position(geometry, "@doc", 1)
    assert await editor.definition(geometry, comment) == []
    assert (
        await editor.client.text_document_hover_async(
            types.HoverParams(text_document=document, position=comment)
        )
        is None
    )
    far_away = types.Position(line=10_000, character=400)
    assert await editor.definition(geometry, far_away) == []
    completion = await editor.client.text_document_completion_async(
        types.CompletionParams(text_document=document, position=comment)
    )
    assert isinstance(completion, types.CompletionList) and list(completion.items) == []
    missing = editor.uri("src/nowhere.erl")
    assert await editor.definition(missing, types.Position(line=0, character=0)) == []
    assert await editor.definition("untitled:Untitled-1", types.Position(line=0, character=0)) == []
    # Still alive and answering.
    (square,) = await editor.definition(geometry, editor.position(geometry, "square(A#", 2))
    assert square.range.start == editor.position(geometry, "square(N) ->")


UNICODE_LINE = 'label() -> {"😀 é ∑", square(Unbound)}.'


def unicode_module() -> str:
    exported = GEOMETRY.replace("origin/0]", "origin/0, label/0]")
    return exported.replace("origin() ->", UNICODE_LINE + "\n\norigin() ->")


async def test_columns_are_utf16_by_default(editor: Editor) -> None:
    uri = editor.open("src/geometry.erl", unicode_module())
    (diagnostic,) = await editor.diagnostics(uri, 1)
    prefix = UNICODE_LINE[: UNICODE_LINE.index("Unbound")]
    assert diagnostic.range.start.character == len(prefix.encode("utf-16-le")) // 2
    assert diagnostic.range.end.character == diagnostic.range.start.character + len("Unbound")
    # And back: a position in UTF-16 units finds the call after the emoji.
    line = editor.texts[uri].split("\n").index(UNICODE_LINE)
    square = UNICODE_LINE.index("square")
    hover = await editor.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(
                line=line, character=len(UNICODE_LINE[:square].encode("utf-16-le")) // 2 + 1
            ),
        )
    )
    assert hover is not None and "geometry:square/1" in hover.contents.value  # type: ignore[union-attr]


async def test_columns_in_utf8_when_the_client_asks(tmp_path: Path, cache_dir: Path) -> None:
    capabilities = types.ClientCapabilities(
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind.Utf8]
        )
    )
    editor = await start_editor(
        write_demo(tmp_path / "demo"), cache_dir, "--no-build-on-save", capabilities=capabilities
    )
    try:
        uri = editor.open("src/geometry.erl", unicode_module())
        (diagnostic,) = await editor.diagnostics(uri, 1)
        prefix = UNICODE_LINE[: UNICODE_LINE.index("Unbound")]
        assert diagnostic.range.start.character == len(prefix.encode("utf-8"))
    finally:
        await stop_editor(editor)


async def test_a_root_that_is_not_a_directory_is_reported(tmp_path: Path, cache_dir: Path) -> None:
    editor = await start_editor(tmp_path / "missing", cache_dir, "--no-build-on-save")
    try:
        await editor.until(lambda: editor.client.messages)
        (message,) = editor.client.messages
        assert message.type == types.MessageType.Error
        assert "is not a directory" in message.message
        uri = editor.open("src/a.erl", "-module(a).\n")
        assert await editor.definition(uri, types.Position(line=0, character=9)) == []
    finally:
        await stop_editor(editor)
