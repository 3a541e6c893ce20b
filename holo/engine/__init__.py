"""holo's incremental computation engine: a salsa-style memoised query graph.

The public surface is small::

    source_text = Input("source_text", default=None)

    @query
    def line_count(db, path):
        return source_text(db, path).count(b"\\n")

    db = Database()
    source_text.set(db, "a.erl", value=b"...", durability=Durability.LOW)
    line_count(db, "a.erl")
"""

from holo.engine.codec import fingerprint, record
from holo.engine.database import Database
from holo.engine.durability import Durability
from holo.engine.errors import Cancelled, CycleError, EngineError, MissingInput
from holo.engine.query import Input, Query, query
from holo.engine.store import DiskStore, MemoryStore, Store, default_cache_dir

__all__ = [
    "Cancelled",
    "CycleError",
    "Database",
    "DiskStore",
    "Durability",
    "EngineError",
    "Input",
    "MemoryStore",
    "MissingInput",
    "Query",
    "Store",
    "default_cache_dir",
    "fingerprint",
    "query",
    "record",
]
