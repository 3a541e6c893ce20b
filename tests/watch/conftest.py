from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.user_nodes import UserNode
from tests.watch.helpers import COOKIE, EXAMPLE, HoloWatch


@pytest.fixture(scope="module")
def user_node() -> Iterator[UserNode]:
    node = UserNode(COOKIE, "holo_w_")
    yield node
    node.close()


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("_build"))
    return root


@pytest.fixture
def start_watch(tmp_path: Path) -> Iterator[Callable[..., HoloWatch]]:
    started: list[HoloWatch] = []

    def start(root: Path, **options: Any) -> HoloWatch:
        watch = HoloWatch(root, tmp_path / "cache", **options)
        started.append(watch)
        return watch

    yield start
    for watch in started:
        watch.close()


@pytest.fixture
def watch(shop: Path, user_node: UserNode, start_watch: Callable[..., HoloWatch]) -> HoloWatch:
    """holo watch over the shop, loading into the user's node too."""
    watch = start_watch(shop, nodes=(user_node.name,))
    ready = watch.ready()
    assert ready["errors"] == 0 and ready["modules"] == 5, ready
    return watch
