"""Retention of incident bulletins on both backends: kept while their incident is open or under legal hold (on the
incident or on the bulletin's camera), then purged with their e-mail outbox rows retention_bulletins_days after the
incident closed, in batches, counted in `plan`, audited, and resumed after a run stopped mid-way."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from console.domain.audit import Action
from console.domain.bulletins import Attachment, AttachmentKind
from console.domain.cameras import Capability, SharingMode
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.retention import HoldTarget, Kind
from console.domain.users import Role
from console.services.retention import Places, RetentionService
from console.settings import Settings
from console.store import bulletins as bulletin_repo
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.models import BulletinRecipientRow, BulletinRow
from tests.services.conftest import _camera, audit_rows
from tests.services.test_retention import LATER, T0, Clock

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def sent(database, cipher, clock):
    """Bulletins sent at T0 on: a closed incident (two, one with a camera), a closed incident whose camera is held
    later, a closed incident held later, an open incident, and an incident closed only just before LATER."""
    ids = {}
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.RESIDENT, OwnerContact(name="Ada Quill", phone="215-555-0199"))
        site = repo.add_site(conn, owner, "Quill home", "9 Birch Lane", 39.95, -75.16)
        for name in ("cam_a", "cam_b"):
            ids[name] = repo.add_camera(conn, cipher, _camera(site, name, Capability.REGISTERED, SharingMode.NEVER),
                                        owner)
        for name, closed in (("closed", T0 + timedelta(days=1)), ("by_camera", T0 + timedelta(days=2)),
                             ("held", T0 + timedelta(days=1)), ("open", None),
                             ("recent", LATER - timedelta(days=10))):
            ids[name] = repo.add_incident(conn, Incident(None, f"CAD-{name}", "burglary", 2, "9 Birch Lane", 39.95,
                                                         -75.16, T0 - timedelta(days=1), closed))
        for name, incident, camera in (("b1", "closed", "cam_a"), ("b2", "closed", None), ("b3", "by_camera", "cam_b"),
                                       ("b4", "held", None), ("b5", "open", "cam_a"), ("b6", "recent", None)):
            attachments = [Attachment("snapshot.png", AttachmentKind.PNG, PNG)]
            ids[name] = bulletin_repo.add_bulletin(
                conn, ids[incident], "dispatcher", T0, "rtic-ws-1", f"suspect seen ({name})", "burglary in progress",
                ids[camera] if camera else None, hashlib.sha256(name.encode()).hexdigest(), attachments)
            for n in range(2):
                copy = bulletin_repo.add_recipient(conn, ids[name], f"officer{n}@pd.example.gov", None,
                                                   f"<{name}-{n}@rtic>", T0)
                if n == 0:  # the first copy left; the second is still queued (the relay never took it)
                    conn.execute(update(BulletinRecipientRow.__table__).where(
                        BulletinRecipientRow.__table__.c.id == copy).values(state="sent", sent_at=T0))
    return ids


def _service(database, clock, batch=1):
    return RetentionService(database, AuditLog(database, clock=clock), Settings(), "rtic-ws-1", Places(), clock, batch)


def _bulletins(database) -> set[int]:
    with database.engine.connect() as conn:
        return {r for (r,) in conn.execute(select(BulletinRow.__table__.c.id))}


def _outbox(database) -> dict[int, int]:
    table = BulletinRecipientRow.__table__
    with database.engine.connect() as conn:
        return dict(conn.execute(select(table.c.bulletin_id, func.count()).group_by(table.c.bulletin_id)).all())


def test_nothing_is_due_while_the_incident_closed_less_than_the_limit_ago(database, sent, clock):
    clock.at = T0 + timedelta(days=20)
    plan = {d.kind: d for d in _service(database, clock).plan()}
    assert plan[Kind.BULLETINS].count == 0 and plan[Kind.BULLETINS].held == 0
    clock.at = T0 + timedelta(days=32)  # 31 days after "closed" and "held" closed, exactly 30 after "by_camera"
    assert {d.kind: d.count for d in _service(database, clock).plan()}[Kind.BULLETINS] == 3  # b1, b2, b4
    clock.at = T0 + timedelta(days=33)
    assert {d.kind: d.count for d in _service(database, clock).plan()}[Kind.BULLETINS] == 4  # and b3


def test_plan_and_run_keep_held_and_open_and_take_the_outbox_along(database, sent, clock, people):
    service = _service(database, clock)
    service.place_hold(people[Role.SUPERVISOR], HoldTarget.CAMERA, sent["cam_b"], "preservation letter 26-114")
    incident_hold = service.place_hold(people[Role.SUPERVISOR], HoldTarget.INCIDENT, sent["held"], "subpoena 26-7")
    clock.at = LATER
    plan = {d.kind: d for d in service.plan()}
    due = plan[Kind.BULLETINS]
    assert (due.count, due.held) == (2, 2)  # b1, b2; b3 (held camera) and b4 (held incident) kept
    assert due.oldest == T0 + timedelta(days=1) and "retention_bulletins_days" in due.why

    batches = []
    report = service.run(people[Role.ADMIN], on_batch=lambda kind, n: batches.append((kind, n)))
    assert report.counts["bulletin_copies_unsent"] == 2  # b1's and b2's queued copies, counted as they go
    assert report.counts[Kind.BULLETINS.value] == 2 and all(p.startswith("audit trail") for p in report.problems)
    assert [b for b in batches if b[0] == Kind.BULLETINS.value] == [("bulletins", 1), ("bulletins", 1)]  # batch=1
    kept = {sent[n] for n in ("b3", "b4", "b5", "b6")}
    assert _bulletins(database) == kept
    assert _outbox(database) == {b: 2 for b in kept}  # the outbox rows went with their bulletins, no others
    finished = [e["details"] for e in audit_rows(database, Action.RETENTION_RUN) if e["details"]["op"] == "finished"]
    assert finished[-1]["counts"]["bulletins"] == 2
    assert {d.kind: d.count for d in service.plan()}[Kind.BULLETINS] == 0

    service.release_hold(people[Role.SUPERVISOR], incident_hold.id, "subpoena answered")
    assert service.run(people[Role.ADMIN]).counts[Kind.BULLETINS.value] == 1
    assert _bulletins(database) == {sent[n] for n in ("b3", "b5", "b6")}


def test_a_run_stopped_mid_way_resumes_with_its_counts(database, sent, clock, people):
    clock.at = LATER
    service = _service(database, clock)

    def stop(kind, n):
        if kind == Kind.BULLETINS.value:
            raise KeyboardInterrupt  # as a kill would, right after the first batch committed

    with pytest.raises(KeyboardInterrupt):
        service.run(people[Role.ADMIN], on_batch=stop)
    assert len(_bulletins(database)) == 5
    clock.at = LATER + timedelta(days=400)  # the resumed run purges as of the stopped run's "now": b6 stays
    report = service.run(people[Role.ADMIN])
    assert report.resumed and report.counts[Kind.BULLETINS.value] == 4
    assert _bulletins(database) == {sent["b5"], sent["b6"]} and set(_outbox(database)) == {sent["b5"], sent["b6"]}
    ops = [e["details"]["op"] for e in audit_rows(database, Action.RETENTION_RUN)]
    assert ops == ["started", "resumed", "finished"]


def test_the_limit_may_only_be_shortened_by_a_users_file(tmp_path):
    from tests.unit.test_retention_policy import _load

    loaded = _load(tmp_path, "retention_bulletins_days = 20\n", "retention_bulletins_days = 60\n")
    assert loaded.settings.retention_bulletins_days == 20 and "retention_bulletins_days" in loaded.refused
    assert _load(tmp_path, "", "retention_bulletins_days = 10\n").settings.retention_bulletins_days == 10
    assert Settings().retention_bulletins_days == 30


def test_an_incident_hold_does_not_keep_sessions_of_no_incident(database, sent, clock, people):
    """SQL's NULL: `incident_id NOT IN (held)` is not true for a session without an incident; it must still go."""
    from sqlalchemy import insert

    from console.store.models import ViewSessionRow

    table = ViewSessionRow.__table__
    with database.engine.begin() as conn:
        for incident in (None, sent["held"]):
            conn.execute(insert(table).values(
                user_id=people[Role.DISPATCHER].id, camera_id=sent["cam_a"], incident_id=incident, reason="patrol",
                workstation="rtic-ws-1", started_at=T0, expires_at=T0 + timedelta(minutes=15),
                ended_at=T0 + timedelta(minutes=5), end_reason="user_closed"))
    service = _service(database, clock)
    service.place_hold(people[Role.SUPERVISOR], HoldTarget.INCIDENT, sent["held"], "subpoena 26-7")
    clock.at = LATER
    due = {d.kind: d for d in service.plan()}[Kind.VIEW_SESSIONS]
    assert (due.count, due.held) == (1, 1)
    assert service.run(people[Role.ADMIN]).counts[Kind.VIEW_SESSIONS.value] == 1
    with database.engine.connect() as conn:
        assert [r for (r,) in conn.execute(select(table.c.incident_id))] == [sent["held"]]


@pytest.mark.parametrize("text", ["retention_bulletins_days = 0", "retention_bulletins_days = -30",
                                  "retention_bulletins_days = \"forever\"", "retention_bulletins_days = 1e999"])
def test_a_hostile_limit_is_refused_with_a_sentence(tmp_path, text):
    from console.errors import UserError
    from tests.unit.test_retention_policy import _load

    with pytest.raises(UserError, match="retention_bulletins_days"):
        _load(tmp_path, text + "\n", "")
