"""The SQL of footage requests: requests per owner, their cameras, contact attempts and evidence files.

Every function runs inside the caller's transaction; the service adds the audit event and the change row.
A request's `version` guards against two consoles changing it at once (`bump_version` is a compare-and-set).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from console.domain.footage import (
    ContactAttempt,
    ContactChannel,
    ContactOutcome,
    EvidenceFile,
    FootageRequest,
    FootageStatus,
)
from console.store.models import (
    CameraRow,
    EvidenceFileRow,
    FootageContactRow,
    FootageRequestCameraRow,
    FootageRequestRow,
    IncidentRow,
    OwnerRow,
)

requests = FootageRequestRow.__table__
request_cameras = FootageRequestCameraRow.__table__
contacts = FootageContactRow.__table__
files = EvidenceFileRow.__table__
_cameras = CameraRow.__table__
_owners = OwnerRow.__table__
_incidents = IncidentRow.__table__


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def camera_owners(conn: Connection, camera_ids: Iterable[int]) -> dict[int, tuple[int, bool]]:
    """camera id -> (owner id, owner erased) for the cameras that exist."""
    ids = sorted(set(camera_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(_cameras.c.id, _cameras.c.owner_id, _owners.c.erased_at, _owners.c.contact_ciphertext)
        .join(_owners, _owners.c.id == _cameras.c.owner_id).where(_cameras.c.id.in_(ids))
    )
    return {r.id: (r.owner_id, r.erased_at is not None or r.contact_ciphertext is None) for r in rows}


def incident_exists(conn: Connection, incident_id: int) -> bool:
    return conn.execute(select(_incidents.c.id).where(_incidents.c.id == incident_id)).first() is not None


def add_request(conn: Connection, incident_id: int, owner_id: int, window_start: datetime, window_end: datetime,
                camera_ids: Iterable[int], created_by: str, now: datetime) -> int:
    request_id = conn.execute(
        insert(requests).values(incident_id=incident_id, owner_id=owner_id, window_start=window_start,
                                window_end=window_end, status=FootageStatus.OPEN.value, created_by=created_by,
                                created_at=now, updated_at=now, version=1).returning(requests.c.id)
    ).scalar_one()
    conn.execute(insert(request_cameras), [{"request_id": request_id, "camera_id": c} for c in sorted(set(camera_ids))])
    return request_id


def bump_version(conn: Connection, request_id: int, expected_version: int, status: FootageStatus,
                 now: datetime) -> bool:
    """Set the status and move the version on, only if nobody changed the request since `expected_version`."""
    result = conn.execute(
        update(requests).where(requests.c.id == request_id, requests.c.version == expected_version)
        .values(status=status.value, updated_at=now, version=expected_version + 1)
    )
    return result.rowcount == 1


def last_change(conn: Connection, request_id: int) -> tuple[str, datetime] | None:
    """Who last changed the request and when: the newest contact attempt, received file, or its creation."""
    row = conn.execute(select(requests.c.created_by, requests.c.created_at).where(requests.c.id == request_id)).first()
    if row is None:
        return None
    found = [(row.created_at, row.created_by)]
    found += [(r.at, r.username) for r in conn.execute(
        select(contacts.c.at, contacts.c.username).where(contacts.c.request_id == request_id)
        .order_by(contacts.c.at.desc()).limit(1))]
    found += [(r.received_at, r.received_by) for r in conn.execute(
        select(files.c.received_at, files.c.received_by).where(files.c.request_id == request_id)
        .order_by(files.c.received_at.desc()).limit(1))]
    best_at, best_who = _utc(found[0][0]), found[0][1]
    for at, who in found[1:]:  # on a tie the later kind of change (a call, then a file) is the newer one
        if _utc(at) >= best_at:
            best_at, best_who = _utc(at), who
    return best_who, best_at


def add_contact(conn: Connection, request_id: int, at: datetime, username: str, channel: ContactChannel,
                outcome: ContactOutcome, note: str) -> int:
    return conn.execute(
        insert(contacts).values(request_id=request_id, at=at, username=username, channel=channel.value,
                                outcome=outcome.value, note=note).returning(contacts.c.id)
    ).scalar_one()


def add_file(conn: Connection, request_id: int, camera_id: int | None, file_name: str, stored_path: str,
             sha256: str, size_bytes: int, received_by: str, received_at: datetime) -> int:
    return conn.execute(
        insert(files).values(request_id=request_id, camera_id=camera_id, file_name=file_name,
                             stored_path=stored_path, sha256=sha256, size_bytes=size_bytes,
                             received_by=received_by, received_at=received_at).returning(files.c.id)
    ).scalar_one()


def stored_names(conn: Connection, request_id: int) -> set[str]:
    return set(conn.execute(select(files.c.file_name).where(files.c.request_id == request_id)).scalars())


def _request(row, camera_ids=(), attempts=(), received=()) -> FootageRequest:
    return FootageRequest(
        id=row.id, incident_id=row.incident_id, owner_id=row.owner_id, window_start=_utc(row.window_start),
        window_end=_utc(row.window_end), status=FootageStatus(row.status), created_by=row.created_by,
        created_at=_utc(row.created_at), updated_at=_utc(row.updated_at), version=row.version,
        camera_ids=tuple(camera_ids), contacts=tuple(attempts), files=tuple(received))


def get_request(conn: Connection, request_id: int) -> FootageRequest | None:
    """The request with its cameras, contact attempts (oldest first) and files."""
    row = conn.execute(select(requests).where(requests.c.id == request_id)).first()
    if row is None:
        return None
    camera_ids = conn.execute(select(request_cameras.c.camera_id).where(request_cameras.c.request_id == request_id)
                              .order_by(request_cameras.c.camera_id)).scalars().all()
    attempts = [
        ContactAttempt(r.id, _utc(r.at), r.username, ContactChannel(r.channel), ContactOutcome(r.outcome), r.note)
        for r in conn.execute(select(contacts).where(contacts.c.request_id == request_id)
                              .order_by(contacts.c.at, contacts.c.id))
    ]
    return _request(row, camera_ids, attempts, files_of(conn, [request_id]))


def files_of(conn: Connection, request_ids: Iterable[int]) -> list[EvidenceFile]:
    ids = list(request_ids)
    rows = conn.execute(select(files).where(files.c.request_id.in_(ids)).order_by(files.c.request_id, files.c.id))
    return [EvidenceFile(r.id, r.request_id, r.camera_id, r.file_name, r.stored_path, r.sha256, r.size_bytes,
                         r.received_by, _utc(r.received_at)) for r in rows]


def list_requests(conn: Connection, incident_id: int | None = None) -> list[FootageRequest]:
    """Requests (newest first) with their camera ids; contacts and files are read with `get_request`."""
    query = select(requests).order_by(requests.c.id.desc())
    if incident_id is not None:
        query = query.where(requests.c.incident_id == incident_id)
    rows = conn.execute(query).all()
    cameras: dict[int, list[int]] = {}
    if rows:
        for r in conn.execute(select(request_cameras).where(request_cameras.c.request_id.in_([r.id for r in rows]))
                              .order_by(request_cameras.c.camera_id)):
            cameras.setdefault(r.request_id, []).append(r.camera_id)
    return [_request(r, cameras.get(r.id, ())) for r in rows]
