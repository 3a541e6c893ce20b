"""Project discovery: rebar3 (single app, umbrella, checkouts, fetched deps), erlang.mk, plain."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from holo.diagnostics import Severity
from holo.errors import UserError
from holo.inputs import ErlOpts, MacroOption
from holo.project.discover import discover
from holo.project.erlang_terms import consult, format_term

from .conftest import EXAMPLE_SHOP, write_tree

MODULE = "-module({name}).\n-export([f/0]).\nf() -> ok.\n"


def test_single_app_rebar3_project(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "rebar.config": """
                {erl_opts, [debug_info, warnings_as_errors, warn_unused_vars, nowarn_export_all,
                            {i, "inc"}, {d, 'TEST'}, {d, 'LIMIT', {10, "ten"}},
                            {parse_transform, lager_transform}, report]}.
                {extra_src_dirs, ["bench", {"props", [{recursive, true}]}]}.
            """,
            "src/calc.app.src": '{application, calc, [{vsn, "1"}]}.',
            "src/calc.erl": MODULE.format(name="calc"),
            "src/ops/calc_add.erl": MODULE.format(name="calc_add"),
            "src/notes.txt": "not a source",
            "include/calc.hrl": "-define(X, 1).",
            "inc/extra.hrl": "-define(Y, 2).",
            "inc/ignored.erl": MODULE.format(name="ignored"),
            "test/calc_tests.erl": MODULE.format(name="calc_tests"),
            "test/data/broken_on_purpose.erl": "this is not erlang",
            "bench/calc_bench.erl": MODULE.format(name="calc_bench"),
            "bench/deep/skipped.erl": MODULE.format(name="skipped"),
            "props/deep/prop_calc.erl": MODULE.format(name="prop_calc"),
            "scripts/tool.erl": MODULE.format(name="tool"),
            "_build/default/lib/calc/src/calc.erl": MODULE.format(name="calc"),
            "_build/holo/out/calc.erl": MODULE.format(name="calc"),
            "_build/test/lib/calc/src/calc.erl": MODULE.format(name="calc"),
        },
    )
    project = discover(tmp_path)
    model = project.model
    assert project.root == tmp_path.resolve()
    assert model.kind == "rebar3"
    assert model.diagnostics == ()
    assert model.extra_src_dirs == ("bench", "props")
    [app] = model.apps
    assert (app.name, app.dir, app.app_src, app.is_dependency) == (
        "calc", "", "src/calc.app.src", False
    )  # fmt: skip
    assert (app.src_dirs, app.include_dirs, app.test_dirs) == (("src",), ("include",), ("test",))
    opts = app.erl_opts
    assert opts == model.erl_opts
    assert opts.include_dirs == ("inc",)
    assert opts.macros == (MacroOption("TEST", None), MacroOption("LIMIT", '{10, "ten"}'))
    assert opts.parse_transforms == ("lager_transform",)
    assert opts.debug_info is True
    assert opts.warnings == ("warnings_as_errors", "warn_unused_vars", "nowarn_export_all")
    assert consult(opts.source + ".")[0][-1] == consult("report.")[0]
    assert project.files == (
        "bench/calc_bench.erl",
        "inc/extra.hrl",
        "include/calc.hrl",
        "props/deep/prop_calc.erl",
        "src/calc.erl",
        "src/ops/calc_add.erl",
        "test/calc_tests.erl",
    )


def test_erl_opts_source_is_the_whole_list_as_erlang_text(tmp_path: Path) -> None:
    config = "{erl_opts, [no_debug_info, {d, 'V', <<\"x\">>}, {platform_define, \"^2\", 'P'}]}."
    write_tree(tmp_path, {"rebar.config": config, "src/a.erl": MODULE.format(name="a")})
    opts = discover(tmp_path).model.erl_opts
    assert opts.debug_info is False
    assert opts.macros == (MacroOption("V", '<<"x">>'),)
    assert consult(opts.source + ".") == [consult(config)[0][1]]
    assert opts.source == format_term(consult(config)[0][1])


def test_defaults_without_erl_opts(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rebar.config": "{deps, []}.", "src/a.erl": MODULE.format(name="a")})
    project = discover(tmp_path)
    assert project.model.erl_opts == ErlOpts()
    [app] = project.model.apps
    assert app.name == tmp_path.name and app.app_src is None
    assert project.files == ("src/a.erl",)


def test_umbrella_project_with_per_app_rebar_config(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "rebar.config": "{erl_opts, [debug_info, {d, 'TOP'}, {d, 'A', 2}, {i, \"common\"}]}.",
            "common/shared.hrl": "",
            "apps/alpha/rebar.config": "{erl_opts, [{d, 'A'}, {i, \"priv_inc\"}]}.\n"
            '{extra_src_dirs, ["tools"]}.',
            "apps/alpha/src/alpha.app.src": "{application, alpha, []}.",
            "apps/alpha/src/alpha.erl": MODULE.format(name="alpha"),
            "apps/alpha/priv_inc/p.hrl": "",
            "apps/alpha/tools/alpha_tool.erl": MODULE.format(name="alpha_tool"),
            "apps/alpha/test/alpha_tests.erl": MODULE.format(name="alpha_tests"),
            "apps/beta/src/beta.app.src": "{application, beta, []}.",
            "apps/beta/src/beta.erl": MODULE.format(name="beta"),
            "apps/beta/include/beta.hrl": "",
            "apps/docs_only/README.md": "no src: not an app",
            "lib/gamma/src/gamma.erl": MODULE.format(name="gamma"),
        },
    )
    project = discover(tmp_path)
    model = project.model
    assert model.kind == "rebar3"
    assert [(a.name, a.dir) for a in model.apps] == [
        ("alpha", "apps/alpha"), ("beta", "apps/beta"), ("gamma", "lib/gamma"),
    ]  # fmt: skip
    alpha, beta, gamma = model.apps
    assert alpha.src_dirs == ("apps/alpha/src",)
    assert alpha.include_dirs == ("apps/alpha/include",)
    assert alpha.test_dirs == ("apps/alpha/test",)
    assert alpha.app_src == "apps/alpha/src/alpha.app.src"
    # The app's own options come first and win; {i, Dir} is rebased to the project root.
    assert alpha.erl_opts.macros == (MacroOption("A", None), MacroOption("TOP", None))
    assert alpha.erl_opts.include_dirs == ("apps/alpha/priv_inc", "common")
    assert '{i, "apps/alpha/priv_inc"}' in alpha.erl_opts.source
    assert beta.erl_opts == model.erl_opts == gamma.erl_opts
    assert model.erl_opts.macros == (MacroOption("TOP", None), MacroOption("A", "2"))
    assert model.extra_src_dirs == ("apps/alpha/tools",)
    assert project.files == (
        "apps/alpha/priv_inc/p.hrl",
        "apps/alpha/src/alpha.erl",
        "apps/alpha/test/alpha_tests.erl",
        "apps/alpha/tools/alpha_tool.erl",
        "apps/beta/include/beta.hrl",
        "apps/beta/src/beta.erl",
        "common/shared.hrl",
        "lib/gamma/src/gamma.erl",
    )
    assert project.app_of("apps/beta/src/beta.erl") == beta
    assert project.app_of("rebar.config") is None


def test_checkouts_are_user_apps_and_build_deps_are_dependencies(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "rebar.config": "{erl_opts, [{d, 'ROOT_ONLY'}]}.\n{deps, [cowlib, mylib]}.",
            "src/web.app.src": "{application, web, []}.",
            "src/web.erl": MODULE.format(name="web"),
            "_checkouts/mylib/src/mylib.app.src": "{application, mylib, []}.",
            "_checkouts/mylib/src/mylib.erl": MODULE.format(name="mylib"),
            "_checkouts/mylib/test/mylib_tests.erl": MODULE.format(name="mylib_tests"),
            "_build/default/lib/cowlib/rebar.config": "{erl_opts, [{d, 'COW'}]}.",
            "_build/default/lib/cowlib/src/cowlib.app.src": "{application, cowlib, []}.",
            "_build/default/lib/cowlib/src/cow_http.erl": MODULE.format(name="cow_http"),
            "_build/default/lib/cowlib/include/cow.hrl": "",
            "_build/default/lib/cowlib/test/cow_tests.erl": MODULE.format(name="cow_tests"),
            "_build/default/lib/cowlib/ebin/cowlib.app": "{application, cowlib, []}.",
            # rebar3's copies of project and checkout apps are not sources
            "_build/default/lib/web/src/web.erl": MODULE.format(name="web"),
            "_build/default/lib/mylib/src/mylib.erl": MODULE.format(name="mylib"),
            "_build/default/plugins/rebar3_hex/src/rebar3_hex.erl": MODULE.format(name="x"),
            "_build/test/lib/cowlib/src/cow_http.erl": MODULE.format(name="cow_http"),
        },
    )
    project = discover(tmp_path)
    apps = {a.name: a for a in project.model.apps}
    assert list(apps) == ["web", "mylib", "cowlib"]
    assert apps["mylib"].dir == "_checkouts/mylib" and not apps["mylib"].is_dependency
    assert apps["mylib"].test_dirs == ("_checkouts/mylib/test",)
    cowlib = apps["cowlib"]
    assert cowlib.is_dependency and cowlib.dir == "_build/default/lib/cowlib"
    assert cowlib.test_dirs == ()
    assert cowlib.erl_opts.macros == (MacroOption("COW", None),)  # its own, not the root's
    assert project.files == (
        "_build/default/lib/cowlib/include/cow.hrl",
        "_build/default/lib/cowlib/src/cow_http.erl",
        "_checkouts/mylib/src/mylib.erl",
        "_checkouts/mylib/test/mylib_tests.erl",
        "src/web.erl",
    )
    assert project.is_dependency_file("_build/default/lib/cowlib/src/cow_http.erl")
    assert not project.is_dependency_file("_checkouts/mylib/src/mylib.erl")
    assert not project.is_dependency_file("src/web.erl")


def test_project_app_linked_into_build_dir_is_not_a_dependency(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "rebar.config": "",
            "apps/core/src/core.app.src": "{application, core, []}.",
            "apps/core/src/core.erl": MODULE.format(name="core"),
        },
    )
    (tmp_path / "_build/default/lib").mkdir(parents=True)
    # rebar3 links umbrella apps into _build under a name that need not match.
    os.symlink(tmp_path / "apps/core", tmp_path / "_build/default/lib/core_link")
    project = discover(tmp_path)
    assert [a.name for a in project.model.apps] == ["core"]
    assert project.files == ("apps/core/src/core.erl",)


def test_erlang_mk_project(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "Makefile": "PROJECT = web\nPROJECT_VERSION = 1.0\n"
            "ERLC_OPTS = +debug_info -DPROD -DLEVEL=3 \\\n  +warn_unused_vars -I inc\n"
            "DEPS = cowboy\n\ninclude erlang.mk\n",
            "src/web_app.erl": MODULE.format(name="web_app"),
            "include/web.hrl": "",
            "test/web_SUITE.erl": MODULE.format(name="web_SUITE"),
            "deps/cowboy/Makefile": "PROJECT = cowboy\ninclude erlang.mk\n",
            "deps/cowboy/src/cowboy.erl": MODULE.format(name="cowboy"),
            "deps/ranch/rebar.config": "{erl_opts, [{d, 'RANCH'}]}.",
            "deps/ranch/src/ranch.erl": MODULE.format(name="ranch"),
        },
    )
    project = discover(tmp_path)
    model = project.model
    assert model.kind == "erlang.mk"
    assert [(a.name, a.dir, a.is_dependency) for a in model.apps] == [
        ("web", "", False), ("cowboy", "deps/cowboy", True), ("ranch", "deps/ranch", True),
    ]  # fmt: skip
    web = model.apps[0]
    assert web.erl_opts.macros == (MacroOption("PROD", None), MacroOption("LEVEL", "3"))
    assert web.erl_opts.include_dirs == ("inc",)
    assert web.erl_opts.warnings == ("warn_unused_vars",)
    assert model.apps[2].erl_opts.macros == (MacroOption("RANCH", None),)
    # erlang.mk's default ERLC_OPTS (with -Werror) apply where the Makefile sets none
    assert model.apps[1].erl_opts.warnings[0] == "warnings_as_errors"
    assert project.files == (
        "deps/cowboy/src/cowboy.erl",
        "deps/ranch/src/ranch.erl",
        "include/web.hrl",
        "src/web_app.erl",
        "test/web_SUITE.erl",
    )


def test_erlang_mk_file_alone_marks_the_project(tmp_path: Path) -> None:
    write_tree(tmp_path, {"erlang.mk": "# bootstrap", "src/tiny.erl": MODULE.format(name="tiny")})
    project = discover(tmp_path)
    assert project.model.kind == "erlang.mk"
    assert project.model.apps[0].erl_opts.warnings[0] == "warnings_as_errors"


def test_plain_directory_of_erl_files(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a.erl": MODULE.format(name="a"),
            "a.hrl": "",
            "src/b.erl": MODULE.format(name="b"),
            "sub/c.erl": MODULE.format(name="c"),
        },
    )
    project = discover(tmp_path)
    model = project.model
    assert model.kind == "plain"
    [app] = model.apps
    assert app.src_dirs == ("", "src") and app.erl_opts == ErlOpts()
    assert project.files == ("a.erl", "a.hrl", "src/b.erl")


def test_empty_directory_is_a_plain_project_with_conventional_dirs(tmp_path: Path) -> None:
    project = discover(tmp_path)
    assert project.model.kind == "plain" and project.files == ()
    assert project.is_source("src/new.erl") and project.is_source("new.erl")
    assert not project.is_source("src/new.txt")


def test_app_src_without_rebar_config_is_rebar3(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {"src/x.app.src": "{application, x, []}.", "src/x.erl": MODULE.format(name="x")},
    )
    assert discover(tmp_path).model.kind == "rebar3"


def test_the_example_shop_project() -> None:
    project = discover(EXAMPLE_SHOP)
    model = project.model
    assert model.kind == "rebar3" and model.diagnostics == ()
    [app] = model.apps
    assert (app.name, app.app_src) == ("shop", "src/shop.app.src")
    assert MacroOption("SHOP_CURRENCY", '"EUR"') in app.erl_opts.macros
    assert app.erl_opts.include_dirs == ("include",)
    assert project.files == (
        "include/shop.hrl",
        "src/shop_app.erl",
        "src/shop_cart.erl",
        "src/shop_inventory.erl",
        "src/shop_pricing.erl",
        "src/shop_sup.erl",
        "test/shop_cart_tests.erl",
        "test/shop_pricing_tests.erl",
    )


BROKEN_CONFIG = """%% a typo on line 3
{erl_opts, [debug_info,
            {d, 'X' 1}]}.
{deps, []}.
"""


def test_broken_rebar_config_is_a_diagnostic_and_discovery_goes_on(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "rebar.config": BROKEN_CONFIG,
            "src/app.app.src": "{application, app, []}.",
            "src/app.erl": MODULE.format(name="app"),
        },
    )
    project = discover(tmp_path)
    [diag] = project.model.diagnostics
    assert (diag.path, diag.code, diag.severity, diag.source) == (
        "rebar.config", "H0001", Severity.ERROR, "holo"
    )  # fmt: skip
    # `1` is at line 3, column 21 (1-based); the record is 0-based.
    assert (diag.line, diag.column) == (2, 20)
    assert "rebar.config does not parse" in diag.message and "found '1'" in diag.message
    assert project.model.erl_opts == ErlOpts()
    assert [a.name for a in project.model.apps] == ["app"]
    assert project.files == ("src/app.erl",)


def test_broken_umbrella_config_is_a_diagnostic_and_a_broken_app_src_is_not(
    tmp_path: Path,
) -> None:
    # .app.src problems are reported by the app_resource query, which reads its text.
    write_tree(
        tmp_path,
        {
            "rebar.config": "%% erl_opts below\n{deps, []}.\n  { erl_opts, debug_info}.",
            "apps/a/rebar.config": "{erl_opts, [}.",
            "apps/a/src/a.app.src": '{application, a, [{vsn, "1"}.',
            "apps/a/src/a.erl": MODULE.format(name="a"),
        },
    )
    project = discover(tmp_path)
    by_path = {(d.path, d.code): d for d in project.model.diagnostics}
    assert set(by_path) == {("rebar.config", "H0001"), ("apps/a/rebar.config", "H0001")}
    shape = by_path[("rebar.config", "H0001")]
    assert (shape.line, shape.column) == (2, 2)
    assert shape.message == "erl_opts should be a list, not debug_info; ignored"
    syntax = by_path[("apps/a/rebar.config", "H0001")]
    assert (syntax.line, syntax.column) == (0, 12)
    assert [a.name for a in project.model.apps] == ["a"]  # named after the .app.src file
    assert project.files == ("apps/a/src/a.erl",)


def test_rel_and_abs(tmp_path: Path) -> None:
    write_tree(tmp_path, {"src/a.erl": MODULE.format(name="a")})
    project = discover(tmp_path)
    absolute = tmp_path.resolve() / "src" / "a.erl"
    assert project.rel(absolute) == "src/a.erl"
    assert project.rel("src/../src/a.erl") == "src/a.erl"
    assert project.abs("src/a.erl") == absolute
    assert project.rel(project.abs("include/x.hrl")) == "include/x.hrl"
    with pytest.raises(ValueError, match="outside the project"):
        project.rel("/usr/lib/erlang/lib")
    with pytest.raises(ValueError, match="outside the project"):
        project.rel("../elsewhere.erl")


def test_which_changes_need_rediscovery(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rebar.config": "", "apps/a/src/a.app.src": "{application,a,[]}."})
    project = discover(tmp_path)
    assert project.is_config("rebar.config")
    assert project.is_config("apps/a/rebar.config")
    assert project.is_config("apps/new/src/new.app.src")
    assert project.is_config("_build/default/lib/dep/rebar.config")
    assert not project.is_config("_build/default/lib/a/ebin/a.app")
    assert not project.is_config("_build/test/lib/a/src/a.app.src")  # rebar3's copy of app a
    assert project.is_config("_build/test/lib/proper/src/proper.app.src")  # a test dependency
    assert not project.is_config("apps/a/src/a.erl")


def test_a_root_that_is_not_a_directory_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is not a directory"):
        discover(tmp_path / "missing")
