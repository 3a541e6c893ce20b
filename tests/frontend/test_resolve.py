"""Resolution: conditional compilation, include resolution and macro/record-use tracking."""

from __future__ import annotations

from holo.inputs import MacroOption
from holo.queries import function_fingerprints, module_level_fingerprint, resolve
from tests.frontend.helpers import app_model


def _functions(p, path: str = "src/m.erl", profile: str = "default") -> set[str]:
    resolved = resolve(p.db, path, profile)
    return {f"{f.name}/{f.arity}" for f in resolved.functions}


CONDITIONAL = """\
-module(m).
-export([]).
-ifdef(TEST).
in_test() -> ok.
-else.
not_test() -> ok.
-endif.
-ifndef(TEST).
-define(MODE, prod).
-else.
-define(MODE, test).
-endif.
-if(?OTP_RELEASE >= 21).
modern() -> ?MODE.
-elif(?OTP_RELEASE >= 19).
older() -> ok.
-else.
ancient() -> ok.
-endif.
-if(defined(TEST) andalso not defined(NOPE)).
both() -> ok.
-endif.
-if(?MODE == test).
mode_test() -> ok.
-endif.
-ifdef(OUTER).
-ifdef(TEST).
nested() -> ok.
-endif.
-else.
-if(1 + 1 =:= 2 andalso is_atom(x)).
guarded() -> ok.
-endif.
-endif.
"""


def test_conditional_compilation_follows_the_profile(project):
    p = project({"src/m.erl": CONDITIONAL})
    assert _functions(p) == {"not_test/0", "modern/0"}
    assert _functions(p, profile="test") == {"in_test/0", "modern/0", "both/0", "mode_test/0"}


def test_a_condition_holo_cannot_evaluate_is_false_and_reported(project):
    p = project({"src/m.erl": CONDITIONAL})
    infos = [d for d in p.diagnostics("src/m.erl") if d.code == "H0204"]
    assert [(d.line, d.severity.value) for d in infos] == [(30, "info")]
    assert infos[0].message == (
        "holo cannot evaluate this condition and treats it as false (it calls a function or "
        "builds a term, which holo does not evaluate): if the code it guards matters, write "
        "the condition with literals, one-literal macros, defined(Name), comparisons and "
        "boolean operators, or use -ifdef with a macro set in erl_opts"
    )
    assert "guarded/0" not in _functions(p)


def test_a_condition_on_an_undefined_macro_says_where_to_define_it(project):
    p = project({"src/m.erl": "-module(m).\n-if(?LEVEL > 2).\n-endif.\n"})
    (d,) = p.diagnostics("src/m.erl")
    assert (d.code, d.line) == ("H0204", 1)
    assert d.message == (
        "holo cannot evaluate this condition and treats it as false: ?LEVEL is not defined "
        "here; define it before this line (in the module, a header, or erl_opts "
        "{d, 'LEVEL', Value}), or test it with -ifdef(LEVEL)"
    )


def test_erl_opts_macros_and_unbalanced_conditionals(project):
    apps = (app_model(macros=(MacroOption("FEATURE", None), MacroOption("LEVEL", "3"))),)
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/0]).
-ifdef(FEATURE).
-if(?LEVEL > 2).
f() -> on.
-endif.
-endif.
-endif.
-ifdef(NEVER_CLOSED).
""",
        },
        apps=apps,
    )
    assert _functions(p) == {"f/0"}
    assert {(d.code, d.line) for d in p.diagnostics("src/m.erl")} == {("H0205", 7), ("H0205", 8)}


def test_include_resolution(project):
    p = project(
        {
            "src/m.erl": """\
-module(m).
-export([f/0]).
-include("local.hrl").
-include("shared.hrl").
-include("../include/shared.hrl").
-include_lib("kernel/include/file.hrl").
-include_lib("other/include/other.hrl").
-include_lib("nope/include/nope.hrl").
f() -> {?LOCAL, ?SHARED, ?NESTED, #file_info{}, ?OTHER}.
""",
            "src/local.hrl": "-define(LOCAL, 1).\n",
            "include/shared.hrl": '-define(SHARED, 2).\n-include("nested.hrl").\n',
            "include/nested.hrl": '-define(NESTED, 3).\n-include("shared.hrl").\n',
            "apps/other/include/other.hrl": "-define(OTHER, 4).\n",
        },
        apps=(app_model(), app_model("other", "apps/other")),
    )
    resolved = resolve(p.db, "src/m.erl", "default")
    file_hrl = [h for h in resolved.includes if h.endswith("/include/file.hrl")]
    assert resolved.includes == (
        "src/local.hrl",
        "include/shared.hrl",
        "include/nested.hrl",
        *file_hrl,
        "apps/other/include/other.hrl",
    )
    assert len(file_hrl) == 1 and file_hrl[0].startswith("/")
    (missing,) = p.diagnostics("src/m.erl")
    assert (missing.code, missing.line) == ("H0200", 7)


def test_a_header_appearing_later_resolves_the_include(project):
    p = project({"src/m.erl": '-module(m).\n-include("late.hrl").\n'})
    assert {d.code for d in p.diagnostics("src/m.erl")} == {"H0200"}
    p.write("include/late.hrl", "-define(LATE, 1).\n")
    assert p.diagnostics("src/m.erl") == ()


MODULE = """\
-module(m).
-include("defs.hrl").
-export([a/0, b/0, c/0]).
a() -> ?A.
b() -> ?B(1).
c() -> #rec{}.
"""


def _fingerprints(p) -> dict[str, bytes]:
    return {f"{n}/{a}": fp for (n, a), fp in function_fingerprints(p.db, "src/m.erl", "default")}


def test_function_fingerprints_track_the_definitions_each_function_uses(project):
    header = "-define(A, 1).\n-define(B(X), X + ?INNER).\n-define(INNER, 2).\n-record(rec, {f})."
    p = project({"src/m.erl": MODULE, "include/defs.hrl": header})
    before = _fingerprints(p)
    resolved_before = resolve(p.db, "src/m.erl", "default")

    # A macro nobody uses, a comment, and moved lines: nothing the module uses changed.
    p.write("include/defs.hrl", "%% new\n-define(UNUSED, 0).\n\n" + header)
    assert _fingerprints(p) == before
    assert resolve(p.db, "src/m.erl", "default") == resolved_before

    # A macro b/0 uses only through ?B: only b/0 changes.
    p.write("include/defs.hrl", header.replace("(INNER, 2)", "(INNER, 3)"))
    after = _fingerprints(p)
    assert {k for k in before if before[k] != after[k]} == {"b/0"}

    # The record c/0 builds.
    p.write("include/defs.hrl", header.replace("{f}", "{f, g}"))
    after = _fingerprints(p)
    assert {k for k in before if before[k] != after[k]} == {"c/0"}


def test_function_uses_are_listed_by_identity(project):
    header = "-define(A, 1).\n-define(B(X), X + ?INNER).\n-define(INNER, 2).\n-record(rec, {f})."
    p = project({"src/m.erl": MODULE, "include/defs.hrl": header})
    resolved = resolve(p.db, "src/m.erl", "default")
    b = resolved.function("b", 0)
    assert {(file, name, arity) for file, name, arity, _ in b.macros} == {
        ("include/defs.hrl", "B", 1),
        ("include/defs.hrl", "INNER", -1),
    }
    c = resolved.function("c", 0)
    assert [(file, name) for file, name, _ in c.records] == [("include/defs.hrl", "rec")]
    assert resolved.function("a", 0).records == ()


def test_module_level_fingerprint(project):
    p = project({"src/m.erl": "-module(m).\n-export([f/0]).\nf() -> ok.\n"})
    before = module_level_fingerprint(p.db, "src/m.erl", "default")
    p.write("src/m.erl", "-module(m).\n-export([f/0]).\nf() -> changed.\n")
    assert module_level_fingerprint(p.db, "src/m.erl", "default") == before
    p.write("src/m.erl", "-module(m).\n-export([f/0]).\n-on_load(f/0).\nf() -> changed.\n")
    assert module_level_fingerprint(p.db, "src/m.erl", "default") != before


def test_is_record_makes_a_function_depend_on_the_record_definition(project):
    from holo.queries.codegen import compile_key

    module = """\
-module(m).
-include("defs.hrl").
-export([guard/1, body/1, remote/1, sized/1, other/0]).
guard(X) when is_record(X, rec) -> yes;
guard(_) -> no.
body(X) -> is_record(X, rec).
remote(X) -> erlang:is_record(X, rec).
sized(X) -> is_record(X, rec, 2).
other() -> ok.
"""
    p = project({"src/m.erl": module, "include/defs.hrl": "-record(rec, {f})."})
    before = _fingerprints(p)
    key = compile_key(p.db, "src/m.erl", "default")
    p.write("include/defs.hrl", "-record(rec, {f, g}).")
    after = _fingerprints(p)
    # The compiler turns is_record(X, rec) into a test of rec's size; is_record/3
    # is given the size, so it does not depend on the definition.
    assert {k for k in before if before[k] != after[k]} == {"guard/1", "body/1", "remote/1"}
    assert compile_key(p.db, "src/m.erl", "default") != key


def _level(p) -> bytes:
    return module_level_fingerprint(p.db, "src/m_tests.erl", "test")


def test_module_level_fingerprint_covers_every_attribute_that_reaches_the_beam(project):
    source = """\
-module(m_tests).
-include("attrs.hrl").
-vsn("1").
-my_attr(1).
-dialyzer({nowarn_function, f/0}).
-spec f() -> ok.
-export([f/0]).
f() -> ok.
"""
    header = "-team(?TEAM).\n-define(TEAM, a)."
    p = project({"src/m_tests.erl": source, "include/attrs.hrl": header})
    before = _level(p)
    edits = {
        "vsn": source.replace('-vsn("1")', '-vsn("2")'),
        "user attribute": source.replace("-my_attr(1)", "-my_attr(2)"),
        "dialyzer": source.replace("{nowarn_function, f/0}", "no_return"),
        "new attribute": source + "-owner(me).\n",
    }
    for what, text in edits.items():
        p.write("src/m_tests.erl", text)
        assert _level(p) != before, what
    p.write("src/m_tests.erl", source)
    assert _level(p) == before

    # An attribute a header adds counts, with the macros its value uses.
    p.write("include/attrs.hrl", "-team(?TEAM).\n-define(TEAM, b).")
    assert _level(p) == before  # ?TEAM is defined after the attribute: undefined there
    p.write("include/attrs.hrl", "-define(TEAM, b).\n-team(?TEAM).")
    changed = _level(p)
    assert changed != before
    p.write("include/attrs.hrl", "-define(TEAM, c).\n-team(?TEAM).")
    assert _level(p) != changed

    # Specs and layout are not attributes of the BEAM file.
    p.write("include/attrs.hrl", "-define(TEAM, c).\n-team(?TEAM).")
    level = _level(p)
    p.write("src/m_tests.erl", source.replace("-spec f() -> ok.", "-spec f() -> atom()."))
    assert _level(p) == level
    p.write("src/m_tests.erl", source.replace('-vsn("1").', '-vsn(\n  "1"\n).'))
    assert _level(p) == level


def test_module_level_fingerprint_covers_the_tests_a_module_defines(project):
    source = """\
-module(m_tests).
-include_lib("eunit/include/eunit.hrl").
a_test() -> ok.
helper() -> ok.
"""
    p = project({"src/m_tests.erl": source})
    before = _level(p)
    # A body edit, of a test or not, leaves it equal.
    p.write("src/m_tests.erl", source.replace("a_test() -> ok", "a_test() -> ?assert(true)"))
    assert _level(p) == before
    p.write("src/m_tests.erl", source.replace("helper() -> ok", "helper() -> changed"))
    assert _level(p) == before
    # A new test, test generator or a removed test changes what {module, m_tests} runs.
    for text in (
        source + "b_test() -> ok.\n",
        source + "c_test_() -> [].\n",
        source.replace("a_test() -> ok.\n", ""),
    ):
        p.write("src/m_tests.erl", text)
        assert _level(p) != before
    # A function that is not a test (an arity, a name) does not.
    p.write("src/m_tests.erl", source + "b_test(X) -> X.\ntest_b() -> ok.\n")
    assert _level(p) == before


def test_a_body_edit_gives_the_same_objects_for_the_other_functions(project):
    text = "-module(m).\n-export([a/0, b/1]).\na() -> b(1).\nb(X) -> {X, lists:seq(1, X)}.\n"
    p = project({"src/m.erl": text})
    before = resolve(p.db, "src/m.erl", "default")
    p.write("src/m.erl", text.replace("b(1)", "b(2)"))
    after = resolve(p.db, "src/m.erl", "default")
    fresh = resolve(project({"src/m.erl": text.replace("b(1)", "b(2)")}).db, "src/m.erl", "default")
    assert after == fresh
    assert after.function("a", 0).fingerprint != before.function("a", 0).fingerprint
    # Unchanged functions are the very objects of the last resolution (their
    # encodings are reused), and equal to a resolution from scratch.
    assert after.function("b", 1) is before.function("b", 1)
