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
    assert "guarded/0" not in _functions(p)


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
