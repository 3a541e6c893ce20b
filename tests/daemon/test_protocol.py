"""Frames over a real socket pair: what goes in comes out, and bad frames are errors."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from holo.daemon import protocol


def test_frames_round_trip_with_any_text() -> None:
    a, b = socket.socketpair()
    with a, b:
        messages = [{"out": "héllo\n"}, {"err": "\udcff bytes that were not UTF-8"},
                    {"exit": 2}, {"out": "x" * 3_000_000},
                    {"kind": "run", "argv": ["build", "--json"], "env": {"K": "v\t\"q\""},
                     "stdout_tty": False, "columns": None, "lines": [24, 1.5]}]

        def sender() -> None:
            for message in messages:
                protocol.send(a, message)
            a.close()

        thread = threading.Thread(target=sender)
        thread.start()
        assert [protocol.receive(b) for _ in messages] == messages
        thread.join()
        assert protocol.receive(b) is None  # closed between frames


@pytest.mark.parametrize("raw", [
    struct.pack(">I", 10) + b"abc",  # closed inside a frame
    struct.pack(">I", 3) + b"abc",  # not JSON
    struct.pack(">I", 2) + b"[]",  # not an object
    struct.pack(">I", 3) + b"{}x",  # more after the object
    struct.pack(">I", 0),  # empty
    struct.pack(">I", protocol.MAX_FRAME + 1),  # too big to take
])
def test_a_bad_frame_is_a_protocol_error(raw: bytes) -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(raw)
        a.close()
        with pytest.raises(protocol.ProtocolError):
            protocol.receive(b)
