"""The Python <-> Erlang term mapping, checked against a real node."""

from __future__ import annotations

import pytest

from holo.beam import BeamNode
from holo.beam.terms import decode, encode
from tests.beam.helpers import apply


def test_plain_values_survive_a_round_trip_through_the_node(node: BeamNode) -> None:
    value = [
        "an_atom",
        "ünïcode_atom",
        b"a binary",
        b"",
        0,
        -7,
        2**70,
        1.5,
        True,
        False,
        None,
        (),
        ("ok", b"text", [1, [2]]),
        {"key": {b"nested": (1, 2)}},
        [],
    ]
    assert node.call("echo", value) == value


def test_atoms_and_binaries_stay_apart_on_the_erlang_side(node: BeamNode) -> None:
    assert apply(node, "erlang", "is_atom", "ok") is True
    assert apply(node, "erlang", "is_binary", b"ok") is True
    assert apply(node, "erlang", "is_atom", b"ok") is False
    assert apply(node, "erlang", "is_map", {"a": 1}) is True
    assert apply(node, "erlang", "is_tuple", ("a", 1)) is True
    # None is undefined; a charlist from Erlang is a list of code points.
    assert apply(node, "erlang", "atom_to_binary", None) == b"undefined"
    assert apply(node, "erlang", "atom_to_list", "abc") == [97, 98, 99]
    assert apply(node, "unicode", "characters_to_list", "é".encode()) == [233]


def test_opaque_terms_go_back_unchanged(node: BeamNode) -> None:
    pid = apply(node, "erlang", "whereis", "code_server")
    assert apply(node, "erlang", "is_pid", pid) is True
    assert apply(node, "erlang", "is_process_alive", pid) is True


def test_values_with_no_erlang_form_are_refused() -> None:
    with pytest.raises(TypeError, match="set"):
        encode({1, 2})
    assert decode(encode(("a", b"b", [1]))) == ("a", b"b", [1])
