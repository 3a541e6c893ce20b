"""The language server's pure pieces: column conversion, completion contexts, doc comments."""

from __future__ import annotations

import pytest
from tree_sitter_language_pack import get_parser

from holo.inputs import HoloSettings
from holo.lsp.completion import FIELDS, MACROS, NAMES, RECORDS, REMOTE, Context, context_at
from holo.lsp.docs import function_docs
from holo.lsp.positions import UTF8, UTF16, UTF32, from_client_column, to_client_column
from holo.lsp.targets import NodeTargets, choose, from_client

LINE = 'x() -> {"a😀é", ok}.'


@pytest.mark.parametrize(
    ("encoding", "units"),
    [
        (UTF16, lambda s: len(s.encode("utf-16-le")) // 2),
        (UTF8, lambda s: len(s.encode("utf-8"))),
        (UTF32, len),
    ],
)
def test_columns_convert_both_ways(encoding: str, units: object) -> None:
    for column in range(len(LINE) + 1):
        client = to_client_column(LINE, column, encoding)
        assert client == units(LINE[:column])  # type: ignore[operator]
        assert from_client_column(LINE, client, encoding) == column


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("    lists:", Context(REMOTE, "lists", "")),
        ("    X = 'my mod':fo", Context(REMOTE, "my mod", "fo")),
        ("    ?", Context(MACROS, "", "")),
        ("    ?SCA", Context(MACROS, "", "SCA")),
        ("    #", Context(RECORDS, "", "")),
        ("    #poi", Context(RECORDS, "", "poi")),
        ("    #point{x = 1, ", Context(FIELDS, "point", "")),
        ("    P#point.y", Context(FIELDS, "point", "y")),
        ("    #point{x = lists:", Context(REMOTE, "lists", "")),
        ("    geo", Context(NAMES, "", "geo")),
        ("    %% lists:", None),
        ('    io:format("lists:', None),
        ("    X = $%, lists:", Context(REMOTE, "lists", "")),
        ("-spec f() -> t", Context(NAMES, "", "t")),
        ("    X :: ", None),
    ],
)
def test_completion_contexts(typed: str, expected: Context | None) -> None:
    assert context_at(typed) == expected


SOURCE = b"""-module(m).
%% A comment that belongs to nothing.

%% @doc Adds one
%% to X.
%% @end
%% @private
-spec f(integer()) -> integer().
f(X) -> X + 1;
%% between clauses
f(_) -> 0.

-doc \"\"\"
    Triples.
    \"\"\".
-spec g(integer()) -> integer().
g(X) -> 3 * X.

h() -> ok.
"""


def test_function_docs_from_edoc_doc_attributes_and_specs() -> None:
    root = get_parser("erlang").parse(SOURCE).root_node
    f = function_docs(root, SOURCE, "f", 1)
    assert f is not None
    assert (f.spec, f.doc) == ("-spec f(integer()) -> integer().", "Adds one\nto X.")
    g = function_docs(root, SOURCE, "g", -1)
    assert g is not None and g.doc == "Triples."
    h = function_docs(root, SOURCE, "h", 0)
    assert h is not None and (h.spec, h.doc) == (None, None)
    assert function_docs(root, SOURCE, "f", 2) is None


def test_client_settings_name_nodes_in_either_shape() -> None:
    nested = {"holo": {"nodes": ["a@h", "b@h", "a@h"], "cookie": "c"}}
    assert from_client(nested) == (NodeTargets(("a@h", "b@h"), "c"), [])
    assert from_client({"nodes": "a@h"}) == (NodeTargets(("a@h",), None), [])
    assert from_client({"editor": {"tabs": 4}}) == (None, [])
    assert from_client(None) == (None, [])
    targets, problems = from_client({"holo": {"nodes": ["a@h", "nohost", 3], "cookie": ""}})
    assert targets == NodeTargets(("a@h",), None)
    assert problems == [
        "holo.nodes: 'nohost' is not an Erlang node name (name@host)",
        "holo.nodes: 3 is not an Erlang node name (name@host)",
        "holo.cookie must be a non-empty string",
    ]
    spaced = {"nodes": ["a@h", "b c@h"], "cookie": "two words"}
    assert from_client(spaced) == (NodeTargets(("a@h",), None), [
        "holo.nodes: 'b c@h' is not an Erlang node name (name@host)",
        "holo.cookie: the cookie holds spaces or control characters",
    ])


def test_nodes_and_cookie_each_come_from_the_first_place_that_sets_them() -> None:
    project = HoloSettings(nodes=("p@h",), cookie="project")
    command_line = NodeTargets(("c@h",), None)
    assert choose(None, NodeTargets(), project) == NodeTargets(("p@h",), "project")
    assert choose(None, command_line, project) == NodeTargets(("c@h",), "project")
    client = NodeTargets((), "secret")
    assert choose(client, command_line, project) == NodeTargets(("c@h",), "secret")
    client = NodeTargets(("e@h",), None)
    assert choose(client, command_line, HoloSettings()) == NodeTargets(("e@h",), None)
