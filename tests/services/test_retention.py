"""Retention on both backends: legal holds, `plan` and `run` on a registry aged by moving the clock forward, the audit
trail cut behind the auditor's signature (verify still checks the rest and still finds a tamper), held items kept,
files deleted with their rows and a missing one reported."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, text

from console.domain.audit import Action, AuditEntry
from console.domain.retention import HoldTarget, Kind
from console.domain.users import Role
from console.errors import UserError
from console.services.audit_checkpoints import CheckpointService, keygen, load_public_key, load_signer
from console.services.retention import Places, RetentionService
from console.settings import Settings
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.models import (
    EvidenceFileRow,
    FootageRequestCameraRow,
    FootageRequestRow,
    LegalHoldRow,
    OutreachCallRow,
    ViewSessionRow,
)
from tests.services.conftest import NOW, _camera, audit_rows

from console.domain.cameras import Capability, SharingMode
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind

T0 = NOW - timedelta(days=5 * 365)  # when the aged registry was made
# Four years after the accounts were made (at the real time): everything is past every default limit.
LATER = datetime.now(timezone.utc) + timedelta(days=4 * 365)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def keys(tmp_path):
    keygen(tmp_path / "auditor.key")
    return load_signer(tmp_path / "auditor.key"), load_public_key(tmp_path / "auditor.key.pub")


def _count(database, table) -> int:
    with database.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def aged(database, cipher, clock, tmp_path, people):
    """A registry made at T0: two cameras, a closed incident with footage (a file on disk, one file gone), a second
    closed incident, view sessions, outreach calls, snapshots, and audit events about all of it."""
    log = AuditLog(database, clock=clock)
    evidence, snaps = tmp_path / "evidence", tmp_path / "snaps"
    evidence.mkdir()
    snaps.mkdir()
    ids = {}
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.RESIDENT, OwnerContact(name="Ada Quill", phone="215-555-0199"))
        site = repo.add_site(conn, owner, "Quill home", "9 Birch Lane", 39.95, -75.16)
        for name in ("cam_a", "cam_b"):
            ids[name] = repo.add_camera(conn, cipher, _camera(site, name, Capability.REGISTERED, SharingMode.NEVER),
                                        owner)
        for name, cad in (("inc_1", "CAD-OLD-1"), ("inc_2", "CAD-OLD-2")):
            ids[name] = repo.add_incident(conn, Incident(None, cad, "burglary", 2, "9 Birch Lane", 39.95, -75.16,
                                                         T0 - timedelta(days=2), T0 - timedelta(days=1)))
        ids["open"] = repo.add_incident(conn, Incident(None, "CAD-OPEN", "fraud", 3, "9 Birch Lane", 39.95, -75.16,
                                                       T0 - timedelta(days=2)))
        for name, incident, camera in (("req_1", "inc_1", "cam_a"), ("req_2", "inc_2", "cam_b"),
                                       ("req_open", "open", "cam_b")):
            ids[name] = conn.execute(insert(FootageRequestRow.__table__).values(
                incident_id=ids[incident], owner_id=owner, window_start=T0 - timedelta(days=2),
                window_end=T0 - timedelta(days=2) + timedelta(hours=1), status="received", created_by="detective",
                created_at=T0, updated_at=T0, version=1).returning(FootageRequestRow.__table__.c.id)).scalar_one()
            conn.execute(insert(FootageRequestCameraRow.__table__).values(request_id=ids[name], camera_id=ids[camera]))
        for name, request, present in (("f1", "req_1", True), ("f1_gone", "req_1", False), ("f2", "req_2", True),
                                       ("f_open", "req_open", True)):
            path = evidence / f"{name}.mp4"
            if present:
                path.write_bytes(name.encode())
            conn.execute(insert(EvidenceFileRow.__table__).values(
                request_id=ids[request], camera_id=None, file_name=path.name, stored_path=str(path),
                sha256=hashlib.sha256(name.encode()).hexdigest(), size_bytes=len(name), received_by="detective",
                received_at=T0))
        for n, camera in enumerate(("cam_a", "cam_b", "cam_a")):
            ids[f"vs_{n}"] = conn.execute(insert(ViewSessionRow.__table__).values(
                user_id=people[Role.DISPATCHER].id, camera_id=ids[camera], incident_id=ids["inc_1"],
                reason="burglary in progress", workstation="rtic-ws-1", started_at=T0, expires_at=T0 + timedelta(minutes=15),
                ended_at=T0 + timedelta(minutes=5), end_reason="user_closed").returning(ViewSessionRow.__table__.c.id)
            ).scalar_one()
        for outcome in ("declined", "registered", "call_back"):
            conn.execute(insert(OutreachCallRow.__table__).values(
                business="Corner Deli", address="3 Main St", called_at=T0, staff="outreach", outcome=outcome, notes=""))
    for n, session in enumerate(("vs_0", "vs_1")):
        data = f"picture {n}".encode()
        (snaps / f"snap-{n}.png").write_bytes(data)
        log.append(AuditEntry(Action.SNAPSHOT, "dispatcher", "rtic-ws-1", details={
            "session_id": ids[session], "file": f"snap-{n}.png", "sha256": hashlib.sha256(data).hexdigest()}))
    for n in range(30):
        log.append(AuditEntry(Action.SEARCH_NEAR, "dispatcher", "rtic-ws-1", incident_id=ids["inc_1"],
                              details={"n": n}))
    log.append(AuditEntry(Action.VIEW_START, "dispatcher", "rtic-ws-1", camera_id=ids["cam_b"]))  # cam_b: held below
    log.append(AuditEntry(Action.SEARCH_NEAR, "dispatcher", "rtic-ws-1", details={"after": "held"}))
    ids["places"] = Places(snaps, evidence, tmp_path / "field.copy")
    return ids


def _service(database, clock, places, batch=7):
    return RetentionService(database, AuditLog(database, clock=clock), Settings(), "rtic-ws-1", places, clock, batch)


def test_holds_are_placed_listed_released_and_audited(database, aged, clock, people):
    service = _service(database, clock, aged["places"])
    supervisor, admin = people[Role.SUPERVISOR], people[Role.ADMIN]
    hold = service.place_hold(supervisor, HoldTarget.CAMERA, aged["cam_b"], "Case 26-114: preservation letter")
    other = service.place_hold(admin, HoldTarget.FOOTAGE_REQUEST, aged["req_1"], "civil suit notice")
    assert [h.id for h in service.holds(admin)] == [hold.id, other.id]
    released = service.release_hold(supervisor, other.id, "suit settled")
    assert not released.active and released.released_by == "supervisor"
    assert [h.id for h in service.holds(admin)] == [hold.id]
    assert len(service.holds(admin, include_released=True)) == 2
    events = audit_rows(database, Action.LEGAL_HOLD)
    assert [(e["details"]["op"], e["username"], e["details"]["target_id"]) for e in events] == [
        ("hold", "supervisor", aged["cam_b"]), ("hold", "admin", aged["req_1"]), ("release", "supervisor", aged["req_1"])]
    assert events[0]["camera_id"] == aged["cam_b"] and events[0]["details"]["reason"].startswith("Case 26-114")


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.DETECTIVE, Role.AUDITOR, Role.OUTREACH])
def test_other_roles_cannot_hold_or_release(database, aged, clock, people, role):
    service = _service(database, clock, aged["places"])
    hold = service.place_hold(people[Role.SUPERVISOR], HoldTarget.INCIDENT, aged["inc_2"], "order 7")
    with pytest.raises(UserError, match="only a supervisor or an administrator"):
        service.place_hold(people[role], HoldTarget.INCIDENT, aged["inc_1"], "mine")
    with pytest.raises(UserError, match="only a supervisor or an administrator"):
        service.release_hold(people[role], hold.id, "done")
    assert [h.id for h in service.holds(people[Role.ADMIN])] == [hold.id]


@pytest.mark.parametrize("reason, message", [
    ("", "needs a reason"), ("   ", "needs a reason"), ("x" * 501, "at most 500"),
    ("case\x1b[31m red", "control or invisible character"), ("case \u202e txt.exe", "control or invisible"),
    ("case\x00", "control or invisible"), ("write to clerk@court.example.gov", "e-mail address"),
])
def test_hostile_reasons_are_refused_and_nothing_changes(database, aged, clock, people, reason, message):
    service = _service(database, clock, aged["places"])
    before = len(audit_rows(database))
    with pytest.raises(UserError, match=message):
        service.place_hold(people[Role.SUPERVISOR], HoldTarget.INCIDENT, aged["inc_1"], reason)
    assert _count(database, LegalHoldRow.__table__) == 0 and len(audit_rows(database)) == before


@pytest.mark.parametrize("target_id", [0, -1, 2**63, 999_999, True])
def test_unknown_or_bad_targets_are_refused(database, aged, clock, people, target_id):
    service = _service(database, clock, aged["places"])
    with pytest.raises(UserError, match="no incident|whole number"):
        service.place_hold(people[Role.SUPERVISOR], HoldTarget.INCIDENT, target_id, "order")
    with pytest.raises(UserError, match="no legal hold|whole number"):
        service.release_hold(people[Role.SUPERVISOR], target_id, "done")
    assert _count(database, LegalHoldRow.__table__) == 0


def test_a_released_hold_cannot_be_released_again(database, aged, clock, people):
    service = _service(database, clock, aged["places"])
    hold = service.place_hold(people[Role.SUPERVISOR], HoldTarget.INCIDENT, aged["inc_1"], "order")
    service.release_hold(people[Role.SUPERVISOR], hold.id, "lifted")
    with pytest.raises(UserError, match="already released"):
        service.release_hold(people[Role.ADMIN], hold.id, "again")


def test_nothing_is_due_before_the_limits(database, aged, clock):
    clock.at = T0 + timedelta(days=10)
    due = {d.kind: d.count for d in _service(database, clock, aged["places"]).plan()}
    assert due == {k: 0 for k in Kind}


def test_plan_and_run_on_a_registry_aged_by_the_clock(database, aged, clock, people, keys):
    signer, public_key = keys
    service = _service(database, clock, aged["places"])
    CheckpointService(AuditLog(database, clock=clock)).checkpoint(signer, "auditor", "rtic-ws-1")
    service.place_hold(people[Role.SUPERVISOR], HoldTarget.CAMERA, aged["cam_b"], "preservation letter 26-114")
    clock.at = LATER
    plan = {d.kind: d for d in service.plan(signer=signer)}
    assert plan[Kind.VIEW_SESSIONS].count == 2 and plan[Kind.VIEW_SESSIONS].held == 1  # vs_1 is of the held camera
    assert plan[Kind.FOOTAGE].count == 1 and plan[Kind.FOOTAGE].held == 1  # req_2 has the held camera; open kept
    assert plan[Kind.OUTREACH].count == 2 and plan[Kind.DECLINED].count == 1
    assert plan[Kind.SNAPSHOTS].count == 2 and plan[Kind.AUDIT].count > 30
    assert plan[Kind.AUDIT].oldest == T0 and plan[Kind.FOOTAGE].oldest == T0 - timedelta(days=1)
    assert "retention_audit_days" in plan[Kind.AUDIT].why

    report = service.run(people[Role.ADMIN], signer)
    assert report.counts[Kind.VIEW_SESSIONS.value] == 2 and report.counts[Kind.FOOTAGE.value] == 1
    assert report.counts[Kind.OUTREACH.value] == 2 and report.counts[Kind.DECLINED.value] == 1
    assert report.counts[Kind.SNAPSHOTS.value] == 1  # snap-1 belongs to a session of the held camera
    assert report.counts["files_missing"] == 1 and any("f1_gone.mp4" in p and "MISSING" in p for p in report.problems)
    places = aged["places"]
    assert not (places.evidence_dir / "f1.mp4").exists() and (places.evidence_dir / "f2.mp4").exists()
    assert (places.evidence_dir / "f_open.mp4").exists()
    assert not (places.snapshot_folder / "snap-0.png").exists() and (places.snapshot_folder / "snap-1.png").exists()
    with database.engine.connect() as conn:
        assert {r for (r,) in conn.execute(select(FootageRequestRow.__table__.c.id))} == {aged["req_2"],
                                                                                         aged["req_open"]}
        assert {r for (r,) in conn.execute(select(ViewSessionRow.__table__.c.id))} == {aged["vs_1"]}
        assert conn.execute(select(OutreachCallRow.__table__.c.outcome)).all() == []
        first_seq = conn.execute(text("SELECT min(seq) FROM audit_events")).scalar()
        held_snapshot = conn.execute(text("SELECT seq FROM audit_events WHERE action = 'snapshot' "
                                          "AND details LIKE '%snap-1.png%'")).scalar()
        assert conn.execute(text(f"SELECT count(*) FROM audit_events WHERE camera_id = {aged['cam_b']}")).scalar()
    # Cut just before the first event that must stay: the held camera's snapshot is found again only through it.
    assert first_seq == held_snapshot > 1
    runs = [e["details"] for e in audit_rows(database, Action.RETENTION_RUN)]
    assert [r["op"] for r in runs] == ["started", "finished"] and runs[1]["counts"] == report.counts

    result = CheckpointService(AuditLog(database)).completeness(public_key)
    assert result.ok, result.lines()
    assert result.chain.checked == len(audit_rows(database))
    # The plain chain check (audit viewer, monthly report, export) starts at the cut too.
    from console.services.audit_reports import AuditService

    assert AuditLog(database).verify().ok and AuditService(AuditLog(database)).monthly_report(
        f"{LATER:%Y-%m}").chain_intact
    # A checkpoint after the cut still signs and verifies.
    CheckpointService(AuditLog(database, clock=clock)).checkpoint(signer, "auditor", "rtic-ws-1")
    assert CheckpointService(AuditLog(database)).completeness(public_key).ok
    # A change to any kept event is still found.
    _tamper(database, first_seq + 1)
    result = CheckpointService(AuditLog(database)).completeness(public_key)
    assert not result.ok and result.chain.first_bad_seq == first_seq + 1


def audit_rows_time(database, seq):
    with database.engine.connect() as conn:
        return conn.execute(text(f"SELECT occurred_at FROM audit_events WHERE seq = {seq}")).scalar().replace(
            "Z", "+00:00")


def _tamper(database, seq):
    with database.engine.begin() as conn:
        if database.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text(f"UPDATE audit_events SET username = 'mallory' WHERE seq = {seq}"))


def test_the_trail_is_not_cut_without_the_auditors_key(database, aged, clock, people):
    service = _service(database, clock, aged["places"])
    clock.at = LATER
    plan = {d.kind: d for d in service.plan()}
    assert plan[Kind.AUDIT].count > 30 and "signing key" in plan[Kind.AUDIT].blocked
    before = len(audit_rows(database))
    report = service.run(people[Role.ADMIN])
    assert any("signed with the auditor's key" in p for p in report.problems)
    assert len(audit_rows(database)) == before + 2  # started and finished: nothing of the trail went
    assert report.counts[Kind.FOOTAGE.value] == 2  # the rest was purged


def test_a_deletion_without_a_signed_cut_is_found(database, aged, clock, people, keys, tmp_path):
    signer, public_key = keys
    # Someone with the owner's rights stores a cut signed by another key and empties the trail's oldest end.
    keygen(tmp_path / "mallory.key")
    forged = load_signer(tmp_path / "mallory.key").sign_cut(10, "0" * 64, "2026-01-01T00:00:00.000Z")
    from console.store.retention import store_cut

    with database.engine.begin() as conn:
        store_cut(conn, forged, None)
        conn.execute(text("DELETE FROM audit_events WHERE seq <= 10"))  # the trigger lets it through: a cut exists
    result = CheckpointService(AuditLog(database)).completeness(public_key)
    assert not result.ok
    assert any("not signed by the auditor's key" in f.sentence for f in result.findings)
    assert result.chain.first_bad_seq == 11 and "event 1 is missing" in result.chain.reason


def test_the_trigger_refuses_deletes_above_the_cut(database, aged, clock):
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="append-only"):
        with database.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    with pytest.raises(DBAPIError, match="append-only"):
        with database.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_cuts"))
            conn.execute(text("UPDATE audit_events SET username = 'x' WHERE seq = 1"))


def test_a_released_hold_lets_the_next_run_purge(database, aged, clock, people, keys):
    signer, public_key = keys
    service = _service(database, clock, aged["places"])
    hold = service.place_hold(people[Role.ADMIN], HoldTarget.CAMERA, aged["cam_b"], "letter")
    clock.at = LATER
    service.run(people[Role.ADMIN], signer)
    assert (aged["places"].snapshot_folder / "snap-1.png").exists()
    service.release_hold(people[Role.ADMIN], hold.id, "lifted")
    clock.at += timedelta(days=1)
    report = service.run(people[Role.ADMIN], signer)
    assert report.counts[Kind.SNAPSHOTS.value] == 1 and report.counts[Kind.FOOTAGE.value] == 1
    assert not (aged["places"].snapshot_folder / "snap-1.png").exists()
    assert CheckpointService(AuditLog(database)).completeness(public_key).chain.ok


def test_only_an_administrator_runs_the_purge(database, aged, clock, people):
    service = _service(database, clock, aged["places"])
    for role in (Role.SUPERVISOR, Role.AUDITOR, Role.DISPATCHER):
        with pytest.raises(UserError, match="only an administrator"):
            service.run(people[role])
    assert audit_rows(database, Action.RETENTION_RUN) == []


def test_an_evidence_path_outside_the_folder_is_not_deleted(database, aged, clock, people, tmp_path):
    outside = tmp_path / "elsewhere.mp4"
    outside.write_bytes(b"keep me")
    with database.engine.begin() as conn:
        conn.execute(EvidenceFileRow.__table__.update().where(EvidenceFileRow.__table__.c.request_id == aged["req_2"])
                     .values(stored_path=str(outside)))
    clock.at = LATER
    report = _service(database, clock, aged["places"]).run(people[Role.ADMIN])
    assert outside.exists() and any("outside the evidence folder" in p for p in report.problems)
    with database.engine.connect() as conn:
        assert conn.execute(select(FootageRequestRow.__table__.c.id)
                            .where(FootageRequestRow.__table__.c.id == aged["req_2"])).first() is not None


def test_a_changed_snapshot_is_kept_and_a_hostile_name_deletes_nothing(database, aged, clock, people, tmp_path):
    (aged["places"].snapshot_folder / "snap-0.png").write_bytes(b"another picture")
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    AuditLog(database, clock=clock).append(AuditEntry(Action.SNAPSHOT, "dispatcher", "rtic-ws-1", details={
        "file": "../victim.txt", "sha256": hashlib.sha256(b"x").hexdigest()}))
    clock.at = LATER
    report = _service(database, clock, aged["places"]).run(people[Role.ADMIN])
    assert (aged["places"].snapshot_folder / "snap-0.png").exists() and victim.exists()
    assert any("not the picture recorded" in p for p in report.problems)
    assert any("names no plain file" in p for p in report.problems)


def test_an_old_field_copy_is_deleted(database, aged, clock, people):
    path = aged["places"].field_copy
    path.write_bytes(b"sealed copy")
    clock.at = datetime.now(timezone.utc) + timedelta(days=8)
    due = {d.kind: d.count for d in _service(database, clock, aged["places"]).plan()}
    assert due[Kind.FIELD_COPY] == 1
    report = _service(database, clock, aged["places"]).run(people[Role.ADMIN])
    assert not path.exists() and report.counts[Kind.FIELD_COPY.value] == 1


def test_the_schedule_setting(database, aged, clock, people):
    service = _service(database, clock, aged["places"])
    assert not service.due_by_schedule()  # 0: only by hand
    service.settings = Settings({"retention_run_every_hours": 24})
    assert service.due_by_schedule()
    service.run(people[Role.ADMIN])
    assert not service.due_by_schedule()
    clock.at += timedelta(hours=25)
    assert service.due_by_schedule()
    assert json.loads(json.dumps([d.as_dict() for d in service.plan()]))  # plain JSON
