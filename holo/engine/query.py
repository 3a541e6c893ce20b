"""Query descriptors: inputs set at the edges, derived queries computed from them.

A derived query is a plain function ``fn(db, *key) -> value``; calling the
descriptor, ``item_tree(db, path)``, asks the database, which memoises the
value and records that the running query read it. Values are immutable
(frozen dataclasses, tuples, frozensets, bytes, str, numbers).

Architecture invariant: a query function reads nothing but its key and other
queries. Files, clocks and the environment enter only as inputs, set by the
CLI, the watcher or the language server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from holo.engine.durability import Durability

if TYPE_CHECKING:
    from holo.engine.database import Database

V = TypeVar("V")

_NO_DEFAULT: Any = object()

REGISTRY: dict[str, Query[Any] | Input[Any]] = {}


def _register(item: Query[Any] | Input[Any]) -> None:
    if item.name in REGISTRY:
        raise ValueError(f"a query named {item.name!r} is already registered")
    REGISTRY[item.name] = item


class Input(Generic[V]):
    """A value set from outside the query graph: a file's text, the project's configuration."""

    is_input = True
    __slots__ = ("name", "default")

    def __init__(self, name: str, default: V = _NO_DEFAULT) -> None:
        self.name = name
        self.default = default
        _register(self)

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    def __call__(self, db: Database, *key: Any) -> V:
        return db.read_input(self, key)

    def set(
        self, db: Database, *key: Any, value: V, durability: Durability = Durability.LOW
    ) -> bool:
        """Set the input; returns whether the value changed (an equal value is not a change)."""
        return db.set_input(self, key, value, durability)

    def remove(self, db: Database, *key: Any) -> bool:
        return db.remove_input(self, key)

    def __repr__(self) -> str:
        return f"<input {self.name}>"


class Query(Generic[V]):
    """A derived query: a memoised pure function of its key and what it reads."""

    is_input = False
    __slots__ = ("name", "fn", "persist", "version")

    def __init__(
        self, fn: Callable[..., V], name: str, persist: bool = False, version: int = 1
    ) -> None:
        self.fn = fn
        self.name = name
        # persist=True: the value survives restarts in the store, keyed by the
        # query's name, version and key, valid while its dependencies' fingerprints match.
        self.persist = persist
        self.version = version
        _register(self)

    def __call__(self, db: Database, *key: Any) -> V:
        return db.fetch(self, key)

    def __repr__(self) -> str:
        return f"<query {self.name}>"


@overload
def query(fn: Callable[..., V], /) -> Query[V]: ...


@overload
def query(
    *, name: str | None = None, persist: bool = False, version: int = 1
) -> Callable[[Callable[..., V]], Query[V]]: ...


def query(
    fn: Callable[..., V] | None = None,
    /,
    *,
    name: str | None = None,
    persist: bool = False,
    version: int = 1,
) -> Query[V] | Callable[[Callable[..., V]], Query[V]]:
    """Register a function as a derived query: ``@query`` or ``@query(persist=True)``."""

    def wrap(f: Callable[..., V]) -> Query[V]:
        return Query(f, name or f.__name__, persist=persist, version=version)

    return wrap(fn) if fn is not None else wrap
