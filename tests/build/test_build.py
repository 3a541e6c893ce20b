"""holo build on real projects with the real agent: what compiles, is reused and is written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from holo.beam.node import BeamNode
from holo.build.compiler import Compiler
from holo.build.driver import BuildReport, build
from holo.session import Session
from tests.beam.helpers import apply, load_probe

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("_build"))
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def session(shop: Path, cache: Path) -> Iterator[Session]:
    with Session(shop, cache) as s:
        yield s


def rebuild(session: Session, *changed: Path) -> BuildReport:
    session.workspace.apply_changes(changed)
    return build(session.workspace, session.compiler)


def erlc_error_position(source: Path, root: Path) -> tuple[int, int]:
    """Where erlc itself reports the first error in a file (1-based line and column)."""
    out = subprocess.run(
        ["erlc", "-o", str(root), "-I", str(root / "include"), str(source)],
        capture_output=True, text=True,
    ).stdout
    first = next(line for line in out.splitlines() if line.startswith(str(source)))
    _, line, column, _ = first.split(":", 3)
    return int(line), int(column)


def modules_using(root: Path, text: str) -> list[str]:
    return sorted(p.stem for p in (root / "src").glob("*.erl") if text in p.read_text())


def test_a_cold_build_compiles_everything_and_writes_ebin_and_the_app_file(
    session: Session, shop: Path
) -> None:
    report = build(session.workspace, session.compiler)
    sources = sorted(p.stem for p in (shop / "src").glob("*.erl"))
    assert report.ok, report.diagnostics
    assert report.compiled == sources and report.cached == []
    ebin = shop / "_build" / "holo" / "default" / "lib" / "shop" / "ebin"
    assert sorted(p.stem for p in ebin.glob("*.beam")) == sources
    app = (ebin / "shop.app").read_text()
    assert "{modules, [" + ", ".join(sources) + "]}" in app
    beam_info = subprocess.run(
        ["erl", "-noshell", "-eval",
         f'{{ok, {{M, _}}}} = beam_lib:version("{ebin / "shop_pricing.beam"}"), '
         'io:format("~s", [M]), halt().'],
        capture_output=True, text=True, check=True,
    )
    assert beam_info.stdout == "shop_pricing"


def test_a_new_process_and_a_fresh_clone_elsewhere_compile_nothing(
    session: Session, shop: Path, cache: Path, tmp_path: Path
) -> None:
    build(session.workspace, session.compiler)
    session.close()
    with Session(shop, cache) as again:
        assert build(again.workspace, again.compiler).compiled == []
    clone = tmp_path / "elsewhere" / "clone"
    shutil.copytree(shop, clone, ignore=shutil.ignore_patterns("_build"))
    with Session(clone, cache) as fresh:
        report = build(fresh.workspace, fresh.compiler)
        assert report.compiled == [] and report.ok
        assert (clone / "_build" / "holo" / "default" / "lib" / "shop" / "ebin" /
                "shop_cart.beam").exists()


def test_a_build_the_cache_answers_never_starts_the_compiler_node(
    session: Session, shop: Path, cache: Path
) -> None:
    build(session.workspace, session.compiler)
    session.close()
    nodes: list[BeamNode] = []

    def start() -> BeamNode:
        if not nodes:
            nodes.append(BeamNode(cache_dir=cache))
        return nodes[0]

    with Session(shop, cache) as again:
        compiler = Compiler(start, again.store, again.salt)
        again.db.services["compiler"] = compiler
        report = build(again.workspace, compiler)
        assert report.ok and report.compiled == [] and nodes == []
        # The first module to compile starts it (in the background, while holo analyses on).
        pricing = shop / "src" / "shop_pricing.erl"
        pricing.write_text(pricing.read_text() + "\n%% an edit\n")
        again.workspace.apply_changes([pricing])
        assert build(again.workspace, compiler).compiled == ["shop_pricing"]
        assert len(nodes) == 1
    nodes[0].close()


def test_only_the_edited_module_recompiles(session: Session, shop: Path) -> None:
    build(session.workspace, session.compiler)
    pricing = shop / "src" / "shop_pricing.erl"
    pricing.write_text(pricing.read_text() + "\n%% a comment at the end\n")
    assert rebuild(session, pricing).compiled == ["shop_pricing"]
    assert rebuild(session, pricing).compiled == []


def test_a_build_with_nothing_changed_reports_what_a_full_one_would(
    session: Session, shop: Path
) -> None:
    pricing = shop / "src" / "shop_pricing.erl"
    pricing.write_text(pricing.read_text() + "\nunused() -> ok.\n")  # a warning to report
    first = rebuild(session, pricing)
    sources = sorted(p.stem for p in (shop / "src").glob("*.erl"))
    assert first.compiled == sources
    again = build(session.workspace, session.compiler)
    assert again.compiled == [] and again.cached == sources
    assert again.binaries == first.binaries
    assert again.diagnostics == first.diagnostics
    assert any(d.path == "src/shop_pricing.erl" and d.code == "Cunused_function"
               for d in again.diagnostics)
    assert again.ebin["shop"].written == []
    # An edit between two builds is seen, and the build after it has nothing to do.
    pricing.write_text(pricing.read_text().replace("unused() -> ok.", "unused() -> error."))
    edited = rebuild(session, pricing)
    assert edited.compiled == ["shop_pricing"]
    assert edited.binaries["shop_pricing"] != first.binaries["shop_pricing"]
    after = build(session.workspace, session.compiler)
    assert after.compiled == [] and after.binaries == edited.binaries


def test_an_unused_header_macro_recompiles_nothing_and_a_used_one_only_its_users(
    session: Session, shop: Path
) -> None:
    build(session.workspace, session.compiler)
    header = shop / "include" / "shop.hrl"
    original = header.read_text()
    header.write_text(original + "\n-define(NOBODY_USES_THIS, 42).\n")
    assert rebuild(session, header).compiled == []
    assert "-define(VAT_RATE" in original
    header.write_text(original.replace("-define(VAT_RATE,", "-define(VAT_RATE, 0.5 + 0 *", 1))
    report = rebuild(session, header)
    assert report.ok, report.diagnostics
    assert report.compiled == modules_using(shop, "?VAT_RATE")
    assert report.compiled  # the example uses it


def test_a_broken_module_does_not_stop_the_others_and_keeps_its_previous_beam(
    session: Session, shop: Path
) -> None:
    build(session.workspace, session.compiler)
    ebin = shop / "_build" / "holo" / "default" / "lib" / "shop" / "ebin"
    before = (ebin / "shop_pricing.beam").read_bytes()
    pricing = shop / "src" / "shop_pricing.erl"
    good = pricing.read_text()
    pricing.write_text(good.replace("-module(shop_pricing).", "-module(shop_pricing).\nbroken(("))
    cart = shop / "src" / "shop_cart.erl"
    cart.write_text(cart.read_text() + "\n%% touched\n")
    report = rebuild(session, pricing, cart)
    assert not report.ok
    errors = [d for d in report.diagnostics if d.severity.value == "error"]
    assert errors and {d.path for d in errors} == {"src/shop_pricing.erl"}
    assert (errors[0].line + 1, errors[0].column + 1) == erlc_error_position(pricing, shop)
    assert "shop_cart" in report.compiled and report.results["shop_cart"].ok
    assert (ebin / "shop_pricing.beam").read_bytes() == before
    pricing.write_text(good)
    fixed = rebuild(session, pricing)
    assert fixed.ok, fixed.diagnostics
    # The good text's result is still known by its key: nothing compiles again.
    assert fixed.compiled == [] and "shop_pricing" in fixed.cached
    assert (ebin / "shop_pricing.beam").read_bytes() == before


def test_a_deleted_module_loses_its_beam(session: Session, shop: Path) -> None:
    build(session.workspace, session.compiler)
    inventory = shop / "src" / "shop_inventory.erl"
    inventory.unlink()
    report = rebuild(session, inventory)
    ebin = shop / "_build" / "holo" / "default" / "lib" / "shop" / "ebin"
    assert not (ebin / "shop_inventory.beam").exists()
    assert "shop_inventory.beam" in report.ebin["shop"].removed
    assert "shop_inventory" not in (ebin / "shop.app").read_text()


def test_the_compiler_sees_the_bytes_the_engine_holds_not_a_fresh_read(
    session: Session, shop: Path
) -> None:
    pricing = shop / "src" / "shop_pricing.erl"
    engine_text = pricing.read_text()
    # The engine read the file when the session opened; a save lands before the
    # build without the watcher having told the engine yet.
    pricing.write_text("-module(shop_pricing).\nthis does not parse\n")
    report = build(session.workspace, session.compiler)
    assert report.ok, report.diagnostics
    session.runtime.load(report.binaries)
    exports = _call_with(session, "shop_pricing", "module_info", "exports")
    assert ("vat", 1) in exports
    assert "-export" in engine_text


PARSE_TRANSFORM = """-module(add_hello).
-export([parse_transform/2]).
parse_transform(Forms, _Options) ->
    {eof, L} = lists:last(Forms),
    Hello = {function, L, hello, 0, [{clause, L, [], [], [{atom, L, GREETING}]}]},
    lists:flatmap(fun({attribute, _, module, _} = M) -> [M, {attribute, L, export, [{hello, 0}]}];
                     ({eof, _} = E) -> [Hello, E];
                     (F) -> [F]
                  end, Forms).
"""


def test_a_project_parse_transform_is_compiled_first_and_its_change_recompiles_its_users(
    tmp_path: Path, cache: Path
) -> None:
    root = tmp_path / "pt"
    (root / "src").mkdir(parents=True)
    (root / "src" / "add_hello.erl").write_text(PARSE_TRANSFORM.replace("GREETING", "hi"))
    (root / "src" / "greeter.erl").write_text(
        "-module(greeter).\n-compile({parse_transform, add_hello}).\n-export([f/0]).\nf() -> ok.\n"
    )
    (root / "src" / "bystander.erl").write_text("-module(bystander).\n")
    with Session(root, cache) as s:
        report = build(s.workspace, s.compiler)
        assert report.ok, report.diagnostics
        s.runtime.load(report.binaries)
        assert _call(s, "greeter", "hello") == "hi"
        transform = root / "src" / "add_hello.erl"
        transform.write_text(PARSE_TRANSFORM.replace("GREETING", "hello"))
        s.workspace.apply_changes([transform])
        again = build(s.workspace, s.compiler)
        assert again.compiled == ["add_hello", "greeter"]
        s.runtime.load(again.binaries)
        assert _call(s, "greeter", "hello") == "hello"


def test_a_cycle_of_parse_transforms_is_a_clear_error(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "cycle"
    (root / "src").mkdir(parents=True)
    for me, other in (("a", "b"), ("b", "a")):
        (root / "src" / f"{me}.erl").write_text(
            f"-module({me}).\n-compile({{parse_transform, {other}}}).\n"
            "-export([parse_transform/2]).\nparse_transform(F, _) -> F.\n"
        )
    (root / "src" / "fine.erl").write_text("-module(fine).\n")
    with Session(root, cache) as s:
        report = build(s.workspace, s.compiler)
    messages = [d.message for d in report.diagnostics]
    assert any("compile-time dependency cycle: a -> b -> a" in m for m in messages)
    assert report.results["fine"].ok


def test_modules_that_need_a_module_on_a_cycle_still_get_their_results(
    tmp_path: Path, cache: Path
) -> None:
    root = tmp_path / "behind_a_cycle"
    (root / "src").mkdir(parents=True)
    for me, other in (("a", "b"), ("b", "a")):
        (root / "src" / f"{me}.erl").write_text(
            f"-module({me}).\n-compile({{parse_transform, {other}}}).\n"
            "-export([parse_transform/2]).\nparse_transform(F, _) -> F.\n"
        )
    # c needs a (on the cycle), d needs c: each waits for the one before it.
    (root / "src" / "c.erl").write_text(
        "-module(c).\n-compile({parse_transform, a}).\n-callback go() -> ok.\n"
    )
    (root / "src" / "d.erl").write_text(
        "-module(d).\n-behaviour(c).\n-export([go/0]).\ngo() -> ok.\n"
    )
    with Session(root, cache) as s:
        report = build(s.workspace, s.compiler)
    found = {(d.path, d.severity.value, d.code) for d in report.diagnostics}
    assert found == {
        ("src/a.erl", "error", "Ccompile_cycle"),
        ("src/b.erl", "error", "Ccompile_cycle"),
        ("src/c.erl", "error", "Cundef_parse_transform"),
        ("src/d.erl", "warning", "Cundefined_behaviour"),
    }
    assert report.compiled == ["c", "d"] and report.results["d"].ok


def _call(s: Session, module: str, function: str) -> object:
    return _call_with(s, module, function)


def _call_with(s: Session, module: str, function: str, *args: object) -> object:
    load_probe(s.runtime)
    return apply(s.runtime, module, function, *args)


BAD_INPUTS = {
    "noise.erl": bytes(range(256)) * 4,
    "empty.erl": b"",
    "misnamed.erl": b"-module(not_the_file_name).\n",
    "needs_header.erl": b'-module(needs_header).\n-include("nowhere.hrl").\n',
    "latin.erl": "%% coding: latin-1\n-module(latin).\n-export([s/0]).\ns() -> \"caf\xe9\".\n"
    .encode("latin-1"),
}


def test_bad_input_is_a_diagnostic_naming_the_file_and_costs_nothing_else(
    shop: Path, cache: Path
) -> None:
    for name, data in BAD_INPUTS.items():
        (shop / "src" / name).write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-m", "holo.cli", "build", str(shop), "--json", "--cache-dir", str(cache)],
        capture_output=True, text=True, env={**os.environ, "HOLO_CACHE_DIR": str(cache)},
    )
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 1
    out = json.loads(result.stdout)
    errors = {d["file"] for d in out["diagnostics"] if d["severity"] == "error"}
    assert errors == {f"src/{n}" for n in BAD_INPUTS if n != "latin.erl"}
    good = sorted(p.stem for p in (EXAMPLE / "src").glob("*.erl")) + ["latin"]
    assert sorted(set(out["loaded"]) & set(good)) == sorted(good)


def test_the_cli_reports_json_and_exit_codes(shop: Path, cache: Path, tmp_path: Path) -> None:
    def holo(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "holo.cli", "build", *args, "--cache-dir", str(cache)],
            capture_output=True, text=True,
        )

    first = holo(str(shop), "--json")
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert set(out) >= {"ok", "modules", "compiled", "cached", "loaded", "diagnostics",
                        "timings_ms"}
    assert out["ok"] is True and out["modules"] == len(out["compiled"]) + len(out["cached"])
    second = json.loads(holo(str(shop), "--json").stdout)
    assert second["compiled"] == [] and sorted(second["cached"]) == sorted(out["compiled"])
    missing = holo(str(tmp_path / "no-such-dir"))
    assert missing.returncode == 2 and "is not a directory" in missing.stderr
    assert "Traceback" not in missing.stderr
    unreachable = holo(str(shop), "--json", "--node", "nobody@localhost", "--cookie", "x")
    assert unreachable.returncode == 1
    report = json.loads(unreachable.stdout)
    assert any("nobody@localhost" in p for p in report["load_problems"])
    assert report["diagnostics"] == []


def holo_build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "holo.cli", "build", *args], capture_output=True, text=True
    )


def test_json_diagnostics_carry_every_field_where_erlc_puts_the_error(
    shop: Path, cache: Path
) -> None:
    bad = shop / "src" / "shop_bad.erl"
    bad.write_text("-module(shop_bad).\n-export([f/0]).\nf() ->\n    Missing.\n")
    result = holo_build(str(shop), "--json", "--cache-dir", str(cache))
    assert result.returncode == 1, result.stderr
    out = json.loads(result.stdout)
    assert out["ok"] is False
    (error,) = [d for d in out["diagnostics"] if d["severity"] == "error"]
    line, column = erlc_error_position(bad, shop)
    assert error == {
        "file": "src/shop_bad.erl",
        "line": line,
        "column": column,
        "end_line": line,
        "end_column": column,
        "severity": "error",
        "code": "Cunbound_var",
        "source": "erlc",
        "message": "variable 'Missing' is unbound",
    }
    assert (line, column) == (4, 5)
    assert "shop_bad" in out["compiled"] and "shop_bad" not in out["loaded"]


OVERLAP_TRANSFORM = """-module(overlap).
-export([parse_transform/2]).
%% Counts the compiles running in the agent when this one starts, and gives
%% the compiled module an overlap/0 that returns that count.
parse_transform(Forms, _Options) ->
    table(),
    Running = ets:update_counter(holo_overlap, running, 1, {running, 0}),
    timer:sleep(300),
    ets:update_counter(holo_overlap, running, -1),
    {eof, L} = lists:last(Forms),
    F = {function, L, overlap, 0, [{clause, L, [], [], [{integer, L, Running}]}]},
    lists:flatmap(fun({attribute, _, module, _} = M) -> [M, {attribute, L, export, [{overlap, 0}]}];
                     ({eof, _} = E) -> [F, E];
                     (Form) -> [Form]
                  end, Forms).
table() ->
    case ets:whereis(holo_overlap) of
        undefined ->
            Self = self(),
            spawn(fun() ->
                      catch ets:new(holo_overlap, [named_table, public]),
                      Self ! table,
                      receive after infinity -> ok end
                  end),
            receive table -> ok end;
        _ ->
            ok
    end.
"""


def test_jobs_1_compiles_one_module_at_a_time(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "one_at_a_time"
    (root / "src").mkdir(parents=True)
    (root / "src" / "overlap.erl").write_text(OVERLAP_TRANSFORM)
    users = [f"user{i}" for i in range(4)]
    for name in users:
        (root / "src" / f"{name}.erl").write_text(
            f"-module({name}).\n-compile({{parse_transform, overlap}}).\n"
        )
    result = holo_build(str(root), "--json", "--jobs", "1", "--cache-dir", str(cache))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["compiled"] == sorted(["overlap", *users])
    ebin = root / "_build" / "holo" / "default" / "lib" / "one_at_a_time" / "ebin"
    calls = ", ".join(f"{name}:overlap()" for name in users)
    seen = subprocess.run(
        ["erl", "-noshell", "-pa", str(ebin), "-eval",
         f"io:format(\"~w\", [[{calls}]]), halt()."],
        capture_output=True, text=True, check=True,
    ).stdout
    assert seen == "[1,1,1,1]"


def test_the_human_summary_counts_what_happened(shop: Path, cache: Path) -> None:
    sources = len(list((shop / "src").glob("*.erl")))
    first = holo_build(str(shop), "--cache-dir", str(cache))
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(
        rf"{sources} modules: {sources} compiled, 0 from cache, {sources} loaded, "
        r"0 errors, 0 warnings in \d+\.\d\d s",
        first.stdout.splitlines()[-1],
    ), first.stdout
    pricing = shop / "src" / "shop_pricing.erl"
    pricing.write_text(pricing.read_text() + "\nunused() -> ok.\n")
    second = holo_build(str(shop), "--cache-dir", str(cache))
    lines = second.stdout.splitlines()
    assert lines[0].startswith("src/shop_pricing.erl:") and "[Cunused_function]" in lines[0]
    # A new process runs a new node: everything is loaded into it again.
    assert re.fullmatch(
        rf"{sources} modules: 1 compiled, {sources - 1} from cache, {sources} loaded, "
        r"0 errors, 1 warning in \d+\.\d\d s",
        lines[-1],
    ), second.stdout


def erlc_errors(source: Path) -> set[tuple[int, int, str]]:
    out = subprocess.run(
        ["erlc", "-o", str(source.parent), str(source)], capture_output=True, text=True
    ).stdout
    found = set()
    for line in out.splitlines():
        if line.startswith(str(source) + ":"):
            _, row, column, message = line.split(":", 3)
            found.add((int(row), int(column), message.strip()))
    return found


def test_a_latin1_file_without_a_coding_comment_fails_as_erlc_says(
    shop: Path, cache: Path, tmp_path: Path
) -> None:
    data = '-module(cafe).\n-export([s/0]).\ns() -> "caf\xe9".\n'.encode("latin-1")
    (shop / "src" / "cafe.erl").write_bytes(data)
    (tmp_path / "erlc").mkdir()
    (tmp_path / "erlc" / "cafe.erl").write_bytes(data)
    expected = erlc_errors(tmp_path / "erlc" / "cafe.erl")
    assert (3, 12, "cannot translate from UTF-8") in expected  # OTP 25 reads UTF-8 only
    with Session(shop, cache) as s:
        report = build(s.workspace, s.compiler)
    assert not report.ok
    found = {(d.line + 1, d.column + 1, d.message)
             for d in report.diagnostics if d.path == "src/cafe.erl"}
    assert found == expected
    assert report.results["shop_pricing"].ok


def test_a_project_behaviour_is_compiled_and_loaded_before_its_users(
    tmp_path: Path, cache: Path
) -> None:
    root = tmp_path / "behaviours"
    (root / "src").mkdir(parents=True)
    # Sorted by name the user comes first; the behaviour must still be compiled first.
    (root / "src" / "zz_shape.erl").write_text(
        "-module(zz_shape).\n-callback area() -> number().\n-callback name() -> atom().\n"
    )
    (root / "src" / "aa_square.erl").write_text(
        "-module(aa_square).\n-behaviour(zz_shape).\n-export([area/0]).\narea() -> 4.\n"
    )
    with Session(root, cache) as s:
        report = build(s.workspace, s.compiler)
        order = list(s.compiler.compiled)
    assert order.index("src/zz_shape.erl") < order.index("src/aa_square.erl")
    # The compiler knew the behaviour's callbacks: it was loaded for aa_square's compile
    # (without it, erl_lint says "behaviour zz_shape undefined").
    (warning,) = report.results["aa_square"].warnings
    assert warning.code == "Cundefined_behaviour_func"
    assert warning.message == "undefined callback function name/0 (behaviour 'zz_shape')"


def test_cached_lists_only_modules_the_cache_answered(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "cycle"
    (root / "src").mkdir(parents=True)
    for me, other in (("a", "b"), ("b", "a")):
        (root / "src" / f"{me}.erl").write_text(
            f"-module({me}).\n-compile({{parse_transform, {other}}}).\n"
            "-export([parse_transform/2]).\nparse_transform(F, _) -> F.\n"
        )
    (root / "src" / "fine.erl").write_text("-module(fine).\n")
    with Session(root, cache) as s:
        first = build(s.workspace, s.compiler)
        assert (first.compiled, first.cached) == (["fine"], [])
        second = build(s.workspace, s.compiler)
        assert (second.compiled, second.cached) == ([], ["fine"])
        assert not second.ok and set(second.results) == {"a", "b", "fine"}


def test_a_diagnostic_in_a_header_outside_the_project_names_its_real_path(
    tmp_path: Path, cache: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    header = shared / "common.hrl"
    header.write_text("-define(RATE, 3).\nbroken(.\n")
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "rebar.config").write_text('{erl_opts, [{i, "../shared"}]}.')
    (root / "src" / "proj.app.src").write_text("{application, proj, []}.")
    (root / "src" / "a.erl").write_text(
        '-module(a).\n-export([rate/0]).\n-include("common.hrl").\nrate() -> ?RATE.\n'
    )
    as_json = holo_build(str(root), "--json", "--cache-dir", str(cache))
    assert as_json.returncode == 1, as_json.stderr
    files = {d["file"] for d in json.loads(as_json.stdout)["diagnostics"]}
    assert files == {header.resolve().as_posix()}
    human = holo_build(str(root), "--cache-dir", str(cache))
    assert f"{header.resolve().as_posix()}:2:" in human.stdout
    assert "_holo_external" not in human.stdout + as_json.stdout
