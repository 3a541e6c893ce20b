"""tests/cli/test_exit_codes.py again, with every command it runs going through a daemon.

The file runs in a pytest of its own with ``HOLO_SUITE_DAEMON=wait``: each
build, check and test starts its cache directory's daemon, waits for it and
is served by it (a cache directory that cannot be used runs in the client,
as it must, to say so). The daemons are stopped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .helpers import run_holo

REPO = Path(__file__).resolve().parents[2]


def test_exit_codes_are_the_same_through_the_daemon(tmp_path: Path) -> None:
    base = tmp_path / "suite"
    env = {**os.environ, "HOLO_SUITE_DAEMON": "wait", "HOLO_DAEMON_IDLE": "5"}
    env.pop("HOLO_CACHE_DIR", None)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={base}",
             str(REPO / "tests" / "cli" / "test_exit_codes.py")],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        served = sorted(p.parent.parent for p in base.rglob("daemon/lock"))
        assert len(served) >= 5, served  # the commands went to daemons
    finally:
        for lock in base.rglob("daemon/lock"):
            stop_env = {**os.environ, "HOLO_DAEMON": "0"}
            run_holo(["daemon", "stop", "--cache-dir", str(lock.parent.parent)], stop_env)
