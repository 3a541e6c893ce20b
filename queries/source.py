"""Source bytes as holo analyses them: decoded the way epp decodes, with code-point positions.

epp reads a file as UTF-8 unless its first or second line declares
``%% coding: latin-1``. holo does the same, then hands tree-sitter UTF-8 bytes
(a Latin-1 file is transcoded), so a tree-sitter byte column converts to the
code-point column editors and diagnostics use by decoding the line's prefix.

A file that is neither valid UTF-8 nor declared Latin-1 is what erlc rejects
with "cannot translate from UTF-8": holo reports it (H0101) and analyses the
rest with each invalid byte read as U+FFFD, one column wide.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

# Larger files are reported (H0101) and not analysed: nothing handwritten is
# this big, and a generated one would cost seconds of every cold check.
MAX_SOURCE_BYTES = 16 * 2**20

_CODING = re.compile(rb"%.*?coding\s*[:=]\s*([-a-zA-Z0-9_]+)")
_LATIN1_NAMES = {b"latin-1", b"latin1", b"iso-8859-1", b"iso8859-1"}

Range = tuple[int, int, int, int]  # 0-based line, code-point column, end line, end column


@dataclass(frozen=True)
class EncodingProblem:
    line: int
    column: int
    message: str


@dataclass(frozen=True)
class Decoded:
    utf8: bytes  # what the parser sees
    encoding: str  # "utf-8" or "latin-1"
    problem: EncodingProblem | None


def declared_encoding(raw: bytes) -> str:
    """The encoding a ``coding:`` comment on line 1 or 2 declares ("utf-8" by default)."""
    head = raw.split(b"\n", 2)[:2]
    for line in head:
        m = _CODING.search(line)
        if m is not None and m.group(1).lower() in _LATIN1_NAMES:
            return "latin-1"
    return "utf-8"


def decode(raw: bytes) -> Decoded:
    """Decode as epp would, returning UTF-8 bytes for the parser."""
    if raw.isascii():
        return Decoded(raw, "utf-8", None)
    if declared_encoding(raw) == "latin-1":
        return Decoded(raw.decode("latin-1").encode("utf-8"), "latin-1", None)
    try:
        raw.decode("utf-8")
        return Decoded(raw, "utf-8", None)
    except UnicodeDecodeError as e:
        prefix = raw[: e.start]
        line = prefix.count(b"\n")
        line_start = prefix.rfind(b"\n") + 1
        column = len(prefix[line_start:].decode("utf-8", "replace"))
        problem = EncodingProblem(
            line,
            column,
            f"this file is not valid UTF-8 (byte 0x{raw[e.start]:02x}): save it as UTF-8, "
            "or declare '%% coding: latin-1' on its first line",
        )
        return Decoded(raw.decode("utf-8", "replace").encode("utf-8"), "utf-8", problem)


class LineIndex:
    """Converts tree-sitter (row, byte column) points to (line, code-point column)."""

    __slots__ = ("data", "ascii", "starts")

    def __init__(self, utf8: bytes) -> None:
        self.data = utf8
        self.ascii = utf8.isascii()
        self.starts: list[int] | None = None

    def _line_starts(self) -> list[int]:
        if self.starts is None:
            starts = [0]
            find = self.data.find
            i = find(b"\n")
            while i >= 0:
                starts.append(i + 1)
                i = find(b"\n", i + 1)
            self.starts = starts
        return self.starts

    def column(self, row: int, byte_column: int) -> int:
        if self.ascii or byte_column == 0:
            return byte_column
        starts = self._line_starts()
        if row >= len(starts):
            return byte_column
        start = starts[row]
        chunk = self.data[start : start + byte_column]
        if chunk.isascii():
            return byte_column
        return len(chunk.decode("utf-8", "replace"))

    def range(self, start: tuple[int, int], end: tuple[int, int]) -> Range:
        return (start[0], self.column(*start), end[0], self.column(*end))

    def point_of_offset(self, offset: int) -> tuple[int, int]:
        """(line, code-point column) of a byte offset."""
        starts = self._line_starts()
        row = bisect_right(starts, offset) - 1
        return row, self.column(row, offset - starts[row])

    def line_text(self, row: int) -> str:
        starts = self._line_starts()
        if row >= len(starts):
            return ""
        end = starts[row + 1] - 1 if row + 1 < len(starts) else len(self.data)
        return self.data[starts[row] : end].decode("utf-8", "replace")

    def end_point(self) -> tuple[int, int]:
        return self.point_of_offset(len(self.data))
