"""Live view sessions: the row a live view writes when it starts (in the same transaction as its VIEW_START event,
console/services/viewing.py) and closes when it ends. Functions take a Connection inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from console.store.models import UserRow, ViewSessionRow

view_sessions = ViewSessionRow.__table__
users = UserRow.__table__


@dataclass(frozen=True)
class ViewSessionRecord:
    """One view session as stored, with the user name of who opened it."""

    id: int
    user_id: int
    username: str
    camera_id: int
    stream_id: int | None
    incident_id: int | None
    cad_number: str | None
    reason: str
    workstation: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None


def add_view_session(conn: Connection, *, user_id: int, camera_id: int, stream_id: int | None,
                     incident_id: int | None, cad_number: str | None, reason: str, workstation: str,
                     started_at: datetime, expires_at: datetime) -> int:
    """Insert the session of a view that is starting; its id. (Also takes the write lock on SQLite.)"""
    return conn.execute(insert(view_sessions).values(
        user_id=user_id, camera_id=camera_id, stream_id=stream_id, incident_id=incident_id, cad_number=cad_number,
        reason=reason, workstation=workstation, started_at=started_at, expires_at=expires_at,
    ).returning(view_sessions.c.id)).scalar_one()


def end_view_session(conn: Connection, session_id: int, ended_at: datetime, end_reason: str) -> bool:
    """Mark the session ended unless it has ended already; whether this call ended it."""
    done = conn.execute(update(view_sessions).where(view_sessions.c.id == session_id)
                        .where(view_sessions.c.ended_at.is_(None)).values(ended_at=ended_at, end_reason=end_reason))
    return done.rowcount == 1


def get_view_session(conn: Connection, session_id: int) -> ViewSessionRecord | None:
    row = conn.execute(select(view_sessions, users.c.username)
                       .join(users, users.c.id == view_sessions.c.user_id)
                       .where(view_sessions.c.id == session_id)).first()
    return None if row is None else ViewSessionRecord(**row._asdict())


def ended_view_sessions(conn: Connection, session_ids: list[int]) -> dict[int, str]:
    """Of these sessions, the ones that have ended, with their end reason ("ended" when none was given)."""
    if not session_ids:
        return {}
    rows = conn.execute(select(view_sessions.c.id, view_sessions.c.end_reason)
                        .where(view_sessions.c.id.in_(session_ids))
                        .where(view_sessions.c.ended_at.is_not(None)))
    return {row.id: row.end_reason or "ended" for row in rows}
