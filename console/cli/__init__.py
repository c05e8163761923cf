"""The `rtic-console` command line: one module per subcommand, each with `register(subparsers, common)`.

Every subcommand takes `--db URL`. Errors a person can fix are one line on stderr and exit status 2;
no traceback ever reaches a user (an unexpected error is logged to the user's log file instead).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import RotatingFileHandler
from pathlib import Path

from console import __version__
from console.domain.redaction import RedactingFilter, redact
from console.errors import UserError
from console.paths import user_data_dir

# Subcommand modules, in the order `--help` lists them. Each defines register(subparsers, common).
_COMMANDS = (
    "console.cli.demo",
    "console.cli.cameras",
    "console.cli.db",
    "console.cli.access",
    "console.cli.users",
    "console.cli.auth",
    "console.cli.audit",
    "console.cli.stream",
    "console.cli.screenshot",
    "console.cli.config",
    "console.cli.selftest",
    "console.cli.alerts",
    "console.cli.feed",
    "console.cli.footage",
    "console.cli.evidence",
    "console.cli.bulletin",
    "console.cli.cad",
    "console.cli.geocode",
    "console.cli.portal",
    "console.cli.field",
    "console.cli.key",
    "console.cli.retention",
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
        importlib.import_module(name).register(subparsers, common)
    return parser


@contextmanager
def log_to_file() -> Iterator[Path]:
    """Send the console's log to a rotating file in the user's data folder while a command runs; its path.

    The handler is removed and closed when the command ends (and the loggers' levels put back), so running the
    command line twice in one process (the tests do) neither writes each line twice nor leaves the file open."""
    folder = user_data_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "console.log"
    handler = RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())  # no URL password or token ever reaches the file
    root, alembic = logging.getLogger(), logging.getLogger("alembic")
    levels = root.level, alembic.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    alembic.setLevel(logging.WARNING)  # a line per migration check is noise
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(levels[0])
        alembic.setLevel(levels[1])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.db = getattr(args, "db", None)
    with log_to_file() as log_file:
        return _run(args, log_file)


def _run(args, log_file: Path) -> int:
    try:
        if args.command is None:
            from console.app import run_console

            return run_console(db_url=args.db)
        from console.cli.key import check_workstation_key

        check_workstation_key(args)  # a workstation whose contact key is not the agency's is refused here
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"rtic-console: {redact(exc)}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not bad input: the details go to the log file, never a traceback to users
        log.exception("unexpected error in %s", args.command or "the console")
        print(f"rtic-console: something went wrong ({exc.__class__.__name__}); the details are in {log_file}",
              file=sys.stderr)
        return 1
