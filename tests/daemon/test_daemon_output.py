"""Through the daemon, build, check and test print what they print in a process of their own.

Real processes: the client, the daemon it starts, their BEAM nodes; the
one-shot runs (HOLO_DAEMON=0) share the daemon's cache directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .helpers import (
    NEUTRAL_CWD,
    Holo,
    copy_shop,
    run_holo,
    without_seconds,
    without_timings,
)


def test_a_second_build_through_the_daemon_compiles_nothing_and_prints_the_same_json(
    holo: Holo, tmp_path: Path
) -> None:
    shop = copy_shop(tmp_path / "shop")
    first = holo.one_shot("build", str(shop), "--json")
    assert first.returncode == 0, first.stderr
    assert len(holo.json(first)["compiled"]) == 5
    one_shot = holo.one_shot("build", str(shop), "--json")
    assert holo.json(one_shot)["compiled"] == []

    served = [holo.daemon("build", str(shop), "--json") for _ in range(3)]
    assert holo.requests() == 3  # all three went through the daemon
    for result in served:
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert without_timings(holo.json(result)) == without_timings(holo.json(one_shot))
    assert holo.json(served[-1])["compiled"] == []
    assert holo.json(served[-1])["loaded"] == sorted(holo.json(first)["compiled"])


def test_human_output_is_the_same_in_both_modes(holo: Holo, tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    pricing = shop / "src" / "shop_pricing.erl"
    pricing.write_text(pricing.read_text() + "\nunused(X) -> X.\n")  # a warning to print
    holo.one_shot("build", str(shop))
    # `test` twice: everything, then what the records leave to run (nothing).
    commands = [["build", str(shop)], ["check", str(shop)], ["test", str(shop), "--all"],
                ["test", str(shop)]]
    for command in commands:
        one_shot = holo.one_shot(*command)
        served = holo.daemon(*command)
        assert served.returncode == one_shot.returncode, (command, served.stderr)
        assert without_seconds(served.stdout) == without_seconds(one_shot.stdout), command
        assert served.stderr == one_shot.stderr, command
    assert served.stdout.startswith("0 of 10 tests selected")
    assert holo.requests() == 4


def test_check_and_test_json_are_the_same_in_both_modes(holo: Holo, tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    cart = shop / "test" / "shop_cart_tests.erl"
    cart.write_text(cart.read_text() + "\nfails_test() -> ?assertEqual(1, 2).\n")
    pricing = shop / "src" / "shop_pricing.erl"
    pricing.write_text(pricing.read_text() + "\nunused(X) -> X.\n")
    for command, code in ((["check", str(shop), "--json"], 0),
                          (["test", str(shop), "--json", "--all"], 1)):
        one_shot = holo.one_shot(*command)
        served = holo.daemon(*command)
        assert served.returncode == one_shot.returncode == code, (served.stderr, one_shot.stderr)
        assert without_timings(holo.json(served)) == without_timings(holo.json(one_shot))
        assert holo.json(served)["diagnostics"], command  # the warning, at least
    failed = holo.json(served)["failed"]
    assert failed == ["shop_cart_tests:fails_test"]


def test_relative_paths_and_options_mean_what_they_mean_to_the_client(
    holo: Holo, tmp_path: Path
) -> None:
    """The daemon works in the client's directory: `holo build` with no path, a relative
    --cache-dir, a usage error and --help all come out as they would locally."""
    shop = copy_shop(tmp_path / "shop")
    env = {**holo.env, "HOLO_DAEMON": "wait"}
    env.pop("HOLO_CACHE_DIR")
    relative = str(Path("..") / "cache")
    served = subprocess.run(
        [sys.executable, "-m", "holo.cli", "build", "--json", "--cache-dir", relative],
        cwd=shop, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert served.returncode == 0, served.stderr
    assert (shop / "_build" / "holo" / "default" / "lib" / "shop" / "ebin").is_dir()
    assert holo.requests() == 1
    for args in (["build", str(shop), "--jobs", "0"], ["check", "--help"]):
        one_shot = holo.one_shot(*args)
        served = holo.daemon(*args)
        assert (served.returncode, served.stdout, served.stderr) == (
            one_shot.returncode, one_shot.stdout, one_shot.stderr
        ), args
    assert holo.requests() == 3


def test_the_client_imports_none_of_holos_engine(holo: Holo, tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    holo.daemon("check", str(shop))
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "holo.cli", "check", str(shop)],
        env={**holo.env, "HOLO_DAEMON": "1"}, capture_output=True, text=True, timeout=300,
        cwd=NEUTRAL_CWD,
    )  # fmt: skip
    assert result.returncode == 0
    assert holo.requests() == 2  # served, not run in the client
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:") and "|" in line}
    assert "holo.daemon.client" in imported
    heavy = {name for name in imported
             if name.split(".")[0] in ("rich", "tree_sitter", "diskcache", "erlang")
             or name.startswith(("holo.engine", "holo.queries", "holo.session", "holo.project"))}
    assert heavy == set()
    assert run_holo(["daemon", "status"], {**holo.env, "HOLO_DAEMON": "0"}).returncode == 0


MARKER_MODULE = """\
-module(shop_marker).
-on_load(mark/0).
-export([mark/0]).
-ifdef(TEST).
profile() -> <<"test">>.
-else.
profile() -> <<"default">>.
-endif.
mark() -> ok = file:write_file("{marker}", profile()).
"""


def test_after_a_test_run_a_build_puts_its_own_code_back_into_holos_node(
    holo: Holo, tmp_path: Path
) -> None:
    """The runtime node outlives the requests: after `holo test` ran the test build
    there, `holo build` must leave it running the default build, as a fresh node would.
    The module's -on_load says which build was last loaded."""
    shop = copy_shop(tmp_path / "shop")
    marker = tmp_path / "loaded-profile"
    (shop / "src" / "shop_marker.erl").write_text(MARKER_MODULE.format(marker=marker))
    runs = [(["build", str(shop), "--json"], b"default"), (["test", str(shop), "--json"], b"test"),
            (["build", str(shop), "--json"], b"default"), (["build", str(shop), "--json"], None),
            (["test", str(shop), "--json"], b"test"), (["build", str(shop), "--json"], b"default")]
    for args, profile in runs:
        marker.unlink(missing_ok=True)
        result = holo.daemon(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "shop_marker" in holo.json(result).get("loaded", ["shop_marker"])
        if profile is None:  # the same build again: the node already runs it
            assert not marker.exists()
        else:
            assert marker.read_bytes() == profile, args
    assert holo.requests() == len(runs)
