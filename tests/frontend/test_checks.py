"""Each diagnostic holo reports, on the smallest module that shows it (and its absence)."""

from __future__ import annotations

from holo.diagnostics import Severity


def test_a_clean_module_has_no_diagnostics(project):
    p = project(
        {
            "src/clean.erl": """\
-module(clean).
-export([run/1]).
-import(lists, [reverse/1]).
-record(st, {n = 0 :: integer()}).
-define(TWICE(X), (2 * (X))).

-spec run([integer()]) -> integer().
run(L) ->
    S = #st{n = length(reverse(L))},
    lists:sum([?TWICE(X) || X <- L]) + S#st.n + helper(S).

helper(#st{n = N}) -> N.
"""
        }
    )
    assert p.diagnostics("src/clean.erl") == ()


def test_unresolved_include(project):
    p = project({"src/m.erl": '-module(m).\n-include("nope.hrl").\n'})
    (d,) = p.diagnostics("src/m.erl")
    assert (d.code, d.line, d.severity) == ("H0200", 1, Severity.ERROR)
    assert '"nope.hrl"' in d.message


def test_undefined_macro_and_arity_mismatch(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/0]).
-define(ONE(X), X).
f() -> {?NOPE, ?ONE(1, 2), ?ONE}.
"""
        }
    )
    found = {(d.code, d.column, d.message.split(":")[0]) for d in p.diagnostics("src/m.erl")}
    assert found == {
        ("H0201", 8, "undefined macro ?NOPE"),
        ("H0201", 15, "macro ?ONE is not defined with 2 argument(s) (only 1)"),
        ("H0201", 27, "macro ?ONE is defined only with arguments (1); call it as ?ONE(...)"),
    }


def test_undefined_macro_inside_a_used_macro_is_reported_at_the_use(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/0]).
-define(OUTER, ?INNER + 1).
-define(UNUSED, ?ALSO_MISSING).
f() -> ?OUTER.
"""
        }
    )
    (d,) = p.diagnostics("src/m.erl")
    assert (d.code, d.line) == ("H0201", 4)
    assert "?INNER (used by ?OUTER)" in d.message


def test_undefined_record_and_field(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/1]).
-record(r, {a}).
f(X) -> {#nope{}, X#r.b, #r{a = 1, c = 2}, #r.a}.
"""
        }
    )
    found = {(d.code, d.line, d.column) for d in p.diagnostics("src/m.erl")}
    assert found == {("H0202", 3, 9), ("H0203", 3, 22), ("H0203", 3, 35)}


def test_record_used_before_its_definition_is_undefined(project):
    p = project({"src/m.erl": "-module(m).\n-export([f/0]).\nf() -> #r{}.\n-record(r, {a}).\n"})
    assert p.found("src/m.erl") == {("H0202", 3)}


def test_undefined_local_function_with_a_hint_about_other_arities(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/0]).
f() -> g(1), h(), length([]), module_info(), fun k/2.
g() -> ok.
"""
        }
    )
    diagnostics = [d for d in p.diagnostics("src/m.erl") if d.code == "H0210"]
    assert [(d.line, d.column) for d in diagnostics] == [(2, 7), (2, 13), (2, 49)]
    assert "g is defined with arity 0" in diagnostics[0].message
    assert {d.code for d in p.diagnostics("src/m.erl")} == {"H0210", "H0211"}


def test_imports_and_auto_imported_bifs_are_not_undefined(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/1]).
-import(lists, [reverse/1]).
f(L) -> {reverse(L), length(L), self(), element(1, {a}), is_record(L, r, 1)}.
"""
        }
    )
    assert p.diagnostics("src/m.erl") == ()


def test_no_auto_import_makes_a_bif_call_local(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/1]).
-compile({no_auto_import, [length/1]}).
f(L) -> length(L).
"""
        }
    )
    assert p.found("src/m.erl") == {("H0210", 4)}


def test_unused_functions_are_reported_transitively(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([api/0]).
api() -> used().
used() -> ok.
dead() -> only_from_dead().
only_from_dead() -> ok.
"""
        }
    )
    assert p.found("src/m.erl") == {("H0211", 5), ("H0211", 6)}


def test_unused_exemptions(project):
    p = project(
        {
            "src/srv.erl": """\
-module(srv).
-behaviour(gen_server).
-export([init/1, handle_call/3, handle_cast/2]).
-on_load(load/0).
-compile({nowarn_unused_function, [kept/0]}).
init(A) -> {ok, A}.
handle_call(_, _, S) -> {reply, ok, S}.
handle_cast(_, S) -> {noreply, S}.
handle_info(_, S) -> {noreply, S}.
load() -> ok.
kept() -> ok.
""",
            "test/srv_tests.erl": """\
-module(srv_tests).
-include_lib("eunit/include/eunit.hrl").
simple_test() -> ?assert(true).
gen_test_() -> [?_assert(true)].
""",
        }
    )
    # handle_info/2 is an (optional) gen_server callback: not unused, but not exported.
    assert p.found("src/srv.erl") == set()
    assert p.found("test/srv_tests.erl", "test") == set()


def test_export_all_silences_unused(project):
    p = project({"src/m.erl": "-module(m).\n-compile(export_all).\nf() -> ok.\n"})
    assert p.diagnostics("src/m.erl") == ()


def test_unbound_variable(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/1, g/1]).
f(X) ->
    case X of {ok, V} -> V; _ -> Missing end.
g(L) ->
    [Y || {Y, _} <- L] ++ [Z || Z <- L, Z > W].
"""
        }
    )
    found = {(d.code, d.line, d.column) for d in p.diagnostics("src/m.erl")}
    assert found == {("H0212", 3, 33), ("H0212", 5, 44)}


def test_unbound_variable_is_not_reported_where_a_macro_may_bind_it(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/0, g/1]).
-define(BIND, Bound = 1).
-define(MATCH(P, E), P = E).
f() -> ?BIND, Bound.
g(E) -> ?MATCH({ok, V}, E), V.
"""
        }
    )
    assert p.diagnostics("src/m.erl") == ()


def test_duplicate_function_and_head_mismatch(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/1, g/1]).
f(1) -> one;
f(_) -> other.
g(X) -> X;
h(X) -> X.
f(2) -> two.
"""
        }
    )
    assert p.found("src/m.erl") == {("H0217", 6), ("H0213", 7), ("H0211", 6)}


def test_module_name_mismatch_and_missing_module(project):
    p = project(
        {"src/m.erl": "-module(other).\n", "src/empty.erl": "", "src/nomod.erl": "f() -> ok.\n"}
    )
    assert p.found("src/m.erl") == {("H0214", 1)}
    (empty,) = p.diagnostics("src/empty.erl")
    assert (empty.code, empty.line, "file is empty" in empty.message) == ("H0102", 0, True)
    assert ("H0102", 1) in p.found("src/nomod.erl")  # erlc: at the first form


def test_export_and_spec_of_undefined_functions(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/1, g/0]).
-spec f(integer()) -> integer().
f(X) -> X.
-spec h() -> ok.
"""
        }
    )
    diagnostics = {(d.code, d.line, d.column): d for d in p.diagnostics("src/m.erl")}
    assert set(diagnostics) == {("H0215", 1, 14), ("H0216", 4, 0)}


def test_remote_calls_against_project_and_otp_modules(project):
    p = project(
        {
            "src/a.erl": """\
-module(a).
-export([f/1]).
-define(PEER, b).
f(M) ->
    b:known(), b:known(1), b:hidden(), ?PEER:known(),
    lists:reverse([]), lists:reverse(1, 2, 3), erlang:length([]),
    nosuchmod:f(), M:anything(), fun b:known/0, a:f(1), ?MODULE:f(2),
    b:module_info().
""",
            "src/b.erl": (
                "-module(b).\n-export([known/0]).\nknown() -> hidden().\nhidden() -> ok.\n"
            ),
        }
    )
    found = {(d.code, d.line, d.column) for d in p.diagnostics("src/a.erl")}
    assert found == {
        ("H0300", 4, 15),  # b:known/1
        ("H0300", 4, 27),  # b:hidden/0
        ("H0300", 5, 23),  # lists:reverse/3
        ("H0301", 6, 4),  # nosuchmod
    }


def test_behaviour_callbacks(project):
    p = project(
        {
            "src/srv.erl": """\
-module(srv).
-behaviour(gen_server).
-behaviour(my_behaviour).
-behaviour(no_such_behaviour).
-export([init/1, handle_call/2, cb/0]).
init(_) -> ok.
handle_call(_, _) -> ok.
handle_cast(_, _) -> ok.
cb() -> ok.
""",
            "src/my_behaviour.erl": """\
-module(my_behaviour).
-callback cb() -> ok.
-callback extra(term()) -> ok.
-optional_callbacks([extra/1]).
""",
        }
    )
    diagnostics = [d for d in p.diagnostics("src/srv.erl") if d.code in ("H0302", "H0301")]
    messages = sorted((d.line, d.message) for d in diagnostics)
    assert messages == [
        (
            1,
            "callback handle_call/3 of behaviour gen_server is not defined (handle_call is "
            "defined with arity 2)",
        ),
        (
            1,
            "callback handle_cast/2 of behaviour gen_server is defined but not exported: add "
            "it to -export",
        ),
        (
            3,
            "behaviour no_such_behaviour is undefined: no module of the project, its "
            "dependencies or OTP is called that",
        ),
    ]


def test_macro_arguments_a_macro_drops_are_not_calls(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/0]).
-ifdef(DEBUG).
-define(ASSERT(E), true = E).
-define(DBG(F, A), io:format(F, A)).
-else.
-define(ASSERT(E), ok).
-define(DBG(F, A), ?ASSERT(A)).
-endif.
-define(PASS(N), {N, fun N/1}).
f() -> ?ASSERT(check()), ?DBG("~p", [nosuch:call()]), ?PASS(step).
step(X) -> X.
"""
        }
    )
    assert p.diagnostics("src/m.erl") == ()


def test_functions_defined_by_a_macro_form(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([config/0, fields/1]).
-define(TABLE(Name), Name() -> table(Name)).
-define(FIELDS(T), fields(T) -> {T}).
?TABLE(config).
fields(a) -> a;
?FIELDS(b).
table(N) -> N.
"""
        }
    )
    assert p.diagnostics("src/m.erl") == ()


def test_calls_in_record_defaults_count_as_uses(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([new/0]).
-record(st, {keys = default_keys() :: list()}).
new() -> #st{}.
default_keys() -> [].
"""
        }
    )
    assert p.diagnostics("src/m.erl") == ()


def test_parse_transforms_holo_does_not_know_silence_function_checks(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-compile({parse_transform, some_transform}).
-export([f/0]).
f() -> generated(), lager:info("x").
"""
        }
    )
    assert p.diagnostics("src/m.erl") == ()


def test_project_diagnostics_cover_duplicates_and_headers_once(project):
    from holo.queries.project_check import project_diagnostics

    p = project(
        {
            "src/a.erl": '-module(a).\n-include("bad.hrl").\n',
            "src/b.erl": '-module(b).\n-include("bad.hrl").\n',
            "test/a.erl": "-module(a).\n",
            "include/bad.hrl": "-define(X, (1).\n",
        }
    )
    result = project_diagnostics(p.db)
    assert result.modules == 2
    assert [(d.path, d.code) for d in result.diagnostics] == [
        ("include/bad.hrl", "H0100"),
        ("test/a.erl", "H0218"),
    ]


def test_a_duplicate_module_is_reported_at_its_module_attribute(project):
    from holo.queries.project_check import project_diagnostics

    p = project(
        {
            "src/a.erl": "-module(a).\n",
            "test/a.erl": "%% a copy\n\n  -module(a).\n",
        }
    )
    (d,) = project_diagnostics(p.db).diagnostics
    assert (d.path, d.code, d.line, d.column, d.end_line, d.end_column) == (
        "test/a.erl",
        "H0218",
        2,
        2,
        2,
        13,
    )
    assert "src/a.erl" in d.message


def test_imported_calls_are_checked_against_the_module_they_come_from(project):
    p = project(
        {
            "src/a.erl": """\
-module(a).
-export([f/0]).
-import(lists, [reverse/1, nosuch/1]).
-import(b, [known/0, hidden/0]).
-import(nomod, [g/0]).
-define(CALL, hidden()).
f() ->
    reverse([]), nosuch(1), known(), hidden(), g(), ?CALL.
""",
            "src/b.erl": "-module(b).\n-export([known/0]).\nknown() -> ok.\nhidden() -> ok.\n",
        }
    )
    found = {(d.code, d.line, d.column): d.message for d in p.diagnostics("src/a.erl")}
    assert set(found) == {
        ("H0300", 7, 17),  # nosuch(1): lists does not export it
        ("H0300", 7, 37),  # hidden(): b does not export it
        ("H0301", 7, 47),  # g(): no module nomod
        ("H0300", 7, 52),  # hidden() again, through ?CALL
    }
    assert found[("H0300", 7, 17)].startswith(
        "lists:nosuch/1 is not exported by lists (imported with -import(lists, [...]))"
    )
    assert "(called by macro ?CALL, imported with -import(b, [...]))" in found[("H0300", 7, 52)]


def test_a_fun_naming_an_imported_function_is_undefined(project):
    # erlc: "function reverse/1 undefined"; 'fun f/N' names local functions and BIFs only.
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/0]).
-import(lists, [reverse/1]).
f() -> {fun reverse/1, fun length/1, reverse([])}.
"""
        }
    )
    (d,) = p.diagnostics("src/m.erl")
    assert (d.code, d.line, d.column) == ("H0210", 3, 12)
    assert d.message.endswith("write 'fun lists:reverse/1'")


def test_an_unexported_otp_function_gets_close_names_or_a_spelling_hint(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/0]).
f() -> {lists:revers([]), lists:zzzqqq(), lists:reverse(1, 2, 3)}.
"""
        }
    )
    messages = [d.message for d in p.diagnostics("src/m.erl")]
    assert messages == [
        "lists:revers/1 is not exported by lists; check the spelling: lists exports "
        "reverse/1, reverse/2",
        "lists:zzzqqq/0 is not exported by lists; check the spelling: lists exports no "
        "function with a similar name",
        "lists:reverse/3 is not exported by lists; it exports reverse/1, 2",
    ]


def test_is_record_with_a_literal_name_uses_the_record(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/1]).
-record(r, {a}).
f(X) when is_record(X, nope) -> erlang:is_record(X, gone);
f(X) -> {is_record(X, r), is_record(X, undeclared, 3)}.
"""
        }
    )
    # is_record/3 names the size itself: erlc needs no definition for it.
    assert {(d.code, d.line, d.column) for d in p.diagnostics("src/m.erl")} == {
        ("H0202", 3, 23),
        ("H0202", 3, 52),
    }


def test_a_bad_reference_is_reported_at_the_start_of_the_file_with_a_warning(project, caplog):
    from holo.queries.locate import Trees

    p = project({"src/m.erl": "-module(m).\n"})
    with caplog.at_level("WARNING", logger="holo.queries.locate"):
        assert Trees(p.db).at("src/m.erl", "clause", 3, "head") == (0, 0, 0, 0)
        assert Trees(p.db).at("src/m.erl", "attr", 0, "form") == (0, 0, 0, 11)
    (record,) = caplog.records
    assert "src/m.erl clause[3].head" in record.getMessage()
