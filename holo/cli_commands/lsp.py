"""`holo lsp`."""

from __future__ import annotations

import argparse

from holo.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", help="project directory")


def run(args: argparse.Namespace) -> int:
    raise UserError("'lsp' is not available yet")
