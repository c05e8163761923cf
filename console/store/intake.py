"""Store functions for phone intake, outreach calls and owner changes: duplicate look-ups, registry history,
versioned updates (optimistic concurrency) and owner erasure.

Functions take a Connection inside the caller's transaction; none commits. Contact values never go into
registry_history: contact fields are recorded as changed without their values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from console.domain.cameras import ConsentRecord
from console.domain.geo import bounding_boxes, distance_from
from console.domain.intake import (
    DUPLICATE_SITE_RADIUS_M,
    OwnerCandidate,
    SiteCandidate,
    house_number,
    normalise_address,
)
from console.domain.owners import OwnerKind
from console.store.models import OutreachCallRow, RegistryHistoryRow
from console.store.registry import cameras, owners, readable_contact, sites, streams
from console.store.secrets import ContactCipher

history = RegistryHistoryRow.__table__
calls = OutreachCallRow.__table__

ERASED = "(erased)"


# --- duplicates -------------------------------------------------------------------------------------


def site_candidates(conn: Connection, address: str, lat: float | None, lon: float | None,
                    radius_m: float = DUPLICATE_SITE_RADIUS_M) -> list[SiteCandidate]:
    """Sites of owners not erased at the same normalised address or within `radius_m` of the point, nearest first."""
    wanted = normalise_address(address)
    found: dict[int, SiteCandidate] = {}
    distance = distance_from(lat, lon) if lat is not None and lon is not None else None
    live_owner = owners.c.erased_at.is_(None)
    base = select(sites.c.id, sites.c.owner_id, sites.c.name, sites.c.address, sites.c.lat, sites.c.lon).join(
        owners, owners.c.id == sites.c.owner_id).where(live_owner)
    conditions = []
    if distance is not None:
        for box in bounding_boxes(lat, lon, radius_m):
            conditions.append(and_(sites.c.lat.between(box.min_lat, box.max_lat),
                                   sites.c.lon.between(box.min_lon, box.max_lon)))
    number = house_number(address)
    if wanted and number:  # narrow by the house number in SQL, compare the normalised text here
        conditions.append(func.lower(sites.c.address).like(f"{number} %"))
    elif wanted:
        conditions.append(func.lower(sites.c.address) == address.strip().lower())
    if not conditions:
        return []
    for row in conn.execute(base.where(or_(*conditions))):
        metres = distance(row.lat, row.lon) if distance is not None else float("inf")
        same = bool(wanted) and normalise_address(row.address) == wanted
        if same or metres <= radius_m:
            found[row.id] = SiteCandidate(row.id, row.owner_id, row.name, row.address, metres, same)
    return sorted(found.values(), key=lambda c: (not c.same_address, c.distance_m, c.site_id))


def owner_candidates(conn: Connection, cipher: ContactCipher, phone: str, email: str) -> list[OwnerCandidate]:
    """Owners (not erased) whose phone or e-mail digest equals the given one's."""
    phone_digest, email_digest = cipher.digest(phone), cipher.digest(email)
    conditions = []
    if phone_digest:
        conditions.append(owners.c.phone_digest == phone_digest)
    if email_digest:
        conditions.append(owners.c.email_digest == email_digest)
    if not conditions:
        return []
    site_count = select(func.count()).select_from(sites).where(sites.c.owner_id == owners.c.id).scalar_subquery()
    rows = conn.execute(
        select(owners.c.id, owners.c.kind, owners.c.contact_ciphertext, owners.c.phone_digest, owners.c.email_digest,
               site_count.label("site_count"))
        .where(owners.c.erased_at.is_(None)).where(or_(*conditions)).order_by(owners.c.id)
    )
    found = []
    for row in rows:
        contact = readable_contact(cipher, row.contact_ciphertext)
        matched = tuple(name for name, digest, mine in (("phone", row.phone_digest, phone_digest),
                                                         ("email", row.email_digest, email_digest))
                        if mine and digest == mine)
        found.append(OwnerCandidate(row.id, OwnerKind(row.kind), OwnerCandidate.masked_name(contact), matched,
                                    row.site_count))
    return found


def owner_exists(conn: Connection, owner_id: int) -> bool:
    return conn.execute(select(owners.c.id).where(owners.c.id == owner_id, owners.c.erased_at.is_(None))).first() is not None


def site_owner(conn: Connection, site_id: int) -> int | None:
    return conn.execute(select(sites.c.owner_id).where(sites.c.id == site_id)).scalar_one_or_none()


def set_placement(conn: Connection, camera_id: int, placement: str) -> None:
    conn.execute(update(cameras).where(cameras.c.id == camera_id).values(placement=placement))


# --- history ----------------------------------------------------------------------------------------


def add_history(conn: Connection, at: datetime, username: str, entity: str, entity_id: int,
                changes: Iterable[tuple[str, Any, Any]]) -> None:
    """One registry_history row per (field, old, new). Never pass contact values: record 'changed' instead."""
    rows = [dict(at=at, username=username[:64], entity=entity, entity_id=entity_id, field=name[:48],
                 old_value=_text(old), new_value=_text(new)) for name, old, new in changes]
    if rows:
        conn.execute(insert(history), rows)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "value"):  # enums
        value = value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def history_of(conn: Connection, entity: str, entity_id: int) -> list[dict]:
    rows = conn.execute(select(history).where(history.c.entity == entity, history.c.entity_id == entity_id)
                        .order_by(history.c.id))
    return [dict(row._mapping) for row in rows]


# --- versioned records (optimistic concurrency) -------------------------------------------------------

CAMERA_FIELDS = ("label", "lat", "lon", "capability", "sharing_mode", "status", "placement", "fov_bearing_deg",
                 "fov_angle_deg", "fov_range_m", "tls_pin_sha256")


def camera_values(conn: Connection, camera_id: int) -> tuple[int, dict] | None:
    """(version, {field: value}) of a camera as stored now, or None."""
    row = conn.execute(select(cameras.c.version, *(cameras.c[f] for f in CAMERA_FIELDS), cameras.c.owner_id)
                       .where(cameras.c.id == camera_id)).first()
    if row is None:
        return None
    return row.version, {f: getattr(row, f) for f in CAMERA_FIELDS}


def camera_stream_urls(conn: Connection, camera_id: int) -> list[str]:
    """The URLs (without credentials) of a camera's streams, main first."""
    return list(conn.execute(select(streams.c.url).where(streams.c.camera_id == camera_id)
                             .order_by(streams.c.role, streams.c.id)).scalars())


def owner_row(conn: Connection, owner_id: int):
    return conn.execute(select(owners).where(owners.c.id == owner_id)).first()


def update_versioned(conn: Connection, table, record_id: int, seen_version: int, values: dict, now: datetime) -> int:
    """UPDATE ... WHERE id = record_id AND version = seen_version, bumping the version; rows changed (0 or 1)."""
    result = conn.execute(
        update(table).where(table.c.id == record_id, table.c.version == seen_version)
        .values(**values, version=table.c.version + 1, updated_at=now)
    )
    return result.rowcount


def update_camera(conn: Connection, camera_id: int, seen_version: int, values: dict, now: datetime) -> int:
    """The camera's columns in `values` set if it is still at `seen_version`; rows changed (0: someone saved first)."""
    return update_versioned(conn, cameras, camera_id, seen_version, values, now)


def update_owner(conn: Connection, owner_id: int, seen_version: int, values: dict, now: datetime) -> int:
    """The owner's columns in `values` set if it is still at `seen_version`; rows changed (0: someone saved first)."""
    return update_versioned(conn, owners, owner_id, seen_version, values, now)


def set_camera_consent(conn: Connection, camera_id: int, consent: ConsentRecord) -> None:
    """How the owner gave the camera's sharing choice (the version is the edit's, bumped by `update_camera`)."""
    conn.execute(update(cameras).where(cameras.c.id == camera_id).values(
        consent_at=consent.at, consent_channel=consent.channel.value, consent_taken_by=consent.taken_by[:100],
        consent_wording=consent.wording))


def owner_version_for_update(conn: Connection, owner_id: int) -> tuple[int, datetime | None] | None:
    """(version, erased_at) of the owner, its row locked until the transaction ends (PostgreSQL); None if unknown."""
    row = conn.execute(select(owners.c.version, owners.c.erased_at).where(owners.c.id == owner_id)
                       .with_for_update()).first()
    return None if row is None else (row.version, row.erased_at)


def owner_camera_ids(conn: Connection, owner_id: int, include_removed: bool = False) -> list[int]:
    query = select(cameras.c.id).where(cameras.c.owner_id == owner_id).order_by(cameras.c.id)
    if not include_removed:
        query = query.where(cameras.c.status != "removed")
    return list(conn.execute(query).scalars())


def forget_stream_credentials(conn: Connection, camera_ids: list[int]) -> None:
    if camera_ids:
        conn.execute(update(streams).where(streams.c.camera_id.in_(camera_ids)).values(credential_ciphertext=None))


def erase_owner_rows(conn: Connection, owner_id: int, now: datetime) -> dict:
    """Erase an owner's contact everywhere it is kept; returns what was touched (ids and counts, no values).

    The owner row keeps its id (cameras, footage requests and audit events name it) but loses its contact and
    look-up digests. Its sites lose their names; a resident's site its address too (it is their home).
    Outreach calls with the owner (linked, or to the same phone) lose business name, phone and notes. History
    values of the owner's records that could name them are cleared.
    """
    row = owner_row(conn, owner_id)
    phone_digest = row.phone_digest
    conn.execute(update(owners).where(owners.c.id == owner_id).values(
        contact_ciphertext=None, phone_digest=None, email_digest=None, erased_at=now, updated_at=now,
        version=owners.c.version + 1))
    site_ids = list(conn.execute(select(sites.c.id).where(sites.c.owner_id == owner_id)).scalars())
    site_values: dict[str, Any] = {"name": ERASED, "updated_at": now, "version": sites.c.version + 1}
    if row.kind == OwnerKind.RESIDENT.value:
        site_values["address"] = ERASED
    if site_ids:
        conn.execute(update(sites).where(sites.c.id.in_(site_ids)).values(**site_values))
    call_match = [calls.c.owner_id == owner_id]
    if phone_digest:
        call_match.append(calls.c.phone_digest == phone_digest)
    erased_calls = conn.execute(update(calls).where(or_(*call_match)).values(
        business=ERASED, address=ERASED if row.kind == OwnerKind.RESIDENT.value else calls.c.address,
        phone_ciphertext=None, phone_digest=None, notes="")).rowcount
    camera_ids = owner_camera_ids(conn, owner_id, include_removed=True)
    names = [and_(history.c.entity == "owner", history.c.entity_id == owner_id)]
    if site_ids:
        names.append(and_(history.c.entity == "site", history.c.entity_id.in_(site_ids)))
    if camera_ids:
        names.append(and_(history.c.entity == "camera", history.c.entity_id.in_(camera_ids),
                          history.c.field.in_(("label", "created"))))
    conn.execute(update(history).where(or_(*names)).values(old_value=None, new_value=None))
    return {"sites": site_ids, "outreach_calls": erased_calls}


# --- outreach calls ---------------------------------------------------------------------------------


def add_call(conn: Connection, cipher: ContactCipher, business: str, address: str, phone: str, called_at: datetime,
             staff: str, outcome: str, call_back_on: datetime | None, notes: str, owner_id: int | None) -> int:
    return conn.execute(insert(calls).values(
        business=business, address=address,
        phone_ciphertext=cipher.encrypt({"phone": phone}, b"outreach") if phone else None,
        phone_digest=cipher.digest(phone), called_at=called_at, staff=staff[:64], outcome=outcome,
        call_back_on=call_back_on, notes=notes, owner_id=owner_id).returning(calls.c.id)).scalar_one()


def all_calls(conn: Connection) -> list:
    return list(conn.execute(select(calls).order_by(calls.c.called_at, calls.c.id)))


def call_phone(conn: Connection, cipher: ContactCipher, call_id: int) -> str:
    blob = conn.execute(select(calls.c.phone_ciphertext).where(calls.c.id == call_id)).scalar_one_or_none()
    return cipher.decrypt(blob, b"outreach").get("phone", "") if blob else ""


def owner_by_phone(conn: Connection, cipher: ContactCipher, phone: str) -> int | None:
    digest = cipher.digest(phone)
    if not digest:
        return None
    return conn.execute(select(owners.c.id).where(owners.c.phone_digest == digest, owners.c.erased_at.is_(None))
                        .order_by(owners.c.id).limit(1)).scalar_one_or_none()
