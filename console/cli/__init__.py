"""The `rtic-console` command line: one module per subcommand, each with `register(subparsers, common)`.

Every subcommand takes `--db URL`. Errors a person can fix are one line on stderr and exit status 2;
no traceback ever reaches a user (an unexpected error is logged to the user's log file instead).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from console import __version__
from console.errors import UserError

# Subcommand modules, in the order `--help` lists them. Each defines register(subparsers, common).
_COMMANDS = (
    "console.cli.demo",
    "console.cli.cameras",
    "console.cli.db",
    "console.cli.access",
    "console.cli.users",
    "console.cli.audit",
    "console.cli.stream",
    "console.cli.screenshot",
)

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line a person can act on (exit status 2), like every other input error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (default: $RTIC_DATABASE_URL, then the SQLite file in your data folder)",
    )
    parser = _Parser(
        prog="rtic-console",
        description="Community Connect Console: cameras near an incident, consent-checked live view, audit.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a subcommand not built yet
        module.register(subparsers, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.db = getattr(args, "db", None)
    try:
        if args.command is None:
            from console.app import run_console

            return run_console(db_url=args.db)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"rtic-console: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
