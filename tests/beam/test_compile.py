"""The compile request: OTP's compiler in the agent, over exactly the bytes of the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from holo.beam import BeamNode, CompileJob, CompileResult
from holo.diagnostics import Severity
from holo.engine.codec import decode, encode
from holo.inputs import MacroOption
from tests.beam.helpers import apply, compile_module, load_probe, wait_until


def load_and_call(node: BeamNode, result: CompileResult, function: str, *args: object) -> object:
    assert result.ok, result.diagnostics
    assert result.module is not None and result.binary is not None
    assert node.load({result.module: result.binary}).ok
    return apply(node, result.module, function, *args)


def test_a_good_module_compiles_to_a_beam_that_runs(node: BeamNode) -> None:
    job = CompileJob("src/good.erl", b"-module(good).\n-export([add/2]).\nadd(A, B) -> A + B.\n")
    result = node.compile(job)
    assert result.ok and result.module == "good" and result.diagnostics == ()
    assert result.binary is not None and result.binary.startswith(b"FOR1")
    assert load_and_call(node, result, "add", 2, 3) == 5


def test_a_syntax_error_is_reported_at_its_line_and_column_in_the_original_file(
    node: BeamNode,
) -> None:
    source = b"-module(bad).\n-export([f/0]).\nf() ->\n    X = 1\n    X.\n"
    result = node.compile(CompileJob("apps/web/src/bad.erl", source))
    assert not result.ok and result.binary is None and result.module is None
    syntax = [d for d in result.errors if d.code == "Csyntax_error"]
    assert len(syntax) == 1
    (error,) = syntax
    assert error.path == "apps/web/src/bad.erl"
    assert (error.line, error.column) == (4, 4)  # 0-based: line 5, column 5 is the second X
    assert error.severity is Severity.ERROR and error.source == "erlc"
    assert "syntax error before" in error.message


def test_warnings_come_back_with_a_successful_compile(node: BeamNode) -> None:
    source = b"-module(warn).\n-export([f/0]).\nf() ->\n    Unused = 1,\n    ok.\nhelper() -> ok.\n"
    result = node.compile(CompileJob("src/warn.erl", source))
    assert result.ok
    found = {(d.code, d.line, d.severity) for d in result.warnings}
    assert ("Cunused_var", 3, Severity.WARNING) in found
    assert ("Cunused_function", 5, Severity.WARNING) in found
    unused = next(d for d in result.warnings if d.code == "Cunused_var")
    assert unused.message == "variable 'Unused' is unused"


def test_a_module_named_unlike_its_file_is_an_error(node: BeamNode) -> None:
    result = node.compile(CompileJob("src/right.erl", b"-module(wrong).\n"))
    assert not result.ok
    assert [(d.code, d.path, d.message) for d in result.errors] == [
        ("Cmodule_name", "src/right.erl", "Module name 'wrong' does not match file name 'right'")
    ]


def test_warnings_as_errors_from_erl_opts_fail_the_compile(node: BeamNode) -> None:
    source = b"-module(wae).\n-export([f/0]).\nf() -> X = 1, ok.\n"
    result = node.compile(CompileJob("src/wae.erl", source, erl_opts="[warnings_as_errors]"))
    assert not result.ok
    # OTP returns no error, only the warning; erlc reports it as an error, and so does holo.
    assert [(d.code, d.severity, d.line, d.column) for d in result.diagnostics] == [
        ("Cunused_var", Severity.ERROR, 2, 7)
    ]
    assert result.errors[0].message.startswith("variable 'X' is unused")


def test_the_job_bytes_win_over_the_files_on_disk(beam_cache: Path, tmp_path: Path) -> None:
    # A project on disk whose files say something else than the job: the agent
    # runs in that directory, so reading the disk would show.
    (tmp_path / "src").mkdir()
    (tmp_path / "include").mkdir()
    (tmp_path / "src" / "race.erl").write_text(
        '-module(race).\n-export([v/0]).\n-include("race.hrl").\nv() -> {disk, ?H}.\n'
    )
    (tmp_path / "include" / "race.hrl").write_text("-define(H, disk_header).\n")
    (tmp_path / "include" / "only_on_disk.hrl").write_text("-define(D, 1).\n")
    source = b'-module(race).\n-export([v/0]).\n-include("race.hrl").\nv() -> {job, ?H}.\n'
    job = CompileJob(
        "src/race.erl",
        source,
        headers=(("include/race.hrl", b"-define(H, job_header).\n"),),
        include_dirs=("include",),
    )
    with BeamNode(cache_dir=beam_cache, cwd=tmp_path) as node:
        load_probe(node)
        assert load_and_call(node, node.compile(job), "v") == ("job", "job_header")
        # A header that exists only on disk is not visible: the job must carry it.
        missing = CompileJob(
            "src/m.erl", b'-module(m).\n-include("only_on_disk.hrl").\n', include_dirs=("include",)
        )
        result = node.compile(missing)
        assert not result.ok
        assert [(d.code, d.path, d.line) for d in result.errors] == [("Cinclude", "src/m.erl", 1)]


def test_relative_includes_and_include_dirs(node: BeamNode) -> None:
    source = (
        b"-module(inc).\n-export([v/0]).\n"
        b'-include("local.hrl").\n'  # next to the source
        b'-include("../include/up.hrl").\n'  # relative to the source
        b'-include("found_in_dir.hrl").\n'  # through include_dirs
        b"v() -> {?LOCAL, ?UP, ?DIR}.\n"
    )
    job = CompileJob(
        "src/inc.erl",
        source,
        headers=(
            ("src/local.hrl", b"-define(LOCAL, local).\n"),
            ("include/up.hrl", b"-define(UP, up).\n"),
            ("extra/inc/found_in_dir.hrl", b"-define(DIR, dir).\n"),
        ),
        include_dirs=("extra/inc",),
    )
    assert load_and_call(node, node.compile(job), "v") == ("local", "up", "dir")


def test_diagnostics_and_file_macros_in_headers_name_the_project_path(node: BeamNode) -> None:
    header = b"-define(HERE, ?FILE).\nheader_file() -> ?FILE.\nunused_in_header() -> ok.\n"
    source = (
        b'-module(hdr).\n-export([files/0]).\n-include("hdr.hrl").\n'
        b"files() -> {header_file(), ?FILE, ?HERE}.\n"
    )
    job = CompileJob(
        "src/hdr.erl", source, headers=(("include/hdr.hrl", header),), include_dirs=("include",)
    )
    result = node.compile(job)
    assert [(d.code, d.path, d.line) for d in result.warnings] == [
        ("Cunused_function", "include/hdr.hrl", 2)
    ]
    # ?FILE is where it is expanded: in the source, even through the header's macro.
    assert load_and_call(node, result, "files") == (
        list(b"include/hdr.hrl"), list(b"src/hdr.erl"), list(b"src/hdr.erl")
    )
    # Nothing of the private temporary directory leaks into the BEAM: the same
    # job gives the same bytes every time.
    assert node.compile(job).binary == result.binary


def _versioned(i: int, version: bytes) -> CompileJob:
    return CompileJob(
        f"src/ver_{i}.erl",
        f'-module(ver_{i}).\n-export([v/0]).\n-include("ver.hrl").\nv() -> ?VERSION.\n'.encode(),
        headers=(("include/ver.hrl", b"-define(VERSION, " + version + b").\n"),),
        include_dirs=("include",),
    )


def test_jobs_that_bring_other_bytes_for_the_same_header_each_see_their_own(
    node: BeamNode,
) -> None:
    # Side by side, then one after the other: every job sees exactly its own
    # header bytes, whatever the jobs around it brought for the same path.
    jobs = [_versioned(i, b"old" if i % 2 else b"new") for i in range(8)]
    results = node.compile_many(jobs) + [node.compile(_versioned(8, b"newest"))]
    values = [load_and_call(node, r, "v") for r in results]
    assert values == ["new", "old"] * 4 + ["newest"]


def test_header_copies_are_shared_and_bounded_and_sources_are_not_left_behind(
    node: BeamNode,
) -> None:
    # A header set the agent has not seen yet, for each of 40 jobs.
    for i in range(40):
        assert node.compile(_versioned(100 + i, str(i).encode())).ok
    tmp = Path(bytes(apply(node, "holo_agent", "tmp_dir")).decode())

    def mirrors() -> list[Path]:
        return [d for d in tmp.iterdir() if d.name.startswith("h")]

    # The oldest ones are removed in the background.
    wait_until(lambda: 1 <= len(mirrors()) <= 32, "at most 32 header copies")
    assert not [p for m in mirrors() for p in m.rglob("*.erl")]


def test_include_lib_of_an_otp_application(node: BeamNode) -> None:
    source = (
        b"-module(uses_eunit).\n-export([check/0]).\n"
        b'-include_lib("eunit/include/eunit.hrl").\n'
        b"check() -> ?assertEqual(4, 2 + 2), checked.\n"
    )
    assert (
        load_and_call(node, node.compile(CompileJob("test/uses_eunit.erl", source)), "check")
        == "checked"
    )


def test_include_lib_of_a_project_application(node: BeamNode) -> None:
    lib_header = b"-define(GREETING, hello).\nlib_helper() -> ok.\n"
    source = (
        b"-module(uses_lib).\n-export([v/0]).\n"
        b'-include_lib("shared/include/shared.hrl").\n'
        b"v() -> ?GREETING.\n"
    )
    job = CompileJob(
        "apps/web/src/uses_lib.erl",
        source,
        headers=(("apps/shared/include/shared.hrl", lib_header),),
        lib_dirs=(("shared", "apps/shared"), ("web", "apps/web")),
    )
    result = node.compile(job)
    # The warning points at the project file, not at the mirror include_lib found.
    assert [(d.code, d.path) for d in result.warnings] == [
        ("Cunused_function", "apps/shared/include/shared.hrl")
    ]
    assert load_and_call(node, result, "v") == "hello"


def test_macros_from_the_job_and_from_erl_opts(node: BeamNode) -> None:
    source = (
        b"-module(macros).\n-export([v/0]).\n"
        b"-ifdef(TEST).\nt() -> test.\n-else.\nt() -> prod.\n-endif.\n"
        b"v() -> {t(), ?ANSWER, ?FROM_OPTS}.\n"
    )
    job = CompileJob(
        "src/macros.erl",
        source,
        macros=(MacroOption("TEST", None), MacroOption("ANSWER", '{42, "x"}')),
        erl_opts="[debug_info, {d, 'FROM_OPTS', opts}]",
    )
    assert load_and_call(node, node.compile(job), "v") == ("test", (42, list(b"x")), "opts")


@pytest.mark.parametrize(
    ("erl_opts", "macros", "code"),
    [
        ('[debug_info, {i, "inc"', (), "Cbad_erl_opts"),
        ("debug_info", (), "Cbad_erl_opts"),
        ("[]", (MacroOption("X", "1 +"),), "Cbad_macro"),
        ("[]", (MacroOption("X", '<<"bin">>'),), "Cbad_macro"),  # epp cannot predefine it
        ("[{d, 'X', <<\"bin\">>}]", (), "Cbad_macro"),
    ],
)
def test_bad_options_are_an_error_result(
    node: BeamNode, erl_opts: str, macros: tuple[MacroOption, ...], code: str
) -> None:
    job = CompileJob("src/opts.erl", b"-module(opts).\n", macros=macros, erl_opts=erl_opts)
    result = node.compile(job)
    assert not result.ok
    assert [(d.code, d.path, d.severity) for d in result.diagnostics] == [
        (code, "src/opts.erl", Severity.ERROR)
    ]
    assert node.ping().otp_release  # and the agent is fine


def test_parse_transforms_and_behaviours_from_extra_code(node: BeamNode) -> None:
    transform = compile_module(
        node,
        "add_hello",
        "-export([parse_transform/2]).\n"
        "parse_transform(Forms, _Opts) ->\n"
        "    {Eof, Rest} = lists:partition(fun(F) -> element(1, F) =:= eof end, Forms),\n"
        "    Hello = {function, 1, hello, 0, [{clause, 1, [], [], [{atom, 1, added}]}]},\n"
        "    Rest ++ [Hello] ++ Eof.\n",
    )
    behaviour = compile_module(node, "my_beh", "-callback handle(term()) -> ok.\n")
    source = b"-module(transformed).\n-behaviour(my_beh).\n-export([hello/0]).\n"
    job = CompileJob(
        "src/transformed.erl",
        source,
        erl_opts="[{parse_transform, add_hello}]",
        extra_code=(("add_hello", transform), ("my_beh", behaviour)),
    )
    result = node.compile(job)
    # The behaviour is known, so its missing callback is reported.
    assert [d.code for d in result.warnings] == ["Cundefined_behaviour_func"]
    assert load_and_call(node, result, "hello") == "added"


def test_many_compiles_in_flight_at_once(node: BeamNode) -> None:
    jobs = [
        CompileJob(
            f"src/many_{i}.erl", f"-module(many_{i}).\n-export([n/0]).\nn() -> {i}.\n".encode()
        )
        for i in range(60)
    ]
    jobs[17] = CompileJob("src/many_17.erl", b"-module(many_17).\nn() -> .\n")
    results = node.compile_many(jobs)
    assert [r.module for r in results] == [None if i == 17 else f"many_{i}" for i in range(60)]
    assert not results[17].ok and results[17].errors[0].path == "src/many_17.erl"
    # Requests run side by side: a compile finishes while an earlier request still sleeps.
    sleeping = node.submit("sleep", 60_000)
    assert node.compile(jobs[0]).ok
    assert not sleeping.done()
    assert sleeping.cancel()


def test_compile_job_keys_name_everything_that_shapes_the_output() -> None:
    base = CompileJob(
        "src/k.erl",
        b"-module(k).\n",
        headers=(("include/a.hrl", b"a"), ("include/b.hrl", b"b")),
        erl_opts="[debug_info]",
    )
    same = CompileJob(
        "src/k.erl",
        b"-module(k).\n",
        headers=(("include/b.hrl", b"b"), ("include/a.hrl", b"a")),
        erl_opts="[debug_info]",
    )
    assert base == same and base.key() == same.key()
    variants = [
        CompileJob("src/k.erl", b"-module(k). ", headers=base.headers, erl_opts=base.erl_opts),
        CompileJob(
            "src/k.erl",
            base.source,
            headers=(("include/a.hrl", b"A"), ("include/b.hrl", b"b")),
            erl_opts=base.erl_opts,
        ),
        CompileJob("src/k.erl", base.source, headers=base.headers, erl_opts="[]"),
        CompileJob(
            "src/k.erl",
            base.source,
            headers=base.headers,
            erl_opts=base.erl_opts,
            macros=(MacroOption("TEST", None),),
        ),
        CompileJob(
            "src/k.erl",
            base.source,
            headers=base.headers,
            erl_opts=base.erl_opts,
            include_dirs=("include",),
        ),
    ]
    keys = {job.key() for job in variants} | {base.key(), base.key(salt="26.0")}
    assert len(keys) == len(variants) + 2
    assert base.key(salt="25.2.3") == same.key(salt=b"25.2.3")


def test_compile_jobs_and_results_persist_through_the_codec(node: BeamNode) -> None:
    job = CompileJob("src/p.erl", b"-module(p).\nf() -> X.\n", macros=(MacroOption("A", "1"),))
    result = node.compile(job)
    assert decode(encode(job)) == job
    assert decode(encode(result)) == result


@pytest.mark.parametrize("path", ["../outside.erl", "/abs/a.erl", "", "src/../../x.erl"])
def test_compile_jobs_refuse_paths_outside_the_project(path: str) -> None:
    with pytest.raises(ValueError, match="project-relative"):
        CompileJob(path, b"")
    with pytest.raises(ValueError, match="project-relative"):
        CompileJob("src/a.erl", b"", headers=((path, b""),))
