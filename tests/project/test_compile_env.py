"""compile_env: what erl_opts tell the compiler and holo's own checks, read from the terms."""

from __future__ import annotations

from pathlib import Path

from holo.engine import Database, MemoryStore
from holo.inputs import MacroOption, OtpInfo
from holo.project.discover import discover
from holo.project.workspace import Workspace
from holo.queries.project_index import CompileEnv, compile_env

from .conftest import write_tree


def env_of(root: Path, otp: OtpInfo, store: MemoryStore, path: str = "src/a.erl") -> CompileEnv:
    ws = Workspace.open(root, Database(), store=store, otp=otp)
    return compile_env(ws.db, path, "default")


def test_flags_come_from_the_terms_not_from_the_text(
    tmp_path: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    # export_all inside a macro's value is no compiler flag.
    root = write_tree(
        tmp_path,
        {
            "rebar.config": "{erl_opts, [{d, 'FLAGS', [export_all]}, nowarn_unused_function,\n"
            "                         warn_missing_spec, report]}.",
            "src/a.erl": "-module(a).\n",
        },
    )
    opts = discover(root).model.erl_opts
    assert opts.flags == ("nowarn_unused_function", "warn_missing_spec", "report")
    env = env_of(root, otp, otp_store)
    assert env.warnings == ("nowarn_unused_function", "warn_missing_spec")
    assert "export_all" not in env.warnings


def test_a_bare_export_all_is_a_flag(tmp_path: Path, otp: OtpInfo, otp_store: MemoryStore) -> None:
    root = write_tree(
        tmp_path, {"rebar.config": "{erl_opts, [export_all]}.", "src/a.erl": "-module(a).\n"}
    )
    assert env_of(root, otp, otp_store).warnings == ("export_all",)


def test_nowarn_unused_function_with_functions(
    tmp_path: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    root = write_tree(
        tmp_path,
        {
            "rebar.config": "{erl_opts, [{nowarn_unused_function, [{helper, 1}, {'odd one', 2}]},\n"
            "                         {nowarn_unused_function, {single, 0}}]}.",
            "src/a.erl": "-module(a).\n",
        },
    )
    env = env_of(root, otp, otp_store)
    assert env.nowarn_unused == (("helper", 1), ("odd one", 2), ("single", 0))
    assert env.warnings == ()  # a tuple option is not the bare flag that silences every function


def test_dependencies_compile_with_their_own_options_only(
    tmp_path: Path, otp: OtpInfo, otp_store: MemoryStore
) -> None:
    root = write_tree(
        tmp_path,
        {
            "rebar.config": "{erl_opts, [{d, 'PROJECT_ONLY'}]}.",
            "src/a.erl": "-module(a).\n",
            "_build/default/lib/dep/rebar.config": "{erl_opts, [{d, 'DEP'}]}.",
            "_build/default/lib/dep/src/dep.erl": "-module(dep).\n",
        },
    )
    ws = Workspace.open(root, Database(), store=otp_store, otp=otp)
    dep = compile_env(ws.db, "_build/default/lib/dep/src/dep.erl", "default")
    assert dep.macros == (MacroOption("DEP", None),) and "PROJECT_ONLY" not in dep.erl_opts
    own = compile_env(ws.db, "src/a.erl", "default")
    assert own.macros == (MacroOption("PROJECT_ONLY", None),)
    assert own.erl_opts_macros == ("PROJECT_ONLY",)
