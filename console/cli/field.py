"""`rtic-console field sync|status`: the field laptop's encrypted registry copy, and what waits in the audit journal.

`sync` (online) signs in as the console user who takes the laptop out (`--user NAME`: their password, and their
code when they have a second factor) and makes or refreshes the copy for them: only what their role may see, sealed
to that user's password. `status` says when the copy was made and for whom (readable without the password), and how
many audit events wait in the local journal.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from console.cli import signin
from console.services.field_copy import FieldCopy, default_field_copy_path
from console.store.db import open_database
from console.store.journal import AuditJournal


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("field", help="field laptop mode: the encrypted registry copy", parents=[common])
    actions = parser.add_subparsers(dest="field_action", metavar="ACTION", required=True)
    sync = actions.add_parser("sync", parents=[common],
                              help="make or refresh the encrypted copy of what a user's role may see (online)")
    signin.add_user_option(sync)
    status = actions.add_parser("status", parents=[common], help="the copy's age and contents, the journal's backlog")
    for action in (sync, status):
        action.add_argument("--copy", metavar="PATH", type=Path,
                            help=f"the copy's file (default: {default_field_copy_path().name} in the data folder)")
        action.add_argument("--json", action="store_true", help="print one JSON object")
    sync.set_defaults(func=_sync)
    status.set_defaults(func=_status)


def _copy(args) -> FieldCopy:
    return FieldCopy(args.copy)


def _sync(args) -> int:
    with open_database(args.db) as database:
        copy = _copy(args)
        # The copy is for whoever signs in, and only them; it is sealed to the password they just proved.
        signed = signin.sign_in(args, database, "field sync", seal_for=copy.seal_for)
        info = copy.refresh(database, signed.user, datetime.now(timezone.utc), signed.workstation, signed.audit,
                            seal=signed.seal)
    if args.json:
        print(json.dumps(info.__dict__))
    else:
        counts = info.counts
        print(f"field copy for {info.username} ({info.role}) written to {info.path}: {counts['cameras']} cameras, "
              f"{counts['share_grants']} grants, {counts['incidents']} open incidents"
              + ("" if counts["streams_playable"] else "; no stream sign-ins (the role has no live view)"))
    return 0


def _status(args) -> int:
    copy = _copy(args)
    pending = AuditJournal().pending_count()
    header = copy.header() if copy.path.exists() else None
    info = {"path": str(copy.path), "username": header.username, "made_at": header.made_at} if header else None
    if args.json:
        print(json.dumps({"copy": info, "journal_pending": pending}))
        return 0
    if header is None:
        print(f"no field copy at {copy.path}: run `rtic-console field sync --user NAME` while online")
    else:
        print(f"field copy {copy.path}: for {header.username}, made {header.made_at} (sealed to that user's "
              "password)")
    print(f"audit journal: {pending} event(s) waiting for the database")
    return 0

