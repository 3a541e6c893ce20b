"""Erlang term files (rebar.config, .app.src) read and written in pure Python.

holo reads a project's configuration without starting a BEAM node, so it
needs ``file:consult/1`` of its own: :func:`consult` turns a sequence of
terms, each ended by ``.``, into Python values, and :func:`format_term`
writes Python values back as Erlang source text (erl_opts handed to OTP's
compiler, macro values from ``{d, Name, Value}``).

How Erlang terms map to Python:

* atoms -> :class:`Atom`, a ``str`` subclass that never equals a plain ``str``;
* strings ``"abc"`` -> ``str`` (an Erlang string is a list of characters;
  ``[]`` stays ``[]`` and ``""`` stays ``""``);
* binaries ``<<"abc">>`` / ``<<1,2>>`` -> ``bytes``;
* integers and floats -> ``int`` / ``float``;
* tuples -> ``tuple``, lists -> ``list``, maps -> ``dict``.

Variables, funs and expressions are not terms and are rejected with a
:class:`TermSyntaxError` that says where (1-based line and column) and
what was expected there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Atom",
    "Term",
    "TermSyntaxError",
    "consult",
    "consult_located",
    "decode_text",
    "format_term",
    "parse_term",
]

Term = Any  # Atom | str | bytes | int | float | tuple | list | dict


class Atom(str):
    """An Erlang atom: a ``str`` that is never equal to a plain ``str``.

    ``Atom("ok") == "ok"`` is False, so a config value ``ok`` and a string
    ``"ok"`` stay distinct; compare with ``Atom("ok")`` or use ``str(atom)``.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is Atom and str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("erlang-atom", str.__str__(self)))

    def __repr__(self) -> str:
        return f"Atom({str.__repr__(self)})"

    def __str__(self) -> str:
        return str.__str__(self)


class TermSyntaxError(ValueError):
    """Text that is not a sequence of Erlang terms; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{line}:{column}: {message}")
        self.message = message
        self.line = line
        self.column = column


# Reserved words cannot be bare atoms: `[and]` does not parse in Erlang either.
RESERVED_WORDS = frozenset(
    {
        "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor",
        "case", "catch", "cond", "div", "end", "fun", "if", "let", "maybe", "not", "of",
        "or", "orelse", "receive", "rem", "try", "when", "xor",
    }
)  # fmt: skip

# Bare atoms and variable names may use Latin-1 letters, as in Erlang.
_NAME_CLASS = r"[A-Za-z0-9_@\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff]"
_BARE_ATOM = re.compile(r"[a-z\u00df-\u00f6\u00f8-\u00ff]" + _NAME_CLASS + "*")
_NAME_CHARS = re.compile(_NAME_CLASS + "*")
_DIGITS = re.compile(r"[0-9](?:_?[0-9])*")
_BASED_DIGITS = re.compile(r"[0-9A-Za-z](?:_?[0-9A-Za-z])*")
_EXPONENT = re.compile(r"[eE][+-]?[0-9](?:_?[0-9])*")

SIMPLE_ESCAPES = {
    "b": "\b",
    "d": "\x7f",
    "e": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "s": " ",
    "t": "\t",
    "v": "\v",
}

_PUNCTUATION = ("<<", ">>", "=>", "#{", "{", "}", "[", "]", "(", ")", ",", "|", "/", ":", "-", "+")


@dataclass(frozen=True)
class _Token:
    kind: str  # "atom" "string" "char" "integer" "float" "var" "punct" "dot" "eof"
    value: Any
    line: int
    column: int
    text: str

    def describe(self) -> str:
        if self.kind == "eof":
            return "end of input"
        if self.kind == "dot":
            return "'.'"
        shown = self.text if len(self.text) <= 30 else self.text[:27] + "..."
        return f"'{shown}'"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def error(self, message: str, pos: int | None = None) -> TermSyntaxError:
        if pos is None:
            pos = self.pos
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return TermSyntaxError(message, line, column)

    def tokens(self) -> Iterator[_Token]:
        text = self.text
        n = len(text)
        while True:
            self._skip_blanks()
            start = self.pos
            line, column = self.line, start - self.line_start + 1
            if start >= n:
                yield _Token("eof", None, line, column, "")
                return
            c = text[start]
            if c == ".":
                nxt = text[start + 1] if start + 1 < n else ""
                if nxt == "" or nxt.isspace() or nxt == "%":
                    self.pos += 1
                    yield _Token("dot", None, line, column, ".")
                    continue
                raise self.error("expected whitespace or end of input after '.' ending a term")
            if c.isdigit():
                kind, value = self._number()
            elif c == "$":
                kind, value = "char", self._char_literal()
            elif c == '"':
                kind, value = "string", self._quoted('"', "string")
            elif c == "'":
                kind, value = "atom", Atom(self._quoted("'", "quoted atom"))
            elif _BARE_ATOM.match(c):
                end = _NAME_CHARS.match(text, start + 1).end()  # type: ignore[union-attr]
                word = text[start:end]
                self.pos = end
                if word in RESERVED_WORDS:
                    raise self.error(
                        f"'{word}' is a reserved word and cannot be a bare atom: write '{word}'"
                        f" in single quotes",
                        start,
                    )
                kind, value = "atom", Atom(word)
            elif c.isupper() or c == "_" or ("\u00c0" <= c <= "\u00de" and c != "\u00d7"):
                end = _NAME_CHARS.match(text, start + 1).end()  # type: ignore[union-attr]
                self.pos = end
                raise self.error(
                    f"variables are not allowed in a term file: {text[start:end]}"
                    " (an atom starts with a lowercase letter or is quoted)",
                    start,
                )
            else:
                for p in _PUNCTUATION:
                    if text.startswith(p, start):
                        self.pos += len(p)
                        kind, value = "punct", p
                        break
                else:
                    raise self.error(f"unexpected character {c!r}")
            yield _Token(kind, value, line, column, text[start : self.pos])

    def _skip_blanks(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            c = text[self.pos]
            if c == "\n":
                self.pos += 1
                self.line += 1
                self.line_start = self.pos
            elif c.isspace():
                self.pos += 1
            elif c == "%":
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end
            else:
                return

    def _number(self) -> tuple[str, int | float]:
        text, start = self.text, self.pos
        m = _DIGITS.match(text, start)
        assert m is not None
        end = m.end()
        if text.startswith("#", end):
            base = int(text[start:end].replace("_", ""))
            if not 2 <= base <= 36:
                raise self.error(f"integer base must be between 2 and 36, not {base}", start)
            digits = _BASED_DIGITS.match(text, end + 1)
            if digits is None:
                raise self.error(f"expected base-{base} digits after '{base}#'", end + 1)
            try:
                value = int(digits.group().replace("_", ""), base)
            except ValueError:
                raise self.error(
                    f"invalid digit for base {base} in {digits.group()!r}", end + 1
                ) from None
            self.pos = digits.end()
            return "integer", value
        if text.startswith(".", end) and end + 1 < len(text) and text[end + 1].isdigit():
            frac = _DIGITS.match(text, end + 1)
            assert frac is not None
            end = frac.end()
            exp = _EXPONENT.match(text, end)
            if exp is not None:
                end = exp.end()
            self.pos = end
            return "float", float(text[start:end].replace("_", ""))
        self.pos = end
        return "integer", int(text[start:end].replace("_", ""))

    def _char_literal(self) -> int:
        start = self.pos
        self.pos += 1
        if self.pos >= len(self.text):
            raise self.error("expected a character after '$'", start)
        c = self.text[self.pos]
        if c == "\\":
            return ord(self._escape(start))
        if c == "\n":
            self._newline_consumed()
        self.pos += 1
        return ord(c)

    def _newline_consumed(self) -> None:
        self.line += 1
        self.line_start = self.pos + 1

    def _escape(self, literal_start: int) -> str:
        """Read one escape sequence at ``self.pos`` (a backslash); return the character."""
        text = self.text
        backslash = self.pos
        self.pos += 1
        if self.pos >= len(text):
            raise self.error("unterminated escape sequence", literal_start)
        c = text[self.pos]
        if c in "01234567":
            end = self.pos
            while end < len(text) and end - self.pos < 3 and text[end] in "01234567":
                end += 1
            value = int(text[self.pos : end], 8)
            self.pos = end
            return chr(value)
        if c == "x":
            if text.startswith("{", self.pos + 1):
                close = text.find("}", self.pos + 2)
                digits = text[self.pos + 2 : close] if close >= 0 else ""
                if not digits or not all(d in "0123456789abcdefABCDEF" for d in digits):
                    raise self.error("expected hexadecimal digits and '}' after '\\x{'", backslash)
                self.pos = close + 1
                value = int(digits, 16)
            else:
                digits = text[self.pos + 1 : self.pos + 3]
                if len(digits) != 2 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                    raise self.error("expected two hexadecimal digits after '\\x'", backslash)
                self.pos += 3
                value = int(digits, 16)
            if value > 0x10FFFF:
                raise self.error(f"character code {value:#x} is out of range", literal_start)
            return chr(value)
        if c == "^":
            if self.pos + 1 >= len(text):
                raise self.error("expected a character after '\\^'", backslash)
            self.pos += 2
            return chr(ord(text[self.pos - 1]) & 0x1F)
        if c == "\n":
            self._newline_consumed()
        self.pos += 1
        return SIMPLE_ESCAPES.get(c, c)

    def _quoted(self, quote: str, what: str) -> str:
        text, start = self.text, self.pos
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(text):
                raise self.error(f"unterminated {what}: no closing {quote}", start)
            c = text[self.pos]
            if c == quote:
                self.pos += 1
                return "".join(out)
            if c == "\\":
                out.append(self._escape(start))
                continue
            if c == "\n":
                self._newline_consumed()
            out.append(c)
            self.pos += 1


# Where each term of a file starts: its path (the index of the form, then the
# index of each element inside tuples and lists) -> 1-based (line, column).
Positions = dict[tuple[int, ...], tuple[int, int]]


class _Parser:
    def __init__(self, text: str, positions: Positions | None = None) -> None:
        self.lexer = _Lexer(text)
        self.stream = self.lexer.tokens()
        self.token = next(self.stream)
        self.positions = positions
        self.path: list[int] = []

    def advance(self) -> _Token:
        tok = self.token
        self.token = next(self.stream)
        return tok

    def fail(self, expected: str, tok: _Token | None = None) -> TermSyntaxError:
        tok = tok or self.token
        return TermSyntaxError(f"expected {expected}, found {tok.describe()}", tok.line, tok.column)

    def is_punct(self, p: str) -> bool:
        return self.token.kind == "punct" and self.token.value == p

    def expect_punct(self, p: str, expected: str) -> None:
        if not self.is_punct(p):
            raise self.fail(expected)
        self.advance()

    def element(self, index: int) -> Term:
        """The term at ``index`` of the enclosing form, tuple or list, its position recorded."""
        if self.positions is None:
            return self.term()
        self.path.append(index)
        self.positions[tuple(self.path)] = (self.token.line, self.token.column)
        try:
            return self.term()
        finally:
            self.path.pop()

    def forms(self) -> list[Term]:
        out: list[Term] = []
        while self.token.kind != "eof":
            out.append(self.element(len(out)))
            if self.token.kind != "dot":
                raise self.fail("'.' after the term")
            self.advance()
        return out

    def term(self) -> Term:  # noqa: C901 - one branch per kind of term reads clearest
        tok = self.token
        if tok.kind in ("integer", "float", "char"):
            self.advance()
            return tok.value
        if tok.kind == "atom":
            self.advance()
            return tok.value
        if tok.kind == "string":
            self.advance()
            parts = [tok.value]
            while self.token.kind == "string":  # "abc" "def" is one string
                parts.append(self.advance().value)
            return "".join(parts)
        if tok.kind == "punct":
            p = tok.value
            if p in ("-", "+"):
                self.advance()
                num = self.token
                if num.kind not in ("integer", "float", "char"):
                    raise self.fail(f"a number after '{p}'")
                self.advance()
                return -num.value if p == "-" else num.value
            if p == "{":
                self.advance()
                return tuple(self.sequence("}", "tuple"))
            if p == "[":
                return self.list()
            if p == "#{":
                return self.map()
            if p == "<<":
                return self.binary()
        raise self.fail("a term")

    def sequence(self, close: str, what: str) -> list[Term]:
        items: list[Term] = []
        if self.is_punct(close):
            self.advance()
            return items
        while True:
            items.append(self.element(len(items)))
            if self.is_punct(","):
                self.advance()
                continue
            if self.is_punct(close):
                self.advance()
                return items
            raise self.fail(f"',' or '{close}' after an element of the {what}")

    def list(self) -> list[Term]:
        self.advance()
        items: list[Term] = []
        if self.is_punct("]"):
            self.advance()
            return items
        while True:
            items.append(self.element(len(items)))
            if self.is_punct(","):
                self.advance()
                continue
            if self.is_punct("|"):
                bar = self.advance()
                tail = self.element(-1)  # out of the way of the elements' own paths
                if isinstance(tail, list):
                    items.extend(tail)
                elif tail != "":
                    raise TermSyntaxError(
                        "improper lists are not supported: the tail after '|' must be a list",
                        bar.line,
                        bar.column,
                    )
                self.expect_punct("]", "']' after the tail of the list")
                return items
            if self.is_punct("]"):
                self.advance()
                return items
            raise self.fail("',', '|' or ']' after an element of the list")

    def map(self) -> dict[Term, Term]:
        self.advance()
        result: dict[Term, Term] = {}
        if self.is_punct("}"):
            self.advance()
            return result
        while True:
            key_tok = self.token
            key = self.term()
            if not self.is_punct("=>"):
                raise self.fail("'=>' after a map key")
            self.advance()
            value = self.term()
            try:
                result[key] = value
            except TypeError:
                raise TermSyntaxError(
                    "map keys that are lists or maps are not supported",
                    key_tok.line,
                    key_tok.column,
                ) from None
            if self.is_punct(","):
                self.advance()
                continue
            if self.is_punct("}"):
                self.advance()
                return result
            raise self.fail("',' or '}' after a map entry")

    def binary(self) -> bytes:
        self.advance()
        out = bytearray()
        if self.is_punct(">>"):
            self.advance()
            return bytes(out)
        while True:
            out += self.segment()
            if self.is_punct(","):
                self.advance()
                continue
            if self.is_punct(">>"):
                self.advance()
                return bytes(out)
            raise self.fail("',' or '>>' after a binary segment")

    def segment(self) -> bytes:
        tok = self.token
        if tok.kind == "string":
            value: str | int = self.term()
        elif tok.kind in ("integer", "char") or (tok.kind == "punct" and tok.value in ("-", "+")):
            value = self.term()
            if isinstance(value, float):
                raise TermSyntaxError(
                    "float segments in binaries are not supported", tok.line, tok.column
                )
        else:
            raise self.fail("a string or an integer in the binary")
        size_bits: int | None = None
        if self.is_punct(":"):
            self.advance()
            size_tok = self.token
            if size_tok.kind != "integer":
                raise self.fail("an integer size after ':'")
            self.advance()
            size_bits = size_tok.value
            if size_bits % 8 or size_bits == 0:
                raise TermSyntaxError(
                    "only whole-byte sizes (8, 16, 24, ...) are supported in binary segments",
                    size_tok.line,
                    size_tok.column,
                )
        types: list[str] = []
        if self.is_punct("/"):
            self.advance()
            while True:
                t = self.token
                if t.kind != "atom" or str(t.value) not in _SEGMENT_TYPES:
                    raise self.fail("a segment type (" + ", ".join(sorted(_SEGMENT_TYPES)) + ")")
                self.advance()
                types.append(str(t.value))
                if not self.is_punct("-"):
                    break
                self.advance()
        return _encode_segment(value, size_bits, types, tok)


_SEGMENT_TYPES = frozenset({"integer", "utf8", "big", "little", "signed", "unsigned"})


def _encode_segment(
    value: str | int, size_bits: int | None, types: list[str], tok: _Token
) -> bytes:
    if "utf8" in types:
        if size_bits is not None:
            raise TermSyntaxError("a utf8 segment cannot have a size", tok.line, tok.column)
        if isinstance(value, str):
            return value.encode("utf-8", "surrogatepass")
        try:
            return chr(value).encode("utf-8")
        except (ValueError, OverflowError):
            message = f"{value} is not a character code"
            raise TermSyntaxError(message, tok.line, tok.column) from None
    codes = [ord(c) for c in value] if isinstance(value, str) else [value]
    size = (size_bits or 8) // 8
    order = "little" if "little" in types else "big"
    out = bytearray()
    for code in codes:
        # Erlang keeps the low bits of a value too big for its segment.
        out += (code % (1 << (8 * size))).to_bytes(size, order)
    return bytes(out)


def decode_text(data: bytes) -> str:
    """Decode a term file the way OTP does: UTF-8, falling back to Latin-1."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def consult(text: str | bytes) -> list[Term]:
    """Every term of a term file, in order, like ``file:consult/1``."""
    if isinstance(text, bytes):
        text = decode_text(text)
    return _Parser(text).forms()


def consult_located(text: str | bytes) -> tuple[list[Term], Positions]:
    """:func:`consult`, with where each term starts (see :data:`Positions`).

    ``{a, [b, c]}.`` as the first form gives ``(0,)`` for the tuple, ``(0, 1)``
    for the list and ``(0, 1, 1)`` for ``c``. The elements of a list's tail
    after ``|`` and the keys and values of maps have no entry of their own.
    """
    if isinstance(text, bytes):
        text = decode_text(text)
    positions: Positions = {}
    return _Parser(text, positions).forms(), positions


def parse_term(text: str) -> Term:
    """Exactly one term; the ending ``.`` is optional."""
    parser = _Parser(text)
    value = parser.term()
    if parser.token.kind == "dot":
        parser.advance()
    if parser.token.kind != "eof":
        raise parser.fail("end of input after the term")
    return value


# ------------------------------------------------------------------ writing


def _escape_char(c: str, quote: str) -> str:
    if c == quote or c == "\\":
        return "\\" + c
    code = ord(c)
    for letter, char in SIMPLE_ESCAPES.items():
        if c == char and letter not in "ds":
            return "\\" + letter
    if code < 0x20 or code == 0x7F:
        return f"\\x{{{code:X}}}"
    return c


def _quote(text: str, quote: str) -> str:
    return quote + "".join(_escape_char(c, quote) for c in text) + quote


def format_atom(name: str) -> str:
    """An atom as Erlang source: bare when it can be, quoted otherwise."""
    text = str(name)
    if _BARE_ATOM.fullmatch(text) and text not in RESERVED_WORDS:
        return text
    return _quote(text, "'")


def _format_float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"Erlang has no float {value!r}")
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + ("e" + exponent.lstrip("+") if exponent else "")


def _format_bytes(value: bytes) -> str:
    if value and all(0x20 <= b < 0x7F for b in value):
        return "<<" + _quote(value.decode("ascii"), '"') + ">>"
    return "<<" + ",".join(str(b) for b in value) + ">>"


def format_term(value: Term) -> str:
    """Python values as Erlang source text; ``parse_term(format_term(v)) == v``."""
    if isinstance(value, Atom):
        return format_atom(value)
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(value, '"')
    if isinstance(value, bytes):
        return _format_bytes(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, tuple):
        return "{" + ", ".join(format_term(v) for v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(format_term(v) for v in value) + "]"
    if isinstance(value, dict):
        entries = (f"{format_term(k)} => {format_term(v)}" for k, v in value.items())
        return "#{" + ", ".join(entries) + "}"
    raise TypeError(f"cannot write a {type(value).__name__} as an Erlang term")
