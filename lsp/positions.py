"""Columns between holo and the editor.

holo counts columns in Unicode code points (:mod:`holo.diagnostics`); LSP
clients count them in the position encoding negotiated at initialize: UTF-16
code units unless the client offers UTF-8 or UTF-32. Lines are split on
``\\n`` only, as holo's line index does. Converting needs the text of the
line, so a :class:`LineTable` wraps the text a range refers to.
"""

from __future__ import annotations

from lsprotocol import types

from holo.queries.source import Range

UTF8 = types.PositionEncodingKind.Utf8.value
UTF16 = types.PositionEncodingKind.Utf16.value
UTF32 = types.PositionEncodingKind.Utf32.value


def _units(text: str, encoding: str) -> int:
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def to_client_column(line: str, column: int, encoding: str) -> int:
    """A code-point column of ``line`` in the client's units (past the end: the end)."""
    if encoding == UTF32 or line.isascii():
        return column
    return _units(line[:column], encoding)


def from_client_column(line: str, column: int, encoding: str) -> int:
    """The code-point column of a column in the client's units."""
    if encoding == UTF32 or line.isascii():
        return column
    units = 0
    for index, char in enumerate(line):
        if units >= column:
            return index
        units += _units(char, encoding)
    return len(line)


class LineTable:
    """The lines of one text, for converting positions in it."""

    __slots__ = ("text", "ascii", "_lines")

    def __init__(self, text: str) -> None:
        self.text = text
        self.ascii = text.isascii()
        self._lines: list[str] | None = None

    def line(self, row: int) -> str:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines[row] if 0 <= row < len(self._lines) else ""

    def position(self, row: int, column: int, encoding: str) -> types.Position:
        if self.ascii or encoding == UTF32:
            return types.Position(line=row, character=column)
        return types.Position(
            line=row, character=to_client_column(self.line(row), column, encoding)
        )

    def range(self, where: Range, encoding: str) -> types.Range:
        line, column, end_line, end_column = where
        return types.Range(
            start=self.position(line, column, encoding),
            end=self.position(end_line, end_column, encoding),
        )

    def code_point_column(self, position: types.Position, encoding: str) -> int:
        """The holo column of a client position in this text."""
        if self.ascii or encoding == UTF32:
            return position.character
        return from_client_column(self.line(position.line), position.character, encoding)


ASCII_TABLE = LineTable("")  # converts nothing: for ranges in ASCII text
