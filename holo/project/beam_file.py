"""Reading a compiled module's name and exports straight from its .beam file.

holo learns what OTP's modules export without starting a BEAM node: a .beam
file is an IFF container (``FOR1`` size ``BEAM`` then chunks), and two chunks
are enough: the atom table (``AtU8``, or ``Atom`` before OTP 20) and the
export table (``ExpT``). Files written with the ``compressed`` compiler
option are gzip streams around that container.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

# A compressed OTP module inflates to well under this; anything bigger is not a module.
_MAX_INFLATED = 64 * 2**20


class BeamFormatError(ValueError):
    """Bytes that are not a .beam file holo can read."""


@dataclass(frozen=True)
class BeamExports:
    module: str
    exports: frozenset[tuple[str, int]]


def _chunks(data: bytes) -> dict[bytes, bytes]:
    if data[:2] == b"\x1f\x8b":
        try:
            data = zlib.decompressobj(wbits=31).decompress(data, _MAX_INFLATED + 1)
        except zlib.error as e:
            raise BeamFormatError(f"compressed beam does not inflate: {e}") from None
        if len(data) > _MAX_INFLATED:
            raise BeamFormatError("compressed beam inflates beyond any real module")
    if len(data) < 12 or data[:4] != b"FOR1" or data[8:12] != b"BEAM":
        raise BeamFormatError("not a BEAM file (no FOR1/BEAM header)")
    end = min(len(data), 8 + struct.unpack(">I", data[4:8])[0])
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= end:
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if len(body) != size:
            raise BeamFormatError(f"chunk {chunk_id!r} is truncated")
        chunks[chunk_id] = body
        pos += 8 + ((size + 3) & ~3)
    return chunks


def _compact_length(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned length in the compact term encoding OTP 26+ uses for atom names."""
    b = data[pos]
    if b & 0b1000 == 0:
        return b >> 4, pos + 1
    if b & 0b10000 == 0:
        return ((b & 0b11100000) << 3) | data[pos + 1], pos + 2
    raise BeamFormatError("atom name length encoding not supported")


def _atoms(chunks: dict[bytes, bytes]) -> list[str]:
    if b"AtU8" in chunks:
        data, encoding = chunks[b"AtU8"], "utf-8"
    elif b"Atom" in chunks:
        data, encoding = chunks[b"Atom"], "latin-1"
    else:
        raise BeamFormatError("no atom table (AtU8/Atom chunk)")
    try:
        (count,) = struct.unpack(">i", data[:4])
        compact = count < 0  # OTP 26+: negative count, compact-encoded lengths
        count = abs(count)
        atoms: list[str] = []
        pos = 4
        for _ in range(count):
            if compact:
                length, pos = _compact_length(data, pos)
            else:
                length, pos = data[pos], pos + 1
            name = data[pos : pos + length]
            if len(name) != length:
                raise BeamFormatError("atom table is truncated")
            atoms.append(name.decode(encoding))
            pos += length
    except (struct.error, IndexError, UnicodeDecodeError) as e:
        raise BeamFormatError(f"atom table is malformed: {e}") from None
    return atoms


def read_beam_exports(data: bytes) -> BeamExports:
    """The module name and exported (name, arity) pairs of a .beam file's bytes."""
    chunks = _chunks(data)
    atoms = _atoms(chunks)
    if not atoms:
        raise BeamFormatError("atom table is empty")
    table = chunks.get(b"ExpT")
    if table is None:
        raise BeamFormatError("no export table (ExpT chunk)")
    try:
        (count,) = struct.unpack(">I", table[:4])
        exports = set()
        for i in range(count):
            name_index, arity, _label = struct.unpack(">III", table[4 + 12 * i : 16 + 12 * i])
            exports.add((atoms[name_index - 1], arity))
    except (struct.error, IndexError) as e:
        raise BeamFormatError(f"export table is malformed: {e}") from None
    return BeamExports(atoms[0], frozenset(exports))
