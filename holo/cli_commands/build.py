"""`holo build`: compile what changed, write `_build/holo`, and hot-load it."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import weakref
from dataclasses import dataclass

from holo.beam.node import check_node_name, default_cookie
from holo.build.driver import BuildReport, build
from holo.build.loading import remote_load
from holo.cli_commands.common import (
    add_project_arguments,
    count,
    excerpt,
    exit_status,
    print_json,
)
from holo.diagnostics import Diagnostic, Severity
from holo.errors import UserError
from holo.queries.codegen import original_path
from holo.session import Session, open_session
from holo.testing.session import TestSession, session_tests

LONG_BUILD = 50  # modules: show a progress bar past this many


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least one compile must run at a time, not {text}")
    return value


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
        "--jobs", type=_positive, default=os.cpu_count() or 2, metavar="N",
        help="compile at most N modules at once",
    )
    parser.add_argument("--profile", choices=("default", "test"), default="default")


def remote_cookie(args: argparse.Namespace) -> str | None:
    """The cookie for ``--node``, checked with the node names before anything is built."""
    if not args.node:
        return None
    for name in args.node:
        check_node_name(name)
    if args.cookie is None:
        return default_cookie()
    if not args.cookie:
        raise UserError("--cookie is empty: give the cookie the nodes were started with")
    return str(args.cookie)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    cookie = remote_cookie(args)
    with open_session(args.path, args.cache_dir) as session:
        session.start_nodes(agent=False)
        session.compiler.max_in_flight = args.jobs
        report = _build(session, args)
        t = time.perf_counter()
        loaded, local_problems = _load_locally(session, report)
        remote_loaded, remote_problems = remote_load(
            session.agent, args.node, report.binaries, cookie, args.force
        )
        report.timings_ms["load"] = round((time.perf_counter() - t) * 1e3, 1)
    report.timings_ms["total"] = round((time.perf_counter() - started) * 1e3, 1)
    problems = local_problems + remote_problems
    report.diagnostics = [_as_the_user_names_it(d) for d in report.diagnostics]
    if args.json:
        print_json({
            "ok": report.ok and not remote_problems,
            "modules": len(report.modules),
            "compiled": report.compiled,
            "cached": report.cached,
            "loaded": loaded + remote_loaded,
            "load_problems": problems,
            "diagnostics": [d.to_json() for d in report.diagnostics],
            "timings_ms": report.timings_ms,
        })
    else:
        _print_human(session, report, len(loaded) + len(remote_loaded), problems)
    return exit_status(report.ok and not remote_problems, report.diagnostics)


def _as_the_user_names_it(d: Diagnostic) -> Diagnostic:
    """A diagnostic on a header from outside the project names it by its own path,
    not by the name the compile job gave it."""
    path = original_path(d.path)
    return d if path == d.path else dataclasses.replace(d, path=path)


def _load_locally(session: Session, report: BuildReport) -> tuple[list[str], list[str]]:
    """Make holo's runtime node run this build; (the modules running it, problems).

    Through the Session's TestSession, the one record of what that node runs:
    a Session kept warm by the daemon then ends each build with the node in
    the state a fresh node would have after it (modules gone from the build
    unloaded, loads forced as nothing is left running old code in a fresh
    node), and ``loaded`` names every module that runs this build's code, as
    it does after the first build in a fresh node.
    """
    tests = session_tests(session)
    binaries = report.binaries
    last = _last_loads.get(session)
    if last is not None and last.still_holds(session, tests, binaries):
        return list(last.loaded), []
    load = tests.load(report)
    if load.problems:
        # Some module was left on other code: ask which (hashing every binary again).
        stale = tests.not_running(binaries)
        loaded = sorted(set(binaries) - stale)
        _last_loads.pop(session, None)
    else:
        # A load without a problem leaves every module of the build running its binary.
        loaded = sorted(binaries)
        _last_loads[session] = _LastLoad(
            dict(binaries), tests.binaries_sent, session.runtime.restarts, loaded
        )
    return loaded, load.problems


@dataclass(frozen=True)
class _LastLoad:
    """The last build a warm Session loaded without a problem: the same build again, with
    nothing loaded into the node since and no restart of it, has nothing to load, check
    or mark (at a thousand modules, that is tens of milliseconds a no-op build saves)."""

    binaries: dict[str, bytes]
    sent: int  # binaries the TestSession had sent to the node then
    restarts: int
    loaded: list[str]

    def still_holds(self, session: Session, tests: TestSession, binaries: dict[str, bytes]) -> bool:
        return (
            tests.binaries_sent == self.sent
            and session.runtime.restarts == self.restarts
            and binaries == self.binaries
        )


_last_loads: weakref.WeakKeyDictionary[Session, _LastLoad] = weakref.WeakKeyDictionary()


def _build(session: Session, args: argparse.Namespace) -> BuildReport:
    if args.json or not sys.stderr.isatty():
        return build(session.workspace, session.compiler, args.profile)
    # Imported only for a terminal: rich costs a build's start-up tens of milliseconds.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

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
        f"{_count(len(report.modules), 'module')}: {len(report.compiled)} compiled, "
        f"{len(report.cached)} from cache, {loaded} loaded, {_count(errors, 'error')}, "
        f"{_count(warnings, 'warning')} in {report.timings_ms['total'] / 1e3:.2f} s"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
