"""Incidents kept in step with CAD: the stored CAD state of an incident, creating and updating it; open view sessions.

Functions take a Connection inside the caller's transaction; the caller records the change and the audit event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from console.domain.eido import CadIncident
from console.store.models import FeedCursorRow, IncidentRow, ViewSessionRow

incidents = IncidentRow.__table__
view_sessions = ViewSessionRow.__table__
feed_cursors = FeedCursorRow.__table__


@dataclass(frozen=True)
class StoredCadIncident:
    id: int
    address: str
    lat: float
    lon: float
    priority: int
    closed_at: datetime | None
    updated_at: datetime | None  # when CAD last changed it; None for an incident the console opened itself
    version: int


def find_cad_incident(conn: Connection, cad_number: str, *, for_update: bool = False) -> StoredCadIncident | None:
    """The incident with this CAD number; `for_update` locks its row until the transaction ends (PostgreSQL)."""
    query = select(incidents.c.id, incidents.c.address, incidents.c.lat, incidents.c.lon, incidents.c.priority,
                   incidents.c.closed_at,
                   incidents.c.updated_at, incidents.c.version).where(incidents.c.cad_number == cad_number)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else StoredCadIncident(*row)


def add_cad_incident(conn: Connection, incident: CadIncident, opened_at: datetime, closed_at: datetime | None) -> int:
    return conn.execute(insert(incidents).values(
        cad_number=incident.cad_number, type=incident.type, priority=incident.priority, address=incident.address,
        lat=incident.lat, lon=incident.lon, opened_at=opened_at, closed_at=closed_at, source=incident.source,
        version=1, cad_status=incident.status, updated_at=incident.updated_at,
        cad_units=_units_json(incident)).returning(incidents.c.id)).scalar_one()


def update_cad_incident(conn: Connection, stored: StoredCadIncident, incident: CadIncident,
                        closed_at: datetime | None) -> None:
    """CAD's newer state over the stored one (type, priority, place, status, closed or reopened)."""
    conn.execute(update(incidents).where(incidents.c.id == stored.id).values(
        type=incident.type, priority=incident.priority, address=incident.address, lat=incident.lat,
        lon=incident.lon, cad_status=incident.status, updated_at=incident.updated_at, closed_at=closed_at,
        cad_units=_units_json(incident), version=incidents.c.version + 1))


def _units_json(incident: CadIncident) -> str | None:
    return json.dumps(list(incident.units)) if incident.units else None


def incident_units(conn: Connection, incident_id: int) -> list[str]:
    """The units CAD last named on the incident, in CAD's order; [] when none (or the stored value is unreadable)."""
    body = conn.execute(select(incidents.c.cad_units).where(incidents.c.id == incident_id)).scalar()
    try:
        units = json.loads(body) if body else []
    except ValueError:
        return []
    return [u for u in units if isinstance(u, str)] if isinstance(units, list) else []


def incident_closed(conn: Connection, incident_id: int) -> bool:
    return conn.execute(select(incidents.c.closed_at).where(incidents.c.id == incident_id)).scalar() is not None


def open_view_sessions(conn: Connection, incident_id: int) -> list[int]:
    """Ids of the incident's live views that have not ended, oldest first."""
    return list(conn.execute(select(view_sessions.c.id).where(view_sessions.c.incident_id == incident_id)
                             .where(view_sessions.c.ended_at.is_(None)).order_by(view_sessions.c.id)).scalars())


def get_cursor(conn: Connection, name: str) -> tuple[str | None, str | None]:
    """(cursor, etag) a feed left off at, (None, None) the first time."""
    row = conn.execute(select(feed_cursors.c.cursor, feed_cursors.c.etag).where(feed_cursors.c.name == name)).first()
    return (None, None) if row is None else (row.cursor, row.etag)


def set_cursor(conn: Connection, name: str, cursor: str | None, etag: str | None, now: datetime) -> None:
    values = {"cursor": cursor[:300] if cursor else None, "etag": etag[:300] if etag else None, "updated_at": now}
    done = conn.execute(update(feed_cursors).where(feed_cursors.c.name == name).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(feed_cursors).values(name=name[:100], **values))
