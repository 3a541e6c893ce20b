"""`holo` on the command line: one subcommand per module in holo.cli_commands.

`holo build`, `holo check` and `holo test` first try the cache directory's
daemon (holo.daemon): the client imports only the standard library, so a
command the daemon serves costs a Python start-up and a few milliseconds.
`--no-daemon` or ``HOLO_DAEMON=0`` runs the command here; when no daemon
answers it runs here too, and one is started for the next call. Either way
the command runs through :func:`run_command`, with the same output and exit
codes.

No Python traceback reaches a user: a UserError prints its message and exits 2;
anything unexpected prints one line naming the log file that holds the details.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence

from holo import __version__

TYPE_CHECKING = False  # importing typing costs the client milliseconds
if TYPE_CHECKING:
    import argparse

COMMANDS: dict[str, str] = {
    "build": "compile what changed and load it",
    "check": "report diagnostics without compiling",
    "test": "run the tests an edit can affect",
    "watch": "rebuild, reload and retest on every save",
    "lsp": "serve the Language Server Protocol over stdio",
    "explain": "say why a module or query was recomputed",
    "daemon": "show or stop the process that keeps projects warm for these commands",
}
DAEMON_COMMANDS = ("build", "check", "test")  # holo.daemon.client.COMMANDS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _log_file() -> str:
    from holo.daemon.paths import log_file

    return log_file()


@functools.cache  # the daemon parses every request's command line with the same parsers
def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (the language server's alone
    costs half a second), the others are listed by name."""
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="holo",
        description="Recompile what an edit changed, hot-load it, rerun the tests it affects.",
    )
    parser.add_argument("--version", action="version", version=f"holo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    no_daemon = "run in this process, not in the holo daemon"
    parser.add_argument("--no-daemon", action="store_true", help=no_daemon)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            importlib.import_module(f"holo.cli_commands.{name}").add_arguments(command_parser)
            if name in DAEMON_COMMANDS:
                command_parser.add_argument(
                    "--no-daemon", action="store_true", default=argparse.SUPPRESS, help=no_daemon
                )
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if a in COMMANDS), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(argv)
    from holo.daemon import client  # the standard library only

    if client.wanted(argv, command):
        assert command is not None
        try:
            code = client.run(argv, command)
        except KeyboardInterrupt:
            return 130
        if code is not None:
            return code
    return run_command(argv)


def run_command(argv: Sequence[str]) -> int:
    """Parse and run one command line in this process (the daemon runs its requests here too)."""
    import importlib
    import logging
    import traceback

    from holo.errors import UserError

    argv = list(argv)
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(
        filename=None if args.verbose else _log_file(),
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
    )
    module = importlib.import_module(f"holo.cli_commands.{args.command}")
    try:
        if hasattr(args, "cache_dir"):
            # Before anything starts: a language server would otherwise fail
            # only when the editor connects.
            from holo.session import check_cache_dir, resolve_cache_dir

            check_cache_dir(resolve_cache_dir(args.cache_dir))
        return int(module.run(args))
    except UserError as e:
        print(f"holo {args.command}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # the user gets one line; the log gets the traceback
        logging.getLogger("holo").error("internal error\n%s", traceback.format_exc())
        if _is_erlang_setup_problem(e):
            print(f"holo {args.command}: {e}", file=sys.stderr)
            return EXIT_USAGE
        print(
            f"holo {args.command}: internal error: {type(e).__name__}: {e} "
            f"(details in {_log_file()})",
            file=sys.stderr,
        )
        return EXIT_USAGE


def _is_erlang_setup_problem(error: Exception) -> bool:
    """Erlang/OTP could not be run as holo needs it (erlc missing, the VM would not start):
    a problem of the machine, said in one line like a usage error, not a holo bug."""
    from holo.beam.errors import BeamStartError  # only on this path: it is not free

    return isinstance(error, BeamStartError)


if __name__ == "__main__":
    sys.exit(main())
