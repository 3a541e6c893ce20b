"""Shared helpers for the project-model tests: real directory trees under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from holo.engine import MemoryStore
from holo.inputs import ExternalModule, OtpInfo
from holo.project.otp import locate_otp, otp_modules

EXAMPLE_SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create ``files`` (project-relative path -> text) under ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture(scope="session")
def otp() -> OtpInfo:
    return locate_otp()


@pytest.fixture(scope="session")
def otp_store(otp: OtpInfo) -> MemoryStore:
    """A store already holding OTP's module table, so each Workspace.open skips the scan."""
    store = MemoryStore()
    otp_modules(otp, store)
    return store


@pytest.fixture(scope="session")
def otp_table(otp: OtpInfo, otp_store: MemoryStore) -> dict[str, ExternalModule]:
    return otp_modules(otp, otp_store)
