"""The Erlang term reader and writer that holo uses for rebar.config and .app.src."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holo.project.erlang_terms import (
    Atom,
    TermSyntaxError,
    consult,
    format_term,
    parse_term,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok", Atom("ok")),
        ("'Hello world'", Atom("Hello world")),
        (r"'a\'b\n'", Atom("a'b\n")),
        ("node@host", Atom("node@host")),
        ('"abc"', "abc"),
        ('"abc" "def"', "abcdef"),
        (r'"tab\there\x41\x{3b1}\101\s\^A"', "tab\thereA\u03b1A \x01"),
        ('"é"', "é"),
        ("<<>>", b""),
        ('<<"bin">>', b"bin"),
        ("<<1, 2, 255>>", b"\x01\x02\xff"),
        ("<<256>>", b"\x00"),
        ("<<1:16>>", b"\x00\x01"),
        ("<<1:16/little>>", b"\x01\x00"),
        ('<<"é"/utf8>>', "é".encode()),
        ('<<"é">>', b"\xe9"),
        ("42", 42),
        ("-42", -42),
        ("+7", 7),
        ("1_000_000", 1000000),
        ("16#FF", 255),
        ("16#ff_ff", 0xFFFF),
        ("2#1010", 10),
        ("36#zz", 36 * 36 - 1),
        ("$a", 97),
        (r"$\n", 10),
        ("$ ", 32),
        (r"$\x{1F600}", 0x1F600),
        ("3.14", 3.14),
        ("-1.5e3", -1500.0),
        ("2.0E-2", 0.02),
        ("{}", ()),
        ("{a, {b, c}, 1}", (Atom("a"), (Atom("b"), Atom("c")), 1)),
        ("[]", []),
        ("[1, [2], {3}]", [1, [2], (3,)]),
        ("[a | [b, c]]", [Atom("a"), Atom("b"), Atom("c")]),
        ('[a | ""]', [Atom("a")]),
        ("#{}", {}),
        ('#{a => 1, "k" => [x], {t} => #{}}', {Atom("a"): 1, "k": [Atom("x")], (Atom("t"),): {}}),
    ],
)
def test_parses_every_kind_of_term(text: str, expected: object) -> None:
    value = parse_term(text)
    assert value == expected
    assert type(value) is type(expected)


def test_latin1_letters_make_bare_atoms_and_adjacent_atoms_do_not_join() -> None:
    assert consult("{é, ärger}.") == [(Atom("é"), Atom("ärger"))]
    with pytest.raises(TermSyntaxError, match="1:5: expected end of input"):
        parse_term("'it''s'")


def test_atoms_and_strings_stay_distinct() -> None:
    atom, string = parse_term('[ok, "ok"]')
    assert atom == Atom("ok") and string == "ok"
    assert atom != string and string != atom
    assert type(atom) is Atom and type(string) is str
    assert len({atom, string}) == 2
    assert str(atom) == "ok" and type(str(atom)) is str


def test_consult_reads_a_whole_config_with_comments() -> None:
    text = b"""%% rebar.config
{erl_opts, [debug_info, % trailing comment
            {i, "include"}, {d, 'TEST'}, {d, 'N', 16#10}]}.
{deps, []}.

%% the end
"""
    assert consult(text) == [
        (
            Atom("erl_opts"),
            [Atom("debug_info"), (Atom("i"), "include"), (Atom("d"), Atom("TEST")),
             (Atom("d"), Atom("N"), 16)],
        ),
        (Atom("deps"), []),
    ]  # fmt: skip
    assert consult("") == []
    assert consult("% only a comment\n") == []


def test_consult_falls_back_to_latin1_for_non_utf8_files() -> None:
    assert consult(b'{name, "caf\xe9"}.') == [(Atom("name"), "café")]


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("{a, b", 1, 6, "expected ',' or '}' after an element of the tuple, found end of input"),
        ("{a b}.", 1, 4, "expected ',' or '}' after an element of the tuple, found 'b'"),
        ("{a}", 1, 4, "expected '.' after the term, found end of input"),
        ("{a} {b}.", 1, 5, "expected '.' after the term, found '{'"),
        ("[X].", 1, 2, "variables are not allowed in a term file: X"),
        ("[_Ignored].", 1, 2, "variables are not allowed"),
        ('{x,\n  "abc}.\n', 2, 3, "unterminated string"),
        ("'abc", 1, 1, "unterminated quoted atom"),
        ("{a, and}.", 1, 5, "'and' is a reserved word"),
        ("[a | b].", 1, 4, "improper lists are not supported"),
        ("16#FG.", 1, 4, "invalid digit for base 16"),
        ("37#1.", 1, 1, "integer base must be between 2 and 36"),
        ("#{a, b}.", 1, 4, "expected '=>' after a map key, found ','"),
        ("#{[1] => x}.", 1, 3, "map keys that are lists or maps are not supported"),
        ("{a}.{b}.", 1, 4, "expected whitespace or end of input after '.'"),
        ("\n\n  {a,,b}.", 3, 6, "expected a term, found ','"),
        (
            "%% c\n{erl_opts,\n  [debug_info\n   {d, 'X'}]}.\n",
            4,
            4,
            "expected ',', '|' or ']' after an element of the list, found '{'",
        ),
        ("<<1.5>>.", 1, 3, "expected a string or an integer in the binary, found '1.5'"),
        ("<<1:4>>.", 1, 5, "only whole-byte sizes"),
        ("<<1/float>>.", 1, 5, "expected a segment type"),
        ("- a.", 1, 3, "expected a number after '-', found 'a'"),
        (r'"bad \x"', 1, 6, "expected two hexadecimal digits"),
        ("fun lists:map/2.", 1, 1, "'fun' is a reserved word"),
        ("{a} ; {b}.", 1, 5, "unexpected character ';'"),
    ],
)
def test_syntax_errors_say_where_and_what(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(TermSyntaxError) as info:
        consult(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert message in info.value.message
    assert str(info.value).startswith(f"{line}:{column}: ")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Atom("ok"), "ok"),
        (Atom("Hello"), "'Hello'"),
        (Atom("and"), "'and'"),
        (Atom("it's"), r"'it\'s'"),
        (Atom(""), "''"),
        ('line\n"quoted"', r'"line\n\"quoted\""'),
        (b"abc", '<<"abc">>'),
        (b"\x00\xff", "<<0,255>>"),
        (b"", "<<>>"),
        (-3, "-3"),
        (1e20, "1.0e20"),
        (2.5e-7, "2.5e-07"),
        (1.0, "1.0"),
        ((), "{}"),
        ([Atom("debug_info"), (Atom("i"), "inc")], '[debug_info, {i, "inc"}]'),
        ({Atom("a"): [1]}, "#{a => [1]}"),
        (True, "true"),
    ],
)
def test_format_term_writes_erlang_source(value: object, text: str) -> None:
    assert format_term(value) == text


def test_format_term_rejects_what_erlang_cannot_hold() -> None:
    with pytest.raises(TypeError, match="NoneType"):
        format_term(None)
    with pytest.raises(ValueError, match="no float"):
        format_term(math.inf)


_atoms = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).map(Atom)
_scalars = st.one_of(
    _atoms,
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.binary(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
_terms = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.one_of(_atoms, st.integers()), children, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_terms)
def test_format_then_parse_gives_the_value_back(value: object) -> None:
    text = format_term(value)
    assert parse_term(text) == value
    assert consult(text + ".\n" + text + ".") == [value, value]
