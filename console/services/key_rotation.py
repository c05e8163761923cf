"""Rotating the agency's contact key: every owner contact, stream secret, TOTP secret and outreach phone number
re-encrypted under a new key, the look-up digests (keyed by the contact key) recomputed, resumably.

The state is in the database: `key_check` names the old and the new key while a rotation runs (consoles are refused
at start meanwhile: console/store/key_check.py), and `key_rotation` holds, per table, the last row id done. Each
batch of rows and its progress commit together, and each record names its key id, so a rotation cut short anywhere
(killed, power lost) is finished by running it again with both keys: rows already under the new key are skipped.
A last pass re-encrypts any record a console still running wrote under the old key meanwhile; only then does the
key check switch to the new key. Audited: one event at the start (and one per resume), one at the end with counts.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from console.domain.audit import Action, AuditEntry
from console.errors import UserError
from console.store import key_rotation as store
from console.store.audit import AuditLog
from console.store.db import Database
from console.store.key_check import ENCRYPTED, KeyMismatch, read_check, write_check
from console.store.secrets import ContactCipher, key_check_value, key_id, record_key_id
from console.store.transactions import transaction

BATCH_ROWS = 200
# Tests only: the rotation process ends itself (os._exit, as a kill would) after this many rows, mid-transaction.
ENV_EXIT_AFTER = "RTIC_TEST_ROTATE_EXIT_AFTER"


def rotate_contact_key(database: Database, old_key: bytes, new_key: bytes, *, username: str, workstation: str,
                       batch: int = BATCH_ROWS) -> dict:
    """Re-encrypt everything under `new_key` (starting or resuming); the counts per table and the unreadable ones."""
    if old_key == new_key:
        raise UserError("the new contact key is the key in force: give a different key")
    old, new = ContactCipher(old_key), ContactCipher(new_key)
    audit = AuditLog(database)
    _begin(database, audit, old_key, new_key, username, workstation)
    exit_after = int(os.environ.get(ENV_EXIT_AFTER) or 0)
    counts = {name: 0 for name, *_ in ENCRYPTED}
    unreadable = {name: 0 for name, *_ in ENCRYPTED}
    for name, id_column, blob_column, context in ENCRYPTED:
        while True:
            with transaction(database) as conn:
                last_id, done = store.progress_of(conn, name)
                rows = store.encrypted_records(conn, name, id_column, blob_column, last_id, batch)
                if not rows:
                    counts[name] = done
                    break
                for row in rows:
                    changed = _reencrypt(conn, name, id_column, blob_column, context, row, old, new)
                    done += changed == "done"
                    unreadable[name] += changed == "unreadable"
                    if exit_after and sum(counts.values()) + done >= exit_after:
                        os._exit(9)  # the test's kill: this batch's transaction is never committed
                store.save_progress(conn, name, rows[-1][0], done)
            counts[name] = done
    # Records written under the old key meanwhile by a console still running: one more pass over everything.
    late = 0
    for name, id_column, blob_column, context in ENCRYPTED:
        with transaction(database) as conn:
            for row in store.encrypted_records(conn, name, id_column, blob_column):
                if record_key_id(row[1]) != new.key_id:
                    late += _reencrypt(conn, name, id_column, blob_column, context, row, old, new) == "done"
    return _finish(database, audit, old_key, new_key, username, workstation, counts, unreadable, late)


def _reencrypt(conn, name, id_column, blob_column, context, row, old, new) -> str:
    """'done', 'skipped' (already under the new key) or 'unreadable' (left as it is: never lost, never guessed)."""
    row_id, blob = row
    if record_key_id(blob) == new.key_id:
        return "skipped"
    record = old.decrypt_or_none(blob, context)
    if record is None:
        return "unreadable"
    digests = {digest: new.digest(record.get(field, "")) for digest, field in store.DIGESTS.get(name, ())}
    store.replace_record(conn, name, id_column, blob_column, row_id, new.encrypt(record, context), digests)
    return "done"


def _begin(database, audit, old_key, new_key, username, workstation) -> None:
    old_id, new_id = key_id(old_key), key_id(new_key)
    with transaction(database) as conn:
        check = read_check(conn)
        if check is None:
            write_check(conn, old_key, workstation)
            check = read_check(conn)
        if check.next_key_id is None and not check.matches(old_key):
            raise KeyMismatch(f"this workstation's contact key {old_id} is not the agency key {check.key_id}: "
                              "rotate on a workstation that holds the agency key")
        if check.next_key_id is not None:
            if not check.matches(old_key):
                raise KeyMismatch(f"a rotation from key {check.key_id} to key {check.next_key_id} is in progress, "
                                  f"and this workstation's key is {old_id}: resume it with the old key in force")
            if not check.matches_next(new_key):
                raise KeyMismatch(f"a rotation to key {check.next_key_id} is in progress, but the new key given is "
                                  f"{new_id}: give that rotation's key file with --new-key-file")
            audit.append(AuditEntry(Action.KEY_ROTATION, username, workstation, details={
                "phase": "resumed", "old_key_id": old_id, "new_key_id": new_id}), conn=conn)
            return
        now = datetime.now(timezone.utc)
        store.start(conn, [name for name, *_ in ENCRYPTED], new_id, key_check_value(new_key), now, username)
        audit.append(AuditEntry(Action.KEY_ROTATION, username, workstation, details={
            "phase": "started", "old_key_id": old_id, "new_key_id": new_id}), conn=conn)


def _finish(database, audit, old_key, new_key, username, workstation, counts, unreadable, late) -> dict:
    summary = {"old_key_id": key_id(old_key), "new_key_id": key_id(new_key), "reencrypted": counts,
               "written_meanwhile": late, "unreadable": unreadable}
    with transaction(database) as conn:
        store.finish(conn, key_id(new_key), key_check_value(new_key))
        audit.append(AuditEntry(Action.KEY_ROTATION, username, workstation, details={"phase": "finished", **summary}),
                     conn=conn)
    return summary
