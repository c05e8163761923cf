"""`rtic-console key`: the agency's contact key: status, export to and import from a passphrase file, rotate.

Also the start-up check every other subcommand passes first (`check_workstation_key`): a workstation whose key is not
the agency's is refused with one sentence before anything reads or writes an encrypted record.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

from console.cli import signin
from console.domain.audit import Action, AuditEntry
from console.domain.users import Permission
from console.errors import UserError
from console.store.db import open_database
from console.store.key_check import KeyMismatch, agency_cipher, check_key, read_check, rotation_refusal
from console.store.secrets import (
    default_key_path,
    find_contact_key,
    key_id,
    key_sources,
    decode_key,
    write_key_file,
)

ENV_PASSPHRASE_FILE = "RTIC_KEY_PASSPHRASE_FILE"

# Subcommands that touch no encrypted record (or check the key themselves): the window and `demo` run the check as
# they open the registry; `key` commands are how a refused workstation gets right.
_WITHOUT_KEY_CHECK = {None, "db", "config", "stream", "selftest", "screenshot", "audit", "demo", "key"}
_WITHOUT_KEY_CHECK_ACTIONS = {("field", "status"), ("evidence", "verify")}


def check_workstation_key(args) -> None:
    """Refuse (KeyMismatch, one sentence) a subcommand whose workstation key is not the agency's."""
    command = getattr(args, "command", None)
    action = getattr(args, f"{command}_action", None) if command else None
    if command in _WITHOUT_KEY_CHECK or (command, action) in _WITHOUT_KEY_CHECK_ACTIONS:
        return
    try:
        database = open_database(args.db)
    except UserError:  # no database, a bad URL, the server away: the command itself says so, after its own checks
        return
    with database:
        agency_cipher(database)


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("key", parents=[common],
                                   help="the agency's contact key: status, export, import, rotate")
    actions = parser.add_subparsers(dest="key_action", metavar="ACTION", required=True)
    status = actions.add_parser("status", parents=[common],
                                help="this workstation's key id and source, and whether it is the database's")
    status.set_defaults(func=run_status)
    export = actions.add_parser("export", parents=[common],
                                help="write the key to a passphrase-protected file (argon2id + AES-256-GCM)")
    export.add_argument("--to", required=True, metavar="FILE", type=Path, help="the file to write (never overwritten)")
    export.set_defaults(func=run_export)
    signin.add_user_option(export)
    imp = actions.add_parser("import", parents=[common],
                             help="install a key file from `key export` as this workstation's contact.key")
    imp.add_argument("file", metavar="FILE", type=Path)
    imp.set_defaults(func=run_import)
    signin.add_user_option(imp)
    rotate = actions.add_parser("rotate", parents=[common],
                                help="re-encrypt every contact, stream secret and TOTP secret under a new key "
                                     "(run again to finish one cut short)")
    rotate.add_argument("--new-key-file", required=True, metavar="FILE", type=Path,
                        help="the new key: read from FILE, or generated and written to FILE (mode 0600) when absent")
    rotate.set_defaults(func=run_rotate)
    signin.add_user_option(rotate)


def run_status(args) -> int:
    key, source = find_contact_key()
    lines = {"key id": key_id(key) if key else "(none)", "source": source}
    with open_database(args.db) as database:
        lines["database"] = database.display_url
        with database.engine.connect() as conn:
            check = read_check(conn)
            try:
                check_key(conn, key, source)
                verdict = "yes" if check is not None else "yes (no key check stored yet: the next console writes it)"
                refusal = None
            except KeyMismatch as exc:
                verdict, refusal = "NO", str(exc)
    lines["database key id"] = check.key_id if check else "(none yet)"
    if check is not None and check.next_key_id:
        lines["rotation in progress to key id"] = check.next_key_id
        verdict, refusal = "rotation in progress", rotation_refusal(check)
    lines["matches"] = verdict
    for name, value in lines.items():
        print(f"{name}: {value}")
    if refusal:
        raise KeyMismatch(refusal)
    return 0


def _passphrase(confirm: bool) -> str:
    path = os.environ.get(ENV_PASSPHRASE_FILE)
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").splitlines()[0] if Path(path).stat().st_size else ""
        except (OSError, IndexError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read the passphrase file {path} ({ENV_PASSPHRASE_FILE}): "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
    if not sys.stdin.isatty():
        raise UserError(f"give the passphrase at a terminal, or in the file named by {ENV_PASSPHRASE_FILE}")
    first = getpass.getpass("Key file passphrase: ")
    if confirm and first != getpass.getpass("Key file passphrase again: "):
        raise UserError("the two passphrases differ: nothing was written")
    return first


def run_export(args) -> int:
    from console.services.key_transfer import write_key_export

    with open_database(args.db) as database:
        cipher = agency_cipher(database, create_key=False)  # only the agency's proven key leaves this workstation
        signed = signin.sign_in(args, database, "key export", Permission.USER_ADMIN)
        key, _ = find_contact_key()
        kid = write_key_export(args.to, key, _passphrase(confirm=True))
        try:
            signed.audit.append(AuditEntry(Action.KEY_EXPORT, signed.name, signed.workstation,
                                           details={"key_id": kid, "file": args.to.name}))
        except UserError:
            args.to.unlink(missing_ok=True)  # fail closed: no export that is not on record
            raise
    assert kid == cipher.key_id
    print(json.dumps({"file": str(args.to), "key_id": kid}))
    return 0


def run_import(args) -> int:
    from console.services.key_transfer import open_key_export, read_key_export

    read_key_export(args.file)  # a file that is not a key export is refused before the passphrase is asked
    key, kid = open_key_export(args.file, _passphrase(confirm=False))
    target = default_key_path()
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "key import", Permission.USER_ADMIN)
        with database.engine.connect() as conn:
            check = read_check(conn)
            if check is None or not (check.matches(key) or check.matches_next(key)):
                check_key(conn, key, f"the file {args.file}")  # no check yet: the key must open the records there are
        replaced = None
        if target.exists():
            existing = decode_key(target.read_text().strip(), str(target))
            if existing == key:
                print(json.dumps({"installed": str(target), "key_id": kid, "already": True}))
                return 0
            replaced = target.with_name(f"{target.name}.{key_id(existing)}.old")
            os.replace(target, replaced)  # kept, not deleted: it may still be needed to read an old backup
        write_key_file(target, key)
        signed.audit.append(AuditEntry(Action.KEY_IMPORT, signed.name, signed.workstation,
                                       details={"key_id": kid, "file": args.file.name}))
    result = {"installed": str(target), "key_id": kid}
    if replaced is not None:
        result["previous_key_kept_in"] = str(replaced)
    if os.environ.get("RTIC_CONTACT_KEY") or os.environ.get("RTIC_CONTACT_KEY_FILE"):
        result["note"] = "RTIC_CONTACT_KEY or RTIC_CONTACT_KEY_FILE is set and comes first: unset it to use this key"
    print(json.dumps(result))
    return 0


def run_rotate(args) -> int:
    from console.services.key_rotation import rotate_contact_key

    old_key, source = find_contact_key()
    if old_key is None:
        raise UserError(f"this workstation has no contact key to rotate from: {key_sources()}")
    new_file: Path = args.new_key_file
    if new_file.exists():
        new_key = decode_key(new_file.read_text().strip(), str(new_file))
    else:
        new_key = os.urandom(32)
        try:
            write_key_file(new_file, new_key)  # durable before any record is encrypted under it
        except OSError as exc:
            raise UserError(f"cannot write the new key to {new_file}: {exc.strerror or exc}") from None
    with open_database(args.db) as database:
        signed = signin.sign_in(args, database, "key rotate", Permission.USER_ADMIN)
        summary = rotate_contact_key(database, old_key, new_key, username=signed.name,
                                     workstation=signed.workstation)
    summary["new_key_file"] = str(new_file)
    if source == str(default_key_path()):  # this workstation's own key file: it takes the new key now
        kept = default_key_path().with_name(f"{default_key_path().name}.{key_id(old_key)}.old")
        os.replace(default_key_path(), kept)
        write_key_file(default_key_path(), new_key)
        summary["installed"] = str(default_key_path())
        summary["previous_key_kept_in"] = str(kept)
    summary["next"] = ("carry the new key to every other workstation: `rtic-console key export --to FILE` here, "
                       "`rtic-console key import FILE` there")
    print(json.dumps(summary))
    return 0
