"""The registry's side of the public year report: counts only (cameras by when they were registered and what they can
do, owner alerts by source, footage requests by outcome, incident types). No names, addresses or positions leave here."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from console.store.models import CameraRow, FootageRequestRow, IncidentRow, ShareGrantRow

cameras = CameraRow.__table__
grants = ShareGrantRow.__table__
requests = FootageRequestRow.__table__
incidents = IncidentRow.__table__


def cameras_by_month(conn: Connection, until: datetime) -> list[tuple[str, str, int]]:
    """(YYYY-MM of registration, capability, how many) for cameras registered before `until` and not removed
    (demo cameras left out)."""
    found: dict[tuple[str, str], int] = {}
    for created, capability in conn.execute(select(cameras.c.created_at, cameras.c.capability).where(
            cameras.c.created_at < until, cameras.c.is_demo.is_(False), cameras.c.status != "removed")):
        key = (f"{created:%Y-%m}", capability)
        found[key] = found.get(key, 0) + 1
    return [(month, capability, n) for (month, capability), n in sorted(found.items())]


def grants_by_source(conn: Connection, since: datetime, until: datetime) -> dict[str, int]:
    rows = conn.execute(select(grants.c.source, func.count()).where(grants.c.created_at >= since,
                                                                    grants.c.created_at < until)
                        .group_by(grants.c.source))
    return {source: n for source, n in rows}


def footage_by_status(conn: Connection, since: datetime, until: datetime) -> dict[str, int]:
    rows = conn.execute(select(requests.c.status, func.count()).where(requests.c.created_at >= since,
                                                                      requests.c.created_at < until)
                        .group_by(requests.c.status))
    return {status: n for status, n in rows}


def incident_types(conn: Connection, incident_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(incident_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), 1000):
        for incident_id, kind in conn.execute(select(incidents.c.id, incidents.c.type)
                                              .where(incidents.c.id.in_(ids[start:start + 1000]))):
            found[incident_id] = kind
    return found
