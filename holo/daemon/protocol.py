"""Frames between the client and the daemon: a 4-byte big-endian length, then UTF-8 JSON.

Standard library only: the client imports this.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False  # importing typing costs the client milliseconds
if TYPE_CHECKING:
    from socket import socket
    from typing import Any

MAX_FRAME = 64 * 2**20  # a request carries an environment; an answer, some output
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The other side sent something that is not a frame, or hung up inside one."""


try:
    # The json package imports re and more: a tenth of a no-op build through
    # the daemon. Its C scanner and encoder, which json itself uses, do not.
    import _json

    class _Context:  # what the scanner reads of a json.JSONDecoder
        strict = True
        object_hook = object_pairs_hook = None
        parse_float, parse_int = float, int
        # As json.loads reads them.
        parse_constant = {"-Infinity": -float("inf"), "Infinity": float("inf"),
                          "NaN": float("nan")}.__getitem__  # fmt: skip

    _scan = _json.make_scanner(_Context())
    _encode = _json.make_encoder(
        None, None, _json.encode_basestring_ascii, None, ":", ",", False, False, False
    )

    def _dumps(message: dict[str, Any]) -> str:
        return "".join(_encode(message, 0))

    def _loads(text: str) -> Any:
        try:
            value, end = _scan(text, 0)
        except StopIteration:
            raise ValueError("no JSON value") from None
        if end != len(text):
            raise ValueError(f"extra data at {end}")
        return value

except (ImportError, AttributeError):  # another Python implementation
    import json

    def _dumps(message: dict[str, Any]) -> str:
        return json.dumps(message, separators=(",", ":"))

    _loads = json.loads


def send(sock: socket, message: dict[str, Any]) -> None:
    data = _dumps(message).encode("utf-8")
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive(sock: socket) -> dict[str, Any] | None:
    """The next frame; None when the other side closed between frames."""
    header = _read(sock, _HEADER.size, at_boundary=True)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"a frame of {size} bytes is over the limit of {MAX_FRAME}")
    body = _read(sock, size, at_boundary=False)
    assert body is not None
    try:
        message = _loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"a frame that is not JSON: {e}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a frame that is not a JSON object")
    return message


def _read(sock: socket, size: int, *, at_boundary: bool) -> bytes | None:
    chunks: list[bytes] = []
    missing = size
    while missing:
        chunk = sock.recv(min(missing, 1 << 20))
        if not chunk:
            if at_boundary and missing == size:
                return None
            raise ProtocolError("the connection closed inside a frame")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)
