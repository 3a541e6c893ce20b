"""Navigation over LSP: definitions, hover, references, completion and symbols."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.uris import to_fs_path

from tests.lsp.conftest import Editor

pytestmark = pytest.mark.asyncio


def line_of(location: types.Location) -> str:
    """The text a location starts on, read from the file it names."""
    text = Path(to_fs_path(location.uri) or "").read_text()
    return text.split("\n")[location.range.start.line]


def where(editor: Editor, location: types.Location) -> tuple[str, int, int]:
    path = Path(to_fs_path(location.uri) or "")
    rel = (
        path.relative_to(editor.root).as_posix() if path.is_relative_to(editor.root) else str(path)
    )
    return rel, location.range.start.line, location.range.start.character


async def test_definitions_across_modules_into_the_header_and_locally(editor: Editor) -> None:
    shapes = editor.open("src/shapes.erl")
    geometry = editor.open("src/geometry.erl")
    await editor.diagnostics(shapes, 1)
    header_lines = (editor.root / "include/demo.hrl").read_text().split("\n")
    geometry_lines = editor.texts[geometry].split("\n")

    async def definition(uri: str, needle: str, offset: int = 0, occurrence: int = 0) -> list:
        found = await editor.definition(uri, editor.position(uri, needle, offset, occurrence))
        return [where(editor, location) for location in found]

    scale_head = geometry_lines.index("scale(#point{x = X, y = Y}) ->")
    # A remote call, and the module name in it.
    assert await definition(shapes, "geometry:scale", 10) == [("src/geometry.erl", scale_head, 0)]
    assert await definition(shapes, "geometry:scale", 2) == [("src/geometry.erl", 0, 0)]
    # A record, one of its fields, a macro and the include itself, all in the header.
    record_line = header_lines.index("-record(point, {x = 0 :: integer(), y = 0 :: integer()}).")
    assert await definition(shapes, "#point{x = Size", 2) == [("include/demo.hrl", record_line, 8)]
    assert await definition(shapes, "x = Size") == [("include/demo.hrl", record_line, 16)]
    scale_macro = header_lines.index("-define(SCALE, 10).")
    assert await definition(shapes, "?SCALE", 1) == [("include/demo.hrl", scale_macro, 0)]
    assert await definition(shapes, '"demo.hrl"', 3) == [("include/demo.hrl", 0, 0)]
    # A local function, and a remote type.
    corners_head = editor.texts[shapes].split("\n").index("corners(Size) ->")
    assert await definition(shapes, "corners(1)", 1) == [("src/shapes.erl", corners_head, 0)]
    coord = geometry_lines.index("-type coord() :: integer().")
    assert await definition(shapes, "geometry:coord()", 10) == [("src/geometry.erl", coord, 0)]
    # A local call inside the other module.
    square = geometry_lines.index("square(N) ->")
    assert await definition(geometry, "square(A#point", 2) == [("src/geometry.erl", square, 0)]


OTP_USER = """\
-module(otp_user).
-behaviour(gen_server).
-import(lists, [reverse/1]).
-include_lib("kernel/include/file.hrl").
-export([f/0]).

f() -> {reverse([]), lists:member(a, []), #file_info{}}.
"""


async def test_definitions_into_otp(editor: Editor) -> None:
    uri = editor.open("src/otp_user.erl", OTP_USER)

    async def definition(needle: str, offset: int) -> types.Location:
        (found,) = await editor.definition(uri, editor.position(uri, needle, offset))
        return found

    member = await definition("lists:member", 7)
    assert "/stdlib-" in member.uri and member.uri.endswith("/src/lists.erl")
    assert line_of(member).startswith("member(")
    assert line_of(await definition("lists:member", 2)).startswith("-module(lists)")
    imported = await definition("reverse([])", 1)  # an imported function
    assert imported.uri.endswith("/src/lists.erl") and line_of(imported).startswith("reverse(")
    behaviour = await definition("gen_server)", 3)
    assert behaviour.uri.endswith("/src/gen_server.erl")
    header = await definition('"kernel/include/file.hrl"', 5)
    assert header.uri.endswith("/include/file.hrl") and "/kernel-" in header.uri
    record = await definition("#file_info{}", 3)
    assert record.uri == header.uri and line_of(record).startswith("-record(file_info")


async def test_hover_shows_the_spec_and_the_doc_comment(editor: Editor) -> None:
    shapes = editor.open("src/shapes.erl")
    hover = await editor.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=shapes),
            position=editor.position(shapes, "geometry:scale", 12),
        )
    )
    assert hover is not None
    text = hover.contents.value  # type: ignore[union-attr]
    assert "**geometry:scale/1**" in text
    assert "-spec scale(#point{}) -> #point{}." in text
    assert "Scales a point by ?SCALE in both directions." in text
    assert hover.range == types.Range(
        start=editor.position(shapes, "scale(#point{x = 0", 0),
        end=editor.position(shapes, "scale(#point{x = 0", 5),
    )
    record = await editor.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=shapes),
            position=editor.position(shapes, "#point{x = 0", 2),
        )
    )
    assert record is not None
    assert "-record(point, {x = 0 :: integer(), y = 0 :: integer()})." in record.contents.value  # type: ignore[union-attr]


async def test_references_of_a_function_a_record_and_a_macro(editor: Editor) -> None:
    geometry = editor.open("src/geometry.erl")
    await editor.diagnostics(geometry, 1)

    async def references(
        needle: str, offset: int, declaration: bool = True, occurrence: int = 0
    ) -> list:
        found = await editor.client.text_document_references_async(
            types.ReferenceParams(
                text_document=types.TextDocumentIdentifier(uri=geometry),
                position=editor.position(geometry, needle, offset, occurrence),
                context=types.ReferenceContext(include_declaration=declaration),
            )
        )
        return sorted(where(editor, location) for location in found or [])

    shapes = (editor.root / "src/shapes.erl").read_text()
    tests = (editor.root / "test/geometry_tests.erl").read_text()

    def at(text: str, needle: str, occurrence: int = 0, offset: int = 0) -> tuple[int, int]:
        index = -1
        for _ in range(occurrence + 1):
            index = text.index(needle, index + 1)
        index += offset
        return text.count("\n", 0, index), index - (text.rfind("\n", 0, index) + 1)

    geometry_text = editor.texts[geometry]
    scale = [
        ("src/geometry.erl", *at(geometry_text, "scale/1")),
        ("src/geometry.erl", *at(geometry_text, "scale(#point{x = X")),
        ("src/shapes.erl", *at(shapes, "scale(#point", 0)),
        ("src/shapes.erl", *at(shapes, "scale(#point", 1)),
        ("test/geometry_tests.erl", *at(tests, "scale(#point")),
    ]
    assert await references("scale(#point", 0) == sorted(scale)
    assert await references("scale(#point", 0, declaration=False) == sorted(
        s for s in scale if s != ("src/geometry.erl", *at(geometry_text, "scale(#point{x = X"))
    )

    macro = await references("?SCALE", 1, occurrence=1)  # the first is in a comment
    assert ("include/demo.hrl", 4, 0) in macro  # the definition
    assert [m for m in macro if m[0] == "src/shapes.erl"] == [
        ("src/shapes.erl", *at(shapes, "?SCALE"))
    ]
    # Two uses in scale/1; the "?SCALE" in the doc comment is not one.
    assert [m[1] for m in macro if m[0] == "src/geometry.erl"] == [
        at(geometry_text, "?SCALE", 1)[0]
    ] * 2

    record = await references("#point{x = X", 2)
    files = {m[0] for m in record}
    assert files == {
        "include/demo.hrl",
        "src/geometry.erl",
        "src/shapes.erl",
        "test/geometry_tests.erl",
    }
    assert sum(1 for m in record if m[0] == "src/shapes.erl") == shapes.count("#point")


async def test_completion(editor: Editor) -> None:
    shapes = editor.open("src/shapes.erl")
    await editor.diagnostics(shapes, 1)

    async def complete(typed: str) -> list[str]:
        text = editor.texts[shapes].replace("far(P) ->\n", f"far(P) ->\n    {typed}\n")
        editor.change(shapes, text)
        found = await editor.client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=shapes),
                position=editor.position(shapes, typed, len(typed)),
            )
        )
        assert isinstance(found, types.CompletionList)
        return [item.label for item in found.items]

    remote = await complete("geometry:")
    assert {"scale/1", "distance/2", "origin/0"} <= set(remote)
    assert "square/1" not in remote  # not exported
    assert "member/2" in await complete("lists:me")
    assert await complete("#") == ["point"]
    assert await complete("#point{y = 1, ") == ["x", "y"]
    assert {"SCALE", "ORIGIN", "MODULE"} <= set(await complete("?"))
    assert "corners/1" in await complete("cor")
    modules = await complete("geo")
    assert {"geometry", "geometry_tests"} <= set(modules)
    assert "lists" in await complete("lis")


async def test_document_and_workspace_symbols(editor: Editor) -> None:
    geometry = editor.open("src/geometry.erl")
    symbols = await editor.client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=geometry))
    )
    names = [s.name for s in symbols or []]
    assert names == ["coord/0", "scale/1", "distance/2", "origin/0", "square/1"]
    found = await editor.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="point"))
    assert [(s.name, s.location.uri.rsplit("/", 1)[1]) for s in found or []] == [  # type: ignore[union-attr]
        ("point", "demo.hrl")
    ]
    found = await editor.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="scl"))
    assert sorted(s.name for s in found or []) == ["SCALE", "scale/1", "scale_test/0"]


KINDS = """\
-module(kinds).
-include("demo.hrl").
-import(lists, [reverse/1]).
-export([run/1, area/1]).
-export_type([shape/0, handle/0]).

-define(LIMIT, 100).
-define(TWICE(X), (X * 2)).

-record(box, {width = 0 :: integer(), height = 0 :: integer()}).

-type shape() :: #box{} | circle.
-opaque handle() :: {handle, reference()}.

-doc "Computes the area of a shape.".
-spec area(shape()) -> number().
area(#box{width = W, height = H}) -> W * H;
area(circle) -> 3.

-spec run(file:filename()) -> {module(), list()}.
run(Name) ->
    B = #box{width = ?TWICE(?LIMIT)},
    {?MODULE, reverse([area(B), B#box.height, Name])}.
"""


async def test_definitions_of_types_and_of_module(editor: Editor) -> None:
    uri = editor.open("src/kinds.erl", KINDS)
    assert await editor.diagnostics(uri, 1) == []
    lines = KINDS.split("\n")

    async def definition(needle: str, offset: int) -> list[tuple[str, int, int]]:
        found = await editor.definition(uri, editor.position(uri, needle, offset))
        return [where(editor, location) for location in found]

    # A local type, and an opaque one named in -export_type.
    shape = lines.index("-type shape() :: #box{} | circle.")
    assert await definition("area(shape())", 6) == [("src/kinds.erl", shape, 0)]
    handle = lines.index("-opaque handle() :: {handle, reference()}.")
    assert await definition("handle/0]", 0) == [("src/kinds.erl", handle, 0)]
    # ?MODULE is the module: its -module attribute.
    assert await definition("?MODULE", 2) == [("src/kinds.erl", 0, 0)]
    # An OTP type, in OTP's source.
    (filename,) = await editor.definition(uri, editor.position(uri, "file:filename()", 6))
    assert "/kernel-" in filename.uri and filename.uri.endswith("/src/file.erl")
    assert line_of(filename).startswith("-type filename()")


async def test_symbols_of_records_macros_types_and_headers(editor: Editor) -> None:
    uri = editor.open("src/kinds.erl", KINDS)
    await editor.diagnostics(uri, 1)

    async def symbols(document: str) -> list[tuple[str, types.SymbolKind, list[str]]]:
        found = await editor.client.text_document_document_symbol_async(
            types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=document))
        )
        return [
            (s.name, s.kind, [c.name for c in s.children or []])  # type: ignore[union-attr]
            for s in found or []
        ]

    K = types.SymbolKind
    assert await symbols(uri) == [
        ("LIMIT", K.Constant, []),
        ("TWICE/1", K.Constant, []),
        ("box", K.Struct, ["width", "height"]),
        ("shape/0", K.TypeParameter, []),
        ("handle/0", K.TypeParameter, []),
        ("area/1", K.Function, []),
        ("run/1", K.Function, []),
    ]
    header = editor.uri("include/demo.hrl")
    assert await symbols(header) == [
        ("point", K.Struct, ["x", "y"]),
        ("ORIGIN", K.Constant, []),
        ("SCALE", K.Constant, []),
    ]
    found = await editor.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="coord"))
    assert [(s.name, s.kind, s.location.uri.rsplit("/", 1)[1]) for s in found or []] == [  # type: ignore[union-attr]
        ("coord/0", K.TypeParameter, "geometry.erl")
    ]


async def test_completion_of_record_fields_after_a_dot_and_of_imports(editor: Editor) -> None:
    uri = editor.open("src/kinds.erl", KINDS)
    await editor.diagnostics(uri, 1)

    async def complete(typed: str) -> list[types.CompletionItem]:
        text = KINDS.replace("run(Name) ->\n", f"run(Name) ->\n    {typed}\n")
        editor.change(uri, text)
        found = await editor.client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=editor.position(uri, typed, len(typed)),
            )
        )
        assert isinstance(found, types.CompletionList)
        return list(found.items)

    async def labels(typed: str) -> list[str]:
        return [item.label for item in await complete(typed)]

    assert await labels("Name#box.") == ["width", "height"]
    assert await labels("Name#box.h") == ["height"]
    assert await labels("Name#point.") == ["x", "y"]  # a record of the header
    imported = [item for item in await complete("rev") if item.label == "reverse/1"]
    assert [item.detail for item in imported] == ["lists"]


async def hover_text(editor: Editor, uri: str, position: types.Position) -> str:
    found = await editor.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    assert found is not None
    return found.contents.value  # type: ignore[union-attr]


async def test_hover_of_a_doc_attribute_and_of_an_otp_function(editor: Editor) -> None:
    uri = editor.open("src/kinds.erl", KINDS)
    await editor.diagnostics(uri, 1)
    area = await hover_text(editor, uri, editor.position(uri, "area(B)", 1))
    assert area.startswith("**kinds:area/1**")
    assert "-spec area(shape()) -> number()." in area
    assert area.endswith("Computes the area of a shape.")

    shapes = editor.open("src/shapes.erl")
    member = await hover_text(editor, shapes, editor.position(shapes, "lists:member", 7))
    assert member.startswith("**lists:member/2**")
    assert "-spec member(Elem, List) -> boolean() when" in member
    reverse = await hover_text(editor, uri, editor.position(uri, "reverse([", 2))
    assert reverse.startswith("**lists:reverse/1**")
    assert "-spec reverse(List1) -> List2 when" in reverse
