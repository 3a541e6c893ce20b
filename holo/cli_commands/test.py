"""`holo test`: run the EUnit tests an edit can affect, and record what each one executed.

Tests whose recorded functions and modules are unchanged since they last
passed are skipped; `--all` runs everything and refreshes the records. The
records live in the cache (`--cache-dir`), so another process or a CI job that
restores the cache selects from the difference between then and now.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from holo.beam.errors import BeamStartError
from holo.cli_commands.common import add_project_arguments, excerpt, exit_status, print_json
from holo.diagnostics import Severity
from holo.errors import UserError
from holo.session import open_session
from holo.testing import DEFAULT_TIMEOUT_S, TestReport, TestResult
from holo.testing.results import result_diagnostic
from holo.testing.session import session_tests, source_lines

EXIT_OK, EXIT_FAILED = 0, 1


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"the timeout must be more than 0 seconds, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_project_arguments(parser)
    parser.add_argument(
        "--all", action="store_true", help="run every test, not only the affected ones"
    )
    parser.add_argument(
        "--timeout", type=_timeout, default=DEFAULT_TIMEOUT_S, metavar="S",
        help=f"seconds each test may take (default: {DEFAULT_TIMEOUT_S:g})",
    )


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with open_session(args.path, args.cache_dir) as session:
        session.start_nodes(agent=False)  # the compiler starts on a cache miss
        tests = session_tests(session)
        try:
            report = tests.run(everything=args.all, timeout=args.timeout)
        except BeamStartError as e:
            raise UserError(f"cannot run the tests: {e}") from e
        finally:
            tests.close()
        root = session.project_root
        lines = source_lines(session, report)
    report.timings_ms["total"] = round((time.perf_counter() - started) * 1e3, 1)
    if args.json:
        print_json(_json(report))
    else:
        _print_human(root, report, lines)
    return exit_status(report.ok, report.diagnostics)


def _json(report: TestReport) -> dict[str, object]:
    return {
        "ok": report.ok,
        "total": report.total,
        "selected": report.selected,
        "passed": len(report.passed),
        "failed": report.failed,
        "not_run": report.not_run,
        "skipped": report.skipped,
        "tests": [_test_json(r) for r in report.results],
        "diagnostics": [d.to_json() for d in report.diagnostics],
        "load_problems": report.load_problems,
        "timings_ms": report.timings_ms,
    }


def _test_json(result: TestResult) -> dict[str, object]:
    return {
        "id": result.id,
        "status": result.status.value,
        "time_ms": result.time_ms,
        "message": result.message,
        "file": result.path,
        "line": result.line + 1 if result.line is not None else None,  # 1-based, as the CLI prints
        "reason": result.reason,
        "details": result.details,
        "output": "" if result.passed else result.output,
        "cases": [
            {
                "description": c.description,
                "line": c.line + 1 if c.line is not None else None,
                "status": c.status.value,
                "message": c.message,
            }
            for c in result.cases
        ],
    }


def _print_human(root: Path, report: TestReport, lines: dict[str, list[str]]) -> None:
    for d in report.diagnostics:
        if d.severity is Severity.ERROR:
            print(excerpt(root, d))
    for line in report.load_problems:
        print(f"load: {line}")
    for result in report.results:
        diagnostic = result_diagnostic(result, lines)
        if diagnostic is None:
            if not result.passed:
                print(f"{result.id} {result.status.value}: {result.message}")
            continue
        print(excerpt(root, diagnostic))
        if result.details:
            print("\n".join(f"    {line}" for line in result.details.splitlines()))
    passed, failed, not_run = len(report.passed), len(report.failed), len(report.not_run)
    summary = (
        f"{len(report.selected)} of {report.total} tests selected: {passed} passed, "
        f"{failed} failed"
    )
    if not_run:
        summary += f", {not_run} not run (compile errors)"
    summary += (
        f", {len(report.skipped)} skipped as unaffected in "
        f"{report.timings_ms['total'] / 1e3:.2f} s"
    )
    print(summary)
