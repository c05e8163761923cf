"""Registry reads and writes: owners, sites, cameras with their streams, share grants and incidents.

Functions take a SQLAlchemy Connection (inside the caller's transaction) and speak in domain types.
Contact details and stream credentials are encrypted here with the agency's ContactCipher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from console.domain.cameras import (
    Camera,
    CameraStatus,
    Capability,
    ConsentChannel,
    ConsentRecord,
    FieldOfView,
    SharingMode,
    Stream,
    StreamProtocol,
    StreamRole,
    split_credentials,
)
from console.domain.grants import GrantSource, ShareGrant
from console.domain.incidents import Incident
from console.domain.owners import Owner, OwnerContact, OwnerKind, Site
from console.store.models import CameraRow, IncidentRow, OwnerRow, ShareGrantRow, SiteRow, StreamRow
from console.store.secrets import UNREADABLE, ContactCipher, UnreadableRecord

owners = OwnerRow.__table__
sites = SiteRow.__table__
cameras = CameraRow.__table__
streams = StreamRow.__table__
grants = ShareGrantRow.__table__
incidents = IncidentRow.__table__


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- owners and sites ---------------------------------------------------------------------------


def add_owner(conn: Connection, cipher: ContactCipher, kind: OwnerKind, contact: OwnerContact,
              portal_id: str | None = None, is_demo: bool = False) -> int:
    now = utcnow()
    return conn.execute(
        insert(owners).values(
            kind=kind.value,
            portal_id=portal_id,
            contact_ciphertext=cipher.encrypt(_contact_record(contact)),
            phone_digest=cipher.digest(contact.phone),
            email_digest=cipher.digest(contact.email),
            is_demo=is_demo,
            created_at=now,
            updated_at=now,
            version=1,
        ).returning(owners.c.id)
    ).scalar_one()


def get_owner(conn: Connection, cipher: ContactCipher, owner_id: int) -> Owner | None:
    row = conn.execute(select(owners).where(owners.c.id == owner_id)).first()
    if row is None:
        return None
    contact = readable_contact(cipher, row.contact_ciphertext)
    return Owner(id=row.id, kind=OwnerKind(row.kind), contact=contact, portal_id=row.portal_id, is_demo=row.is_demo)


def readable_contact(cipher: ContactCipher, blob: bytes | None) -> OwnerContact:
    """The owner's contact; "(unreadable)" (readable=False) when this key cannot open the record, so one bad record
    never fails a whole search, list or detail."""
    record = cipher.decrypt_or_none(blob)
    if record is None:
        return OwnerContact(UNREADABLE, readable=False)
    return OwnerContact(**record) if record else OwnerContact("")


def _contact_record(contact: OwnerContact) -> dict:
    return {"name": contact.name, "organisation": contact.organisation, "phone": contact.phone,
            "email": contact.email, "address": contact.address}


def add_site(conn: Connection, owner_id: int, name: str, address: str, lat: float, lon: float) -> int:
    now = utcnow()
    return conn.execute(
        insert(sites).values(owner_id=owner_id, name=name, address=address, lat=lat, lon=lon,
                             created_at=now, updated_at=now, version=1).returning(sites.c.id)
    ).scalar_one()


def get_site(conn: Connection, site_id: int) -> Site | None:
    row = conn.execute(select(sites).where(sites.c.id == site_id)).first()
    return None if row is None else Site(row.id, row.owner_id, row.name, row.address, row.lat, row.lon)


# --- cameras and streams ------------------------------------------------------------------------


def add_camera(conn: Connection, cipher: ContactCipher, camera: Camera, owner_id: int,
               stream_credentials: dict[int, tuple[str | None, str | None]] | None = None) -> int:
    """Insert a camera and its streams. Credentials found in stream URLs are split off and encrypted."""
    now = utcnow()
    fov, consent = camera.field_of_view, camera.consent
    camera_id = conn.execute(
        insert(cameras).values(
            site_id=camera.site_id, owner_id=owner_id, portal_id=camera.portal_id, label=camera.label,
            lat=camera.lat, lon=camera.lon, capability=camera.capability.value,
            sharing_mode=camera.sharing_mode.value, status=camera.status.value, placement="outside",
            fov_bearing_deg=fov.bearing_deg if fov else None, fov_angle_deg=fov.angle_deg if fov else None,
            fov_range_m=fov.range_m if fov else None,
            consent_at=consent.at if consent else None,
            consent_channel=consent.channel.value if consent else None,
            consent_taken_by=consent.taken_by if consent else None,
            consent_wording=consent.wording if consent else None,
            is_demo=camera.is_demo, tls_pin_sha256=camera.tls_pin_sha256, created_at=now, updated_at=now, version=1,
        ).returning(cameras.c.id)
    ).scalar_one()
    for stream in camera.streams:
        url, user, password = split_credentials(stream.url)
        secret = cipher.encrypt({"username": user, "password": password}, b"stream") if user or password else None
        conn.execute(insert(streams).values(camera_id=camera_id, protocol=stream.protocol.value,
                                            role=stream.role.value, url=url, credential_ciphertext=secret))
    return camera_id


def cameras_matching(conn: Connection, text: str, limit: int = 500) -> list[tuple[int, str, str]]:
    """(id, label, address) of cameras, removed ones too, whose label and site address together hold every word of
    `text` (case-insensitive, as plain text: % and _ match themselves); at most `limit`, in id order."""
    words = [w for w in text.lower().split() if w][:8]
    if not words:
        return []
    haystack = func.lower(cameras.c.label + " " + func.coalesce(sites.c.address, ""))
    statement = select(cameras.c.id, cameras.c.label, sites.c.address).join(sites, sites.c.id == cameras.c.site_id)
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(haystack.like(f"%{escaped}%", escape="\\"))
    rows = conn.execute(statement.order_by(cameras.c.id).limit(limit))
    return [(row.id, row.label, row.address or "") for row in rows]


def get_camera(conn: Connection, camera_id: int) -> Camera | None:
    row = conn.execute(
        select(cameras, sites.c.address).join(sites, sites.c.id == cameras.c.site_id).where(cameras.c.id == camera_id)
    ).first()
    if row is None:
        return None
    camera_streams = tuple(
        Stream(protocol=StreamProtocol(s.protocol), url=s.url, role=StreamRole(s.role), id=s.id,
               has_credentials=s.credential_ciphertext is not None)
        for s in conn.execute(select(streams).where(streams.c.camera_id == camera_id).order_by(streams.c.id))
    )
    fov = None
    if row.fov_bearing_deg is not None:
        fov = FieldOfView(row.fov_bearing_deg, row.fov_angle_deg, row.fov_range_m)
    consent = None
    if row.consent_at is not None:
        consent = ConsentRecord(row.consent_at, ConsentChannel(row.consent_channel), row.consent_taken_by or "",
                                row.consent_wording or "")
    return Camera(
        id=row.id, site_id=row.site_id, label=row.label, lat=row.lat, lon=row.lon, address=row.address,
        capability=Capability(row.capability), sharing_mode=SharingMode(row.sharing_mode),
        status=CameraStatus(row.status), field_of_view=fov, consent=consent, streams=camera_streams,
        portal_id=row.portal_id, is_demo=row.is_demo, tls_pin_sha256=row.tls_pin_sha256,
    )


def stream_credentials(conn: Connection, cipher: ContactCipher, stream_id: int) -> tuple[str | None, str | None]:
    """(username, password) of a stream, for the player only: never show or log them."""
    blob = conn.execute(select(streams.c.credential_ciphertext).where(streams.c.id == stream_id)).scalar_one_or_none()
    if not blob:
        return None, None
    try:
        record = cipher.decrypt(blob, b"stream")
    except UnreadableRecord:
        raise UnreadableRecord(f"the credentials of stream {stream_id} cannot be read with this workstation's contact "
                               f"key {cipher.key_id}: see `rtic-console key status`") from None
    return record.get("username"), record.get("password")


def main_stream_urls(conn: Connection) -> dict[int, str]:
    """Each camera's first main stream URL (without credentials), by camera id."""
    urls: dict[int, str] = {}
    for row in conn.execute(select(streams.c.camera_id, streams.c.url).where(streams.c.role == StreamRole.MAIN.value)
                            .order_by(streams.c.id)):
        urls.setdefault(row.camera_id, row.url)
    return urls


def cameras_not_removed(conn: Connection) -> Iterable:
    """Every camera not removed, in id order, read as it is iterated: rows of the camera's columns with its site's
    `address` and its owner's encrypted `contact_ciphertext` (for an export: console/services/registry_export.py)."""
    return conn.execute(select(cameras, sites.c.address, owners.c.contact_ciphertext)
                        .join(sites, sites.c.id == cameras.c.site_id).join(owners, owners.c.id == cameras.c.owner_id)
                        .where(cameras.c.status != CameraStatus.REMOVED.value).order_by(cameras.c.id))


def camera_owner_id(conn: Connection, camera_id: int) -> int | None:
    return conn.execute(select(cameras.c.owner_id).where(cameras.c.id == camera_id)).scalar_one_or_none()


def count_cameras(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(cameras)).scalar_one()


# --- grants -------------------------------------------------------------------------------------


def add_grant(conn: Connection, grant: ShareGrant, created_by: str | None = None) -> int:
    return conn.execute(
        insert(grants).values(camera_id=grant.camera_id, site_id=grant.site_id, starts_at=grant.starts_at,
                              expires_at=grant.expires_at, source=grant.source.value, revoked_at=grant.revoked_at,
                              created_by=created_by, created_at=utcnow()).returning(grants.c.id)
    ).scalar_one()


def grants_for_cameras(conn: Connection, camera_ids: Iterable[int], now: datetime) -> list[ShareGrant]:
    """Grants not yet expired that cover any of the cameras (directly or through their site)."""
    ids = list(camera_ids)
    if not ids:
        return []
    site_ids = select(cameras.c.site_id).where(cameras.c.id.in_(ids))
    rows = conn.execute(
        select(grants).where(grants.c.expires_at > now)
        .where(grants.c.camera_id.in_(ids) | grants.c.site_id.in_(site_ids))
        .order_by(grants.c.id)
    )
    return [
        ShareGrant(id=r.id, camera_id=r.camera_id, site_id=r.site_id, starts_at=r.starts_at,
                   expires_at=r.expires_at, source=GrantSource(r.source), revoked_at=r.revoked_at)
        for r in rows
    ]


@dataclass(frozen=True)
class GrantPlace:
    """A grant with where it applies: its camera (label and point), or for a whole-site alert the site's point."""

    grant_id: int
    camera_id: int | None
    expires_at: datetime
    revoked_at: datetime | None
    source: str
    camera_label: str | None
    site_name: str | None
    address: str | None
    lat: float | None
    lon: float | None


def grant_places(conn: Connection, grant_ids: list[int]) -> list[GrantPlace]:
    """These grants with their camera or site, in id order (unknown ids are left out)."""
    if not grant_ids:
        return []
    # The site is the alert's own (a whole-site alert) or the camera's.
    site_id = func.coalesce(grants.c.site_id, cameras.c.site_id)
    query = (select(grants.c.id, grants.c.camera_id, grants.c.expires_at, grants.c.revoked_at, grants.c.source,
                    cameras.c.label, sites.c.name, sites.c.address,
                    func.coalesce(cameras.c.lat, sites.c.lat).label("lat"),
                    func.coalesce(cameras.c.lon, sites.c.lon).label("lon"))
             .select_from(grants.outerjoin(cameras, cameras.c.id == grants.c.camera_id)
                          .outerjoin(sites, sites.c.id == site_id))
             .where(grants.c.id.in_(grant_ids)).order_by(grants.c.id))
    return [GrantPlace(*row) for row in conn.execute(query)]


# --- incidents ----------------------------------------------------------------------------------


def add_incident(conn: Connection, incident: Incident) -> int:
    return conn.execute(
        insert(incidents).values(cad_number=incident.cad_number, type=incident.type, priority=incident.priority,
                                 address=incident.address, lat=incident.lat, lon=incident.lon,
                                 opened_at=incident.opened_at, closed_at=incident.closed_at,
                                 source=incident.source, version=1).returning(incidents.c.id)
    ).scalar_one()


def _incident(row) -> Incident:
    return Incident(id=row.id, cad_number=row.cad_number, type=row.type, priority=row.priority,
                    address=row.address, lat=row.lat, lon=row.lon, opened_at=row.opened_at,
                    closed_at=row.closed_at, source=row.source)


def get_incident(conn: Connection, incident_id: int) -> Incident | None:
    row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
    return None if row is None else _incident(row)


def find_incident(conn: Connection, cad_number: str) -> Incident | None:
    row = conn.execute(select(incidents).where(incidents.c.cad_number == cad_number)).first()
    return None if row is None else _incident(row)


def open_incidents(conn: Connection) -> list[Incident]:
    rows = conn.execute(
        select(incidents).where(incidents.c.closed_at.is_(None)).order_by(incidents.c.priority, incidents.c.opened_at.desc())
    )
    return [_incident(r) for r in rows]
