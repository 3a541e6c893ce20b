"""The item tree: what a file declares, and fingerprints that ignore layout."""

from __future__ import annotations

from holo.queries import item_tree
from holo.queries.items import unpack

SOURCE = """\
-module(shop).
-export([total/1, add/2]).
-export_type([cart/0]).
-import(lists, [sum/1]).
-behaviour(gen_server).
-include("shop.hrl").
-include_lib("kernel/include/file.hrl").
-record(line, {sku, qty = 1 :: pos_integer()}).
-type cart() :: [#line{}].
-opaque id() :: integer().
-callback on_add(term()) -> ok.
-optional_callbacks([on_add/1]).
-spec total(cart()) -> number().
-compile([export_all, {parse_transform, ms_transform}, {nowarn_unused_function, [{f, 1}]}]).
-on_load(init/0).
-nifs([nif/1]).
-define(TAX(X), X * 1.2).

total(Cart) ->
    ?TAX(sum([Q || #line{qty = Q} <- Cart])).

add(Cart, Sku) ->
    [#line{sku = Sku} | Cart].
"""


def _tree(project, text: str):
    return item_tree(project({"src/shop.erl": text}).db, "src/shop.erl")


def test_attributes_are_lowered(project):
    tree = _tree(project, SOURCE)
    assert tree.module_name == "shop"
    kinds = [(a.kind, a.name, a.arity) for a in tree.attributes]
    assert ("behaviour", "gen_server", None) in kinds
    assert ("spec", "total", 1) in kinds and ("callback", "on_add", 1) in kinds
    assert ("type", "cart", 0) in kinds and ("type", "id", 0) in kinds
    assert [(a.name, a.text) for a in tree.attributes_of("compile")] == [
        ("export_all", ""),
        ("parse_transform", "ms_transform"),
        ("nowarn_unused_function", ""),
    ]
    assert tree.attributes_of("compile")[2].entries[0][:2] == ("f", 1)
    exports = tree.attributes_of("export")[0]
    assert [e[:2] for e in exports.entries] == [("total", 1), ("add", 2)]
    assert [e[:2] for e in tree.attributes_of("on_load")[0].entries] == [("init", 0)]
    assert [e[:2] for e in tree.attributes_of("nifs")[0].entries] == [("nif", 1)]
    assert [(i.lib, i.file) for i in tree.includes] == [
        (False, "shop.hrl"),
        (True, "kernel/include/file.hrl"),
    ]
    (record,) = tree.records
    assert record.name == "line" and [f for f, _ in record.fields] == ["sku", "qty"]
    (define,) = tree.defines
    assert (define.name, define.arity, define.used_params) == ("TAX", 1, (0,))


def test_functions_and_their_references(project):
    tree = _tree(project, SOURCE)
    spans = tree.functions()
    assert [(f.name, f.arity, f.head[0], f.range[0], f.range[2]) for f in spans] == [
        ("total", 1, 18, 18, 19),
        ("add", 2, 21, 21, 22),
    ]
    total = tree.clauses[0].refs
    assert [c[:2] for c in total.local_calls] == [("sum", 1)]
    assert [u[:2] for u in total.macro_uses] == [("TAX", 1)]
    assert [(r[0], [f for f, _ in r[2]]) for r in total.record_uses] == [("line", ["qty"])]


def _fingerprints(project, text: str) -> dict[str, bytes]:
    return {f"{f.name}/{f.arity}": f.fingerprint for f in _tree(project, text).functions()}


def test_a_body_edit_changes_only_that_function(project):
    before = _fingerprints(project, SOURCE)
    after = _fingerprints(
        project, SOURCE.replace("[#line{sku = Sku}", "[#line{sku = Sku, qty = 2}")
    )
    assert before["total/1"] == after["total/1"]
    assert before["add/2"] != after["add/2"]


def test_layout_and_comments_change_no_fingerprint(project):
    before = _fingerprints(project, SOURCE)
    moved = "%% a new first line\n\n" + SOURCE.replace(
        "add(Cart, Sku) ->\n    [", "add(Cart,Sku)->  % comment\n\n        ["
    )
    assert _fingerprints(project, moved) == before


def test_text_inside_strings_and_operators_still_count(project):
    base = '-module(m).\nf() -> "a b".\ng(A) -> A - -1.\n'
    before = _fingerprints(project, base)
    spaced = _fingerprints(project, base.replace('"a b"', '"a  b"'))
    assert spaced["f/0"] != before["f/0"] and spaced["g/1"] == before["g/1"]
    minus = _fingerprints(project, base.replace("A - -1", "A--1"))
    assert minus["g/1"] != before["g/1"]


def test_ranges_shift_but_fingerprints_do_not(project):
    a = _tree(project, SOURCE)
    b = _tree(project, "\n\n" + SOURCE)
    assert a != b
    assert [c.fingerprint for c in a.clauses] == [c.fingerprint for c in b.clauses]
    assert [unpack(c.head)[0] + 2 for c in a.clauses] == [unpack(c.head)[0] for c in b.clauses]


def _interface(project, text: str):
    from holo.queries import module_interface

    return module_interface(project({"src/shop.erl": text}).db, "shop", "default")


def test_a_same_line_body_edit_leaves_the_rest_of_the_tree_and_the_interface_equal(project):
    source = SOURCE + "\n-spec add(list(), term()) -> list().\n-export([late/0]).\nlate() -> ok.\n"
    edited = source.replace("| Cart]", "| lists:reverse(Cart)]")  # in add/2, on its line
    before, after = _tree(project, source), _tree(project, edited)
    assert before.form_kinds == after.form_kinds
    assert before.attributes == after.attributes
    assert before.records == after.records
    assert before.defines == after.defines
    assert before.includes == after.includes
    assert before.conditionals == after.conditionals
    assert len(before.clauses) == len(after.clauses)
    changed = [c.name for c, old in zip(after.clauses, before.clauses, strict=True) if c != old]
    assert changed == ["add"]
    assert _interface(project, source) == _interface(project, edited)


TYPES = """\
-module(shop).
-export_type([cart/0, id/0, pair/1]).
-type cart() :: [line()].
-type pair(A) :: {A, sku()}.
-type line() :: {sku(), pos_integer()}.
-type sku() :: binary().
-opaque id() :: integer().
-type private() :: atom().
"""


def test_exported_types_are_in_the_interface_by_definition(project):
    def exported(text: str) -> dict[str, bytes]:
        return {f"{n}/{a}": digest for n, a, digest in _interface(project, text).export_types}

    before = exported(TYPES)
    assert set(before) == {"cart/0", "id/0", "pair/1"}
    assert exported("%% moved\n\n" + TYPES.replace(" :: ", "  ::\n    ")) == before
    assert exported(TYPES.replace("atom()", "term()")) == before  # a type nobody exports names
    for text, changed in (
        (TYPES.replace("-opaque id() :: integer()", "-opaque id() :: binary()"), {"id/0"}),
        (TYPES.replace("-opaque id()", "-type id()"), {"id/0"}),
        # cart/0 names it through line/0
        (TYPES.replace("sku() :: binary()", "sku() :: string()"), {"cart/0", "pair/1"}),
    ):
        after = exported(text)
        assert {k for k in before if after[k] != before[k]} == changed
