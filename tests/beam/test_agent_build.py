"""Compiling the agent into the cache: keyed by sources and OTP version, atomic, private."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from holo.beam.agent_build import (
    AgentBuildError,
    agent_key,
    agent_sources,
    ensure_agent_ebin,
    otp_version,
)


def test_the_agent_sources_compile_without_a_warning(tmp_path: Path) -> None:
    sources = agent_sources()
    assert {"holo_agent.erl", "holo_agent_compile.erl", "holo_agent_code.erl"} <= set(sources)
    for name, data in sources.items():
        (tmp_path / name).write_bytes(data)
    done = subprocess.run(
        ["erlc", "-Werror", "-o", str(tmp_path), *sorted(str(tmp_path / n) for n in sources)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_key_follows_the_sources_and_the_otp_version() -> None:
    sources = agent_sources()
    edited = dict(sources, **{"holo_agent.erl": sources["holo_agent.erl"] + b"\n"})
    keys = {agent_key(sources, "25.2.3"), agent_key(sources, "26.0"), agent_key(edited, "25.2.3")}
    assert len(keys) == 3
    assert agent_key(dict(reversed(list(sources.items()))), "25.2.3") == agent_key(
        sources, "25.2.3"
    )
    assert otp_version().split(".")[0].isdigit()


def test_a_build_is_made_once_and_reused(tmp_path: Path) -> None:
    ebin = ensure_agent_ebin(tmp_path)
    assert ebin == tmp_path / "agent" / agent_key(agent_sources(), otp_version()) / "ebin"
    beams = sorted(p.name for p in ebin.iterdir())
    assert beams == sorted(n.replace(".erl", ".beam") for n in agent_sources())
    stamp = (ebin / "holo_agent.beam").stat().st_mtime_ns
    assert ensure_agent_ebin(tmp_path) == ebin
    assert (ebin / "holo_agent.beam").stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "agent").iterdir()] == [ebin.parent.name]


def test_a_cache_beside_the_working_directory_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # erlc strips its working directory from the front of an absolute path as a
    # string: from /x/proj it looks for /x/proj-cache/... as "-cache/...".
    project = tmp_path / "proj"
    project.mkdir()
    monkeypatch.chdir(project)
    ebin = ensure_agent_ebin(tmp_path / "proj-cache")
    assert (ebin / "holo_agent.beam").is_file()


def test_two_processes_building_at_once_both_get_a_complete_build(tmp_path: Path) -> None:
    script = f"from holo.beam import ensure_agent_ebin; print(ensure_agent_ebin({str(tmp_path)!r}))"
    builders = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = {builder.communicate()[0].strip() for builder in builders}
    assert all(builder.returncode == 0 for builder in builders)
    (ebin,) = outputs
    assert (Path(ebin) / "holo_agent.beam").is_file()
    # No temporary build directory is left behind by the losers.
    assert [p.name for p in (tmp_path / "agent").iterdir()] == [Path(ebin).parent.name]


def test_a_build_others_can_write_is_refused(tmp_path: Path) -> None:
    ebin = ensure_agent_ebin(tmp_path)
    (ebin / "holo_agent.beam").chmod(0o666)
    with pytest.raises(AgentBuildError, match="others can write"):
        ensure_agent_ebin(tmp_path)


def test_a_missing_compiler_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AgentBuildError, match="no-such-erlc"):
        ensure_agent_ebin(tmp_path, erlc="no-such-erlc")
