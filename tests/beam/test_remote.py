"""remote_load into a real second node: distribution only on demand, cookies per node."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.beam import BeamNode, LoadStatus, default_cookie
from holo.errors import UserError
from tests.beam.helpers import apply, compile_module

COOKIE = "holo_test_" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    """A user's node: ``erl -sname`` with its own cookie, killed afterwards."""
    name = "holo_t_" + secrets.token_hex(4)
    host = socket.gethostname().split(".")[0]
    process = subprocess.Popen(
        ["erl", "-sname", name, "-setcookie", COOKIE, "-noshell", "-noinput"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while name not in subprocess.run(["epmd", "-names"], capture_output=True, text=True).stdout:
            assert process.poll() is None, "the target node exited"
            assert time.monotonic() < deadline, "the target node never registered with epmd"
            time.sleep(0.1)
        yield f"{name}@{host}"
    finally:
        process.kill()
        process.wait()


def remote(node: BeamNode, target: str, module: str, function: str, *args: object) -> object:
    return apply(node, "erpc", "call", target, module, function, list(args))


def module_v(node: BeamNode, n: int) -> bytes:
    return compile_module(
        node,
        "remote_m",
        f"-export([v/0, loop/0]).\nv() -> {n}.\nloop() -> receive stop -> ok end.\n",
    )


def test_remote_load_into_a_running_node(node: BeamNode, target: str) -> None:
    cookie_file = Path.home() / ".erlang.cookie"
    before = cookie_file.read_bytes() if cookie_file.exists() else None

    (result,) = node.remote_load([target], {"remote_m": module_v(node, 1)}, cookie=COOKIE)
    assert result.node == target and result.error is None and result.ok
    assert result.status("remote_m") is LoadStatus.LOADED
    assert remote(node, target, "remote_m", "v") == 1
    # The agent became a hidden node, and never touched the user's cookie file.
    assert apply(node, "erlang", "nodes", "visible") == []
    assert apply(node, "erlang", "nodes", "hidden") == [target]
    assert (cookie_file.read_bytes() if cookie_file.exists() else None) == before


def test_a_wrong_cookie_or_a_missing_node_is_that_nodes_error(node: BeamNode, target: str) -> None:
    host = target.split("@")[1]
    (refused,) = node.remote_load(
        [target], {"remote_m": module_v(node, 2)}, cookie="not_the_cookie"
    )
    assert refused.error is not None and "cookie" in refused.error
    assert refused.modules == () and not refused.ok

    good, missing = node.remote_load(
        [target, f"holo_nobody@{host}"], {"remote_m": module_v(node, 3)}, cookie=COOKIE
    )
    assert good.ok and remote(node, target, "remote_m", "v") == 3
    assert missing.node == f"holo_nobody@{host}"
    assert missing.error == f"no node named holo_nobody is running on {host}"


def test_remote_old_code_in_use_is_reported_then_forced(node: BeamNode, target: str) -> None:
    assert node.remote_load([target], {"remote_m": module_v(node, 4)}, cookie=COOKIE)[0].ok
    process = remote(node, target, "erlang", "spawn", "remote_m", "loop", [])
    assert node.remote_load([target], {"remote_m": module_v(node, 5)}, cookie=COOKIE)[0].ok
    (blocked,) = node.remote_load([target], {"remote_m": module_v(node, 6)}, cookie=COOKIE)
    assert blocked.status("remote_m") is LoadStatus.BLOCKED
    (user,) = blocked.modules[0].old_code_users
    assert user.current_function == ("remote_m", "loop", 0)
    assert remote(node, target, "remote_m", "v") == 5

    (forced,) = node.remote_load(
        [target], {"remote_m": module_v(node, 6)}, cookie=COOKIE, force=True
    )
    assert forced.ok and remote(node, target, "remote_m", "v") == 6
    assert remote(node, target, "erlang", "is_process_alive", process) is False
    (sticky,) = node.remote_load([target], {"lists": module_v(node, 7)}, cookie=COOKIE)
    assert sticky.status("lists") is LoadStatus.REFUSED


def test_the_default_cookie_comes_from_the_home_cookie_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(UserError, match=r"\.erlang\.cookie"):
        default_cookie()
    (tmp_path / ".erlang.cookie").write_text("SECRETCOOKIE\n")
    assert default_cookie() == "SECRETCOOKIE"


def test_a_node_name_without_a_host_is_a_usage_error(node: BeamNode) -> None:
    with pytest.raises(UserError, match="name@host"):
        node.remote_load(["just_a_name"], {}, cookie=COOKIE)
