"""The ``-spec`` of each function in an Erlang source, as written, without a full parse.

OTP's sources are 37 MB; parsing them all with tree-sitter takes about nine
seconds, while the specs are a small part of them. A spec form is found by
``-spec`` at the start of a line and ends at the first ``.`` followed by
white space, a comment or the end of the file, skipping strings, quoted
atoms, character literals and comments. The function is the atom after
``-spec`` (optionally ``Module:``-qualified, optionally inside the old
``-spec(...)`` parentheses) and its arity is the number of arguments of the
first signature. When preprocessor branches declare the same spec twice,
the first one wins, as for the language server's hover.
"""

from __future__ import annotations

import re

_SPEC_START = re.compile(r"^-[ \t]*spec\b", re.MULTILINE)
_FORM_END = re.compile(r"(?<!\.)\.(?=\s|%|$)")
_BARE_ATOM = re.compile(r"[a-z\u00df-\u00f6\u00f8-\u00ff][A-Za-z0-9_@\u00c0-\u00d6\u00d8-\u00ff]*")
_SPACE = re.compile(r"(?:\s|%[^\n]*)*")
_INTEGER = re.compile(r"[0-9]+")
_OPEN = "([{"
_CLOSE = ")]}"


def decode_source(data: bytes) -> str:
    """An Erlang source's text: UTF-8 (OTP's default), else Latin-1."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _skip_quoted(text: str, pos: int) -> int:
    """The position after the string or quoted atom whose opening quote is at ``pos``."""
    quote = text[pos]
    pos += 1
    while pos < len(text):
        c = text[pos]
        if c == "\\":
            pos += 2
            continue
        if c == quote:
            return pos + 1
        pos += 1
    return pos


def _form_end(text: str, start: int) -> int | None:
    """The position of the ``.`` ending the form that starts at ``start``."""
    pos = start
    while True:
        m = _FORM_END.search(text, pos)
        if m is None:
            return None
        segment = text[pos : m.start()]
        if not any(c in segment for c in "\"'%$"):
            return m.start()
        # Something in between may hide a dot or be one: walk it token by token.
        i = pos
        end = m.start()
        while i < end:
            c = text[i]
            if c in "\"'":
                i = _skip_quoted(text, i)
            elif c == "%":
                newline = text.find("\n", i)
                i = len(text) if newline < 0 else newline
            elif c == "$":
                i += 3 if text.startswith("\\", i + 1) else 2
            else:
                i += 1
        if i <= end:
            return end
        pos = i  # the candidate dot was inside a string, atom or comment


def _atom(text: str, pos: int) -> tuple[str, int] | None:
    if pos < len(text) and text[pos] == "'":
        end = _skip_quoted(text, pos)
        body = text[pos + 1 : end - 1]
        return re.sub(r"\\(.)", r"\1", body), end
    m = _BARE_ATOM.match(text, pos)
    return (m.group(), m.end()) if m else None


def _skip_space(text: str, pos: int, end: int) -> int:
    return min(_SPACE.match(text, pos).end(), end)  # type: ignore[union-attr]


def _argument_count(text: str, pos: int, end: int) -> int | None:
    """The number of arguments in the parentheses opening at ``pos``."""
    depth = 0
    count = 0
    empty = True
    i = pos
    while i < end:
        c = text[i]
        if c in "\"'":
            i = _skip_quoted(text, i)
            empty = False
            continue
        if c == "%":
            newline = text.find("\n", i)
            i = end if newline < 0 else newline
            continue
        if c == "$":
            i += 3 if text.startswith("\\", i + 1) else 2
            empty = False
            continue
        if text.startswith("<<", i):
            depth += 1
            i += 2
            empty = False
            continue
        if text.startswith(">>", i) and depth > 1:
            depth -= 1
            i += 2
            continue
        if c in _OPEN:
            depth += 1
            if depth > 1:
                empty = False
        elif c in _CLOSE:
            depth -= 1
            if depth == 0:
                return 0 if empty else count + 1
        elif c == "," and depth == 1:
            count += 1
        elif not c.isspace() and depth >= 1:
            empty = False
        i += 1
    return None


def _spec_key(text: str, start: int, end: int) -> tuple[str, int] | None:
    """(name, arity) of the spec form in text[start:end] (which starts with ``-spec``)."""
    pos = _skip_space(text, text.index("spec", start) + 4, end)
    if text.startswith("(", pos):  # -spec(name(...) -> ...).
        pos = _skip_space(text, pos + 1, end)
    found = _atom(text, pos)
    if found is None:
        return None
    name, pos = found
    pos = _skip_space(text, pos, end)
    if text.startswith(":", pos) and not text.startswith("::", pos):  # Module:name(...)
        found = _atom(text, _skip_space(text, pos + 1, end))
        if found is None:
            return None
        name, pos = found
        pos = _skip_space(text, pos, end)
    if text.startswith("/", pos):  # -spec(name/2 :: ...), the oldest syntax
        digits = _INTEGER.match(text, _skip_space(text, pos + 1, end))
        return (name, int(digits.group())) if digits else None
    if not text.startswith("(", pos):
        return None
    arity = _argument_count(text, pos, end)
    return (name, arity) if arity is not None else None


def source_specs(text: str) -> dict[tuple[str, int], str]:
    """Every ``-spec`` of a source by (name, arity): the form's text, its final dot included."""
    specs: dict[tuple[str, int], str] = {}
    pos = 0
    while True:
        m = _SPEC_START.search(text, pos)
        if m is None:
            return specs
        end = _form_end(text, m.end())
        if end is None:
            return specs
        key = _spec_key(text, m.start(), end)
        if key is not None and key not in specs:
            specs[key] = text[m.start() : end + 1]
        pos = end + 1
