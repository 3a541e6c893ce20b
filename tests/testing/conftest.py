"""Fixtures for the test-runner tests: real projects on disk, a real Session and BEAM nodes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.session import Session


@pytest.fixture(scope="session")
def test_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the whole run: the agent and OTP's module table are built once.

    Each fixture project has its own application name, so their impact
    records never meet.
    """
    return tmp_path_factory.mktemp("holo-test-cache")


def open_session(root: Path, cache: Path) -> Session:
    session = Session(root, cache)
    try:
        session.start_nodes()
    except BaseException:
        session.close()
        raise
    return session


@pytest.fixture
def session_factory(test_cache: Path) -> Iterator:  # noqa: ANN201 - a factory
    opened: list[Session] = []

    def make(root: Path, cache: Path | None = None) -> Session:
        session = open_session(root, cache or test_cache)
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()
