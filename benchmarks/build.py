"""holo build beside rebar3 compile and a sequential erlc, in one run, on the same files.

For each project (the example, a generated project with a shared header, OTP
stdlib laid out as a project) it times, as a user would run them:

* cold build (empty cache, no _build), no-op build, one-module edit, header
  edit (a macro no function uses), and a fresh clone at another path with a
  warm cache, for `holo build`, `rebar3 compile` and where it applies one
  `erlc` compiling every file in sequence with the project's erl_opts flags
  (`+debug_info` and the like: the same compile rebar3 and holo do);
* `holo build` both ways a user runs it: in a process of its own
  (``HOLO_DAEMON=0``, "one-shot") and served by the holo daemon
  (``HOLO_DAEMON=wait``; the daemon is started and has served one build of
  the project, and started its compiler node, before anything is timed, and
  is stopped after);
* the same edits in a warm holo process (what `holo watch` and the language
  server pay), with the memory that process uses.

holo's own agent is compiled into the cache once per OTP and holo version,
not once per project, and so are the facts holo reads from the installed OTP
(its modules' exports and specs): both are made before anything is timed,
their one-time costs are printed on their own lines, and every cache
directory starts with them and nothing else.
Each figure with a target prints it beside the figure, met or missed: a cold
build at least 1.5x faster than one sequential erlc over the same files, a
no-op build and a one-module edit at least 10x faster than `rebar3 compile`.

    .venv/bin/python benchmarks/build.py [--modules 1000] [--only example,generated,stdlib]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from genproject import GeneratedProject, generate, layout_otp  # noqa: E402

from holo.beam.agent_build import ensure_agent_ebin  # noqa: E402
from holo.build.driver import build  # noqa: E402
from holo.project.discover import discover  # noqa: E402
from holo.session import Session  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HOLO = [sys.executable, "-m", "holo.cli"]


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


ONE_SHOT, DAEMON = "0", "wait"  # HOLO_DAEMON for a build in its own process, or the daemon's
DAEMON_SETTLE_S = 3.0


def holo_build(root: Path, cache: Path, daemon: str = ONE_SHOT) -> float:
    return timed([*HOLO, "build", str(root), "--json", "--cache-dir", str(cache)], REPO,
                 {**os.environ, "HOLO_DAEMON": daemon})


DAEMON_SAMPLES = 5  # daemon rows take tens of ms: one sample is mostly noise


def daemon_median(root: Path, cache: Path, before: Callable[[], object] = lambda: None) -> float:
    """The median of DAEMON_SAMPLES daemon builds, each after ``before()`` (an edit)."""
    times = []
    for _ in range(DAEMON_SAMPLES):
        before()
        times.append(holo_build(root, cache, DAEMON))
    return statistics.median(times)


def stop_daemon(cache: Path) -> None:
    subprocess.run([*HOLO, "daemon", "stop", "--cache-dir", str(cache)], cwd=REPO,
                   capture_output=True, check=True)


def python_start_ms() -> tuple[float, float]:
    """What starting Python costs before holo runs: bare, and with this environment's
    site-packages (a development checkout's editable-install hook is imported there)."""
    def best(flags: list[str]) -> float:
        runs = []
        for _ in range(10):
            start = time.perf_counter()
            subprocess.run([sys.executable, *flags, "-c", "pass"], check=True)
            runs.append(time.perf_counter() - start)
        return min(runs) * 1e3

    return best(["-S"]), best([])


_rebar3_failed: set[Path] = set()


def rebar3_compile(root: Path) -> float | None:
    """rebar3 compile's time; None when it did not build the project (said once).

    OTP's stdlib laid out as a project is one: an application named stdlib
    replaces rebar3's own, and rebar3 crashes before it compiles anything.
    """
    start = time.perf_counter()
    result = subprocess.run(["rebar3", "compile"], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "REBAR_OFFLINE": "1"})
    elapsed = time.perf_counter() - start
    if result.returncode == 0:
        return elapsed
    if root not in _rebar3_failed:
        _rebar3_failed.add(root)
        output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # colours
        lines = [ln for ln in output.splitlines() if ln.strip()]
        reason = next((ln for ln in lines if "Verifying" not in ln), "no output")
        print(f"  (rebar3 compile failed in {root.name}, exit {result.returncode}: "
              f"{reason.strip()[:120]}; its rows show -)")
    return None


def erl_opts_flags(root: Path) -> list[str]:
    """The project's erl_opts atoms (debug_info, warn_...) as erlc options."""
    return [f"+{flag}" for flag in discover(root).model.erl_opts.flags]


def erlc_sequential(root: Path, extra_includes: tuple[str, ...] = ()) -> float:
    """One erlc over every source. erlc stops at the first file that fails, so the
    figure only counts if every module compiled: anything else stops the benchmark."""
    out = Path(tempfile.mkdtemp())
    sources = sorted(str(p) for p in root.rglob("*.erl") if "_build" not in p.parts
                     and "test" not in p.parts)
    dirs = sorted({str(p.parent) for p in root.rglob("*.hrl")} | set(extra_includes))
    flags = erl_opts_flags(root)
    try:
        elapsed = timed(["erlc", *flags, "-o", str(out), *(f"-I{d}" for d in dirs), *sources],
                        root)
        built = len(list(out.glob("*.beam")))
        if built != len(sources):
            raise SystemExit(f"erlc built {built} of {len(sources)} modules of {root}")
        return elapsed
    finally:
        shutil.rmtree(out)


def kernel_include() -> str:
    return str(next(Path("/usr/lib/erlang/lib").glob("kernel-*")) / "include")


def layout_stdlib(dest: Path) -> Path:
    """OTP stdlib as a project, compiled as OTP's own Makefile does: kernel's include dir too."""
    root = layout_otp(dest, ("stdlib",))
    config = root / "rebar.config"
    text = config.read_text()
    kernel = f'{{i, "{kernel_include()}"}}, '
    config.write_text(text.replace("{erl_opts, [", "{erl_opts, [" + kernel, 1))
    return root


def append_comment(path: Path) -> Path:
    path.write_text(path.read_text() + f"\n%% edited at {time.time()}\n")
    return path


def add_unused_macro(header: Path) -> Path:
    header.write_text(header.read_text() + f"\n-define(UNUSED_{time.time_ns()}, 1).\n")
    return header


# (against, at least how many times faster holo must be)
Target = tuple[str, float]
BEAT_ERLC: Target = ("erlc", 1.5)
BEAT_REBAR3: Target = ("rebar3", 10.0)


def row(
    name: str,
    holo_s: float,
    rebar_s: float | None,
    erlc_s: float | None = None,
    target: Target | None = None,
) -> None:
    def cell(v: float | None) -> str:
        return f"{v:8.2f} s" if v is not None else "        -"

    ratio = f"{rebar_s / holo_s:7.1f}x" if rebar_s else "       -"
    erlc_ratio = f"{erlc_s / holo_s:6.1f}x" if erlc_s else "      -"
    line = (f"  {name:<38} holo {cell(holo_s)}   rebar3 {cell(rebar_s)} ({ratio})   "
            f"erlc {cell(erlc_s)} ({erlc_ratio})")
    if target is not None:
        against, factor = target
        other = erlc_s if against == "erlc" else rebar_s
        if other is not None:
            verdict = "met" if other / holo_s >= factor else "missed"
            line += f"   target >= {factor:g}x {against}: {verdict}"
    print(line)


def agent_ready_cache(path: Path, agent_cache: Path) -> Path:
    """A cache directory that holds what holo makes once per OTP version, and nothing else."""
    shutil.copytree(agent_cache, path, ignore=shutil.ignore_patterns("daemon", "logs"))
    return path


def build_agent(work: Path) -> Path:
    """What a user pays once per OTP and holo version, not per project: holo's
    agent, compiled, and the facts of the installed OTP, read."""
    agent_cache = work / "agent-cache"
    start = time.perf_counter()
    ensure_agent_ebin(agent_cache)
    print(f"holo's agent, compiled once per OTP and holo version (not counted below): "
          f"{time.perf_counter() - start:.2f} s")
    empty = work / "empty-project"
    empty.mkdir()
    otp_s = timed([*HOLO, "check", str(empty), "--cache-dir", str(agent_cache)], REPO,
                  {**os.environ, "HOLO_DAEMON": ONE_SHOT})
    print(f"OTP's module facts, read once per OTP and holo version (not counted below): "
          f"{otp_s:.2f} s (a holo check of an empty directory)")
    bare, with_site = python_start_ms()
    print(f"Python start-up, in every holo command (counted): {with_site:.0f} ms with this "
          f"environment's site-packages, {bare:.0f} ms without them")
    return agent_cache


def bench_cli(
    label: str, root: Path, edit_file: Path, header: Path | None, work: Path, agent_cache: Path
) -> dict[str, float | None]:
    """The command-line rows; returns the figures the warm rows are compared with."""
    modules = sum(1 for p in root.rglob("*.erl") if "test" not in p.parts)
    print(f"{label}: {modules} modules, command line (erlc {' '.join(erl_opts_flags(root))})")
    cache = agent_ready_cache(work / f"cache-{label}", agent_cache)
    erlc_s = erlc_sequential(root, (kernel_include(),) if label == "otp-stdlib" else ())
    rebar_root = work / f"rebar-{label}"
    shutil.copytree(root, rebar_root, ignore=shutil.ignore_patterns("_build"))
    row("cold build (one-shot)", holo_build(root, cache), rebar3_compile(rebar_root), erlc_s,
        BEAT_ERLC)
    rebar_noop = rebar3_compile(rebar_root)
    row("no-op build (one-shot)", holo_build(root, cache), rebar_noop, target=BEAT_REBAR3)
    holo_build(root, cache, DAEMON)  # starts the daemon, which opens the project: not timed
    # After its first build of a project the daemon starts the compiler node in the
    # background, for the first edit; timed builds come once it has.
    time.sleep(DAEMON_SETTLE_S)
    try:
        row(f"no-op build (daemon, median of {DAEMON_SAMPLES})", daemon_median(root, cache),
            rebar_noop, target=BEAT_REBAR3)
        rebar_edit = rebar_root / edit_file.relative_to(root)
        append_comment(edit_file), append_comment(rebar_edit)
        rebar_edit_s = rebar3_compile(rebar_root)
        row("one-module edit (one-shot)", holo_build(root, cache), rebar_edit_s,
            target=BEAT_REBAR3)
        row(f"one-module edit (daemon, median of {DAEMON_SAMPLES})",
            daemon_median(root, cache, lambda: append_comment(edit_file)), rebar_edit_s,
            target=BEAT_REBAR3)
        if header is not None:
            add_unused_macro(header), add_unused_macro(rebar_root / header.relative_to(root))
            rebar_header_s = rebar3_compile(rebar_root)
            row("header edit (one-shot)", holo_build(root, cache), rebar_header_s)
            add_unused_macro(header)
            row("header edit (daemon)", holo_build(root, cache, DAEMON), rebar_header_s)
    finally:
        stop_daemon(cache)
    # rebar3 has no cache to share between checkouts: its fresh clone is a cold build.
    clone = work / f"clone-{label}"
    shutil.copytree(root, clone, ignore=shutil.ignore_patterns("_build"))
    rebar_clone = work / f"rebar-clone-{label}"
    shutil.copytree(root, rebar_clone, ignore=shutil.ignore_patterns("_build"))
    row("fresh clone, warm cache", holo_build(clone, cache), rebar3_compile(rebar_clone))
    return {"cold build": erlc_s, "no-op build": rebar_noop, "one-module edit": rebar_edit_s}


def bench_warm(
    label: str, root: Path, edit_file: Path, header: Path | None, work: Path, agent_cache: Path,
    others: dict[str, float | None],
) -> None:
    """The same steps in one process; targets against the command-line erlc and rebar3."""
    print(f"{label}: warm holo process (what watch and the language server pay)")
    targets = {"cold build": BEAT_ERLC, "no-op build": BEAT_REBAR3,
               "one-module edit": BEAT_REBAR3}
    cache = agent_ready_cache(work / f"warm-cache-{label}", agent_cache)
    with Session(root, cache) as session:
        session.start_nodes()

        def step(name: str, change: Callable[[], list[Path]]) -> None:
            paths = change()
            start = time.perf_counter()
            session.workspace.apply_changes(paths)
            report = build(session.workspace, session.compiler)
            elapsed = time.perf_counter() - start
            line = f"  {name:<28} {elapsed * 1e3:8.1f} ms   compiled {len(report.compiled)}"
            other = others.get(name)
            if name in targets and other is not None:
                against, factor = targets[name]
                verdict = "met" if other / elapsed >= factor else "missed"
                line += f"   {against} {other:.2f} s: target >= {factor:g}x {against}: {verdict}"
            print(line)

        step("cold build", lambda: [])
        step("no-op build", lambda: [])
        step("one-module edit", lambda: [append_comment(edit_file)])
        if header is not None:
            step("header edit (unused macro)", lambda: [add_unused_macro(header)])
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak memory of the holo process: {rss:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--only", default="example,generated,stdlib")
    args = parser.parse_args()
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        agent_cache = build_agent(work)
        projects: list[tuple[str, Path, Path, Path | None]] = []
        if "example" in only:
            shop = work / "shop"
            shutil.copytree(REPO / "examples" / "shop", shop,
                            ignore=shutil.ignore_patterns("_build"))
            projects.append(("example", shop, shop / "src" / "shop_pricing.erl",
                             shop / "include" / "shop.hrl"))
        if "generated" in only:
            gen: GeneratedProject = generate(work / "generated", args.modules)
            projects.append((f"generated-{args.modules}", gen.root, gen.source(gen.modules[0]),
                             gen.header))
        if "stdlib" in only:
            stdlib = layout_stdlib(work / "stdlib")
            projects.append(("otp-stdlib", stdlib, next(stdlib.rglob("lists.erl")), None))
        for label, root, edit, header in projects:
            warm_root = work / f"warm-{label}"
            shutil.copytree(root, warm_root, ignore=shutil.ignore_patterns("_build"))
            others = bench_cli(label, root, edit, header, work, agent_cache)
            bench_warm(label, warm_root, warm_root / edit.relative_to(root),
                       warm_root / header.relative_to(root) if header else None, work,
                       agent_cache, others)


if __name__ == "__main__":
    main()
