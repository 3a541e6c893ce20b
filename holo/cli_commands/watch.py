"""`holo watch`: build, load and test on every save."""

from __future__ import annotations

import argparse
import signal

from holo.cli_commands.common import add_project_arguments
from holo.inputs import project_model
from holo.session import Session
from holo.watch.cycle import WatchOptions
from holo.watch.display import HumanDisplay, JsonDisplay
from holo.watch.loop import WatchLoop
from holo.watch.targets import resolve_targets
from holo.watch.tests import watch_test_phase


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_project_arguments(parser)
    parser.add_argument("--node", action="append", default=[], metavar="NAME",
                        help="also load changed code into this running node (repeatable; "
                        "default: {holo, [{nodes, [...]}]} in rebar.config)")
    parser.add_argument("--cookie", help="cookie for the nodes (default: {holo, [{cookie, C}]} "
                        "in rebar.config, else ~/.erlang.cookie)")
    parser.add_argument("--force", action="store_true",
                        help="purge old code even if processes still run it")
    parser.add_argument("--no-tests", action="store_true", help="do not run tests")


def _stop_on(*signals: signal.Signals) -> None:
    """Turn termination requests into KeyboardInterrupt, so the nodes are shut down cleanly."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in signals:
        signal.signal(sig, interrupt)


def run(args: argparse.Namespace) -> int:
    _stop_on(signal.SIGTERM, signal.SIGHUP)
    options = WatchOptions(nodes=args.node, cookie=args.cookie, force=args.force,
                           tests=not args.no_tests)
    with Session(args.path, args.cache_dir) as session:
        # Before the first build: a mistyped node name or an unreadable cookie is one line.
        targets = resolve_targets(options.nodes, options.cookie,
                                  project_model(session.db).settings)
        display = JsonDisplay() if args.json else HumanDisplay(session.project_root)
        loop = WatchLoop(session, options, display, run_tests=watch_test_phase, targets=targets)
        try:
            return loop.run()
        except KeyboardInterrupt:
            loop.stop.set()
        except BrokenPipeError:  # nobody reads what holo watch prints any more
            loop.stop.set()
            return 1
    return 0
