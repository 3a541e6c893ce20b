"""Errors the engine raises to its callers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class EngineError(Exception):
    """Base class of the engine's own errors."""


class Cancelled(EngineError):  # noqa: N818 - salsa's name; it is a signal, not a failure
    """A newer revision is pending: the running query unwinds and its caller retries or drops it."""


class CycleError(EngineError):
    """A query (transitively) asked for its own value."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__("query cycle: " + " -> ".join(self.cycle))


class MissingInput(EngineError):
    """An input that has no default was read before it was set."""

    def __init__(self, slot: str) -> None:
        self.slot = slot
        super().__init__(f"input {slot} was read before it was set")


def describe_slot(name: str, key: tuple[Any, ...]) -> str:
    inner = ", ".join(repr(k) for k in key)
    return f"{name}({inner})"
