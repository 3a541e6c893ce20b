"""Persistent queries whose values the engine keeps encoded, so a warm start decodes nothing.

The engine restores a persisted result by checking the fingerprints of the
dependencies it recorded, fetching each; a restored value is decoded when it
is fetched, and fingerprinted by encoding it again. For the analysis's large
values (item trees, resolved modules) that made a warm ``holo check`` cost
nearly as much as a cold one. A :func:`stored` query therefore hands the
engine the value's canonical encoding (``bytes``: decoded and fingerprinted
in one C call each) and decodes it for its callers, once per process: the
value it computed itself is remembered, so a cold run decodes nothing either.

Equal values have equal encodings (the codec is canonical), so early cutoff
works exactly as for plain queries. ``db.stats`` and ``db.explain`` see the
query under its own name.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from holo.engine import Query
from holo.engine.codec import decode, encode

V = TypeVar("V")

# Decoded values kept per process, by encoding. Bounded: an evicted value is
# decoded again when next read.
CACHE_SIZE = 50_000

_lock = threading.Lock()
_decoded: OrderedDict[bytes, Any] = OrderedDict()


def _remember(blob: bytes, value: Any) -> None:
    with _lock:
        _decoded[blob] = value
        _decoded.move_to_end(blob)
        while len(_decoded) > CACHE_SIZE:
            _decoded.popitem(last=False)


def _value(blob: bytes) -> Any:
    with _lock:
        found = _decoded.get(blob, _decoded)
    if found is not _decoded:
        return found
    value = decode(blob)
    _remember(blob, value)
    return value


class Stored(Query[bytes], Generic[V]):
    """A persisted query whose engine value is the encoding of what ``fn`` returns.

    It is the engine's query itself (``db.explain(q, ...)`` and ``db.stats``
    work as for any query); calling it returns the decoded value.
    """

    __slots__ = ("compute", "doc")

    def __init__(self, fn: Callable[..., V], name: str, version: int) -> None:
        self.compute = fn
        self.doc = fn.__doc__
        super().__init__(self._encoded, name, persist=True, version=version)

    def _encoded(self, db: Any, *key: Any) -> bytes:
        value = self.compute(db, *key)
        blob = encode(value)
        _remember(blob, value)
        return blob

    @property
    def query(self) -> Query[bytes]:
        """The engine's descriptor (this object), for ``db.explain``."""
        return self

    def __call__(self, db: Any, *key: Any) -> V:  # type: ignore[override]
        return _value(db.fetch(self, key))  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<stored query {self.name}>"


def stored(*, name: str | None = None, version: int = 1) -> Callable[[Callable[..., V]], Stored[V]]:
    """``@stored(version=1)``: like ``@query(persist=True)``, cheap to restore."""

    def wrap(fn: Callable[..., V]) -> Stored[V]:
        return Stored(fn, name or fn.__name__, version)

    return wrap
