"""The change feed: every write to the shared registry records a change row in its own transaction.

Other consoles follow the feed: on PostgreSQL they LISTEN on `CHANNEL` (NOTIFY is sent when the writing
transaction commits, not before), on SQLite they poll `latest_seq`, which is one index lookup. Either way they
then read `changes_since(last_seen)`.

Sequence numbers are handed out under a transaction-scoped lock held until commit, so a follower never sees
seq N+1 committed while N is still to come: reading "everything after the last seq I saw" misses nothing.

On PostgreSQL that lock is always taken after the audit log's append lock (taken here too when the transaction does
not hold it yet; both are re-entrant), so a transaction that announces a change and then appends an audit event
cannot deadlock with one that appends first and announces last.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from console.domain.changes import Change, ChangeKind
from console.store.audit import PG_APPEND_LOCK
from console.store.db import Database
from console.store.models import ChangeRow

CHANNEL = "rtic_changes"
_PG_CHANGE_LOCK = 7_262_001  # pg_advisory_xact_lock key; the audit log uses its own

changes = ChangeRow.__table__


def record_change(conn: Connection, kind: ChangeKind, record_id: int | None, workstation: str) -> int:
    """Add a change to the caller's transaction; other consoles see it once the transaction commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SELECT pg_advisory_xact_lock({PG_APPEND_LOCK}), pg_advisory_xact_lock({_PG_CHANGE_LOCK})"))
    seq = conn.execute(
        insert(changes).values(at=datetime.now(timezone.utc), kind=ChangeKind(kind).value, record_id=record_id,
                               workstation=workstation[:100]).returning(changes.c.seq)
    ).scalar_one()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": str(seq)})
    return seq


def listen(database: Database):
    """A connection of its own (PostgreSQL, autocommit) that LISTENs on `CHANNEL`: its `notifies()` wake a follower.
    It is never handed back to the pool; whoever listens closes it."""
    raw = database.engine.raw_connection()
    raw.detach()  # ours for as long as we listen, never handed back to the pool
    connection = raw.dbapi_connection
    connection.autocommit = True
    connection.execute(f"LISTEN {CHANNEL}")
    return connection


def latest_seq(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(changes.c.seq), 0))).scalar_one()


def changes_since(conn: Connection, seq: int, limit: int = 1000) -> list[Change]:
    rows = conn.execute(select(changes).where(changes.c.seq > seq).order_by(changes.c.seq).limit(limit))
    return [Change(row.seq, _utc(row.at), ChangeKind(row.kind), row.record_id, row.workstation) for row in rows]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
