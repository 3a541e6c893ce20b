"""Reading Erlang literals out of tree-sitter-erlang tokens."""

from __future__ import annotations

from holo.project.erlang_terms import SIMPLE_ESCAPES as _ESCAPES


def unescape(body: str) -> str:
    """The characters an Erlang string or quoted atom body (without quotes) denotes."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "01234567":
            j = i + 1
            while j < n and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(chr(int(body[i + 1 : j], 8)))
            i = j
        elif nxt == "x" and i + 2 < n and body[i + 2] == "{":
            end = body.find("}", i + 3)
            if end < 0:
                out.append(body[i:])
                break
            out.append(_chr_or_text(body[i + 3 : end], 16, body[i : end + 1]))
            i = end + 1
        elif nxt == "x":
            out.append(_chr_or_text(body[i + 2 : i + 4], 16, body[i : i + 4]))
            i += 4
        elif nxt == "^" and i + 2 < n:
            out.append(chr(ord(body[i + 2]) & 31))
            i += 3
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def _chr_or_text(digits: str, base: int, text: str) -> str:
    try:
        return chr(int(digits, base))
    except (ValueError, OverflowError):
        return text


def atom_text(token: str) -> str:
    """The name of an atom token: ``foo`` or ``'foo bar'``."""
    if len(token) >= 2 and token[0] == "'" and token[-1] == "'":
        return unescape(token[1:-1])
    return token


def string_text(token: str) -> str | None:
    """The characters of a string token, or None if it is not one plain string."""
    if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
        return unescape(token[1:-1])
    return None


def integer_value(token: str) -> int | None:
    """The value of an integer token (``42``, ``16#ff``, ``1_000``, ``$a``), or None."""
    token = token.replace("_", "")
    try:
        if "#" in token:
            base, digits = token.split("#", 1)
            return int(digits, int(base))
        if token.startswith("$") and len(token) >= 2:
            chars = unescape(token[1:])
            return ord(chars[0]) if len(chars) == 1 else None
        return int(token)
    except (ValueError, TypeError):
        return None
