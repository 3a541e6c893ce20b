"""Shared fixtures for the BEAM bridge tests: a real agent VM per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.beam import BeamNode
from tests.beam.helpers import load_probe


@pytest.fixture(scope="session")
def beam_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache directory per test session: the agent is compiled once."""
    return tmp_path_factory.mktemp("holo-cache")


@pytest.fixture(scope="module")
def node(beam_cache: Path) -> Iterator[BeamNode]:
    """An agent VM with the test probe's requests (apply, echo, sleep) registered."""
    with BeamNode(cache_dir=beam_cache) as beam_node:
        load_probe(beam_node)
        yield beam_node
