"""Each daemon test gets a cache directory of its own, and its daemon is stopped after it.

The processes run a copy of holo's source taken once per test session, put
first on PYTHONPATH: an installed holo, which edits to the working tree
during the run do not change (each would change holo's fingerprint and
replace the daemon mid-test).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import Holo

REPO = Path(__file__).resolve().parents[2]
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def install_copy(dest: Path) -> Path:
    """holo's packages laid out as an installation does, under ``dest``."""
    shutil.copytree(REPO / "holo", dest / "holo", ignore=_IGNORED)
    for name in ("queries", "lsp", "watch"):
        shutil.copytree(REPO / name, dest / "holo" / name, ignore=_IGNORED)
    return dest


@pytest.fixture(scope="session")
def installed_holo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_copy(tmp_path_factory.mktemp("installed"))


@pytest.fixture
def holo(tmp_path: Path, installed_holo: Path) -> Iterator[Holo]:
    cache = tmp_path / "cache"
    env = {**os.environ, "HOLO_CACHE_DIR": str(cache), "HOLO_DAEMON_IDLE": "300",
           "PYTHONPATH": str(installed_holo)}
    env.pop("HOLO_SUITE_DAEMON", None)
    h = Holo(cache, env)
    try:
        yield h
    finally:
        h.clean_up()
