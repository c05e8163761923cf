"""The server's side of the offline journal: per workstation, the last journal entry the audit trail received
(table journal_sequences, migration 0005) and the journal findings already reported.

Written in the same transaction as the audit event it accounts for, so the row and the trail never disagree; on
PostgreSQL that transaction already holds the audit append lock, so two flushers cannot interleave their updates.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from console.store.journal_chain import Received
from console.store.models import JournalSequenceRow

journal_sequences = JournalSequenceRow.__table__


def received(conn: Connection, workstation: str) -> tuple[Received | None, set[str]]:
    """(the last entry received from `workstation`, or None; the keys of the findings already reported)."""
    row = conn.execute(select(journal_sequences).where(journal_sequences.c.workstation == workstation)).first()
    if row is None:
        return None, set()
    try:
        reported = set(json.loads(row.reported))
    except (ValueError, TypeError):
        reported = set()
    return Received(row.last_seq, row.last_hash), reported


def set_received(conn: Connection, workstation: str, now: datetime, last: tuple[int, str] | None = None,
                 reported: set[str] | None = None) -> None:
    """Move the workstation's row to `last` (sequence, hash) and/or record `reported` findings (created if new)."""
    values: dict = {"updated_at": now}
    if last is not None:
        values.update(last_seq=last[0], last_hash=last[1])
    if reported is not None:
        values["reported"] = json.dumps(sorted(reported))
    done = conn.execute(update(journal_sequences).where(journal_sequences.c.workstation == workstation)
                        .values(**values))
    if done.rowcount == 0:
        conn.execute(journal_sequences.insert().values(**{
            "workstation": workstation, "last_seq": 0, "last_hash": "", "reported": "[]", **values}))
