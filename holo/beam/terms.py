"""Plain Python values <-> Erlang terms, for the frames holo exchanges with its agent.

The agent protocol is written in terms of these Python values, so callers never
touch erlang-py's classes:

=================  ==========================================================
Python             Erlang
=================  ==========================================================
``str``            atom (``"ok"`` is ``ok``)
``bytes``          binary (all text travels as UTF-8 binaries)
``True/False``     ``true`` / ``false``
``None``           ``undefined``
``int, float``     integer, float
``list``           list (a charlist arrives as a list of ints)
``tuple``          tuple
``dict``           map
=================  ==========================================================

So the atoms ``true``, ``false`` and ``undefined`` always arrive as ``True``,
``False`` and ``None``. Pids, references, ports and funs arrive as erlang-py's
opaque objects and can be sent back unchanged.
"""

from __future__ import annotations

from typing import Any

import erlang

_OPAQUE = (
    erlang.OtpErlangPid,
    erlang.OtpErlangReference,
    erlang.OtpErlangPort,
    erlang.OtpErlangFunction,
    erlang.OtpErlangList,
)


def to_erlang(value: Any) -> Any:
    """The erlang-py form of a plain Python value (see the module's table)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return erlang.OtpErlangAtom(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return erlang.OtpErlangBinary(bytes(value))
    if isinstance(value, list):
        return [to_erlang(item) for item in value]
    if isinstance(value, tuple):
        return tuple(to_erlang(item) for item in value)
    if isinstance(value, dict):
        return {to_erlang(k): to_erlang(v) for k, v in value.items()}
    if isinstance(value, _OPAQUE):
        return value
    raise TypeError(f"cannot send a {type(value).__name__} to the BEAM agent: {value!r}")


def from_erlang(term: Any) -> Any:
    """The plain Python value of a term decoded by erlang-py."""
    if isinstance(term, erlang.OtpErlangAtom):
        name = term.value
        return name.decode("latin-1") if isinstance(name, bytes) else name
    if isinstance(term, erlang.OtpErlangBinary):
        return term.value if term.bits == 8 else term
    if isinstance(term, bytes):  # erlang-py's form of a list of small integers
        return list(term)
    if isinstance(term, list):
        return [from_erlang(item) for item in term]
    if isinstance(term, tuple):
        return tuple(from_erlang(item) for item in term)
    if isinstance(term, dict):
        return {from_erlang(k): from_erlang(v) for k, v in term.items()}
    return term


def encode(value: Any) -> bytes:
    """External term format of a plain Python value."""
    return erlang.term_to_binary(to_erlang(value))


def decode(data: bytes) -> Any:
    """The plain Python value of an external-format term."""
    return from_erlang(erlang.binary_to_term(data))
