"""OTP facts read from the installed OTP's files, checked against what a real BEAM node says."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from holo.engine import MemoryStore
from holo.engine.codec import encode
from holo.errors import UserError
from holo.inputs import ExternalModule, OtpInfo
from holo.project.beam_file import BeamFormatError, read_beam_exports
from holo.project.erlang_terms import Atom, consult
from holo.project.otp import (
    _encode_modules,
    behaviour_callbacks,
    locate_otp,
    otp_auto_imported_bifs,
    otp_header_paths,
    otp_modules,
)
from holo.project.otp_specs import source_specs

SAMPLE_MODULES = ["lists", "maps", "erlang", "ets", "gen_server", "supervisor", "eunit", "ssl"]

# One erl run answers everything these tests compare against: OTP's root and
# release, the auto-imported BIFs, exports of a few modules, and the callbacks
# of every behaviour holo found. Printed with ~w, read back with holo's own parser.
ERL_PROBE = """
Behaviours = [list_to_atom(B) || B <- string:lexemes(os:getenv("HOLO_BEHAVIOURS"), ",")],
Samples = [list_to_atom(M) || M <- string:lexemes(os:getenv("HOLO_SAMPLES"), ",")],
Callbacks = [{B, lists:sort(B:behaviour_info(callbacks)),
              lists:sort(B:behaviour_info(optional_callbacks))}
             || B <- Behaviours, code:ensure_loaded(B) =:= {module, B}],
Exports = [{M, lists:sort(M:module_info(exports))} || M <- Samples],
Bifs = [FA || {F, A} = FA <- erlang:module_info(exports), erl_internal:bif(F, A)],
NotBifs = [{F, A} || FA <- string:lexemes(os:getenv("HOLO_BIFS"), ","),
                     [F0, A0] <- [string:split(FA, "/")],
                     F <- [list_to_atom(F0)], A <- [list_to_integer(A0)],
                     not erl_internal:bif(F, A)],
io:format("~w.~n~w.~n~w.~n~w.~n~w.~n~w.~n",
          [code:root_dir(), erlang:system_info(otp_release), Callbacks, Exports, Bifs, NotBifs]),
halt().
"""


def _pairs(terms: list[tuple[Atom, int]]) -> frozenset[tuple[str, int]]:
    return frozenset((str(name), arity) for name, arity in terms)


@pytest.fixture(scope="module")
def erl_says(otp: OtpInfo, otp_table: dict[str, ExternalModule]) -> dict[str, object]:
    behaviours = sorted(name for name, m in otp_table.items() if m.callbacks)
    bifs = sorted(f"{name}/{arity}" for name, arity in otp_auto_imported_bifs(otp))
    env = dict(
        os.environ,
        HOLO_BEHAVIOURS=",".join(behaviours),
        HOLO_SAMPLES=",".join(SAMPLE_MODULES),
        HOLO_BIFS=",".join(bifs),
    )
    out = subprocess.run(
        ["erl", "-noshell", "-eval", ERL_PROBE],
        capture_output=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout
    root, release, callbacks, exports, bifs, not_bifs = consult(out)
    return {
        "root": "".join(map(chr, root)),
        "release": "".join(map(chr, release)),
        "callbacks": {str(b): (_pairs(cs), _pairs(opt)) for b, cs, opt in callbacks},
        "exports": {str(m): _pairs(es) for m, es in exports},
        "exported_bifs": _pairs(bifs),
        "not_bifs": _pairs(not_bifs),
    }


def test_locate_otp_finds_the_installed_release(otp: OtpInfo, erl_says: dict) -> None:
    assert otp.root == erl_says["root"]
    assert otp.release == erl_says["release"]
    assert otp.version.split(".")[0] == otp.release
    assert (Path(otp.root) / "releases" / otp.release / "OTP_VERSION").read_text().strip() == (
        otp.version
    )
    apps = dict(otp.lib_dirs)
    assert [name for name, _ in otp.lib_dirs] == sorted(apps)
    assert Path(apps["stdlib"]).name.startswith("stdlib-")
    assert (Path(apps["kernel"]) / "ebin" / "kernel.app").is_file()


def test_locate_otp_follows_a_symlinked_erl(tmp_path: Path, otp: OtpInfo) -> None:
    real_erl = shutil.which("erl")
    assert real_erl is not None
    (tmp_path / "bin").mkdir()
    os.symlink(real_erl, tmp_path / "bin" / "erl")
    assert locate_otp(str(tmp_path / "bin" / "erl")) == otp


def test_no_erl_on_path_is_a_clear_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="no `erl` on PATH.*erlang-nox"):
        locate_otp()


def test_exports_match_the_running_system(
    otp_table: dict[str, ExternalModule], erl_says: dict
) -> None:
    assert ("map", 2) in otp_table["lists"].exports
    assert otp_table["lists"].app == "stdlib"
    assert otp_table["erlang"].app == "erts"
    for name in SAMPLE_MODULES:
        assert otp_table[name].exports == erl_says["exports"][name], name


def test_behaviour_callbacks_match_behaviour_info(
    otp_table: dict[str, ExternalModule], erl_says: dict
) -> None:
    gen_server = otp_table["gen_server"]
    assert {("init", 1), ("handle_call", 3), ("handle_cast", 2)} <= gen_server.callbacks
    assert {("code_change", 3), ("handle_info", 2)} <= gen_server.optional_callbacks
    assert ("format_status", 2) in gen_server.optional_callbacks
    assert otp_table["supervisor"].callbacks == {("init", 1)}
    assert otp_table["lists"].callbacks == frozenset()
    compared = erl_says["callbacks"]
    assert {"gen_server", "gen_statem", "gen_event", "supervisor", "application"} <= set(compared)
    for name, (callbacks, optional) in compared.items():
        assert otp_table[name].callbacks == callbacks, name
        assert otp_table[name].optional_callbacks == optional, name


def test_auto_imported_bifs_match_erl_internal(otp: OtpInfo, erl_says: dict) -> None:
    bifs = otp_auto_imported_bifs(otp)
    assert ("length", 1) in bifs and ("self", 0) in bifs
    assert ("send", 2) not in bifs
    # erl_internal:bif/2 is true for every pair holo read, and every exported
    # auto-imported BIF is among them (a few, like bitsize/1, are no longer exported).
    assert erl_says["not_bifs"] == frozenset()
    assert erl_says["exported_bifs"] <= bifs


def test_otp_headers_include_eunit_hrl(otp: OtpInfo) -> None:
    headers = otp_header_paths(otp)
    assert all(p.is_absolute() and p.suffix == ".hrl" for p in headers)
    assert any(p.parent.parent.name.startswith("eunit-") and p.name == "eunit.hrl" for p in headers)


def test_cached_table_equals_the_cold_one(otp: OtpInfo, otp_table: dict) -> None:
    store = MemoryStore()
    cold = otp_modules(otp, store)
    assert len(store.entries) == 1
    assert otp_modules(otp, store) == cold == otp_table


def _copy(store: MemoryStore) -> MemoryStore:
    copy = MemoryStore()
    copy.entries = dict(store.entries)
    return copy


def test_a_cache_hit_returns_what_the_store_holds(otp: OtpInfo, otp_store: MemoryStore) -> None:
    store = _copy(otp_store)
    [key] = store.entries
    only = ExternalModule("only", "fake", frozenset({("f", 0)}), frozenset(), frozenset())
    store.set_many([(key, _encode_modules({"only": only}))])
    assert otp_modules(otp, store) == {"only": only}


@pytest.mark.parametrize("payload", [b"not an encoding", encode((1, 2)), b""])
def test_a_corrupt_cache_entry_is_a_miss_and_is_rewritten(
    otp: OtpInfo,
    otp_store: MemoryStore,
    otp_table: dict,
    payload: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _copy(otp_store)
    [key] = store.entries
    store.set_many([(key, payload)])
    with caplog.at_level(logging.WARNING):
        assert otp_modules(otp, store) == otp_table
    assert "unreadable" in caplog.text
    assert store.entries[key] == otp_store.entries[key]


def test_a_damaged_cache_entry_is_a_plain_miss(
    otp: OtpInfo, otp_store: MemoryStore, otp_table: dict
) -> None:
    store = _copy(otp_store)
    [key] = store.entries
    store.entries[key] = store.entries[key][:-1] + b"?"
    assert otp_modules(otp, store) == otp_table
    assert store.entries[key] == otp_store.entries[key]


BEHAVIOUR_SOURCE = """\
-module(fake_behaviour).
-export([run/1]).
-callback start(Args :: term()) -> {ok, pid()}.
-callback 'odd name'() -> ok.
-callback handle(Msg, State) -> {ok, State} when Msg :: atom();
                (Msg, State) -> {error, State} when Msg :: term().
-callback stop(State :: term()) -> ok.
-optional_callbacks([stop/1]).
run(X) -> X.
"""


def _fake_otp(tmp_path: Path, beam_dir: Path) -> OtpInfo:
    return OtpInfo("99.0", "99", str(tmp_path), (("fake", str(beam_dir.parent)),))


def test_compressed_beams_and_behaviour_sources_are_read(tmp_path: Path) -> None:
    lib = tmp_path / "lib" / "fake-1.0"
    (lib / "src").mkdir(parents=True)
    (lib / "ebin").mkdir()
    (lib / "src" / "fake_behaviour.erl").write_text(BEHAVIOUR_SOURCE)
    subprocess.run(
        ["erlc", "+compressed", "-o", str(lib / "ebin"), str(lib / "src" / "fake_behaviour.erl")],
        check=True,
        capture_output=True,
    )
    beam = (lib / "ebin" / "fake_behaviour.beam").read_bytes()
    assert beam[:2] == b"\x1f\x8b"  # really gzip-compressed
    (lib / "ebin" / "truncated.beam").write_bytes(beam[:40])
    table = otp_modules(_fake_otp(tmp_path, lib / "ebin"), None)
    assert set(table) == {"fake_behaviour"}
    module = table["fake_behaviour"]
    assert module.exports == {
        ("run", 1), ("behaviour_info", 1), ("module_info", 0), ("module_info", 1)
    }  # fmt: skip
    assert module.callbacks == {("start", 1), ("odd name", 0), ("handle", 2), ("stop", 1)}
    assert module.optional_callbacks == {("stop", 1)}


def test_behaviour_callbacks_read_every_preprocessor_branch() -> None:
    source = b"""-module(m).
-ifdef(NEW).
-callback a(x) -> ok.
-else.
-callback b(x, y) -> ok.
-endif.
-optional_callbacks([a/1]).
"""
    callbacks, optional = behaviour_callbacks(source)
    assert callbacks == {("a", 1), ("b", 2)} and optional == {("a", 1)}


def test_bad_beam_files_raise_a_format_error() -> None:
    for data in (b"", b"FOR1\x00\x00\x00\x04BEAM", b"\x1f\x8bnot gzip", b"ELF" * 10):
        with pytest.raises(BeamFormatError):
            read_beam_exports(data)


def test_exported_functions_carry_their_specs_as_written(otp_table: dict) -> None:
    lists = otp_table["lists"]
    reverse = lists.spec("reverse", 1)
    assert reverse is not None
    assert reverse.startswith("-spec reverse(List1) -> List2 when\n") and reverse.endswith(".")
    assert "List1 :: [T]" in reverse
    assert lists.spec("reverse", 7) is None
    for module in otp_table.values():
        assert all((name, arity) in module.exports for name, arity, _ in module.specs)
    # Most of stdlib is specified.
    assert sum(1 for m in otp_table.values() if m.app == "stdlib" and m.specs) > 50


@pytest.mark.parametrize("module", ["lists", "maps", "gen_server", "ets", "string", "file"])
def test_specs_agree_with_a_full_parse_of_the_source(
    otp: OtpInfo, otp_table: dict, module: str
) -> None:
    # The language server reads specs through tree-sitter; the table's scanner must agree.
    from tree_sitter_language_pack import get_parser

    from holo.lsp.docs import function_docs

    table = otp_table[module]
    lib = dict(otp.lib_dirs)[table.app]
    source = next(Path(lib, "src").rglob(f"{module}.erl")).read_bytes()
    root = get_parser("erlang").parse(source).root_node
    for name, arity in table.exports:
        docs = function_docs(root, source, name, arity)
        expected = docs.spec if docs is not None else None
        assert table.spec(name, arity) == expected, (module, name, arity)


def test_the_spec_scanner_reads_every_way_of_writing_a_spec() -> None:
    source = """-module(m).
-spec plain(atom(), [T]) -> T.
-spec(old(x) -> y).
-spec(oldest/1 :: (x) -> y).
-spec m:qualified(X) -> X when X :: 'a. b'.
-spec 'odd name'() -> ok. % a comment. with dots.
-spec bin(<<_:8, _:_*16>>, fun((a, b) -> c)) -> #{k => v}.
-spec commented(a, % the first. argument
                b) -> "a string. with a dot".
-ifdef(NEW).
-spec branch(new) -> ok.
-else.
-spec branch(old) -> ok.
-endif.
-spec range(1..10) -> 0.5.
-spec variadic(fun((...) -> ok)) -> ok.
plain(A, L) -> A.
"""
    specs = source_specs(source)
    assert {key: text.split("\n")[0] for key, text in specs.items()} == {
        ("plain", 2): "-spec plain(atom(), [T]) -> T.",
        ("old", 1): "-spec(old(x) -> y).",
        ("oldest", 1): "-spec(oldest/1 :: (x) -> y).",
        ("qualified", 1): "-spec m:qualified(X) -> X when X :: 'a. b'.",
        ("odd name", 0): "-spec 'odd name'() -> ok.",
        ("bin", 2): "-spec bin(<<_:8, _:_*16>>, fun((a, b) -> c)) -> #{k => v}.",
        ("commented", 2): "-spec commented(a, % the first. argument",
        ("branch", 1): "-spec branch(new) -> ok.",
        ("range", 1): "-spec range(1..10) -> 0.5.",
        ("variadic", 1): "-spec variadic(fun((...) -> ok)) -> ok.",
    }
    assert specs[("commented", 2)].endswith('b) -> "a string. with a dot".')


def test_the_cached_table_keeps_specs_with_tabs_and_newlines(
    otp: OtpInfo, otp_store: MemoryStore
) -> None:
    store = _copy(otp_store)
    [key] = store.entries
    spec = "-spec f(A) ->\n\tA when\n\t  A :: term()."
    only = ExternalModule(
        "only", "fake", frozenset({("f", 1)}), frozenset(), frozenset(), (("f", 1, spec),)
    )
    store.set_many([(key, _encode_modules({"only": only}))])
    assert otp_modules(otp, store) == {"only": only}
