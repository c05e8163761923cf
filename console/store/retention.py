"""Retention's SQL: legal holds, what each kind of record has due (view sessions, footage, bulletins with their e-mail
outbox, outreach calls, snapshot events), batch deletes from the oldest end, the audit trail's signed cuts and the
runs' progress.

Every query takes the set of held ids (console/domain/retention.py `Held`) so nothing under hold is ever selected for
deletion. Deletes go in batches, each in its own transaction with the run's counts, so a run killed at any point
resumes where it stopped. The audit trail loses rows only from its oldest end and only at or below a stored cut
(the trigger of migration 0011 refuses any other DELETE).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, delete, false, func, insert, or_, select, true, update
from sqlalchemy.engine import Connection

from console.domain.audit import format_timestamp
from console.domain.bulletins import DeliveryState
from console.domain.retention import Cut, Held, Hold, HoldTarget, cut_from
from console.store.audit import events
from console.store.models import (
    AuditCutRow,
    BulletinRecipientRow,
    BulletinRow,
    CameraRow,
    EvidenceFileRow,
    FeedCursorRow,
    FootageContactRow,
    FootageRequestCameraRow,
    FootageRequestRow,
    IncidentRow,
    LegalHoldRow,
    OutreachCallRow,
    RetentionRunRow,
    ViewSessionRow,
)

holds = LegalHoldRow.__table__
cuts = AuditCutRow.__table__
runs = RetentionRunRow.__table__
sessions = ViewSessionRow.__table__
requests = FootageRequestRow.__table__
request_cameras = FootageRequestCameraRow.__table__
contacts = FootageContactRow.__table__
files = EvidenceFileRow.__table__
calls = OutreachCallRow.__table__
incidents = IncidentRow.__table__
cursors = FeedCursorRow.__table__
bulletins = BulletinRow.__table__
bulletin_recipients = BulletinRecipientRow.__table__
_TARGET_TABLES = {HoldTarget.INCIDENT: incidents, HoldTarget.FOOTAGE_REQUEST: requests,
                  HoldTarget.CAMERA: CameraRow.__table__}
DECLINED = "declined"


# --- legal holds ---------------------------------------------------------------------------------------


def target_exists(conn: Connection, target: HoldTarget, target_id: int) -> bool:
    table = _TARGET_TABLES[target]
    return conn.execute(select(table.c.id).where(table.c.id == target_id)).first() is not None


def add_hold(conn: Connection, target: HoldTarget, target_id: int, reason: str, by: str, at: datetime) -> int:
    return conn.execute(insert(holds).values(target_kind=target.value, target_id=target_id, reason=reason,
                                             held_by=by, held_at=at).returning(holds.c.id)).scalar_one()


def _hold(row) -> Hold:
    return Hold(row.id, HoldTarget(row.target_kind), row.target_id, row.reason, row.held_by, row.held_at,
                row.released_at, row.released_by, row.release_reason)


def list_holds(conn: Connection, include_released: bool = False) -> list[Hold]:
    statement = select(holds).order_by(holds.c.id)
    if not include_released:
        statement = statement.where(holds.c.released_at.is_(None))
    return [_hold(row) for row in conn.execute(statement)]


def get_hold(conn: Connection, hold_id: int) -> Hold | None:
    row = conn.execute(select(holds).where(holds.c.id == hold_id)).first()
    return None if row is None else _hold(row)


def release_hold(conn: Connection, hold_id: int, by: str, at: datetime, reason: str) -> bool:
    """Release an active hold; False when it was already released (by someone else meanwhile)."""
    done = conn.execute(update(holds).where(holds.c.id == hold_id, holds.c.released_at.is_(None))
                        .values(released_at=at, released_by=by, release_reason=reason))
    return done.rowcount == 1


def held(conn: Connection) -> Held:
    """Everything under an active hold."""
    found: dict[str, set[int]] = {t.value: set() for t in HoldTarget}
    for kind, target_id in conn.execute(select(holds.c.target_kind, holds.c.target_id)
                                        .where(holds.c.released_at.is_(None))):
        found.setdefault(kind, set()).add(target_id)
    return Held(frozenset(found[HoldTarget.INCIDENT.value]), frozenset(found[HoldTarget.FOOTAGE_REQUEST.value]),
                frozenset(found[HoldTarget.CAMERA.value]))


def _not_in(column, ids: Iterable[int]):
    ids = list(ids)
    return or_(column.is_(None), column.not_in(ids)) if ids else true()


def _in(column, ids: Iterable[int]):
    """`column` is one of `ids`: false (never SQL's NULL) for a row without one, so `~_in(...)` selects that row."""
    ids = list(ids)
    return and_(column.is_not(None), column.in_(ids)) if ids else false()


# --- view sessions --------------------------------------------------------------------------------------


def _session_end():
    return func.coalesce(sessions.c.ended_at, sessions.c.expires_at)


def _sessions_due(cutoff: datetime):
    return _session_end() < cutoff


def _sessions_held(hold: Held):
    return or_(_in(sessions.c.camera_id, hold.cameras), _in(sessions.c.incident_id, hold.incidents))


def sessions_due(conn: Connection, cutoff: datetime, hold: Held) -> tuple[int, datetime | None, int]:
    """(count due, the oldest's end, how many more are due but held)."""
    count, oldest = conn.execute(select(func.count(), func.min(_session_end()))
                                 .where(_sessions_due(cutoff), ~_sessions_held(hold))).one()
    kept = conn.execute(select(func.count()).where(_sessions_due(cutoff), _sessions_held(hold))
                        .select_from(sessions)).scalar_one()
    return count, oldest, kept


def delete_sessions(conn: Connection, cutoff: datetime, hold: Held, batch: int) -> int:
    ids = [r for (r,) in conn.execute(select(sessions.c.id).where(_sessions_due(cutoff), ~_sessions_held(hold))
                                      .order_by(sessions.c.id).limit(batch))]
    if ids:
        conn.execute(delete(sessions).where(sessions.c.id.in_(ids)))
    return len(ids)


def session_places(conn: Connection, session_ids: Iterable[int]) -> dict[int, tuple[int, int | None]]:
    """session id -> (camera id, incident id), for the sessions still stored."""
    ids = list(session_ids)
    if not ids:
        return {}
    return {row.id: (row.camera_id, row.incident_id) for row in conn.execute(
        select(sessions.c.id, sessions.c.camera_id, sessions.c.incident_id).where(sessions.c.id.in_(ids)))}


# --- footage requests and their evidence files -------------------------------------------------------------


def _footage_due(cutoff: datetime):
    return requests.c.incident_id.in_(select(incidents.c.id).where(incidents.c.closed_at.is_not(None),
                                                                   incidents.c.closed_at < cutoff))


def _footage_held(hold: Held):
    held_by_camera = requests.c.id.in_(select(request_cameras.c.request_id)
                                       .where(_in(request_cameras.c.camera_id, hold.cameras)))
    return or_(_in(requests.c.id, hold.requests), _in(requests.c.incident_id, hold.incidents), held_by_camera)


def footage_due(conn: Connection, cutoff: datetime, hold: Held, skip: Iterable[int] = ()
                ) -> tuple[int, datetime | None, int]:
    """(requests due, the oldest's incident closing time, requests due but held)."""
    closed = select(incidents.c.closed_at).where(incidents.c.id == requests.c.incident_id).scalar_subquery()
    count, oldest = conn.execute(select(func.count(), func.min(closed)).where(
        _footage_due(cutoff), ~_footage_held(hold), _not_in(requests.c.id, skip))).one()
    kept = conn.execute(select(func.count()).select_from(requests)
                        .where(_footage_due(cutoff), _footage_held(hold))).scalar_one()
    return count, oldest, kept


def footage_batch(conn: Connection, cutoff: datetime, hold: Held, batch: int, skip: Iterable[int] = ()
                  ) -> dict[int, list[tuple[int, str, str]]]:
    """Due requests (oldest first) -> their evidence files (id, stored path, SHA-256)."""
    ids = [r for (r,) in conn.execute(select(requests.c.id).where(
        _footage_due(cutoff), ~_footage_held(hold), _not_in(requests.c.id, skip)).order_by(requests.c.id).limit(batch))]
    found: dict[int, list[tuple[int, str, str]]] = {i: [] for i in ids}
    if ids:
        for row in conn.execute(select(files.c.id, files.c.request_id, files.c.stored_path, files.c.sha256)
                                .where(files.c.request_id.in_(ids)).order_by(files.c.id)):
            found[row.request_id].append((row.id, row.stored_path, row.sha256))
    return found


def delete_requests(conn: Connection, request_ids: list[int]) -> None:
    if request_ids:
        for table in (files, contacts, request_cameras):
            conn.execute(delete(table).where(table.c.request_id.in_(request_ids)))
        conn.execute(delete(requests).where(requests.c.id.in_(request_ids)))


# --- incident bulletins and their e-mail outbox ------------------------------------------------------------


def _bulletin_closed():
    return select(incidents.c.closed_at).where(incidents.c.id == bulletins.c.incident_id).scalar_subquery()


def _bulletins_due(cutoff: datetime):
    """Sent before `cutoff` and of an incident closed before it (an open incident keeps its bulletins)."""
    return and_(bulletins.c.sent_at < cutoff, bulletins.c.incident_id.in_(
        select(incidents.c.id).where(incidents.c.closed_at.is_not(None), incidents.c.closed_at < cutoff)))


def _bulletins_held(hold: Held):
    return or_(_in(bulletins.c.incident_id, hold.incidents), _in(bulletins.c.camera_id, hold.cameras))


def bulletins_due(conn: Connection, cutoff: datetime, hold: Held) -> tuple[int, datetime | None, int]:
    """(bulletins due, the oldest's incident closing time, bulletins due but held)."""
    count, oldest = conn.execute(select(func.count(), func.min(_bulletin_closed())).select_from(bulletins)
                                 .where(_bulletins_due(cutoff), ~_bulletins_held(hold))).one()
    kept = conn.execute(select(func.count()).select_from(bulletins)
                        .where(_bulletins_due(cutoff), _bulletins_held(hold))).scalar_one()
    return count, oldest, kept


def delete_bulletins(conn: Connection, cutoff: datetime, hold: Held, batch: int) -> tuple[int, int]:
    """Delete up to `batch` of the oldest due bulletins, their outbox rows with them: (bulletins deleted, e-mail
    copies among those rows that had not been sent: still queued, being sent, or refused)."""
    ids = [r for (r,) in conn.execute(select(bulletins.c.id).where(_bulletins_due(cutoff), ~_bulletins_held(hold))
                                      .order_by(bulletins.c.id).limit(batch))]
    if not ids:
        return 0, 0
    unsent = conn.execute(select(func.count()).select_from(bulletin_recipients).where(
        bulletin_recipients.c.bulletin_id.in_(ids), bulletin_recipients.c.state != DeliveryState.SENT.value)).scalar_one()
    conn.execute(delete(bulletin_recipients).where(bulletin_recipients.c.bulletin_id.in_(ids)))
    conn.execute(delete(bulletins).where(bulletins.c.id.in_(ids)))
    return len(ids), unsent


# --- outreach calls -------------------------------------------------------------------------------------------


def _calls_due(cutoff: datetime, declined: bool):
    outcome = calls.c.outcome == DECLINED if declined else calls.c.outcome != DECLINED
    return and_(outcome, calls.c.called_at < cutoff)


def calls_due(conn: Connection, cutoff: datetime, declined: bool) -> tuple[int, datetime | None]:
    count, oldest = conn.execute(select(func.count(), func.min(calls.c.called_at))
                                 .where(_calls_due(cutoff, declined))).one()
    return count, oldest


def delete_calls(conn: Connection, cutoff: datetime, declined: bool, batch: int) -> int:
    ids = [r for (r,) in conn.execute(select(calls.c.id).where(_calls_due(cutoff, declined))
                                      .order_by(calls.c.id).limit(batch))]
    if ids:
        conn.execute(delete(calls).where(calls.c.id.in_(ids)))
    return len(ids)


# --- snapshots (recorded only as audit events: the file name and its SHA-256) ---------------------------------------


def snapshot_events(conn: Connection, workstation: str, after_seq: int, cutoff: datetime, batch: int) -> list:
    """This workstation's snapshot events after `after_seq` taken before `cutoff`, oldest first: rows of
    (seq, occurred_at, details JSON)."""
    return conn.execute(select(events.c.seq, events.c.occurred_at, events.c.details).where(
        events.c.action == "snapshot", events.c.workstation == workstation, events.c.seq > after_seq,
        events.c.occurred_at < format_timestamp(cutoff)).order_by(events.c.seq).limit(batch)).all()


def snapshot_events_at(conn: Connection, seqs: list[int]) -> list:
    """The snapshot events of these sequence numbers (those a hold kept last time), oldest first."""
    if not seqs:
        return []
    return conn.execute(select(events.c.seq, events.c.occurred_at, events.c.details).where(
        events.c.action == "snapshot", events.c.seq.in_(seqs)).order_by(events.c.seq)).all()


def read_cursor(conn: Connection, name: str) -> str | None:
    return conn.execute(select(cursors.c.cursor).where(cursors.c.name == name)).scalar()


def cursors_named(conn: Connection, prefix: str) -> list[str]:
    return [c for (c,) in conn.execute(select(cursors.c.cursor).where(cursors.c.name.startswith(prefix))) if c]


def write_cursor(conn: Connection, name: str, value: str, at: datetime) -> None:
    if conn.execute(update(cursors).where(cursors.c.name == name).values(cursor=value, updated_at=at)).rowcount == 0:
        conn.execute(insert(cursors).values(name=name, cursor=value, updated_at=at))


# --- the audit trail -------------------------------------------------------------------------------------------


def trail_start(conn: Connection) -> tuple[int, str] | None:
    """The oldest stored event's (seq, previous hash), or None for an empty trail."""
    row = conn.execute(select(events.c.seq, events.c.prev_hash).order_by(events.c.seq).limit(1)).first()
    return None if row is None else (row.seq, row.prev_hash)


def audit_stop(conn: Connection, cutoff: datetime, hold: Held) -> int | None:
    """The oldest event that must stay (taken at or after `cutoff`, or of a held camera or incident): the trail can be
    cut just before it. None when no event stops the cut."""
    return conn.execute(select(func.min(events.c.seq)).where(or_(
        events.c.occurred_at >= format_timestamp(cutoff), _in(events.c.camera_id, hold.cameras),
        _in(events.c.incident_id, hold.incidents | _request_incidents(conn, hold.requests))))).scalar()


def _request_incidents(conn: Connection, request_ids: frozenset[int]) -> frozenset[int]:
    if not request_ids:
        return frozenset()
    return frozenset(r for (r,) in conn.execute(select(requests.c.incident_id).where(requests.c.id.in_(request_ids))))


def audit_range(conn: Connection, through_seq: int) -> tuple[int, str | None]:
    """(how many events are at or below `through_seq`, the oldest one's time)."""
    count, oldest = conn.execute(select(func.count(), func.min(events.c.occurred_at))
                                 .where(events.c.seq <= through_seq)).one()
    return count, oldest


def event_hash_at(conn: Connection, seq: int) -> str | None:
    return conn.execute(select(events.c.hash).where(events.c.seq == seq)).scalar()


def store_cut(conn: Connection, cut: Cut, run_id: int | None) -> None:
    conn.execute(insert(cuts).values(seq=cut.seq, hash=cut.hash, signed_at=cut.signed_at, key_fingerprint=cut.key,
                                     signature=cut.signature, run_id=run_id))


def stored_cuts(conn: Connection) -> list[Cut | str]:
    """Every stored cut in the order written (or why a row is malformed)."""
    found: list[Cut | str] = []
    for row in conn.execute(select(cuts).order_by(cuts.c.id)):
        try:
            found.append(cut_from({**row._mapping, "key": row.key_fingerprint}))
        except ValueError as exc:
            found.append(f"audit cut {row.id} is MALFORMED ({exc}): it was changed")
    return found


def delete_events_through(conn: Connection, through_seq: int, batch: int) -> int:
    """Delete up to `batch` of the oldest events at or below `through_seq` (never one above it)."""
    seqs = [s for (s,) in conn.execute(select(events.c.seq).where(events.c.seq <= through_seq)
                                       .order_by(events.c.seq).limit(batch))]
    if seqs:
        conn.execute(delete(events).where(events.c.seq >= seqs[0], events.c.seq <= seqs[-1]))
    return len(seqs)


def may_purge(conn: Connection) -> str | None:
    """PostgreSQL: why the connected role may not purge (it lacks DELETE on the trail or INSERT on the cuts)."""
    if conn.dialect.name != "postgresql":
        return None
    role = conn.exec_driver_sql("SELECT current_user").scalar_one()
    missing = [f"{verb} on {table}" for table, verb in (("audit_events", "DELETE"), ("audit_cuts", "INSERT"),
                                                       ("view_sessions", "DELETE"), ("footage_requests", "DELETE"),
                                                       ("outreach_calls", "DELETE"), ("bulletins", "DELETE"),
                                                       ("bulletin_recipients", "DELETE"), ("retention_runs", "INSERT"))
               if not conn.exec_driver_sql("SELECT has_table_privilege(current_user, %(t)s, %(v)s)",
                                           {"t": table, "v": verb}).scalar()]
    if not missing:
        return None
    return (f"the database role {role!r} may not purge ({', '.join(missing[:2])} refused): the consoles' own role never "
            "can; run `retention run` with the tables' owner or the purge role in --db (`rtic-console db grant "
            "--role CONSOLE_ROLE --purge-role NAME` makes one)")


# --- runs ----------------------------------------------------------------------------------------------------


def unfinished_run(conn: Connection) -> dict | None:
    row = conn.execute(select(runs).where(runs.c.status == "running").order_by(runs.c.id.desc()).limit(1)).first()
    return None if row is None else _run(row)


def last_finished_run(conn: Connection) -> dict | None:
    row = conn.execute(select(runs).where(runs.c.status == "finished").order_by(runs.c.id.desc()).limit(1)).first()
    return None if row is None else _run(row)


def _run(row) -> dict:
    return {"id": row.id, "started_at": row.started_at, "finished_at": row.finished_at, "now": row.now,
            "username": row.username, "workstation": row.workstation, "status": row.status,
            "counts": json.loads(row.counts), "problems": json.loads(row.problems)}


def start_run(conn: Connection, now: datetime, started_at: datetime, username: str, workstation: str) -> int:
    return conn.execute(insert(runs).values(started_at=started_at, now=now, username=username, workstation=workstation,
                                            status="running", counts="{}", problems="[]").returning(runs.c.id)
                        ).scalar_one()


def save_progress(conn: Connection, run_id: int, counts: dict, problems: list[str]) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(counts=json.dumps(counts, sort_keys=True),
                                                                problems=json.dumps(problems)))


def finish_run(conn: Connection, run_id: int, at: datetime) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(status="finished", finished_at=at))
