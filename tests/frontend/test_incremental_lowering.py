"""Re-parsing and re-lowering after an edit give exactly what a first parse and lowering give.

The item tree query parses a file from its previous syntax tree and takes the
forms an edit left alone from a memo, moved to their new lines. These tests
edit real OTP modules at random (text typed anywhere, lines added and
removed, forms broken and mended) and compare, after every edit, the syntax
tree and the item tree with a parse and a lowering from scratch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tree_sitter import Tree

from holo.queries import item_tree
from holo.queries.lower import lower
from holo.queries.lowered_forms import LoweredForms
from holo.queries.reparse import RecentTrees, common_prefix, common_suffix
from holo.queries.syntax import ParsedFile, _parser
from tests.frontend.helpers import OtpFacts

# Modules with macros, records, conditional compilation and non-ASCII text.
MODULES = (("kernel", "erl_epmd.erl"), ("stdlib", "dict.erl"), ("stdlib", "orddict.erl"))

SNIPPETS = (
    "\n",
    "\n\n",
    " ",
    "x",
    "Y",
    "é",
    "(",
    ")",
    ".",
    ",",
    ";",
    "%",
    '"',
    "'",
    "->",
    "end",
    "?MODULE",
    "?Z(1)",
    "#r{a = 1}",
    "fun g/1",
    "m:f()",
    "A = 1,\n",
    "-define(Z(X), {X, 1}).\n",
    "-ifdef(Z).\n",
    "-else.\n",
    "-endif.\n",
    "f() -> ok.\n",
    "-record(r, {a = h() :: integer()}).\n",
)


def _source(otp: OtpFacts, app: str, name: str) -> str:
    lib = dict(otp.info.lib_dirs)[app]
    return (Path(lib) / "src" / name).read_text(encoding="utf-8")


def _shape(tree: Tree) -> list[tuple[int, str | None, str, int, int, bool]]:
    """Every node: depth, field name, type, byte range, and whether it is MISSING."""
    found = []
    cursor = tree.walk()
    depth = 0
    while True:
        node = cursor.node
        assert node is not None
        found.append(
            (depth, cursor.field_name, node.type, node.start_byte, node.end_byte, node.is_missing)
        )
        if cursor.goto_first_child():
            depth += 1
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return found
            depth -= 1


def _edit(text: str, position: int, kind: str, snippet: str, length: int) -> str:
    at = min(position, len(text))
    if kind == "line":  # at the start of a line: whole forms, directives
        at = text.rfind("\n", 0, at) + 1
    if kind == "delete":
        return text[:at] + text[at + length :]
    if kind == "delete-line":
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        return text[:start] + (text[end + 1 :] if end >= 0 else "")
    return text[:at] + snippet + text[at:]


edits = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40_000),
        st.sampled_from(("insert", "line", "delete", "delete-line")),
        st.sampled_from(SNIPPETS),
        st.integers(min_value=1, max_value=60),
    ),
    min_size=1,
    max_size=6,
)


@pytest.fixture(scope="module")
def sources(otp_facts: OtpFacts) -> dict[str, str]:
    return {name: _source(otp_facts, app, name) for app, name in MODULES}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(module=st.sampled_from([name for _, name in MODULES]), steps=edits)
def test_random_edits_lower_as_from_scratch(
    sources: dict[str, str], module: str, steps: list[tuple[int, str, str, int]]
) -> None:
    path = f"src/{module}"
    recent, memo = RecentTrees(), LoweredForms()
    text = sources[module]
    lower(ParsedFile(path, text.encode(), recent), memo)
    for position, kind, snippet, length in steps:
        text = _edit(text, position, kind, snippet, length)
        raw = text.encode()
        incremental = ParsedFile(path, raw, recent)
        scratch = ParsedFile(path, raw)
        assert _shape(incremental.tree) == _shape(scratch.tree)
        assert lower(incremental, memo) == lower(scratch, LoweredForms())
        assert lower(scratch, memo) == lower(scratch)  # the memo changes nothing


def test_a_body_edit_lowers_only_the_edited_function(sources: dict[str, str]) -> None:
    text = sources["dict.erl"]
    memo = LoweredForms()
    before = lower(ParsedFile("src/dict.erl", text.encode()), memo)
    target = text.index("size(#dict{size=N})")
    edited = text[:target] + "size(#dict{size=N}) when N >= 0 -> N;\n" + text[target:]
    after = lower(ParsedFile("src/dict.erl", edited.encode()), memo)
    assert after == lower(ParsedFile("src/dict.erl", edited.encode()))
    assert len(after.clauses) == len(before.clauses) + 1
    new = [c for c in after.clauses if not any(c is old for old in before.clauses)]
    # The new clause, and the clauses below it, moved down one line: positions
    # changed, fingerprints did not.
    (added,) = [c for c in new if c.fingerprint not in {b.fingerprint for b in before.clauses}]
    assert added.name == "size"
    above = [c for c in after.clauses if c.range < added.range]
    assert all(any(c is old for old in before.clauses) for c in above)


def test_an_edit_that_adds_no_line_reuses_every_other_form(sources: dict[str, str]) -> None:
    text = sources["orddict.erl"]
    memo = LoweredForms()
    before = lower(ParsedFile("src/orddict.erl", text.encode()), memo)
    assert "when Key > K -> fetch(Key, D);" in text
    edited = text.replace("when Key > K -> fetch(Key, D);", "when Key > K -> fetch(Key, tl(D));", 1)
    after = lower(ParsedFile("src/orddict.erl", edited.encode()), memo)
    assert after == lower(ParsedFile("src/orddict.erl", edited.encode()))
    changed = [i for i, c in enumerate(after.clauses) if c is not before.clauses[i]]
    assert len(changed) == 1
    assert after.attributes == before.attributes
    assert all(a is b for a, b in zip(after.attributes, before.attributes, strict=True))


def test_nodes_starting_together_keep_their_order_in_a_form_lowered_alone(
    sources: dict[str, str],
) -> None:
    # A first lowering queries the whole file for the nodes of interest, a
    # re-lowering each changed form. tree-sitter returns nodes that start at
    # the same byte (a record updated as it is built) in an order that depends
    # on what else the query saw; the lowering must not.
    text = sources["erl_epmd.erl"]
    recent, memo = RecentTrees(), LoweredForms()
    lower(ParsedFile("src/erl_epmd.erl", text.encode(), recent), memo)
    at = text.index("register_node(Name, PortNo, inet6);") + len("register_node(Name,")
    for typed in ("#r{a = 1}", "#r{a = 1}#r{a = 1}"):  # as typed: one, then two
        edited = (text[:at] + typed + text[at:]).encode()
        again = lower(ParsedFile("src/erl_epmd.erl", edited, recent), memo)
        assert again == lower(ParsedFile("src/erl_epmd.erl", edited))


def test_the_item_tree_query_after_edits_equals_a_first_lowering(
    project, sources: dict[str, str]
) -> None:  # noqa: ANN001
    text = sources["erl_epmd.erl"]
    p = project({"src/erl_epmd.erl": text})
    item_tree(p.db, "src/erl_epmd.erl")
    for i, edit in enumerate(("\n", "X", "-define(Q, 1).\n", "foo(", ")", "")):
        at = text.index("\n", (i + 1) * 997) + 1
        text = text[:at] + edit + text[at:]
        p.write("src/erl_epmd.erl", text)
        fresh = lower(ParsedFile("src/erl_epmd.erl", text.encode()))
        assert item_tree(p.db, "src/erl_epmd.erl") == fresh
        assert p.diagnostics("src/erl_epmd.erl") == project({"src/erl_epmd.erl": text}).diagnostics(
            "src/erl_epmd.erl"
        )


@given(st.binary(max_size=40), st.binary(max_size=40), st.binary(max_size=40))
def test_common_prefix_and_suffix(prefix: bytes, a: bytes, b: bytes) -> None:
    left, right = prefix + a + b"x", prefix + b + b"x"
    naive = 0
    while naive < min(len(left), len(right)) and left[naive] == right[naive]:
        naive += 1
    assert common_prefix(left, right) == naive
    limit = min(len(left), len(right)) - naive
    tail = 0
    while tail < limit and left[-1 - tail] == right[-1 - tail]:
        tail += 1
    assert common_suffix(left, right, limit) == tail


def test_recent_trees_keep_a_bounded_amount_of_source() -> None:
    recent = RecentTrees(capacity=8, budget=100)
    small = b"-module(m).\nf() -> ok.\n"
    ParsedFile("a.erl", small, recent)
    ParsedFile("big.erl", small + b"g() -> ok.\n" * 10, recent)  # over the whole budget
    assert recent.parse(_parser(), "big.erl", small) is None  # so not kept
    assert recent.parse(_parser(), "a.erl", small) is not None
    for name in ("b.erl", "c.erl", "d.erl"):
        ParsedFile(name, small, recent)
    # Four of these fit in 100 bytes; a fifth pushes out the least recently kept.
    ParsedFile("e.erl", small, recent)
    assert recent.parse(_parser(), "a.erl", small) is None
    assert recent.parse(_parser(), "e.erl", small + b"h() -> 1.\n") is not None
