"""`holo lsp`: serve the Language Server Protocol over stdio.

The project is the root the client sends at initialize (its first workspace
folder, else rootUri); PATH is used when it sends none. Logs go to holo's log
file (stdout carries the protocol), or to stderr with ``holo -v lsp``.

On save, changed code is also hot-loaded into the user's running nodes:
those the client's settings name (``{"holo": {"nodes": [...], "cookie":
"..."}}`` in initializationOptions or didChangeConfiguration), else
``--node``/``--cookie``, else rebar.config's ``{holo, [{nodes, [...]},
{cookie, C}]}``; nodes and cookie are chosen separately, in that order.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from holo.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", nargs="?", default=".", help="project directory when the client names none"
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="persistent cache (default: $HOLO_CACHE_DIR or ~/.cache/holo)",
    )
    parser.add_argument(
        "--no-build-on-save",
        action="store_true",
        help="do not compile, hot-load and test when a document is saved",
    )
    parser.add_argument(
        "--no-tests", action="store_true", help="compile and hot-load on save, but run no tests"
    )
    parser.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="NAME",
        help="on save, also load changed code into this running node (repeatable; "
        "the client's settings win, rebar.config's {holo, [{nodes, ...}]} loses)",
    )
    parser.add_argument(
        "--cookie", help="cookie for the nodes (default: rebar.config's, else ~/.erlang.cookie)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a module even if some process still runs its old code (kills it)",
    )
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="accepted for editors that pass it (stdio is the default)",
    )


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "verbose", False):
        # pygls logs every message it sends at INFO: too much for holo's log file.
        logging.getLogger("pygls").setLevel(logging.WARNING)
    from holo.lsp.server import ServerOptions, serve  # pygls costs half a second to import
    from holo.lsp.targets import is_node_name

    for name in args.node:
        if not is_node_name(name):
            raise UserError(f"--node {name!r} is not an Erlang node name (name@host)")
    options = ServerOptions(
        root=Path(args.path).resolve(),
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        build_on_save=not args.no_build_on_save,
        tests_on_save=not args.no_tests,
        nodes=tuple(dict.fromkeys(args.node)),
        cookie=args.cookie,
        force=args.force,
    )
    return serve(options)
