"""`rtic-console feed sync URL`: bring the registry in step with a registration portal's feed.

Prints one JSON line per sync: pages read, items applied by type, unchanged items, rejected pages, the cursor.
With `--once` it syncs once and exits (status 2 when the sync stopped on an error, with the reason on stderr);
without it, it syncs again every `--interval` seconds until interrupted. The token is read from an environment
variable, never from the command line (which other users of the machine can see). A sync writes the registry, so
it signs in (`--user NAME`, password from RTIC_PASSWORD_FILE when run from a scheduler) with the registry edit
permission (outreach, administrators); each item applied is recorded with that user and the OS account beside it.
"""

from __future__ import annotations

import json
import os
import sys
import time

from console.cli import signin
from console.cli.args import integer
from console.domain.users import Permission
from console.errors import UserError
from console.services.registry_feed import (
    TOKEN_ENV,
    FeedHttp,
    FeedOptions,
    RegistryFeed,
)
from console.settings import load_settings
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("feed", parents=[common], help="the registration portal's registry feed")
    actions = parser.add_subparsers(dest="feed_action", metavar="ACTION", required=True)
    sync = actions.add_parser("sync", parents=[common], help="apply the portal's changes since the last sync")
    sync.add_argument("url", metavar="URL", help="the feed's base URL (GET URL/changes)")
    sync.add_argument("--token-env", metavar="VAR", default=None,
                      help=f"environment variable holding the bearer token (default: {TOKEN_ENV}, when set)")
    sync.add_argument("--once", action="store_true", help="sync once and exit (default: keep syncing)")
    sync.add_argument("--interval", type=integer("--interval", 1, 86400), default=60, metavar="SECONDS",
                      help="seconds between syncs without --once (default: %(default)s)")
    sync.add_argument("--page-size", type=integer("--page-size", 1, 10_000), default=500, metavar="N", help="items asked for per page")
    sync.add_argument("--from-start", action="store_true",
                      help="forget the saved cursor and read the whole feed again (changes nothing already applied)")
    signin.add_user_option(sync)
    sync.set_defaults(func=_sync)


def _token(var: str | None) -> str | None:
    if var is None:
        return os.environ.get(TOKEN_ENV) or None
    if not var.strip() or "=" in var:
        raise UserError(f"--token-env takes the NAME of an environment variable, not {var[:3]!r}...")
    token = os.environ.get(var)
    if not token:
        raise UserError(f"the environment variable {var} (--token-env) is not set or empty: put the portal's token "
                        "in it")
    return token


def _sync(args) -> int:
    if args.interval < 1:
        raise UserError("--interval must be at least 1 second")
    if not 1 <= args.page_size <= 10_000:
        raise UserError("--page-size must be 1 to 10000")
    token = _token(args.token_env)
    options = FeedOptions(page_size=args.page_size, user_agent=_user_agent())
    with FeedHttp(args.url, token, options) as http, open_database(args.db) as database:
        signed = signin.sign_in(args, database, "feed sync", Permission.REGISTRY_EDIT)
        feed = RegistryFeed(database, signed.audit, ContactCipher(load_contact_key()), http)
        if args.from_start:
            feed.reset()
        while True:
            summary = feed.sync()
            print(json.dumps(summary.as_dict()), flush=True)
            if args.once:
                if summary.error:
                    raise UserError(summary.error)
                return 0
            if summary.error:
                print(f"rtic-console: {summary.error}", file=sys.stderr, flush=True)
            time.sleep(args.interval)


def _user_agent() -> str:
    try:
        agent = load_settings().user_agent
    except UserError:
        agent = ""
    return f"{agent} registry-feed".strip() if agent else FeedOptions().user_agent
