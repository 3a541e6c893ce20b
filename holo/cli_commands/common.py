"""Arguments and output shared by the commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from holo.diagnostics import Diagnostic, Severity


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", help="project directory (default: .)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="persistent cache (default: $HOLO_CACHE_DIR or ~/.cache/holo)",
    )


def print_json(value: object) -> None:
    json.dump(value, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


def excerpt(root: Path, d: Diagnostic) -> str:
    """`file:line:col: severity: message [code]` and the source line with a caret."""
    head = f"{d.path}:{d.line + 1}:{d.column + 1}: {d.severity.value}: {d.message} [{d.code}]"
    path = Path(d.path) if d.path.startswith("/") else root / d.path
    try:
        lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    except OSError:
        return head
    if not 0 <= d.line < len(lines):
        return head
    text = lines[d.line].expandtabs(1)
    width = (d.end_column - d.column) if d.end_line == d.line else 1
    width = max(1, min(width, len(text) - d.column))
    return f"{head}\n    {text}\n    {' ' * d.column}{'^' * width}"


def count(diagnostics: list[Diagnostic], severity: Severity) -> int:
    return sum(1 for d in diagnostics if d.severity is severity)
