"""Arguments and output shared by the commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from holo.diagnostics import Diagnostic, Severity
from holo.project.rebar_config import CONFIG_SYNTAX

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Errors in the project's configuration rather than in its code.
CONFIGURATION_CODES = frozenset({CONFIG_SYNTAX})


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", help="project directory (default: .)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="persistent cache (default: $HOLO_CACHE_DIR or ~/.cache/holo)",
    )


def exit_status(ok: bool, diagnostics: Iterable[Diagnostic]) -> int:
    """2 when the project's configuration is broken, else 0 if ``ok`` and 1 if not.

    A broken configuration is the user's setup, not their code, so it exits as
    a usage error does, after the normal output has shown the diagnostic.
    """
    if any(d.severity is Severity.ERROR and d.code in CONFIGURATION_CODES for d in diagnostics):
        return EXIT_USAGE
    return EXIT_OK if ok else EXIT_FAILED


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
