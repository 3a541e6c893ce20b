"""Save hot-loads into the user's running nodes: the ones the client's settings, the command
line or rebar.config name; problems with them are shown, never a crash. And what holo's
own node is told: load problems, deleted modules, saves made before the workspace opened."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types

from tests.lsp.conftest import start_editor, stop_editor
from tests.lsp.demo import GEOMETRY, write_demo
from tests.user_nodes import UserNode, short_host

pytestmark = pytest.mark.asyncio

COOKIE = "holo_lsp_" + secrets.token_hex(8)
OTHER_COOKIE = "holo_lsp_other_" + secrets.token_hex(8)
SCALE = "geometry:scale({point, 1, 2})"


def scaled_by(factor: str) -> str:
    """geometry.erl with scale/1 multiplying by ``factor`` instead of ?SCALE."""
    return GEOMETRY.replace("X * ?SCALE, y = Y * ?SCALE", f"X * {factor}, y = Y * {factor}")


@pytest.fixture(scope="module")
def user_node() -> Iterator[UserNode]:
    node = UserNode(COOKIE, "holo_lsp_")
    yield node
    node.close()


@pytest.fixture(scope="module")
def other_node() -> Iterator[UserNode]:
    """A node with a cookie of its own: COOKIE does not reach it."""
    node = UserNode(OTHER_COOKIE, "holo_lsp_")
    yield node
    node.close()


async def test_a_save_loads_into_the_nodes_the_client_names(
    tmp_path: Path, cache_dir: Path, user_node: UserNode, other_node: UserNode
) -> None:
    missing = f"holo_lsp_nobody_{secrets.token_hex(4)}@{short_host()}"
    settings = {"holo": {"nodes": [user_node.name, other_node.name, missing], "cookie": COOKIE}}
    editor = await start_editor(
        write_demo(tmp_path / "demo"), cache_dir, "--no-tests", initialization_options=settings
    )
    try:
        geometry = editor.open("src/geometry.erl")
        await editor.diagnostics(geometry, 1)

        # First save: the node gets the whole build; the other two are problems, shown.
        first = await editor.saved(geometry, 1)
        assert user_node.eval(SCALE) == "{point,10,20}"
        assert "2 loaded into 3 nodes" in first
        assert f"{other_node.name} is running but refused the connection" in first
        assert f"no node named {missing.split('@')[0]} is running" in first
        (warning,) = await editor.until(editor.warnings)
        assert other_node.name in warning and missing in warning

        # An edit saved: the node runs it; only what changed is loaded.
        editor.change(geometry, scaled_by("11"))
        second = await editor.saved(geometry, 2)
        assert user_node.eval(SCALE) == "{point,11,22}"
        assert "1 compiled, 1 loaded into 3 nodes" in second

        # The client now names the other node, with its cookie: it gets the whole build.
        editor.configure({"nodes": [other_node.name], "cookie": OTHER_COOKIE})
        editor.change(geometry, scaled_by("12"))
        third = await editor.saved(geometry, 3)
        assert f"2 loaded into {other_node.name}" in third and "problems" not in third
        assert other_node.eval(SCALE) == "{point,12,24}"
        assert user_node.eval(SCALE) == "{point,11,22}"  # no longer named
        assert len(editor.warnings()) == 1
    finally:
        await stop_editor(editor)


TICKER = "-module(ticker).\n-export([loop/0, version/0]).\n\nloop() -> receive stop -> ok end.\n"


async def test_old_code_still_running_in_a_node_is_a_problem_not_a_crash(
    tmp_path: Path, cache_dir: Path, user_node: UserNode
) -> None:
    root = write_demo(tmp_path / "demo")
    (root / "src/ticker.erl").write_text(TICKER + "version() -> 1.\n")
    settings = {"nodes": [user_node.name], "cookie": COOKIE}
    editor = await start_editor(root, cache_dir, "--no-tests", initialization_options=settings)
    try:
        ticker = editor.open("src/ticker.erl")
        await editor.saved(ticker, 1)
        assert user_node.eval("ticker:version()") == "1"
        # A process waits in version 1's loop; version 2 makes that code old.
        user_node.eval("register(holo_lsp_ticker, spawn(ticker, loop, [])) andalso ok")
        editor.change(ticker, TICKER + "version() -> 2.\n")
        await editor.saved(ticker, 2)
        assert user_node.eval("ticker:version()") == "2"
        # Version 3 would purge the old code and kill the process: holo leaves it alone.
        editor.change(ticker, TICKER + "version() -> 3.\n")
        message = await editor.saved(ticker, 3)
        assert f"ticker on {user_node.name}: blocked" in message
        assert "holo_lsp_ticker" in message  # who still runs it
        assert user_node.eval("ticker:version()") == "2"
        assert user_node.eval("is_process_alive(whereis(holo_lsp_ticker))") == "true"
        (*_, warning) = await editor.until(editor.warnings)
        assert f"ticker on {user_node.name}: blocked" in warning
    finally:
        user_node.eval("holo_lsp_ticker ! stop")
        await stop_editor(editor)


def with_holo_section(root: Path, section: str) -> Path:
    config = root / "rebar.config"
    config.write_text(config.read_text() + section)
    return root


async def test_rebar_config_names_the_nodes_when_the_client_does_not(
    tmp_path: Path, cache_dir: Path, user_node: UserNode
) -> None:
    root = with_holo_section(
        write_demo(tmp_path / "demo"),
        f"{{holo, [{{nodes, ['{user_node.name}']}}, {{cookie, {COOKIE}}}]}}.\n",
    )
    editor = await start_editor(root, cache_dir, "--no-tests")
    try:
        geometry = editor.open("src/geometry.erl", scaled_by("21"))
        message = await editor.saved(geometry, 1)
        assert f"loaded into {user_node.name}" in message
        assert user_node.eval(SCALE) == "{point,21,42}"
    finally:
        await stop_editor(editor)


async def test_the_command_line_wins_over_rebar_config(
    tmp_path: Path, cache_dir: Path, user_node: UserNode, other_node: UserNode
) -> None:
    root = with_holo_section(
        write_demo(tmp_path / "demo"),
        f"{{holo, [{{nodes, ['{user_node.name}']}}, {{cookie, {COOKIE}}}]}}.\n",
    )
    editor = await start_editor(
        root, cache_dir, "--no-tests", "--node", other_node.name, "--cookie", OTHER_COOKIE
    )
    try:
        before = user_node.eval(SCALE)
        geometry = editor.open("src/geometry.erl", scaled_by("31"))
        message = await editor.saved(geometry, 1)
        assert f"loaded into {other_node.name}" in message and "problems" not in message
        assert other_node.eval(SCALE) == "{point,31,62}"
        assert user_node.eval(SCALE) == before
    finally:
        await stop_editor(editor)


AGENT_LIKE = "-module(holo_agent_extra).\n-export([f/0]).\n\nf() -> ok.\n"
GONE = "-module(gone).\n-export([f/0]).\n\nf() -> ok.\n"


async def test_holo_nodes_load_problems_are_shown_and_deleted_modules_unloaded(
    tmp_path: Path, cache_dir: Path
) -> None:
    root = write_demo(tmp_path / "demo")
    (root / "src/holo_agent_extra.erl").write_text(AGENT_LIKE)  # holo's node refuses it
    (root / "src/gone.erl").write_text(GONE)
    editor = await start_editor(root, cache_dir, "--no-tests")
    try:
        geometry = editor.open("src/geometry.erl")
        first = await editor.saved(geometry, 1)
        assert "3 loaded" in first  # geometry, shapes, gone
        assert "holo_agent_extra: refused: holo_agent_extra is part of holo's agent" in first
        (warning,) = await editor.until(editor.warnings)
        assert "holo_agent_extra is part of holo's agent" in warning

        (root / "src/gone.erl").unlink()
        editor.client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[
                    types.FileEvent(
                        uri=editor.uri("src/gone.erl"), type=types.FileChangeType.Deleted
                    )
                ]
            )
        )
        second = await editor.saved(geometry, 2)
        assert "1 unloaded (gone)" in second
    finally:
        await stop_editor(editor)


async def test_a_save_before_the_workspace_is_open_is_run_when_it_is(tmp_path: Path) -> None:
    # A cache of its own: reading OTP's module table into it keeps the workspace opening
    # for a second or more, and the save arrives meanwhile.
    editor = await start_editor(write_demo(tmp_path / "demo"), tmp_path / "cache", "--no-tests")
    try:
        geometry = editor.open("src/geometry.erl", scaled_by("41"))
        message = await editor.saved(geometry, 1)
        assert message.startswith("2 compiled, 2 loaded")
    finally:
        await stop_editor(editor)
