"""Running holo as a user does, with and without its daemon, and finding the daemon's processes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"
TIMEOUT_S = 300


def copy_shop(dest: Path) -> Path:
    shutil.copytree(SHOP, dest, ignore=shutil.ignore_patterns("_build"))
    return dest


# Not the working tree: `python -m` puts the working directory first on sys.path,
# and the processes must import the holo PYTHONPATH names (tests/daemon/conftest.py).
NEUTRAL_CWD = "/"


def holo_process(
    args: list[str], env: dict[str, str], **kwargs: Any
) -> subprocess.Popen[str]:
    kwargs.setdefault("cwd", NEUTRAL_CWD)
    return subprocess.Popen(
        [sys.executable, "-m", "holo.cli", *args], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
    )  # fmt: skip


def run_holo(
    args: list[str], env: dict[str, str], cwd: Path | str = NEUTRAL_CWD
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "holo.cli", *args], env=env, text=True, capture_output=True,
        timeout=TIMEOUT_S, cwd=cwd,
    )  # fmt: skip
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def without_timings(value: Any) -> Any:
    """A command's JSON with what differs from run to run (times) left out."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in ("timings_ms",
                                                                             "time_ms")}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def without_seconds(text: str) -> str:
    return re.sub(r"\b\d+\.\d\d s\b", "T s", text)


@dataclass
class Holo:
    """holo for one cache directory: through its daemon (``daemon``) or in its own process."""

    cache: Path
    env: dict[str, str]
    pids: set[int] = field(default_factory=set)  # every daemon seen, for the clean-up

    def daemon(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """A command through the daemon (started and waited for when there is none)."""
        return run_holo(list(args), {**self.env, "HOLO_DAEMON": "wait", **env})

    def one_shot(self, *args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "HOLO_DAEMON": "0", "HOLO_CACHE_DIR": str(cache or self.cache)}
        return run_holo(list(args), env)

    def json(self, result: subprocess.CompletedProcess[str]) -> Any:
        assert result.stdout, result.stderr
        return json.loads(result.stdout)

    def status(self) -> dict[str, Any] | None:
        result = run_holo(["daemon", "status", "--json"], {**self.env, "HOLO_DAEMON": "0"})
        value = json.loads(result.stdout)
        if not value["running"]:
            assert result.returncode == 1
            return None
        assert result.returncode == 0
        self.pids.add(int(value["pid"]))
        return value

    def pid(self) -> int:
        status = self.status()
        assert status is not None, "no daemon is running"
        return int(status["pid"])

    def requests(self) -> int:
        status = self.status()
        return 0 if status is None else int(status["requests"])

    def stop(self) -> subprocess.CompletedProcess[str]:
        return run_holo(["daemon", "stop"], {**self.env, "HOLO_DAEMON": "0"})

    def clean_up(self) -> None:
        self.status()
        self.stop()
        for pid in self.pids:
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def running(pid: int) -> bool:
    """Whether a process runs (a zombie has stopped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (the daemon's erl and beam.smp processes)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                parent = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def wait_until(condition: Any, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def ebin_bytes(root: Path, profile: str = "default") -> dict[str, bytes]:
    base = root / "_build" / "holo" / profile / "lib"
    files = sorted(p for p in base.glob("*/ebin/*") if p.is_file())
    return {str(p.relative_to(base)): p.read_bytes() for p in files}
