"""Compiling holo's agent (``holo/beam/agent/*.erl``) into the cache, once per version.

The agent ships as Erlang source. The first BEAM node holo starts compiles it
with ``erlc`` into ``<cache_dir>/agent/<key>/ebin``, where the key is a blake2b
over the sources and the OTP version, so an upgrade of holo or of OTP builds a
fresh copy and never loads a stale one. The build happens in a temporary
directory that is renamed into place: a second holo process building at the
same moment either wins the rename or finds the finished directory.

The ebin holds code the agent runs, so holo refuses one that someone else
could have written (not owned by the user, or writable by group or others).
"""

from __future__ import annotations

import glob
import os
import shutil
import stat
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from holo.beam.errors import BeamStartError
from holo.engine import default_cache_dir, fingerprint


class AgentBuildError(BeamStartError):
    """The agent could not be compiled, or its cached build cannot be trusted."""


def agent_sources() -> dict[str, bytes]:
    """The agent's Erlang sources shipped with holo: file name -> contents."""
    directory = resources.files("holo.beam").joinpath("agent")
    return {
        entry.name: entry.read_bytes()
        for entry in directory.iterdir()
        if entry.name.endswith(".erl")
    }


def otp_version(erl: str = "erl") -> str:
    """The full OTP version ("25.2.3") of the installation ``erl`` belongs to."""
    executable = shutil.which(erl)
    if executable is None:
        raise AgentBuildError(f"cannot find {erl!r} on PATH: is Erlang/OTP installed?")
    root = Path(os.path.realpath(executable)).parent.parent
    for version_file in sorted(glob.glob(str(root / "releases" / "*" / "OTP_VERSION"))):
        return Path(version_file).read_text().strip()
    script = "io:put_chars(erlang:system_info(otp_release)), halt()."
    result = subprocess.run(
        [executable, "-noshell", "-noinput", "-eval", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise AgentBuildError(f"cannot tell the OTP version of {executable}: {result.stderr}")
    return result.stdout.strip()


def agent_key(sources: dict[str, bytes], version: str) -> str:
    return fingerprint((tuple(sorted(sources.items())), version)).hex()


def ensure_agent_ebin(
    cache_dir: Path | str | None = None,
    *,
    erl: str = "erl",
    erlc: str = "erlc",
) -> Path:
    """The ebin directory of the agent for this holo and this OTP, compiled if need be."""
    sources = agent_sources()
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    agents = base / "agent"
    final = agents / agent_key(sources, otp_version(erl))
    ebin = final / "ebin"
    if _is_complete(ebin, sources):
        _check_private(final)
        return ebin
    agents.mkdir(parents=True, exist_ok=True, mode=0o700)
    building = Path(tempfile.mkdtemp(prefix=".build-", dir=agents))
    try:
        _compile(sources, building, erlc)
        try:
            os.rename(building, final)
        except OSError:
            if not _is_complete(ebin, sources):
                # A damaged earlier build: replace it.
                shutil.rmtree(final, ignore_errors=True)
                os.rename(building, final)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    _check_private(final)
    return ebin


def _is_complete(ebin: Path, sources: dict[str, bytes]) -> bool:
    return all((ebin / (name[: -len(".erl")] + ".beam")).is_file() for name in sources)


def _compile(sources: dict[str, bytes], building: Path, erlc: str) -> None:
    src = building / "src"
    ebin = building / "ebin"
    src.mkdir()
    ebin.mkdir()
    for name, data in sources.items():
        (src / name).write_bytes(data)
    try:
        # Relative paths from inside the build directory: erlc strips its working
        # directory from the front of an absolute path as a string, so from a cwd of
        # /tmp/p it cannot find /tmp/p-cache/... (OTP 25).
        result = subprocess.run(
            [erlc, "-o", "ebin", *sorted(f"src/{name}" for name in sources)],
            cwd=building,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    except FileNotFoundError as e:
        raise AgentBuildError(f"cannot run {erlc!r}: is Erlang/OTP installed?") from e
    if result.returncode != 0:
        raise AgentBuildError(
            f"erlc failed to compile holo's agent:\n{result.stdout}{result.stderr}"
        )
    # Whatever the umask, nobody else may write code the agent will run.
    for path in [src, ebin]:
        path.chmod(0o700)
    for path in [*src.iterdir(), *ebin.iterdir()]:
        path.chmod(0o600)


def _check_private(directory: Path) -> None:
    for path in [directory, directory / "ebin", *sorted((directory / "ebin").iterdir())]:
        info = path.lstat()
        if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise AgentBuildError(
                f"refusing to run holo's agent from {path}: it is not owned by you or others "
                "can write it; delete that directory to rebuild it"
            )
