"""holo: an incremental, query-driven compiler service for Erlang."""

__version__ = "0.1.0"
