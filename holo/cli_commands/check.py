"""`holo check`: report every diagnostic of a project without compiling it.

Opens the project through the Workspace with the persistent cache, so a
second run re-checks only what changed since the first. Prints each
diagnostic with the line it points at, or with ``--json`` one JSON object.
Exit status: 0 without errors, 1 with errors, 2 for usage or configuration
problems (a path that is not a project directory, no OTP, an unusable cache
directory, a rebar.config that does not parse).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from holo.cli_commands.common import exit_status
from holo.diagnostics import Diagnostic, Severity
from holo.engine import Database
from holo.errors import UserError
from holo.inputs import file_text
from holo.project.workspace import Workspace
from holo.queries.project_check import project_diagnostics
from holo.queries.source import LineIndex, decode
from holo.session import open_session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", help="project directory (default: .)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="persistent cache directory (default: $HOLO_CACHE_DIR or ~/.cache/holo)",
    )


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    root = Path(args.path)
    if not root.exists():
        raise UserError(f"{root}: no such directory")
    if not root.is_dir():
        raise UserError(f"{root} is not a directory: give holo check a project directory")
    with open_session(root, args.cache_dir) as session:
        db, workspace = session.db, session.workspace
        opened = time.perf_counter()
        result = project_diagnostics(db)
        checked = time.perf_counter()
        db.persist()
        persisted = time.perf_counter()
        timings = {
            "open": (opened - started) * 1000,
            "check": (checked - opened) * 1000,
            "persist": (persisted - checked) * 1000,
            "total": (persisted - started) * 1000,
        }
        diagnostics = result.diagnostics
        ok = not any(d.severity is Severity.ERROR for d in diagnostics)
        if args.json:
            _print_json(ok, result.modules, diagnostics, timings)
        else:
            _print_text(db, workspace, result.modules, diagnostics, timings, sys.stdout)
    return exit_status(ok, diagnostics)


def _print_json(
    ok: bool, modules: int, diagnostics: tuple[Diagnostic, ...], timings: dict[str, float]
) -> None:
    payload: dict[str, Any] = {
        "ok": ok,
        "modules": modules,
        "diagnostics": [d.to_json() for d in diagnostics],
        "timings_ms": {k: round(v, 1) for k, v in timings.items()},
    }
    json.dump(payload, sys.stdout)
    sys.stdout.write("\n")


def _print_text(
    db: Database,
    workspace: Workspace,
    modules: int,
    diagnostics: tuple[Diagnostic, ...],
    timings: dict[str, float],
    out: TextIO,
) -> None:
    lines: dict[str, LineIndex | None] = {}
    for d in diagnostics:
        out.write(
            f"{d.path}:{d.line + 1}:{d.column + 1}: {d.severity.value} {d.code}: {d.message}\n"
        )
        if d.path not in lines:
            raw = file_text(db, d.path)
            lines[d.path] = LineIndex(decode(raw).utf8) if raw is not None else None
        index = lines[d.path]
        if index is not None:
            out.write(_excerpt(index, d))
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = sum(d.severity is Severity.WARNING for d in diagnostics)
    seconds = timings["total"] / 1000
    verdict = "no errors" if not errors else f"{errors} error{'s' * (errors != 1)}"
    out.write(
        f"holo check: {verdict}, {warnings} warning{'s' * (warnings != 1)} "
        f"in {modules} module{'s' * (modules != 1)} of {_shown(workspace.root)} ({seconds:.2f} s)\n"
    )


def _excerpt(index: LineIndex, d: Diagnostic) -> str:
    text = index.line_text(d.line).rstrip("\r")
    if not text.strip():
        return ""
    end = d.end_column if d.end_line == d.line else len(text)
    width = max(1, min(end, len(text)) - d.column)
    margin = " " * len(str(d.line + 1))
    pad = "".join(c if c == "\t" else " " for c in text[: d.column])
    return f" {d.line + 1} | {text}\n {margin} | {pad}{'^' * width}\n"


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:
        return str(path)
