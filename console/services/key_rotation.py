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

from sqlalchemy import column, insert, select, table, update

from console.domain.audit import Action, AuditEntry
from console.errors import UserError
from console.store.audit import AuditLog
from console.store.db import Database
from console.store.key_check import ENCRYPTED, KeyMismatch, key_check, read_check, write_check
from console.store.models import KeyRotationRow
from console.store.secrets import ContactCipher, key_check_value, key_id, record_key_id

progress = KeyRotationRow.__table__
BATCH_ROWS = 200
# Tests only: the rotation process ends itself (os._exit, as a kill would) after this many rows, mid-transaction.
ENV_EXIT_AFTER = "RTIC_TEST_ROTATE_EXIT_AFTER"
_DIGESTS = {"owners": (("phone_digest", "phone"), ("email_digest", "email")), "outreach_calls": (("phone_digest", "phone"),)}


def _table(name: str, id_column: str, blob_column: str):
    extra = [column(digest) for digest, _ in _DIGESTS.get(name, ())]
    return table(name, column(id_column), column(blob_column), *extra)


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
        t = _table(name, id_column, blob_column)
        while True:
            with database.engine.begin() as conn:
                last_id, done = conn.execute(select(progress.c.last_id, progress.c.rows_done)
                                             .where(progress.c.table_name == name)).one()
                rows = conn.execute(select(t).where(t.c[id_column] > last_id, t.c[blob_column].is_not(None))
                                    .order_by(t.c[id_column]).limit(batch)).all()
                if not rows:
                    counts[name] = done
                    break
                for row in rows:
                    changed = _reencrypt(conn, t, name, id_column, blob_column, context, row, old, new)
                    done += changed == "done"
                    unreadable[name] += changed == "unreadable"
                    if exit_after and sum(counts.values()) + done >= exit_after:
                        os._exit(9)  # the test's kill: this batch's transaction is never committed
                conn.execute(update(progress).where(progress.c.table_name == name)
                             .values(last_id=rows[-1]._mapping[id_column], rows_done=done))
            counts[name] = done
    # Records written under the old key meanwhile by a console still running: one more pass over everything.
    late = 0
    for name, id_column, blob_column, context in ENCRYPTED:
        t = _table(name, id_column, blob_column)
        with database.engine.begin() as conn:
            for row in conn.execute(select(t).where(t.c[blob_column].is_not(None))).all():
                if record_key_id(bytes(row._mapping[blob_column])) != new.key_id:
                    late += _reencrypt(conn, t, name, id_column, blob_column, context, row, old, new) == "done"
    return _finish(database, audit, old_key, new_key, username, workstation, counts, unreadable, late)


def _reencrypt(conn, t, name, id_column, blob_column, context, row, old, new) -> str:
    """'done', 'skipped' (already under the new key) or 'unreadable' (left as it is: never lost, never guessed)."""
    values = row._mapping
    blob = bytes(values[blob_column])
    if record_key_id(blob) == new.key_id:
        return "skipped"
    record = old.decrypt_or_none(blob, context)
    if record is None:
        return "unreadable"
    changes = {blob_column: new.encrypt(record, context)}
    for digest, field in _DIGESTS.get(name, ()):
        changes[digest] = new.digest(record.get(field, ""))
    conn.execute(update(t).where(t.c[id_column] == values[id_column]).values(**changes))
    return "done"


def _begin(database, audit, old_key, new_key, username, workstation) -> None:
    old_id, new_id = key_id(old_key), key_id(new_key)
    with database.engine.begin() as conn:
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
        conn.execute(update(key_check).where(key_check.c.id == 1).values(
            next_key_id=new_id, next_check_value=key_check_value(new_key), rotation_started_at=now,
            rotation_started_by=username[:64]))
        for name, *_ in ENCRYPTED:
            if conn.execute(select(progress.c.table_name).where(progress.c.table_name == name)).first() is None:
                conn.execute(insert(progress).values(table_name=name, last_id=0, rows_done=0))
            else:
                conn.execute(update(progress).where(progress.c.table_name == name).values(last_id=0, rows_done=0))
        audit.append(AuditEntry(Action.KEY_ROTATION, username, workstation, details={
            "phase": "started", "old_key_id": old_id, "new_key_id": new_id}), conn=conn)


def _finish(database, audit, old_key, new_key, username, workstation, counts, unreadable, late) -> dict:
    summary = {"old_key_id": key_id(old_key), "new_key_id": key_id(new_key), "reencrypted": counts,
               "written_meanwhile": late, "unreadable": unreadable}
    with database.engine.begin() as conn:
        conn.execute(update(key_check).where(key_check.c.id == 1).values(
            key_id=key_id(new_key), check_value=key_check_value(new_key), next_key_id=None, next_check_value=None,
            rotation_started_at=None, rotation_started_by=None))
        audit.append(AuditEntry(Action.KEY_ROTATION, username, workstation, details={"phase": "finished", **summary}),
                     conn=conn)
    return summary
