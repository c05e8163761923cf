"""The SQL of incident bulletins: the bulletins, their e-mail outbox (one row per recipient), saved groups.

Writes run inside the caller's transaction (the service adds the audit event and the change row), except the
outbox's claim and its outcome, which are single compare-and-set statements: a row moves queued -> sending only
where it is still due and unclaimed (or its claim went stale), and sending -> sent/queued/failed only by the
console that holds the claim. Two consoles delivering at once therefore never send one copy twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from console.domain.bulletins import Attachment, AttachmentKind, Bulletin, DeliveryState, Recipient
from console.store.models import BulletinRecipientRow, BulletinRow, IncidentRow, RecipientGroupRow

bulletins = BulletinRow.__table__
recipients = BulletinRecipientRow.__table__
groups = RecipientGroupRow.__table__
_incidents = IncidentRow.__table__


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def add_bulletin(conn: Connection, incident_id: int, sent_by: str, sent_at: datetime, workstation: str, text: str,
                 reason: str, camera_id: int | None, content_sha256: str, attachments: list[Attachment]) -> int:
    image = next((a for a in attachments if a.kind.is_image), None)
    clip = next((a for a in attachments if not a.kind.is_image), None)
    return conn.execute(insert(bulletins).values(
        incident_id=incident_id, sent_by=sent_by, sent_at=sent_at, workstation=workstation[:100], text=text,
        reason=reason, camera_id=camera_id, content_sha256=content_sha256,
        image=image.data if image else None, image_type=image.kind.value if image else None,
        clip=clip.data if clip else None, clip_type=clip.kind.value if clip else None,
        clip_sha256=clip.sha256 if clip else None, clip_size=clip.size if clip else None).returning(bulletins.c.id)
    ).scalar_one()


def add_recipient(conn: Connection, bulletin_id: int, address: str, group_name: str | None, message_id: str,
                  now: datetime) -> int:
    return conn.execute(insert(recipients).values(
        bulletin_id=bulletin_id, address=address, group_name=group_name, state=DeliveryState.QUEUED.value,
        attempts=0, next_attempt_at=now, message_id=message_id, last_error="").returning(recipients.c.id)
    ).scalar_one()


def _recipient(r) -> Recipient:
    return Recipient(r.id, r.bulletin_id, r.address, r.group_name, DeliveryState(r.state), r.attempts,
                     _utc(r.next_attempt_at), r.message_id, r.last_error or "", _utc(r.sent_at), _utc(r.claimed_at),
                     r.claimed_by)


def _bulletin(row, cad_number: str, people=()) -> Bulletin:
    attachments = []
    if row.image_type:
        k = AttachmentKind(row.image_type)
        attachments.append(Attachment(f"snapshot.{k.extension}", k, bytes(row.image or b"")))
    if row.clip_type:
        k = AttachmentKind(row.clip_type)
        data = row._mapping.get("clip")
        attachments.append(Attachment(f"clip.{k.extension}", k, bytes(data) if data is not None else b"",
                                      None if data is not None else row.clip_sha256, row.clip_size))
    return Bulletin(row.id, row.incident_id, cad_number or "", row.sent_by, _utc(row.sent_at), row.text, row.reason,
                    row.camera_id, row.workstation, row.content_sha256, tuple(attachments), tuple(people))


def get_bulletin(conn: Connection, bulletin_id: int) -> Bulletin | None:
    row = conn.execute(select(bulletins, _incidents.c.cad_number)
                       .join(_incidents, _incidents.c.id == bulletins.c.incident_id)
                       .where(bulletins.c.id == bulletin_id)).first()
    if row is None:
        return None
    people = [_recipient(r) for r in conn.execute(
        select(recipients).where(recipients.c.bulletin_id == bulletin_id).order_by(recipients.c.id))]
    return _bulletin(row, row.cad_number, people)


def list_bulletins(conn: Connection, incident_id: int | None = None, limit: int = 200,
                   with_clips: bool = False) -> list[Bulletin]:
    """Newest first, with their recipients and pictures; the clips themselves only `with_clips` (an export): a
    list shows their hash and size, and a panel refreshed on every console at each change must stay light."""
    columns = [c for c in bulletins.c if with_clips or c.name != "clip"]
    query = (select(*columns, _incidents.c.cad_number).join(_incidents, _incidents.c.id == bulletins.c.incident_id)
             .order_by(bulletins.c.id.desc()).limit(limit))
    if incident_id is not None:
        query = query.where(bulletins.c.incident_id == incident_id)
    rows = conn.execute(query).all()
    people: dict[int, list[Recipient]] = {}
    if rows:
        for r in conn.execute(select(recipients).where(recipients.c.bulletin_id.in_([r.id for r in rows]))
                              .order_by(recipients.c.id)):
            people.setdefault(r.bulletin_id, []).append(_recipient(r))
    return [_bulletin(r, r.cad_number, people.get(r.id, ())) for r in rows]


# --- the outbox ---------------------------------------------------------------------------------------------


def due_ids(conn: Connection, now: datetime, stale_before: datetime, limit: int = 20) -> list[int]:
    """Recipients due now: queued and past their next attempt, or 'sending' with a claim older than stale_before."""
    return list(conn.execute(
        select(recipients.c.id).where(_due(now, stale_before)).order_by(recipients.c.next_attempt_at, recipients.c.id)
        .limit(limit)).scalars())


def _due(now: datetime, stale_before: datetime):
    return or_(and_(recipients.c.state == DeliveryState.QUEUED.value, recipients.c.next_attempt_at <= now),
               and_(recipients.c.state == DeliveryState.SENDING.value, recipients.c.claimed_at < stale_before))


def claim(conn: Connection, recipient_id: int, workstation: str, now: datetime, stale_before: datetime) -> bool:
    """Take the recipient for sending (compare-and-set); False when another console has it or it is not due."""
    result = conn.execute(update(recipients).where(recipients.c.id == recipient_id, _due(now, stale_before))
                          .values(state=DeliveryState.SENDING.value, claimed_by=workstation[:100], claimed_at=now,
                                  attempts=recipients.c.attempts + 1))
    return result.rowcount == 1


def get_recipient(conn: Connection, recipient_id: int) -> Recipient | None:
    row = conn.execute(select(recipients).where(recipients.c.id == recipient_id)).first()
    return None if row is None else _recipient(row)


def finish(conn: Connection, recipient_id: int, workstation: str, claimed_at: datetime, state: DeliveryState,
           error: str = "", next_attempt_at: datetime | None = None, sent_at: datetime | None = None) -> bool:
    """Record the outcome of our claim; False when the claim is no longer ours (it went stale and was retaken)."""
    values = {"state": state.value, "last_error": error[:500], "claimed_by": None, "claimed_at": None}
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if sent_at is not None:
        values["sent_at"] = sent_at
    result = conn.execute(update(recipients).where(
        recipients.c.id == recipient_id, recipients.c.state == DeliveryState.SENDING.value,
        recipients.c.claimed_by == workstation[:100], recipients.c.claimed_at == claimed_at).values(**values))
    return result.rowcount == 1


# --- groups -------------------------------------------------------------------------------------------------


def get_group(conn: Connection, name: str) -> list[str] | None:
    row = conn.execute(select(groups.c.members).where(groups.c.name == name)).first()
    return None if row is None else list(json.loads(row.members))


def list_groups(conn: Connection) -> dict[str, list[str]]:
    return {r.name: list(json.loads(r.members)) for r in conn.execute(select(groups).order_by(groups.c.name))}


def put_group(conn: Connection, name: str, members: list[str], who: str, now: datetime) -> tuple[int, bool]:
    """Create the group or replace its members; (id, created)."""
    row = conn.execute(select(groups.c.id).where(groups.c.name == name)).first()
    body = json.dumps(sorted(set(members)))
    if row is None:
        new_id = conn.execute(insert(groups).values(name=name, members=body, updated_by=who, updated_at=now)
                              .returning(groups.c.id)).scalar_one()
        return new_id, True
    conn.execute(update(groups).where(groups.c.id == row.id).values(members=body, updated_by=who, updated_at=now))
    return row.id, False
