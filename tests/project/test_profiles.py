"""rebar3 profiles: the test profile's erl_opts, extra_src_dirs and dependencies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.engine import Database, MemoryStore
from holo.inputs import MacroOption, OtpInfo
from holo.project.discover import discover
from holo.project.erlang_terms import consult
from holo.project.rebar_config import apply_profile_erl_opts
from holo.project.workspace import Workspace
from holo.queries.codegen import codegen, compile_job, compile_key
from holo.queries.project_index import compile_env, module_index, profile_module_path
from holo.session import Session

from .conftest import write_tree


def terms(text: str) -> list[object]:
    [value] = consult(text + ".")
    return value


@pytest.mark.parametrize(
    ("default", "profile", "merged"),
    [
        # The profile's options last, as they are; each default not repeated exactly,
        # once, where it last occurs.
        (
            "[debug_info, {d, 'A'}, warn_x, {d, 'A'}]",
            "[{d, 'B'}, debug_info]",
            "[warn_x, {d, 'A'}, {d, 'B'}, debug_info]",
        ),
        ('[debug_info, {i, "inc"}]', "[]", '[debug_info, {i, "inc"}]'),
        ("[]", "[nowarn_export_all]", "[nowarn_export_all]"),
        # A macro the profile defines replaces the default's definition of it.
        ("[{d, 'LOG', info}, {d, 'X'}]", "[{d, 'LOG', debug}]", "[{d, 'X'}, {d, 'LOG', debug}]"),
    ],
)
def test_profile_erl_opts_merge_as_rebar3_merges_them(
    default: str, profile: str, merged: str
) -> None:
    assert apply_profile_erl_opts(terms(default), terms(profile)) == terms(merged)


def test_the_test_profile_of_a_single_app(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "rebar.config": """
                {erl_opts, [debug_info, {d, 'LEVEL', 1}]}.
                {extra_src_dirs, ["bench"]}.
                {profiles, [
                    {prod, [{erl_opts, [no_debug_info]}]},
                    {test, [{erl_opts, [nowarn_export_all, {d, 'LEVEL', 2}, {i, "test/inc"}]},
                            {extra_src_dirs, ["test/support"]},
                            {deps, [proper]}]}
                ]}.
            """,
            "src/a.erl": "-module(a).\n",
            "test/support/helper.erl": "-module(helper).\n",
            "test/inc/fixtures.hrl": "-define(FIXTURE, 1).\n",
        },
    )
    model = discover(tmp_path).model
    assert model.diagnostics == ()
    [app] = model.apps
    default = app.erl_opts_for("default")
    test = app.erl_opts_for("test")
    assert default is app.erl_opts and model.erl_opts_for("test") == test
    assert default.macros == (MacroOption("LEVEL", "1"),)
    assert test.macros == (MacroOption("LEVEL", "2"),)
    assert test.warnings == ("nowarn_export_all",) and test.include_dirs == ("test/inc",)
    assert terms(test.source) == terms(
        "[debug_info, nowarn_export_all, {d, 'LEVEL', 2}, {i, \"test/inc\"}]"
    )
    assert app.erl_opts_for("prod") == default  # holo compiles with default and test only
    assert model.extra_src_dirs == ("bench", "test/support")
    files = discover(tmp_path).files
    assert "test/support/helper.erl" in files and "test/inc/fixtures.hrl" in files


def test_an_umbrella_apps_test_profile_goes_over_the_top_level_one(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "rebar.config": """
                {erl_opts, [debug_info]}.
                {profiles, [{test, [{erl_opts, [{d, 'TOP'}, export_all]}]}]}.
            """,
            "apps/a/rebar.config": """
                {erl_opts, [{d, 'OWN'}]}.
                {profiles, [{test, [{erl_opts, [{d, 'A_TEST'}, export_all]}]}]}.
            """,
            "apps/a/src/a.app.src": "{application, a, []}.",
            "apps/a/src/a.erl": "-module(a).\n",
            "apps/b/src/b.app.src": "{application, b, []}.",
            "apps/b/src/b.erl": "-module(b).\n",
        },
    )
    model = discover(tmp_path).model
    a, b = model.apps
    assert [m.name for m in a.erl_opts_for("test").macros] == ["OWN", "TOP", "A_TEST"]
    assert terms(a.erl_opts_for("test").source) == terms(
        "[{d, 'OWN'}, debug_info, {d, 'TOP'}, {d, 'A_TEST'}, export_all]"
    )
    assert [m.name for m in b.erl_opts_for("test").macros] == ["TOP"]
    assert [m.name for m in b.erl_opts_for("default").macros] == []


def test_a_malformed_profile_is_a_diagnostic_and_the_rest_applies(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "rebar.config": (
                "{erl_opts, [{d, 'X'}]}.\n"
                "{profiles, [test,\n"
                "            {test, [{erl_opts, debug_info}]}]}.\n"
            ),
            "src/a.erl": "-module(a).\n",
        },
    )
    model = discover(tmp_path).model
    first, second = sorted(model.diagnostics, key=lambda d: d.line)
    assert (first.line, first.column, first.code) == (1, 12, "H0001")
    assert "each profile should be {Name, [Option, ...]}" in first.message
    assert (second.line, second.column) == (2, 12)
    assert second.message == "erl_opts in profile test should be a list, not debug_info; ignored"
    assert model.apps[0].erl_opts_for("test").macros == (MacroOption("X", None),)


TEST_PROFILE_CONFIG = """{erl_opts, [debug_info]}.
{profiles, [{test, [{erl_opts, [{d, 'FIXTURES', "test/fixtures"}]}]}]}.
"""


@pytest.fixture
def profiled(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "proj",
        {
            "rebar.config": TEST_PROFILE_CONFIG,
            "src/proj.app.src": "{application, proj, []}.",
            "src/paths.erl": (
                "-module(paths).\n-export([fixtures/0]).\n"
                "-ifdef(FIXTURES).\nfixtures() -> ?FIXTURES.\n"
                "-else.\nfixtures() -> none.\n-endif.\n"
            ),
            "src/plain.erl": "-module(plain).\n-export([f/0]).\nf() -> ok.\n",
        },
    )


def test_only_test_profile_keys_change_when_only_the_test_profile_does(
    profiled: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    ws = Workspace.open(profiled, Database(), store=otp_store, otp=otp)
    db = ws.db
    paths = ("src/paths.erl", "src/plain.erl")
    profiles = ("default", "test")
    keys = {(p, profile): compile_key(db, p, profile) for p in paths for profile in profiles}
    assert "FIXTURES" in compile_job(db, "src/paths.erl", "test").erl_opts
    assert "FIXTURES" not in compile_job(db, "src/paths.erl", "default").erl_opts
    config = profiled / "rebar.config"
    config.write_text(TEST_PROFILE_CONFIG.replace('"test/fixtures"', '"test/data"'))
    assert ws.apply_changes([config]).project_changed
    for p in paths:
        assert compile_key(db, p, "default") == keys[(p, "default")]
        assert compile_key(db, p, "test") != keys[(p, "test")]
    assert "test/data" in compile_env(db, "src/paths.erl", "test").erl_opts


@pytest.fixture
def session(profiled: Path, tmp_path: Path) -> Iterator[Session]:
    with Session(profiled, tmp_path / "cache") as s:
        yield s


def test_the_compiler_gets_the_test_profiles_options_and_test_dependencies(
    session: Session, profiled: Path
) -> None:
    write_tree(
        profiled,
        {
            "src/paths.erl": (
                "-module(paths).\n-export([fixtures/0, prop/0]).\n"
                "fixtures() -> ?FIXTURES.\n"
                '-ifdef(TEST).\n-include_lib("propcheck/include/propcheck.hrl").\n'
                "prop() -> ?PROPCHECK_VERSION.\n-else.\nprop() -> none.\n-endif.\n"
            ),
            "_build/test/lib/propcheck/src/propcheck.app.src": "{application, propcheck, []}.",
            "_build/test/lib/propcheck/src/propcheck.erl": "-module(propcheck).\n",
            "_build/test/lib/propcheck/include/propcheck.hrl": "-define(PROPCHECK_VERSION, 3).\n",
        },
    )
    ws = session.workspace
    lib_dir = profiled / "_build/test/lib/propcheck"
    ws.apply_changes([profiled / "src/paths.erl", lib_dir / "src/propcheck.app.src", lib_dir])
    db = session.db
    session.compiler  # noqa: B018 - registers the compiler service
    [dep] = [a for a in ws.project.model.apps if a.name == "propcheck"]
    assert dep.is_dependency and dep.profiles == ("test",)
    dep_module = "_build/test/lib/propcheck/src/propcheck.erl"
    assert profile_module_path(db, "propcheck", "test") == dep_module
    assert profile_module_path(db, "propcheck", "default") is None
    assert profile_module_path(db, "paths", "default") == "src/paths.erl"
    [entry] = [m for m in module_index(db) if m.module == "propcheck"]
    assert entry.is_test and not entry.in_profile("default")
    lib = ("propcheck", "_build/test/lib/propcheck")
    assert lib in compile_env(db, "src/paths.erl", "test").lib_dirs
    assert lib not in compile_env(db, "src/paths.erl", "default").lib_dirs

    test_result = codegen(db, "src/paths.erl", "test")
    assert test_result.ok, test_result.diagnostics
    default_result = codegen(db, "src/paths.erl", "default")
    assert not default_result.ok
    assert any("FIXTURES" in d.message for d in default_result.errors)
