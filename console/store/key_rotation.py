"""What a contact-key rotation reads and writes (console/services/key_rotation.py): the encrypted columns of the
tables in `ENCRYPTED`, the progress per table (`key_rotation`: the last row id done) and the key check's rotation
columns. Functions take a Connection inside the caller's transaction; a batch and its progress commit together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import column, insert, select, table, update
from sqlalchemy.engine import Connection

from console.store.key_check import key_check
from console.store.models import KeyRotationRow

progress = KeyRotationRow.__table__

# The look-up digests kept beside some encrypted records (keyed by the contact key): column -> record field.
DIGESTS = {"owners": (("phone_digest", "phone"), ("email_digest", "email")),
           "outreach_calls": (("phone_digest", "phone"),)}


def _table(name: str, id_column: str, blob_column: str):
    extra = [column(digest) for digest, _ in DIGESTS.get(name, ())]
    return table(name, column(id_column), column(blob_column), *extra)


def start(conn: Connection, tables: list[str], next_key_id: str, next_check_value: str, now: datetime,
          username: str) -> None:
    """Name the new key in the key check (consoles are refused at start meanwhile) and set every table's progress
    back to nothing done."""
    conn.execute(update(key_check).where(key_check.c.id == 1).values(
        next_key_id=next_key_id, next_check_value=next_check_value, rotation_started_at=now,
        rotation_started_by=username[:64]))
    for name in tables:
        if conn.execute(select(progress.c.table_name).where(progress.c.table_name == name)).first() is None:
            conn.execute(insert(progress).values(table_name=name, last_id=0, rows_done=0))
        else:
            conn.execute(update(progress).where(progress.c.table_name == name).values(last_id=0, rows_done=0))


def finish(conn: Connection, new_key_id: str, check_value: str) -> None:
    """The new key is the agency key: the key check names it alone."""
    conn.execute(update(key_check).where(key_check.c.id == 1).values(
        key_id=new_key_id, check_value=check_value, next_key_id=None, next_check_value=None,
        rotation_started_at=None, rotation_started_by=None))


def progress_of(conn: Connection, name: str) -> tuple[int, int]:
    """(last row id done, rows re-encrypted) of one table."""
    last_id, done = conn.execute(select(progress.c.last_id, progress.c.rows_done)
                                 .where(progress.c.table_name == name)).one()
    return last_id, done


def save_progress(conn: Connection, name: str, last_id: int, rows_done: int) -> None:
    conn.execute(update(progress).where(progress.c.table_name == name).values(last_id=last_id, rows_done=rows_done))


def encrypted_records(conn: Connection, name: str, id_column: str, blob_column: str, after_id: int = 0,
                      limit: int | None = None) -> list[tuple[int, bytes]]:
    """(row id, encrypted record) of the table's rows after `after_id` that hold one, in id order."""
    t = _table(name, id_column, blob_column)
    query = select(t.c[id_column], t.c[blob_column]).where(t.c[id_column] > after_id, t.c[blob_column].is_not(None))
    query = query.order_by(t.c[id_column])
    if limit is not None:
        query = query.limit(limit)
    return [(row_id, bytes(blob)) for row_id, blob in conn.execute(query)]


def replace_record(conn: Connection, name: str, id_column: str, blob_column: str, row_id: int, blob: bytes,
                   digests: dict[str, str]) -> None:
    """Write one row's record (and its look-up digests, named by column) re-encrypted."""
    t = _table(name, id_column, blob_column)
    conn.execute(update(t).where(t.c[id_column] == row_id).values({blob_column: blob, **digests}))
