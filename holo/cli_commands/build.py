"""`holo build`: compile what changed, write `_build/holo`, and hot-load it."""

from __future__ import annotations

import argparse
import os
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from holo.build.driver import BuildReport, build
from holo.build.loading import NodeLoader, remote_load
from holo.cli_commands.common import add_project_arguments, count, excerpt, print_json
from holo.diagnostics import Severity
from holo.session import Session

LONG_BUILD = 50  # modules: show a progress bar past this many


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_project_arguments(parser)
    parser.add_argument(
        "--node", action="append", default=[], metavar="NAME",
        help="also load the changed modules into this running node (repeatable)",
    )
    parser.add_argument("--cookie", help="cookie for --node (default: ~/.erlang.cookie)")
    parser.add_argument(
        "--force", action="store_true",
        help="purge old code even if processes still run it (they are killed)",
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 2, metavar="N",
        help="compile at most N modules at once",
    )
    parser.add_argument("--profile", choices=("default", "test"), default="default")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with Session(args.path, args.cache_dir) as session:
        session.start_nodes(agent=False)
        session.compiler.max_in_flight = max(1, args.jobs)
        report = _build(session, args)
        t = time.perf_counter()
        local = NodeLoader(session.runtime).sync(report.binaries, set(), force=args.force)
        remote_loaded, remote_problems = remote_load(
            session.agent, args.node, report.binaries, args.cookie, args.force
        )
        report.timings_ms["load"] = round((time.perf_counter() - t) * 1e3, 1)
    report.timings_ms["total"] = round((time.perf_counter() - started) * 1e3, 1)
    problems = local.problems + remote_problems
    if args.json:
        print_json({
            "ok": report.ok and not remote_problems,
            "modules": len(report.modules),
            "compiled": report.compiled,
            "cached": report.cached,
            "loaded": sorted(local.loaded) + remote_loaded,
            "load_problems": problems,
            "diagnostics": [d.to_json() for d in report.diagnostics],
            "timings_ms": report.timings_ms,
        })
    else:
        _print_human(session, report, len(local.loaded) + len(remote_loaded), problems)
    return 0 if report.ok and not remote_problems else 1


def _build(session: Session, args: argparse.Namespace) -> BuildReport:
    if args.json or not sys.stderr.isatty():
        return build(session.workspace, session.compiler, args.profile)
    columns = (TextColumn("compiling"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("build", total=None, visible=False)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, visible=total >= LONG_BUILD)

        return build(session.workspace, session.compiler, args.profile, progress=progress)


def _print_human(session: Session, report: BuildReport, loaded: int, problems: list[str]) -> None:
    for d in report.diagnostics:
        print(excerpt(session.project_root, d))
    for line in problems:
        print(f"load: {line}")
    errors = count(report.diagnostics, Severity.ERROR)
    warnings = count(report.diagnostics, Severity.WARNING)
    print(
        f"{len(report.modules)} modules: {len(report.compiled)} compiled, "
        f"{len(report.cached)} from cache, {loaded} loaded, "
        f"{errors} errors, {warnings} warnings in {report.timings_ms['total'] / 1e3:.2f} s"
    )
