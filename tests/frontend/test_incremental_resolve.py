"""Resolving after an edit gives exactly what resolving from scratch gives.

``resolve`` keeps, per process, what each clause resolved to in a given macro
and record environment, and the functions grouped from those. These tests
edit a module and its header at random (macros and records defined, changed
and undefined between the functions that use them, conditionals, imports,
clauses added and removed) and compare, after every edit, the resolved module
and the diagnostics with a fresh database and empty memos.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holo.queries import resolve
from holo.queries.lowered_forms import LoweredForms
from holo.queries.recent import Recent
from holo.queries.reparse import RecentTrees
from tests.frontend.helpers import OtpFacts, Project

# The modules (holo.queries' attributes of these names are the queries).
resolve_module = importlib.import_module("holo.queries.resolve")
item_tree_module = importlib.import_module("holo.queries.item_tree")

MODULE = """\
-module(m).
-export([a/1, b/1, c/0, d/0, f/0, h/0, k/0]).
-include("h.hrl").
-import(lists, [seq/2]).
-define(A(X), {X, helper()}).
a(X) -> ?A(X).
-record(r, {x = 1, y}).
b(#r{x = X}) -> X;
b(_) -> ?B.
-ifdef(T).
c() -> t.
-else.
c() -> #q{}.
-endif.
d() -> ?SERVER:call(?A(1)).
f() -> seq(1, 2).
h() -> #r{y = 2}.
-define(CALL(F), F(1)).
-define(FREE, V).
k() -> {?CALL(helper), ?FREE, V}.
z() -> U.
helper() -> ok.
helper(_) -> ok.
"""

HEADER = """\
-define(B, lists:seq(1, 2)).
-define(SERVER, srv).
-record(q, {z}).
"""

LINES = (
    "-define(B, other:f()).",
    "-define(A(X), X).",
    "-define(A(X, Y), {X, Y}).",
    "-undef(A).",
    "-undef(B).",
    "-define(T, 1).",
    "-undef(T).",
    "-define(SERVER, ?MODULE).",
    "-record(r, {x}).",
    "-record(q, {z, w = helper()}).",
    "e() -> {?A(1), #r{y = 2}, #q{w = 1}}.",
    "b(1) -> ?B;",
    "-import(lists, [seq/2]).",
    "f() -> seq(1, 2).",
    "g(V) -> V(1), fun helper/0.",
    "a(X) -> ?A(X, X).",
    "-ifndef(T).",
    "-endif.",
)


@contextmanager
def _memos(fresh: bool) -> Iterator[None]:
    """Run with empty per-process memos (``fresh``), or with the test's own."""
    names = (
        (resolve_module, "_RESOLVED_CLAUSES", lambda: Recent(40_000)),
        (resolve_module, "_GROUPED_FUNCTIONS", lambda: Recent(40_000)),
        (item_tree_module, "LOWERED_FORMS", LoweredForms),
        (item_tree_module, "RECENT_TREES", RecentTrees),
    )
    saved: list[tuple[Any, str, Any]] = [(m, n, getattr(m, n)) for m, n, _ in names]
    if fresh:
        for module, name, make in names:
            setattr(module, name, make())
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


@pytest.fixture
def own_memos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolve_module, "_RESOLVED_CLAUSES", Recent(40_000))
    monkeypatch.setattr(resolve_module, "_GROUPED_FUNCTIONS", Recent(40_000))
    monkeypatch.setattr(item_tree_module, "LOWERED_FORMS", LoweredForms())
    monkeypatch.setattr(item_tree_module, "RECENT_TREES", RecentTrees())


def _edited(text: str, line: int, action: str, insert: str) -> str:
    lines = text.split("\n")
    at = line % (len(lines) + 1)
    if action == "delete" and at < len(lines) and len(lines) > 3:
        del lines[at]
    else:
        lines.insert(at, insert)
    return "\n".join(lines)


edits = st.lists(
    st.tuples(
        st.sampled_from(("src/m.erl", "include/h.hrl")),
        st.integers(min_value=0, max_value=40),
        st.sampled_from(("insert", "insert", "delete")),
        st.sampled_from(LINES),
    ),
    min_size=1,
    max_size=8,
)


# One edit each, of what a clause's or a function's resolution depends on
# besides its own text: a header's macro, a record, an import, a macro undefined.
EDITS = (
    ("include/h.hrl", "-define(B, lists:seq(1, 2)).", "-define(B, other:f())."),
    ("include/h.hrl", "-define(SERVER, srv).", "-define(SERVER, ?MODULE)."),
    ("src/m.erl", "-record(r, {x = 1, y}).", "-record(r, {x = 1})."),
    ("src/m.erl", "-record(r, {x = 1, y}).", ""),
    ("include/h.hrl", "-record(q, {z}).", "-record(q, {z = helper()})."),
    ("src/m.erl", "-import(lists, [seq/2]).", ""),
    ("src/m.erl", "-import(lists, [seq/2]).", "-import(other, [seq/2])."),
    ("src/m.erl", "-define(A(X), {X, helper()}).", "-define(A(X), X)."),
    ("src/m.erl", "-ifdef(T).", "-define(T, 1).\n-ifdef(T)."),
    ("src/m.erl", "helper() -> ok.", "-undef(A).\nhelper() -> ?A(1)."),
    # Edits of the clause itself that change only what its resolution reads
    # beside the names it calls: a record field, a macro argument, a variable.
    ("src/m.erl", "h() -> #r{y = 2}.", "h() -> #r{z = 2}."),
    ("src/m.erl", "k() -> {?CALL(helper), ?FREE, V}.", "k() -> {?CALL(other), ?FREE, V}."),
    ("src/m.erl", "k() -> {?CALL(helper), ?FREE, V}.", "k() -> {?CALL(helper), ?FREE, W}."),
    ("src/m.erl", "z() -> U.", "z() -> {U,}."),  # a syntax error: no unbound variable
)


@pytest.mark.parametrize(("path", "old", "new"), EDITS)
def test_an_edit_elsewhere_resolves_the_unchanged_clauses_again(
    otp_facts: OtpFacts, own_memos: None, path: str, old: str, new: str
) -> None:
    files = {"src/m.erl": MODULE, "include/h.hrl": HEADER}
    project = Project(otp_facts, dict(files))
    before = resolve(project.db, "src/m.erl", "default")
    assert old in files[path]
    files[path] = files[path].replace(old, new)
    project.write(path, files[path])
    with _memos(fresh=True):
        scratch = Project(otp_facts, dict(files))
        expected = resolve(scratch.db, "src/m.erl", "default")
        diagnostics = scratch.diagnostics("src/m.erl")
    after = resolve(project.db, "src/m.erl", "default")
    assert after == expected
    assert after != before
    assert project.diagnostics("src/m.erl") == diagnostics


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=edits)
def test_random_edits_resolve_as_from_scratch(
    otp_facts: OtpFacts, own_memos: None, steps: list[tuple[str, int, str, str]]
) -> None:
    files = {"src/m.erl": MODULE, "include/h.hrl": HEADER}
    project = Project(otp_facts, dict(files))
    for profile in ("default", "test"):
        resolve(project.db, "src/m.erl", profile)
    for path, line, action, insert in steps:
        files[path] = _edited(files[path], line, action, insert)
        project.write(path, files[path])
        with _memos(fresh=True):
            scratch = Project(otp_facts, dict(files))
            expected = {p: resolve(scratch.db, "src/m.erl", p) for p in ("default", "test")}
            diagnostics = scratch.diagnostics("src/m.erl")
        for profile in ("default", "test"):
            assert resolve(project.db, "src/m.erl", profile) == expected[profile]
        assert project.diagnostics("src/m.erl") == diagnostics
