"""`rtic-console field sync|status`: the field laptop's encrypted registry copy, and what waits in the audit journal.

`sync` (online) makes or refreshes the copy for one console user: only what that user's role may see, sealed to that
user's password (asked for, or read from the file named by RTIC_PASSWORD_FILE). `status` says when the copy was made
and for whom (readable without the password), and how many audit events wait in the local journal.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from console.errors import UserError
from console.services.accounts import default_workstation
from console.services.field_copy import FieldCopy, build_field_copy, default_field_copy_path
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.journal import AuditJournal
from console.store.users import get_user, password_hash


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("field", help="field laptop mode: the encrypted registry copy", parents=[common])
    actions = parser.add_subparsers(dest="field_action", metavar="ACTION", required=True)
    sync = actions.add_parser("sync", parents=[common],
                              help="make or refresh the encrypted copy of what a user's role may see (online)")
    sync.add_argument("--user", required=True, metavar="NAME", help="the console user who takes the laptop out")
    status = actions.add_parser("status", parents=[common], help="the copy's age and contents, the journal's backlog")
    for action in (sync, status):
        action.add_argument("--copy", metavar="PATH", type=Path,
                            help=f"the copy's file (default: {default_field_copy_path().name} in the data folder)")
        action.add_argument("--json", action="store_true", help="print one JSON object")
    sync.set_defaults(func=_sync)
    status.set_defaults(func=_status)


def _copy(args) -> FieldCopy:
    return FieldCopy(args.copy)


def _password(username: str) -> str:
    """The user's password: from the file RTIC_PASSWORD_FILE names (scripts), else asked for without echo."""
    named = os.environ.get("RTIC_PASSWORD_FILE")
    if named:
        try:
            return Path(named).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UserError(f"cannot read the password file {named}: {exc.strerror or exc}") from None
    return getpass.getpass(f"password of {username} (the field copy is sealed to it): ")


def _sync(args) -> int:
    with open_database(args.db) as database:
        with database.engine.connect() as conn:
            user = get_user(conn, (args.user or "").strip())
            stored = password_hash(conn, user.username) if user is not None else None
        if user is None:
            raise UserError(f"there is no user named {args.user}: `rtic-console users list` shows them")
        password = _password(user.username)
        # The copy opens only with this password, so it must be the account's own (the CLI sign-in checks more).
        if stored is None or not _matches(stored, password):
            raise UserError(f"wrong password for {user.username}: no field copy was made")
        info = build_field_copy(database, user, password, datetime.now(timezone.utc), default_workstation(),
                                AuditLog(database), path=_copy(args).path)
    if args.json:
        print(json.dumps(info.__dict__))
    else:
        counts = info.counts
        print(f"field copy for {info.username} ({info.role}) written to {info.path}: {counts['cameras']} cameras, "
              f"{counts['share_grants']} grants, {counts['incidents']} open incidents"
              + ("" if counts["streams_playable"] else "; no stream sign-ins (the role has no live view)"))
    return 0


def _matches(stored: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


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

