"""The daemon's life: replaced when stale, shared by clients, crashing, stopping, refusing.

Real processes throughout: clients, daemons, their erl nodes, signals.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from .conftest import install_copy
from .helpers import (
    Holo,
    command_name,
    copy_shop,
    descendants,
    holo_process,
    run_holo,
    running,
    wait_until,
    without_timings,
)

SLOW_TESTS = """\
-module(shop_slow_tests).
-include_lib("eunit/include/eunit.hrl").
slow_test_() -> {timeout, 120, fun() -> timer:sleep(60000) end}.
"""


def test_a_client_running_another_holo_replaces_the_daemon(
    holo: Holo, tmp_path: Path
) -> None:
    shop = copy_shop(tmp_path / "shop")
    holo.daemon("build", str(shop), "--json")
    old = holo.status()
    assert old is not None
    other = {**holo.env, "PYTHONPATH": str(install_copy(tmp_path / "other-install"))}

    # The default mode: the command runs in the client, and the new daemon is for next time.
    result = run_holo(["build", str(shop), "--json"], {**other, "HOLO_DAEMON": "1"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["compiled"] == []
    assert wait_until(lambda: not running(old["pid"]))

    def replaced() -> bool:
        status = holo.status()
        return status is not None and status["fingerprint"] != old["fingerprint"]

    assert wait_until(replaced)
    new = holo.status()
    assert new is not None and new["pid"] != old["pid"] and new["requests"] == 0
    served = run_holo(["build", str(shop), "--json"], {**other, "HOLO_DAEMON": "1"})
    assert json.loads(served.stdout)["compiled"] == []
    assert holo.requests() == 1

    # And back: this checkout's holo replaces the other's.
    back = holo.daemon("build", str(shop), "--json")
    assert back.returncode == 0
    assert holo.status()["fingerprint"] == old["fingerprint"]  # type: ignore[index]
    assert not running(new["pid"])


def test_clients_at_once_each_get_their_answer(holo: Holo, tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    holo.daemon("build", str(shop), "--json")
    pricing = shop / "src" / "shop_pricing.erl"
    pricing.write_text(pricing.read_text() + "\nextra() -> 1.\n")
    env = {**holo.env, "HOLO_DAEMON": "wait"}
    clients = [holo_process(["build", str(shop), "--json"], env),
               holo_process(["check", str(shop), "--json"], env),
               holo_process(["build", str(shop), "--json"], env)]
    outputs = [c.communicate(timeout=300) for c in clients]
    assert [c.returncode for c in clients] == [0, 0, 0], outputs
    builds = [json.loads(outputs[0][0]), json.loads(outputs[2][0])]
    assert sorted(b["compiled"] for b in builds) == [[], ["shop_pricing"]]
    assert builds[0]["diagnostics"] == builds[1]["diagnostics"]
    assert builds[0]["loaded"] == builds[1]["loaded"]
    check = without_timings(json.loads(outputs[1][0]))
    assert check == without_timings(holo.json(holo.one_shot("check", str(shop), "--json")))
    assert holo.requests() == 4


def test_a_daemon_killed_mid_request_is_one_line_and_the_next_call_works(
    holo: Holo, tmp_path: Path
) -> None:
    shop = copy_shop(tmp_path / "shop")
    (shop / "test" / "shop_slow_tests.erl").write_text(SLOW_TESTS)
    holo.daemon("build", str(shop), "--json")
    pid = holo.pid()
    client = holo_process(["test", str(shop), "--all", "--timeout", "120"],
                          {**holo.env, "HOLO_DAEMON": "wait"})

    def busy() -> bool:
        status = holo.status()
        return status is not None and status["busy_s"] is not None

    assert wait_until(busy)
    time.sleep(1.0)  # into the slow test
    nodes = descendants(pid)
    assert any(command_name(p) == "beam.smp" for p in nodes)
    os.kill(pid, signal.SIGKILL)
    out, err = client.communicate(timeout=60)
    assert client.returncode == 2
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("holo test: the holo daemon stopped before it answered")
    assert "Traceback" not in err
    assert wait_until(lambda: not any(running(p) for p in nodes))

    again = holo.daemon("build", str(shop), "--json")
    assert again.returncode == 0, again.stderr
    assert holo.json(again)["compiled"] == []
    assert holo.pid() != pid


def test_ctrl_c_in_the_client_exits_130_and_the_daemon_finishes_the_request(
    holo: Holo, tmp_path: Path
) -> None:
    shop = copy_shop(tmp_path / "shop")
    (shop / "test" / "shop_slow_tests.erl").write_text(SLOW_TESTS.replace("60000", "4000"))
    holo.daemon("build", str(shop), "--json")
    pid = holo.pid()
    client = holo_process(["test", str(shop), "--all"], {**holo.env, "HOLO_DAEMON": "wait"})

    def busy() -> bool:
        status = holo.status()
        return status is not None and status["busy_s"] is not None

    assert wait_until(busy)
    client.send_signal(signal.SIGINT)
    out, err = client.communicate(timeout=30)
    assert client.returncode == 130
    assert "Traceback" not in err
    # The next request waits for the interrupted one, which ran to its end: its
    # records say every test passed, so nothing is left to run.
    after = holo.daemon("test", str(shop), "--json")
    assert after.returncode == 0, after.stderr
    report = holo.json(after)
    assert report["selected"] == [] and "shop_slow_tests:slow_test_" in report["skipped"]
    assert holo.pid() == pid and holo.requests() == 3


def test_stop_leaves_no_holo_or_erl_process_behind(holo: Holo, tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    holo.daemon("build", str(shop), "--json")
    holo.daemon("test", str(shop), "--json")
    pid = holo.pid()
    processes = {pid, *descendants(pid)}
    assert sum(command_name(p) == "beam.smp" for p in processes) == 2  # agent and runtime
    stopped = holo.stop()
    assert stopped.returncode == 0
    assert stopped.stdout.startswith(f"stopped the holo daemon (pid {pid})")
    assert not running(pid)
    assert wait_until(lambda: not any(running(p) for p in processes), timeout_s=10)
    assert holo.status() is None
    assert not (holo.cache / "daemon" / "socket").exists()
    again = holo.stop()
    assert (again.returncode, again.stdout.split(" for ")[0]) == (0, "no holo daemon was running")


def test_no_daemon_flag_and_holo_daemon_0_never_start_one(holo: Holo, tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    runs = [
        (["build", str(shop), "--json", "--no-daemon"], "1"),
        (["--no-daemon", "check", str(shop)], "wait"),
        (["test", str(shop), "--no-daemon"], "wait"),
        (["build", str(shop)], "0"),
        (["check", str(shop)], "0"),
    ]
    for args, mode in runs:
        result = run_holo(args, {**holo.env, "HOLO_DAEMON": mode})
        assert result.returncode == 0, (args, result.stderr)
    time.sleep(1.0)  # a daemon started would be listening by now
    assert not (holo.cache / "daemon").exists()
    assert holo.status() is None


def test_an_idle_daemon_exits_and_so_does_one_whose_socket_is_removed(
    holo: Holo, tmp_path: Path
) -> None:
    shop = copy_shop(tmp_path / "shop")
    holo.daemon("check", str(shop), HOLO_DAEMON_IDLE="2")
    pid = holo.pid()
    processes = {pid, *descendants(pid)}
    assert wait_until(lambda: not running(pid), timeout_s=60)
    assert not any(running(p) for p in processes)
    assert not (holo.cache / "daemon" / "socket").exists()

    holo.daemon("check", str(shop))
    pid = holo.pid()
    (holo.cache / "daemon" / "socket").unlink()
    assert wait_until(lambda: not running(pid), timeout_s=30)
    assert holo.daemon("check", str(shop)).returncode == 0
    assert holo.pid() != pid


NOBODY = 65534
PEER = """\
import json, socket, struct, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    sock.connect(sys.argv[1])
except PermissionError:
    print("EACCES")
    sys.exit()
body = json.dumps({"kind": "status"}).encode()
sock.sendall(struct.pack(">I", len(body)) + body)
size = struct.unpack(">I", sock.recv(4))[0]
print(sock.recv(size).decode())
"""


def test_the_daemon_is_for_its_user_alone(holo: Holo, installed_holo: Path) -> None:
    cache = Path(tempfile.mkdtemp(prefix="holo-daemon-uid-"))  # parents others can enter
    other = Holo(cache, {**holo.env, "HOLO_CACHE_DIR": str(cache)})
    try:
        shop = copy_shop(cache.parent / f"{cache.name}-shop")
        other.daemon("check", str(shop))
        socket_path = cache / "daemon" / "socket"
        assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(cache / "daemon").st_mode) == 0o700
        assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o600
        if os.geteuid() != 0:
            return  # no other uid to try as; the modes above keep others out
        peer = ["/usr/bin/python3", "-I", "-c", PEER, str(socket_path)]
        as_nobody = {"user": NOBODY, "group": NOBODY, "extra_groups": [], "cwd": "/"}
        shut_out = subprocess.run(peer, capture_output=True, text=True, timeout=30, **as_nobody)
        assert shut_out.stdout.strip() == "EACCES", shut_out.stderr
        # Past the directory's mode, the daemon itself checks who is calling.
        for path, mode in ((cache, 0o711), (cache / "daemon", 0o711), (socket_path, 0o666)):
            os.chmod(path, mode)
        refused = subprocess.run(peer, capture_output=True, text=True, timeout=30, **as_nobody)
        assert refused.returncode == 0, refused.stderr
        assert json.loads(refused.stdout) == {"kind": "refused"}, refused.stdout
        assert other.status() is not None  # its own user is still served
    finally:
        other.clean_up()
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(cache.parent / f"{cache.name}-shop", ignore_errors=True)


def test_a_daemon_runs_the_holo_its_client_imported(holo: Holo, tmp_path: Path) -> None:
    # `python -m holo.cli` in a directory holding a holo/ imports that holo, not the
    # one on PYTHONPATH; the daemon, which runs from "/", must import the same one.
    shop = copy_shop(tmp_path / "shop")
    here = install_copy(tmp_path / "checkout")
    result = run_holo(["build", str(shop), "--json"], {**holo.env, "HOLO_DAEMON": "wait"},
                      cwd=here)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    status = holo.status()
    assert status is not None, "the client ran the build itself: its daemon never matched"
    assert status["requests"] == 1
    again = run_holo(["build", str(shop), "--json"], {**holo.env, "HOLO_DAEMON": "1"}, cwd=here)
    assert json.loads(again.stdout)["compiled"] == []
    assert holo.requests() == 2
