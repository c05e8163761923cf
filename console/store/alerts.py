"""Owner alerts as stored: share grants with who raised or ended them and the portal's alert id, the incidents that
panic-button and app alerts open (and their acknowledgement), and feed cursors.

`console/store/registry.py` adds and reads grants for the access decision; this module adds what raising,
ending and listing alerts needs. Functions take a Connection inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy import null as sa_null
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from console.domain.grants import GrantSource, ShareGrant
from console.store.models import (
    CameraRow,
    FeedCursorRow,
    IncidentRow,
    OwnerRow,
    ShareGrantRow,
    SiteRow,
)

grants = ShareGrantRow.__table__
cameras = CameraRow.__table__
sites = SiteRow.__table__
owners = OwnerRow.__table__
feed_cursors = FeedCursorRow.__table__


@dataclass(frozen=True)
class StoredGrant:
    """A grant with its bookkeeping: who created it, who ended it, the portal's alert id."""

    grant: ShareGrant
    created_by: str | None
    revoked_by: str | None
    external_id: str | None
    incident_id: int | None = None  # the "owner alert" incident a panic-button or app alert opened

    @property
    def id(self) -> int:
        return self.grant.id


@dataclass(frozen=True)
class AlertRow:
    """An alert for the notifications list: the grant, and the camera or site it opens, by name."""

    grant: ShareGrant
    camera_label: str | None
    site_id: int
    site_name: str
    address: str
    lat: float
    lon: float


def _grant(row) -> ShareGrant:
    return ShareGrant(id=row.id, camera_id=row.camera_id, site_id=row.site_id, starts_at=row.starts_at,
                      expires_at=row.expires_at, source=GrantSource(row.source), revoked_at=row.revoked_at)


def _stored(row) -> StoredGrant:
    return StoredGrant(_grant(row), row.created_by, row.revoked_by, row.external_id, row.incident_id)


def insert_grant(conn: Connection, grant: ShareGrant, created_by: str, created_at: datetime,
                 external_id: str | None = None) -> int:
    return conn.execute(
        insert(grants).values(camera_id=grant.camera_id, site_id=grant.site_id, starts_at=grant.starts_at,
                              expires_at=grant.expires_at, source=grant.source.value, revoked_at=grant.revoked_at,
                              created_by=created_by[:100], created_at=created_at, external_id=external_id)
        .returning(grants.c.id)
    ).scalar_one()


def get_grant(conn: Connection, grant_id: int) -> StoredGrant | None:
    row = conn.execute(select(grants).where(grants.c.id == grant_id)).first()
    return None if row is None else _stored(row)


def grant_by_external_id(conn: Connection, external_id: str) -> StoredGrant | None:
    row = conn.execute(select(grants).where(grants.c.external_id == external_id)).first()
    return None if row is None else _stored(row)


def revoke_grant(conn: Connection, grant_id: int, at: datetime, by: str) -> None:
    conn.execute(update(grants).where(grants.c.id == grant_id).values(revoked_at=at, revoked_by=by[:100]))


def set_grant_window(conn: Connection, grant_id: int, starts_at: datetime, expires_at: datetime) -> None:
    conn.execute(update(grants).where(grants.c.id == grant_id).values(starts_at=starts_at, expires_at=expires_at))


def alerts_in_force(conn: Connection, now: datetime) -> list[AlertRow]:
    """Grants in force at `now` (started, not expired, not revoked), newest first, with camera and site names.

    A site-wide grant joins its own site; a camera grant its camera's site (coalesce picks whichever is set)."""
    rows = conn.execute(
        select(grants, cameras.c.label.label("camera_label"), sites.c.id.label("at_site"),
               sites.c.name.label("site_name"), sites.c.address.label("site_address"),
               sites.c.lat.label("site_lat"), sites.c.lon.label("site_lon"),
               cameras.c.lat.label("camera_lat"), cameras.c.lon.label("camera_lon"))
        .select_from(grants.outerjoin(cameras, cameras.c.id == grants.c.camera_id)
                     .join(sites, sites.c.id == func.coalesce(grants.c.site_id, cameras.c.site_id)))
        .where(grants.c.starts_at <= now, grants.c.expires_at > now)
        .where(grants.c.revoked_at.is_(None) | (grants.c.revoked_at > now))
        .order_by(grants.c.starts_at.desc(), grants.c.id.desc())
    )
    out = []
    for r in rows:
        on_camera = r.camera_id is not None
        out.append(AlertRow(_grant(r), r.camera_label, r.at_site, r.site_name, r.site_address,
                            r.camera_lat if on_camera else r.site_lat, r.camera_lon if on_camera else r.site_lon))
    return out


@dataclass(frozen=True)
class PortalCamera:
    id: int
    site_id: int
    owner_id: int
    status: str
    owner_erased: bool


def camera_by_portal_id(conn: Connection, portal_id: str) -> PortalCamera | None:
    """The camera the portal calls `portal_id` (with its site and owner), or None."""
    row = conn.execute(
        select(cameras.c.id, cameras.c.site_id, cameras.c.owner_id, cameras.c.status, owners.c.erased_at)
        .join(owners, owners.c.id == cameras.c.owner_id).where(cameras.c.portal_id == portal_id)).first()
    return None if row is None else PortalCamera(row.id, row.site_id, row.owner_id, row.status,
                                                 row.erased_at is not None)


def removed_portal_ids(conn: Connection, portal_ids: list[str]) -> set[str]:
    """Those of `portal_ids` whose camera is registered and removed."""
    found: set[str] = set()
    for start in range(0, len(portal_ids), 5000):
        chunk = portal_ids[start:start + 5000]
        found.update(conn.execute(select(cameras.c.portal_id).where(cameras.c.portal_id.in_(chunk))
                                  .where(cameras.c.status == "removed")).scalars())
    return found


def camera_site(conn: Connection, camera_id: int) -> int | None:
    return conn.execute(select(cameras.c.site_id).where(cameras.c.id == camera_id)).scalar_one_or_none()


def site_exists(conn: Connection, site_id: int) -> bool:
    return conn.execute(select(sites.c.id).where(sites.c.id == site_id)).first() is not None


def hold_write_lock(conn: Connection) -> None:
    """SQLite: take the database's write lock now (BEGIN IMMEDIATE), so what the transaction reads stays current
    until it commits; PostgreSQL's row locks are taken by the reads that ask for them (read_cursor(lock=True))."""
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# --- feed cursors ---------------------------------------------------------------------------------


def read_cursor(conn: Connection, name: str, lock: bool = False) -> tuple[str | None, str | None]:
    """(cursor, etag) where the feed `name` left off; (None, None) before its first page. `lock`: keep the row
    locked until the transaction ends (PostgreSQL; on SQLite the caller holds the database's write lock)."""
    query = select(feed_cursors).where(feed_cursors.c.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return (None, None) if row is None else (row.cursor, row.etag)


def ensure_cursor(conn: Connection, name: str, at: datetime) -> None:
    """The feed's row, created empty when missing (so there is a row to lock), in its own short transaction."""
    if conn.execute(select(feed_cursors.c.name).where(feed_cursors.c.name == name)).first() is None:
        conn.execute(insert(feed_cursors).prefix_with("OR IGNORE", dialect="sqlite")
                     .values(name=name, cursor=None, etag=None, updated_at=at)
                     if conn.dialect.name == "sqlite" else
                     pg_insert(feed_cursors).values(name=name, cursor=None, etag=None, updated_at=at)
                     .on_conflict_do_nothing(index_elements=["name"]))


def save_cursor(conn: Connection, name: str, cursor: str | None, etag: str | None, at: datetime) -> None:
    values = {"cursor": cursor, "etag": etag, "updated_at": at}
    done = conn.execute(update(feed_cursors).where(feed_cursors.c.name == name).values(**values)).rowcount
    if not done:
        conn.execute(insert(feed_cursors).values(name=name, **values))


# --- owner alert incidents (a panic-button or app alert opens one) ------------------------------------------

incidents = IncidentRow.__table__


@dataclass(frozen=True)
class AlertPlace:
    """Where an alert is: the camera's label (None for a whole site), the site, its address and the point."""

    camera_label: str | None
    site_name: str
    address: str
    lat: float
    lon: float


def alert_place(conn: Connection, camera_id: int | None, site_id: int | None) -> AlertPlace | None:
    """The camera's (or the site's) place, for an incident at it; None when neither exists."""
    if camera_id is not None:
        row = conn.execute(select(cameras.c.label, sites.c.name, sites.c.address, cameras.c.lat, cameras.c.lon)
                           .join(sites, sites.c.id == cameras.c.site_id).where(cameras.c.id == camera_id)).first()
    else:
        row = conn.execute(select(sa_null().label("label"), sites.c.name, sites.c.address, sites.c.lat, sites.c.lon)
                           .where(sites.c.id == site_id)).first()
    return None if row is None else AlertPlace(row[0], row[1] or "", row[2] or "", row[3], row[4])


def add_alert_incident(conn: Connection, grant_id: int, incident_type: str, address: str, lat: float, lon: float,
                       opened_at: datetime, source: str) -> int:
    """An incident for the alert `grant_id`, linked to it; its id."""
    incident_id = conn.execute(
        insert(incidents).values(cad_number=None, type=incident_type[:100], priority=1, address=address[:300],
                                 lat=lat, lon=lon, opened_at=opened_at, closed_at=None, source=source[:32],
                                 version=1, updated_at=opened_at).returning(incidents.c.id)).scalar_one()
    conn.execute(update(grants).where(grants.c.id == grant_id).values(incident_id=incident_id))
    return incident_id


def close_incident(conn: Connection, incident_id: int, at: datetime) -> bool:
    """Close the incident at `at` unless it is closed already; True when this call closed it (so one close is
    audited once, even with two consoles closing it together: the second UPDATE finds it closed)."""
    return conn.execute(update(incidents).where(incidents.c.id == incident_id, incidents.c.closed_at.is_(None))
                        .values(closed_at=at, updated_at=at, version=incidents.c.version + 1)).rowcount == 1


@dataclass(frozen=True)
class AlertIncidentRow:
    grant_id: int
    incident_id: int
    camera_id: int | None
    closed_at: datetime | None
    ends_at: datetime  # when the alert ends (revoked, or its expiry)


def alert_incident(conn: Connection, incident_id: int) -> AlertIncidentRow | None:
    """The alert that opened this incident, or None when the incident is no owner alert's."""
    row = conn.execute(select(grants.c.id, grants.c.camera_id, grants.c.expires_at, grants.c.revoked_at,
                              incidents.c.closed_at)
                       .join(incidents, incidents.c.id == grants.c.incident_id)
                       .where(grants.c.incident_id == incident_id)).first()
    if row is None:
        return None
    ends = min(row.expires_at, row.revoked_at) if row.revoked_at is not None else row.expires_at
    return AlertIncidentRow(row.id, incident_id, row.camera_id, row.closed_at, ends)


def open_incidents_of_ended_alerts(conn: Connection, now: datetime) -> list[AlertIncidentRow]:
    """Alert incidents still open whose alert has ended (expired or revoked) by `now`."""
    rows = conn.execute(
        select(grants.c.id, grants.c.incident_id, grants.c.camera_id, grants.c.expires_at, grants.c.revoked_at)
        .join(incidents, incidents.c.id == grants.c.incident_id)
        .where(incidents.c.closed_at.is_(None))
        .where((grants.c.expires_at <= now) | (grants.c.revoked_at <= now)).order_by(grants.c.id))
    return [AlertIncidentRow(r.id, r.incident_id, r.camera_id, None,
                             min(r.expires_at, r.revoked_at) if r.revoked_at is not None else r.expires_at)
            for r in rows]


def acknowledge_grant(conn: Connection, grant_id: int, by: str, at: datetime) -> bool:
    """Mark the alert acknowledged unless it is already; True when this call did it."""
    return conn.execute(update(grants).where(grants.c.id == grant_id, grants.c.acknowledged_at.is_(None))
                        .values(acknowledged_at=at, acknowledged_by=by[:64])).rowcount == 1


@dataclass(frozen=True)
class AlertBarRow:
    """An alert that rings the console: with its incident, place and acknowledgement."""

    grant: ShareGrant
    incident_id: int
    incident_closed_at: datetime | None
    camera_label: str | None
    site_name: str
    address: str
    lat: float
    lon: float
    acknowledged_at: datetime | None
    acknowledged_by: str | None


def alert_bars(conn: Connection, now: datetime, grant_ids: list[int] | None = None) -> list[AlertBarRow]:
    """Alerts with an incident (panic button, app) that are in force at `now` (or, with `grant_ids`, those grants
    whatever their state), newest first, with their place and acknowledgement."""
    site_id = func.coalesce(grants.c.site_id, cameras.c.site_id)
    query = (select(grants, cameras.c.label.label("camera_label"), sites.c.name.label("site_name"),
                    sites.c.address.label("site_address"),
                    func.coalesce(cameras.c.lat, sites.c.lat).label("at_lat"),
                    func.coalesce(cameras.c.lon, sites.c.lon).label("at_lon"),
                    incidents.c.closed_at.label("incident_closed_at"))
             .select_from(grants.outerjoin(cameras, cameras.c.id == grants.c.camera_id)
                          .join(sites, sites.c.id == site_id)
                          .join(incidents, incidents.c.id == grants.c.incident_id)))
    if grant_ids is not None:
        if not grant_ids:
            return []
        query = query.where(grants.c.id.in_(grant_ids))
    else:
        query = (query.where(grants.c.starts_at <= now, grants.c.expires_at > now)
                 .where(grants.c.revoked_at.is_(None) | (grants.c.revoked_at > now)))
    rows = conn.execute(query.order_by(grants.c.starts_at.desc(), grants.c.id.desc()))
    return [AlertBarRow(_grant(r), r.incident_id, r.incident_closed_at, r.camera_label, r.site_name or "",
                        r.site_address or "", r.at_lat, r.at_lon, r.acknowledged_at, r.acknowledged_by)
            for r in rows]


def site_camera_ids(conn: Connection, site_id: int) -> list[int]:
    """The site's active live-capable cameras (what a whole-site alert opens), in id order."""
    return list(conn.execute(select(cameras.c.id).where(cameras.c.site_id == site_id, cameras.c.status == "active",
                                                       cameras.c.capability == "live").order_by(cameras.c.id))
                .scalars())
