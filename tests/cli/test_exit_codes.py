"""Exit codes of the commands: 0 clean, 1 errors in the code, 2 usage or configuration.

Each command runs as the user runs it: a real process, a project on disk,
the real cache and BEAM nodes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BROKEN_CONFIG = "{erl_opts, [debug_info}.\n"


def holo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "holo.cli", *args], capture_output=True, text=True, env=env,
        timeout=300,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def project(root: Path, config: str | None = None) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "calc.erl").write_text(
        "-module(calc).\n-export([add/2]).\nadd(A, B) -> A + B.\n"
    )
    (root / "test").mkdir()
    (root / "test" / "calc_tests.erl").write_text(
        '-module(calc_tests).\n-include_lib("eunit/include/eunit.hrl").\n'
        "add_test() -> ?assertEqual(3, calc:add(1, 2)).\n"
    )
    if config is not None:
        (root / "rebar.config").write_text(config)
    return root


def config_errors(diagnostics: list[dict]) -> list[tuple[str, str, str]]:
    return [(d["file"], d["code"], d["severity"]) for d in diagnostics if d["code"] == "H0001"]


@pytest.mark.parametrize("command", ["check", "build", "test"])
def test_a_rebar_config_that_does_not_parse_exits_2_after_the_normal_json(
    command: str, tmp_path: Path
) -> None:
    root = project(tmp_path / "p", BROKEN_CONFIG)
    result = holo(command, str(root), "--json", "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2, result.stdout + result.stderr
    out = json.loads(result.stdout)
    assert out["ok"] is False
    assert config_errors(out["diagnostics"]) == [("rebar.config", "H0001", "error")]


def test_the_same_project_with_a_good_config_exits_0(tmp_path: Path) -> None:
    root = project(tmp_path / "p", "{erl_opts, [debug_info]}.\n")
    cache = str(tmp_path / "cache")
    for command in ("check", "build", "test"):
        result = holo(command, str(root), "--json", "--cache-dir", cache)
        assert result.returncode == 0, (command, result.stdout, result.stderr)


def test_a_broken_config_exits_2_with_the_human_output_too(tmp_path: Path) -> None:
    root = project(tmp_path / "p", BROKEN_CONFIG)
    result = holo("build", str(root), "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2
    assert result.stdout.startswith("rebar.config:1:")
    assert "[H0001]" in result.stdout.splitlines()[0]
    assert result.stdout.splitlines()[-1].startswith("1 module: 1 compiled, 0 from cache, ")


def unusable_cache_dirs(tmp_path: Path) -> list[Path]:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    if os.geteuid() == 0:
        # Permissions do not stop root; sysfs refuses new directories to everyone.
        forbidden = Path("/sys/holo-cache-test")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        forbidden = locked / "cache"
    return [a_file, a_file / "below", forbidden]


COMMANDS = [
    ("check",),
    ("build",),
    ("test",),
    ("explain", "calc"),
    ("watch",),
    ("lsp",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_unusable_cache_dir_is_a_one_line_usage_error(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    root = project(tmp_path / "p")
    for cache in unusable_cache_dirs(tmp_path):
        name, *rest = command
        result = holo(name, str(root), *rest, "--cache-dir", str(cache))
        assert result.returncode == 2, (cache, result.stdout, result.stderr)
        assert result.stderr.startswith(f"holo {name}: cannot use the cache directory {cache}: ")
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert "internal error" not in result.stderr
        assert not (root / "_build").exists()


def test_a_bad_node_name_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    result = holo("build", str(root), "--node", "no-host", "--cookie", "c",
                  "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2
    assert result.stderr == "holo build: 'no-host' is not an Erlang node name (name@host)\n"
    assert result.stdout == ""
    assert not (root / "_build").exists()


def test_a_missing_cookie_file_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    home = tmp_path / "home"
    home.mkdir()
    result = holo("build", str(root), "--node", "shop@localhost",
                  "--cache-dir", str(tmp_path / "cache"), env={**os.environ, "HOME": str(home)})
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"holo build: no cookie given and cannot read {home / '.erlang.cookie'}: "
    )
    assert len(result.stderr.splitlines()) == 1
    assert not (root / "_build").exists()


def test_jobs_must_be_at_least_one(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    result = holo("build", str(root), "--jobs", "0", "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2
    assert "at least one compile must run at a time, not 0" in result.stderr
    assert not (root / "_build").exists()


@pytest.mark.parametrize("command", ["build", "test"])
def test_a_node_that_cannot_be_built_is_one_line_not_a_traceback(
    command: str, tmp_path: Path
) -> None:
    # erl is found but erlc is not: holo's agent cannot be compiled into a fresh cache.
    # The nodes are started ahead of need in threads, which must not print tracebacks.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    erl = subprocess.run(["which", "erl"], capture_output=True, text=True).stdout.strip()
    (bin_dir / "erl").symlink_to(erl)
    env = {**os.environ, "PATH": str(bin_dir)}
    result = holo(command, str(project(tmp_path / "p")), "--cache-dir", str(tmp_path / "c"),
                  env=env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "erlc" in line and "internal error" not in line, line
