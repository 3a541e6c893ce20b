"""A build survives what the compiler node cannot answer, and never caches it.

Real projects on disk, the real agent: a parse transform that halts the VM,
one that never returns, one the agent cannot load, and erl_opts that turn
warnings into errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from holo.beam.compile_job import CompileJob
from holo.beam.node import BeamNode
from holo.build.compiler import Compiler
from holo.build.driver import build
from holo.diagnostics import Severity
from holo.session import Session
from tests.beam.helpers import apply, compile_module, load_probe, wait_until


def holo_build(root: Path, cache: Path, *args: str) -> tuple[int, dict]:
    out = subprocess.run(
        [sys.executable, "-m", "holo.cli", "build", str(root), "--json",
         "--cache-dir", str(cache), *args],
        capture_output=True, text=True,
    )
    assert "Traceback" not in out.stdout + out.stderr
    assert out.stdout, out.stderr
    return out.returncode, json.loads(out.stdout)


def project(root: Path, files: dict[str, str], config: str | None = None) -> Path:
    (root / "src").mkdir(parents=True)
    for name, text in files.items():
        (root / "src" / name).write_text(text)
    if config is not None:
        (root / "rebar.config").write_text(config)
    return root


def ebin(root: Path) -> Path:
    return root / "_build" / "holo" / "default" / "lib" / root.name / "ebin"


def transform(name: str, body: str) -> str:
    return f"-module({name}).\n-export([parse_transform/2]).\nparse_transform(Forms, _) ->\n{body}"


def user_of(name: str, transform_name: str) -> str:
    return (f"-module({name}).\n-compile({{parse_transform, {transform_name}}}).\n"
            "-export([f/0]).\nf() -> ok.\n")


SPINNING = """-export([count/0]).
count() ->
    length([P || P <- processes(), in_spinner(process_info(P, current_function))]).
in_spinner({current_function, {spinner, _, _}}) -> true;
in_spinner(_) -> false.
"""

BEHAVIOUR = "-module(shape).\n-callback area() -> number().\n"
SQUARE = "-module(square).\n-behaviour(shape).\n-export([area/0]).\narea() -> 4.\n"


def test_warnings_as_errors_with_a_warning_fails_the_build_and_writes_no_beam(
    tmp_path: Path,
) -> None:
    root = project(
        tmp_path / "strict",
        {"sloppy.erl": "-module(sloppy).\n-export([f/0]).\nf() -> X = 1, ok.\n",
         "tidy.erl": "-module(tidy).\n-export([g/0]).\ng() -> ok.\n"},
        config="{erl_opts, [warnings_as_errors]}.\n",
    )
    code, out = holo_build(root, tmp_path / "cache")
    assert code == 1 and out["ok"] is False
    (error,) = out["diagnostics"]
    # erlc +warnings_as_errors says "src/sloppy.erl:3:8: variable 'X' is unused".
    assert error == {
        "file": "src/sloppy.erl", "line": 3, "column": 8, "end_line": 3, "end_column": 8,
        "severity": "error", "code": "Cunused_var", "source": "erlc",
        "message": "variable 'X' is unused (an error: warnings_as_errors is set)",
    }
    assert sorted(p.name for p in ebin(root).glob("*.beam")) == ["tidy.beam"]
    assert out["loaded"] == ["tidy"]


def test_warnings_as_errors_in_the_module_itself_fails_it_too(tmp_path: Path) -> None:
    root = project(tmp_path / "own", {
        "own.erl": "-module(own).\n-compile(warnings_as_errors).\n-export([f/0]).\n"
                   "f() -> X = 1, ok.\n",
    })
    with Session(root, tmp_path / "cache") as s:
        report = build(s.workspace, s.compiler)
    assert not report.ok
    assert [(d.code, d.severity, d.line) for d in report.diagnostics] == [
        ("Cunused_var", Severity.ERROR, 3)
    ]


def test_a_parse_transform_that_halts_the_node_fails_only_its_users_and_is_not_cached(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "halting", {
        "halter.erl": transform("halter", "    erlang:halt().\n"),
        "victim.erl": user_of("victim", "halter"),
        # square waits for shape as victim waits for halter: the two are compiled
        # side by side, and the node dies under both.
        "shape.erl": BEHAVIOUR,
        "square.erl": SQUARE,
        "plain.erl": "-module(plain).\n-export([p/0]).\np() -> 1.\n",
    })
    cache = tmp_path / "cache"
    code, out = holo_build(root, cache)
    assert code == 1 and out["ok"] is False
    (error,) = [d for d in out["diagnostics"] if d["severity"] == "error"]
    assert error["file"] == "src/victim.erl" and error["code"] == "Cnode_died"
    assert error["message"].startswith(
        "the compiler node died while compiling src/victim.erl; a parse transform may have "
        "halted it"
    )
    assert sorted(p.stem for p in ebin(root).glob("*.beam")) == [
        "halter", "plain", "shape", "square"
    ]
    assert "victim" in out["compiled"]
    # Not a result of the job: the next build tries it again, and only it.
    code, again = holo_build(root, cache)
    assert code == 1
    assert again["compiled"] == ["victim"]
    assert again["cached"] == ["halter", "plain", "shape", "square"]


def test_a_compile_that_runs_out_of_time_is_stopped_reported_and_tried_again(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "looping", {
        "spinner.erl": transform("spinner", "    spin(Forms).\nspin(F) -> spin(F).\n"),
        "dizzy.erl": user_of("dizzy", "spinner"),
        "calm.erl": "-module(calm).\n",
    })
    with Session(root, tmp_path / "cache") as s:
        s.compiler.compile_timeout = 2.0
        report = build(s.workspace, s.compiler)
        assert not report.ok
        (error,) = report.results["dizzy"].errors
        assert error.code == "Ctimeout"
        assert error.message == (
            "compiling src/dizzy.erl took longer than 2 s and was stopped; does a parse "
            "transform loop forever?"
        )
        assert report.results["calm"].ok and report.results["spinner"].ok
        again = build(s.workspace, s.compiler)
        assert again.compiled == ["dizzy"]
        assert again.results["dizzy"].errors[0].code == "Ctimeout"
        # Both looping compiles were stopped in the agent, which still serves.
        load_probe(s.agent)
        assert s.agent.load({"spinning": compile_module(s.agent, "spinning", SPINNING)}).ok
        wait_until(lambda: apply(s.agent, "spinning", "count") == 0, "the loops to stop")


def test_a_compiler_node_that_cannot_start_fails_the_build_and_is_tried_again(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "no_erl", {
        "one.erl": "-module(one).\n", "two.erl": "-module(two).\n",
    })
    cache = tmp_path / "cache"
    attempts: list[str] = []

    def start() -> BeamNode:
        attempts.append("start")
        return BeamNode(cache_dir=cache, erl="no-such-erl")

    with Session(root, cache) as s:
        compiler = Compiler(start, s.store, s.salt)
        s.db.services["compiler"] = compiler
        report = build(s.workspace, compiler)
        assert not report.ok
        for module in ("one", "two"):
            (error,) = report.results[module].errors
            assert error.code == "Cagent_unavailable"
            assert error.message.startswith(
                "holo's compiler node is not available: cannot find 'no-such-erl' on PATH"
            )
        tried = len(attempts)
        again = build(s.workspace, compiler)  # not a cached result: asked again
        assert again.compiled == [] and not again.ok and len(attempts) > tried


def test_an_abandoned_stream_stops_its_compiles_in_the_agent(tmp_path: Path) -> None:
    # What a build does when it is cancelled: the compiles it sent stop too.
    root = project(tmp_path / "abandoned", {"calm.erl": "-module(calm).\n"})
    with Session(root, tmp_path / "cache") as s:
        load_probe(s.agent)
        assert s.agent.load({"spinning": compile_module(s.agent, "spinning", SPINNING)}).ok
        spinner = compile_module(
            s.agent, "spinner", "-export([parse_transform/2]).\n"
            "parse_transform(Forms, _) -> spin(Forms).\nspin(F) -> spin(F).\n"
        )
        job = CompileJob("src/dizzy.erl", user_of("dizzy", "spinner").encode(),
                         extra_code=(("spinner", spinner),))
        stream = s.compiler.stream()
        assert stream.submit(job.key(), job)
        wait_until(lambda: apply(s.agent, "spinning", "count") == 1, "the compile to spin")
        stream.abandon()
        wait_until(lambda: apply(s.agent, "spinning", "count") == 0, "the compile to stop")
        assert not stream.busy and stream.results == {}
        assert s.compiler.cached(job.key()) is None


def test_the_time_limit_counts_from_when_the_agent_starts_a_compile(tmp_path: Path) -> None:
    # One compile at a time, each about 1.2 s: the third one sent has waited
    # for two others, longer than the limit, before it starts, and is not
    # stopped for that.
    users = {f"patient{i}.erl": user_of(f"patient{i}", "slow") for i in range(4)}
    root = project(tmp_path / "queued", {
        "slow.erl": transform("slow", "    timer:sleep(1200),\n    Forms.\n"),
        **users,
    })
    with Session(root, tmp_path / "cache") as s:
        s.compiler.max_in_flight = 1
        s.compiler.compile_timeout = 3.0
        report = build(s.workspace, s.compiler)
        assert report.ok, report.diagnostics
        assert report.compiled == ["patient0", "patient1", "patient2", "patient3", "slow"]


def test_a_parse_transform_the_agent_cannot_load_is_not_a_cached_result(tmp_path: Path) -> None:
    # Each run of the transform leaves a process running its code in the agent.
    # After two edits the first version is old code still in use: the agent
    # will not purge it, so it cannot load the third version.
    lingering = transform(
        "lingering",
        "    spawn(fun() -> receive stop -> ok end end),\n"
        "    put(lingering_version, VERSION),\n"
        "    Forms.\n",
    )
    root = project(tmp_path / "lingering", {
        "lingering.erl": lingering.replace("VERSION", "1"),
        "host.erl": user_of("host", "lingering"),
    })
    source = root / "src" / "lingering.erl"
    cache = tmp_path / "cache"
    with Session(root, cache) as s:
        for version in ("1", "2"):
            source.write_text(lingering.replace("VERSION", version))
            s.workspace.apply_changes([source])
            assert build(s.workspace, s.compiler).ok
        source.write_text(lingering.replace("VERSION", "3"))
        s.workspace.apply_changes([source])
        report = build(s.workspace, s.compiler)
        (error,) = report.results["host"].errors
        assert error.code == "Cextra_code"
        assert "still run its old code" in error.message
    # A new agent holds no old code: the same job compiles, as it was not cached.
    with Session(root, cache) as fresh:
        report = build(fresh.workspace, fresh.compiler)
        assert report.ok, report.diagnostics
        assert report.compiled == ["host"]


def test_a_parse_transform_that_kills_its_compile_fails_only_that_module(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "killing", {
        "killer.erl": transform("killer", "    exit(self(), kill),\n    Forms.\n"),
        "target.erl": user_of("target", "killer"),
        "bystander.erl": "-module(bystander).\n",
    })
    with Session(root, tmp_path / "cache") as s:
        report = build(s.workspace, s.compiler)
        (error,) = report.results["target"].errors
        assert error.code == "Cagent_crash"
        assert error.message.startswith("the compiler crashed while compiling src/target.erl: ")
        assert "killed" in error.message
        assert report.results["bystander"].ok and report.results["killer"].ok
        assert build(s.workspace, s.compiler).compiled == ["target"]  # not a cached result
