"""Parsing and the syntax layer: errors with exact ranges, encodings, and hostile input."""

from __future__ import annotations

import random

from holo.queries import item_tree, syntax_diagnostics
from holo.queries.source import MAX_SOURCE_BYTES


def test_missing_token_is_reported_where_it_belongs(project):
    p = project(
        {"src/m.erl": "-module(m).\n-export([f/1]).\nf(X) -> g(X, [X].\ng(A, B) -> {A, B}.\n"}
    )
    (d,) = syntax_diagnostics(p.db, "src/m.erl")
    assert (d.code, d.line, d.column, d.end_column) == ("H0100", 2, 16, 16)
    assert d.message == "syntax error: missing ')' here"


def test_unexpected_token_names_it(project):
    p = project({"src/m.erl": "-module(m).\nf() -> ok ok.\n"})
    (d,) = syntax_diagnostics(p.db, "src/m.erl")
    assert (d.line, d.column, d.end_column) == (1, 10, 12)
    assert "'ok'" in d.message


def test_unfinished_form_at_the_end_of_the_file(project):
    p = project({"src/m.erl": "-module(m).\n-define(A, 1\n"})
    (d,) = syntax_diagnostics(p.db, "src/m.erl")
    assert d.line == 1 and "not finished" in d.message


def test_latin1_declared_file_has_code_point_columns(project):
    source = '%% coding: latin-1\n-module(m).\n-export([f/0]).\nf() -> {"café", g()}.\n'
    p = project({"src/m.erl": source.encode("latin-1")})
    (d,) = p.diagnostics("src/m.erl")
    assert (d.code, d.line, d.column) == ("H0210", 3, source.splitlines()[3].index("g()"))


def test_utf8_file_has_code_point_columns(project):
    source = "-module(m).\n-export([f/0]).\nf() -> {\"日本語\", 'é', g()}.\n"
    p = project({"src/m.erl": source.encode("utf-8")})
    (d,) = p.diagnostics("src/m.erl")
    assert (d.code, d.line, d.column) == ("H0210", 2, source.splitlines()[2].index("g()"))


def test_invalid_utf8_is_reported_at_the_byte_and_the_rest_is_analysed(project):
    p = project({"src/m.erl": b'-module(m).\n-export([f/0]).\nf() -> "Jos\xe9", g().\n'})
    found = {(d.code, d.line, d.column) for d in p.diagnostics("src/m.erl")}
    assert found == {("H0101", 2, 11), ("H0210", 2, 15)}


def test_random_bytes_give_diagnostics_not_a_traceback(project):
    noise = random.Random(7).randbytes(20_000)
    p = project({"src/noise.erl": noise})
    diagnostics = p.diagnostics("src/noise.erl")
    codes = {d.code for d in diagnostics}
    assert "H0101" in codes and "H0100" in codes
    assert sum(d.code == "H0100" for d in diagnostics) <= 51
    assert all(0 <= d.line <= noise.count(b"\n") + 1 for d in diagnostics)


def test_a_huge_file_is_reported_and_skipped(project):
    huge = b"-module(huge).\n" + b"%" * (MAX_SOURCE_BYTES + 10) + b"\n"
    p = project({"src/huge.erl": huge})
    (d,) = p.diagnostics("src/huge.erl")
    assert d.code == "H0101" and "MB" in d.message


def test_deeply_nested_code_does_not_exhaust_the_stack(project):
    depth = 5000
    body = "[" * depth + "x" + "]" * depth
    p = project({"src/deep.erl": f"-module(deep).\n-export([f/0]).\nf() -> {body}.\n"})
    assert p.diagnostics("src/deep.erl") == ()
    assert item_tree(p.db, "src/deep.erl").clauses[0].name == "f"


def test_maybe_is_an_atom_without_the_feature(project):
    p = project(
        {
            "src/m.erl": "-module(m).\n-export([f/0]).\nf() -> {maybe, m:maybe()}.\n",
            "src/m2.erl": "",
        }
    )
    tree = item_tree(p.db, "src/m.erl")
    assert [c[2] for c in tree.clauses[0].refs.remote_calls] == ["maybe"]
    assert syntax_diagnostics(p.db, "src/m.erl") == ()


def test_deprecated_name_arity_lists_are_accepted_like_erlc_does(project):
    # tree-sitter-erlang has no rule for `-deprecated([f/0])`; erlc compiles it.
    source = (
        "-module(m).\n-export([f/0, g/1]).\n"
        "-deprecated([f/0]).\n-deprecated([f/0, 'g'/1]).\n-deprecated(g/'_').\n"
        "f() -> ok.\ng(X) -> X.\n"
    )
    p = project({"src/m.erl": source})
    assert syntax_diagnostics(p.db, "src/m.erl") == ()
    assert [(f.name, f.arity) for f in item_tree(p.db, "src/m.erl").functions()] == [
        ("f", 0),
        ("g", 1),
    ]


def test_a_malformed_deprecated_attribute_is_still_an_error(project):
    p = project({"src/m.erl": "-module(m).\n-deprecated([f/]).\nf() -> ok.\n"})
    (d,) = syntax_diagnostics(p.db, "src/m.erl")
    assert (d.code, d.line) == ("H0100", 1)
