"""Footage requests on both backends: one per owner, by ids or area, calls and status, files hashed, concurrency."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from console.domain.audit import Action
from console.domain.cameras import Capability, SharingMode
from console.domain.footage import Circle, ContactChannel, ContactOutcome, FootageStatus, Polygon
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.errors import UserError
from console.services.evidence import verify_package
from console.services.footage import ConcurrentChange, FootageService
from console.store import registry as repo
from console.store.models import ChangeRow, OwnerRow
from tests.services.conftest import NOW, _camera, audit_rows
from tests.support.geometry import destination

CENTRE = (39.95, -75.16)


@pytest.fixture
def footage(database, audit, tmp_path):
    return FootageService(database, audit, evidence_dir=tmp_path / "evidence", workstation="rtic-ws-1")


@pytest.fixture
def town(database, cipher):
    """Three owners: Ana (two cameras 40 m north and 60 m east), Ben (one, 150 m south), an erased one (30 m west)."""
    ids = {}
    with database.engine.begin() as conn:
        for owner, cams in [("ana", [("ana_n", 0, 40), ("ana_e", 90, 60)]), ("ben", [("ben_s", 180, 150)]),
                            ("gone", [("gone_w", 270, 30)])]:
            ids[owner] = repo.add_owner(conn, cipher, OwnerKind.RESIDENT,
                                        OwnerContact(name=owner.title(), phone="215-555-0100", email=f"{owner}@example.org"))
            site = repo.add_site(conn, ids[owner], owner, "1 Main St", *CENTRE)
            for name, bearing, distance in cams:
                lat, lon = destination(*CENTRE, bearing, distance)
                cam = _camera(site, name, Capability.REGISTERED, SharingMode.NEVER)
                ids[name] = repo.add_camera(conn, cipher, cam.__class__(**{**cam.__dict__, "lat": lat, "lon": lon}),
                                            ids[owner])
        conn.execute(update(OwnerRow.__table__).where(OwnerRow.__table__.c.id == ids["gone"])
                     .values(contact_ciphertext=None, erased_at=NOW - timedelta(days=3)))
        ids["incident"] = repo.add_incident(conn, Incident(None, "CAD-2026-0077", "robbery", 1, "1 Main St",
                                                           *CENTRE, NOW - timedelta(minutes=30)))
    return ids


WINDOW = (NOW - timedelta(hours=1), NOW - timedelta(minutes=10))


def _create(footage, user, town, **kw):
    return footage.create(user, town["incident"], *WINDOW, NOW, **kw)


def test_one_request_per_owner_and_erased_owners_skipped(footage, people, town, database):
    created = _create(footage, people[Role.DETECTIVE], town,
                      camera_ids=[town["ana_n"], town["ana_e"], town["ben_s"], town["gone_w"]])
    assert len(created.request_ids) == 2
    assert created.erased_owner_cameras == (town["gone_w"],)
    requests = {r.owner_id: r for r in footage.list(town["incident"])}
    assert set(requests) == {town["ana"], town["ben"]}
    assert requests[town["ana"]].camera_ids == tuple(sorted([town["ana_n"], town["ana_e"]]))
    assert requests[town["ben"]].status is FootageStatus.OPEN
    assert requests[town["ben"]].window_start == WINDOW[0]
    events = audit_rows(database, Action.FOOTAGE_REQUEST)
    assert sorted(e["details"]["owner_id"] for e in events) == sorted([town["ana"], town["ben"]])
    assert all(e["incident_id"] == town["incident"] for e in events)
    text_of_events = json.dumps(events)
    assert "555" not in text_of_events and "example.org" not in text_of_events
    with database.engine.connect() as conn:
        changes = conn.execute(select(ChangeRow.__table__.c.kind, ChangeRow.__table__.c.record_id)).all()
    assert sorted(changes) == sorted(("footage", i) for i in created.request_ids)


@pytest.mark.parametrize("area, expected", [
    (Circle(*CENTRE, 70), {"ana_n", "ana_e", "gone_w"}),
    (Circle(*CENTRE, 200), {"ana_n", "ana_e", "ben_s", "gone_w"}),
    # a box north and east of the centre: only Ana's cameras
    (Polygon(((CENTRE[0] - 0.0001, CENTRE[1] - 0.0001), (CENTRE[0] + 0.001, CENTRE[1] - 0.0001),
              (CENTRE[0] + 0.001, CENTRE[1] + 0.001), (CENTRE[0] - 0.0001, CENTRE[1] + 0.001))), {"ana_n", "ana_e"}),
])
def test_cameras_by_area(footage, town, area, expected):
    assert {c.id for c in footage.cameras_in_area(area)} == {town[n] for n in expected}


def test_create_by_area_groups_by_owner(footage, people, town):
    created = _create(footage, people[Role.SUPERVISOR], town, area=Circle(*CENTRE, 200))
    assert len(created.request_ids) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"camera_ids": []}, "select cameras"),
    ({"camera_ids": [999_999]}, "no camera 999999"),
    ({"area": Circle(10.0, 10.0, 50)}, "no registered cameras in that area"),
])
def test_bad_selections_leave_nothing_behind(footage, people, town, database, kwargs, message):
    with pytest.raises(UserError, match=message):
        _create(footage, people[Role.DETECTIVE], town, **kwargs)
    assert footage.list() == []
    assert audit_rows(database, Action.FOOTAGE_REQUEST) == []


def test_only_erased_owners_is_refused(footage, people, town):
    with pytest.raises(UserError, match="erased"):
        _create(footage, people[Role.DETECTIVE], town, camera_ids=[town["gone_w"]])


def test_window_rules_apply(footage, people, town):
    with pytest.raises(UserError, match="at most 2 h"):
        footage.create(people[Role.DETECTIVE], town["incident"], NOW - timedelta(hours=3), NOW, NOW,
                       camera_ids=[town["ben_s"]])
    with pytest.raises(UserError, match="after now"):
        footage.create(people[Role.DETECTIVE], town["incident"], NOW - timedelta(hours=1), NOW + timedelta(minutes=1),
                       NOW, camera_ids=[town["ben_s"]])
    assert footage.list() == []


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN, Role.OUTREACH])
def test_roles_without_the_permission_are_refused(footage, people, town, role):
    with pytest.raises(UserError, match=f"{role.value} role cannot"):
        _create(footage, people[role], town, camera_ids=[town["ben_s"]])


def test_contact_attempts_move_the_status(footage, people, town, database):
    user = people[Role.DETECTIVE]
    (request_id,) = _create(footage, user, town, camera_ids=[town["ben_s"]]).request_ids
    request = footage.get(request_id)
    request = footage.record_attempt(user, request_id, request.version, ContactChannel.PHONE,
                                     ContactOutcome.NO_ANSWER, "rang twice", NOW)
    assert request.status is FootageStatus.NO_ANSWER and request.version == 2
    request = footage.record_attempt(user, request_id, request.version, ContactChannel.EMAIL,
                                     ContactOutcome.AGREED, "will send by email, call 215-555-0100 first", NOW)
    assert request.status is FootageStatus.AGREED
    assert [(c.channel, c.outcome, c.username) for c in request.contacts] == [
        (ContactChannel.PHONE, ContactOutcome.NO_ANSWER, user.username),
        (ContactChannel.EMAIL, ContactOutcome.AGREED, user.username)]
    events = audit_rows(database, Action.FOOTAGE_CONTACT)
    assert [e["details"]["outcome"] for e in events] == ["no_answer", "agreed"]
    assert "555" not in json.dumps(events)  # the note (which may hold a number) never reaches the audit trail


def test_a_stale_version_is_refused_and_names_who_changed_it(footage, people, town, database):
    (request_id,) = _create(footage, people[Role.DETECTIVE], town, camera_ids=[town["ben_s"]]).request_ids
    stale = footage.get(request_id)
    footage.record_attempt(people[Role.SUPERVISOR], request_id, stale.version, ContactChannel.PHONE,
                           ContactOutcome.DECLINED, "", NOW)
    with pytest.raises(ConcurrentChange, match=r"changed by supervisor .*reload"):
        footage.record_attempt(people[Role.DETECTIVE], request_id, stale.version, ContactChannel.PHONE,
                               ContactOutcome.AGREED, "", NOW)
    request = footage.get(request_id)
    assert request.status is FootageStatus.DECLINED and len(request.contacts) == 1


def _video(tmp_path, name, size):
    path = tmp_path / "inbox" / name
    path.parent.mkdir(exist_ok=True)
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_attached_files_are_copied_hashed_and_exported(footage, people, town, database, tmp_path):
    user = people[Role.DETECTIVE]
    (request_id,) = _create(footage, user, town, camera_ids=[town["ben_s"]]).request_ids
    big, big_hash = _video(tmp_path, "front door.mp4", 5 * 1024 * 1024 + 17)  # several copy chunks
    small, small_hash = _video(tmp_path, "front door.MP4", 1000)
    request = footage.attach_files(user, request_id, 1, [big, small], NOW)
    assert request.status is FootageStatus.RECEIVED
    assert [(f.sha256, f.size_bytes, f.camera_id, f.received_by) for f in request.files] == [
        (big_hash, big.stat().st_size, town["ben_s"], user.username), (small_hash, 1000, town["ben_s"], user.username)]
    names = [f.file_name for f in request.files]
    assert len({n.lower() for n in names}) == 2 and all(n.startswith(f"R{request_id}-") for n in names)
    for f in request.files:
        assert hashlib.sha256(Path(f.stored_path).read_bytes()).hexdigest() == f.sha256
        assert str(tmp_path / "evidence") in f.stored_path
    attach = audit_rows(database, Action.EVIDENCE_ATTACH)[0]["details"]
    assert [f["sha256"] for f in attach["files"]] == [big_hash, small_hash]

    manifest = footage.export_package(user, [request_id], tmp_path / "pkg.zip", NOW)
    assert manifest["incident"] == {"id": town["incident"], "cad_number": "CAD-2026-0077"}
    assert {f["owner_id"] for f in manifest["files"]} == {town["ben"]}
    assert "555" not in json.dumps(manifest) and "example.org" not in json.dumps(manifest)
    assert verify_package(tmp_path / "pkg.zip").intact
    exported = audit_rows(database, Action.EVIDENCE_EXPORT)[0]["details"]
    assert exported["package_id"] == manifest["package_id"]


def test_a_failed_attach_leaves_nothing(footage, people, town, tmp_path):
    user = people[Role.DETECTIVE]
    (request_id,) = _create(footage, user, town, camera_ids=[town["ana_n"], town["ana_e"]]).request_ids
    good, _ = _video(tmp_path, "a.mp4", 300)
    with pytest.raises(UserError, match="not a file"):
        footage.attach_files(user, request_id, 1, [good, tmp_path / "missing.mp4"], NOW)
    with pytest.raises(UserError, match="not part of footage request"):
        footage.attach_files(user, request_id, 1, [good], NOW, camera_id=town["ben_s"])
    footage.record_attempt(user, request_id, 1, ContactChannel.PHONE, ContactOutcome.AGREED, "", NOW)
    with pytest.raises(ConcurrentChange):
        footage.attach_files(user, request_id, 1, [good], NOW)
    assert footage.get(request_id).files == ()
    evidence = tmp_path / "evidence"
    assert not evidence.exists() or not [p for p in evidence.rglob("*") if p.is_file()]


def test_export_without_files_says_so(footage, people, town, tmp_path):
    (request_id,) = _create(footage, people[Role.DETECTIVE], town, camera_ids=[town["ben_s"]]).request_ids
    with pytest.raises(UserError, match="no files were attached"):
        footage.export_package(people[Role.DETECTIVE], [request_id], tmp_path / "out", NOW)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ["pkg.zip", "pkg"])
def test_a_stored_file_changed_on_disk_is_not_exported(footage, people, town, tmp_path, target):
    user = people[Role.DETECTIVE]
    (request_id,) = _create(footage, user, town, camera_ids=[town["ben_s"]]).request_ids
    path, _ = _video(tmp_path, "clip.mp4", 2000)
    stored = footage.attach_files(user, request_id, 1, [path], NOW).files[0].stored_path
    with open(stored, "r+b") as f:
        f.write(b"Z")
    with pytest.raises(UserError, match="no longer matches"):
        footage.export_package(user, [request_id], tmp_path / target, NOW)
    assert not (tmp_path / target).exists()  # no half package left behind


def test_an_area_finds_what_a_full_scan_finds(footage, database, cipher):
    """A random registry and random polygons: the index-backed search against checking every camera."""
    import random

    from console.domain.footage import point_in_polygon

    rng = random.Random(7)
    cameras = {}
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.RESIDENT, OwnerContact(name="Many Cameras"))
        site = repo.add_site(conn, owner, "block", "1 Main St", *CENTRE)
        for i in range(300):
            lat, lon = CENTRE[0] + rng.uniform(-0.01, 0.01), CENTRE[1] + rng.uniform(-0.01, 0.01)
            cam = _camera(site, f"c{i}", Capability.REGISTERED, SharingMode.NEVER)
            cameras[repo.add_camera(conn, cipher, cam.__class__(**{**cam.__dict__, "lat": lat, "lon": lon}),
                                    owner)] = (lat, lon)
    for _ in range(20):
        corners = tuple((CENTRE[0] + rng.uniform(-0.012, 0.012), CENTRE[1] + rng.uniform(-0.012, 0.012))
                        for _ in range(rng.randint(3, 7)))
        try:
            polygon = Polygon(corners)
        except UserError:
            continue
        expected = {i for i, (lat, lon) in cameras.items() if point_in_polygon(lat, lon, polygon.points)}
        assert {c.id for c in footage.cameras_in_area(polygon)} == expected


@pytest.mark.parametrize("area, message", [
    (Circle(*CENTRE, 1e308), "larger than the 2000 m a footage request may cover"),
    (Circle(*CENTRE, 2000.5), "larger than the 2000 m"),
    (Polygon(((CENTRE[0] - 0.03, CENTRE[1] - 0.03), (CENTRE[0] + 0.03, CENTRE[1] - 0.03),
              (CENTRE[0] + 0.03, CENTRE[1] + 0.03), (CENTRE[0] - 0.03, CENTRE[1] + 0.03))),
     "is larger than a circle of 2000 m"),
])
def test_an_area_larger_than_the_setting_is_refused_and_asks_nobody(footage, people, town, database, area, message):
    """`footage create --circle LAT LON 1e308` once made a request to every owner in the registry."""
    with pytest.raises(UserError, match=message):
        _create(footage, people[Role.DETECTIVE], town, area=area)
    with pytest.raises(UserError, match="footage_max_area_radius_m"):
        footage.cameras_in_area(area)
    assert footage.list() == [] and audit_rows(database, Action.FOOTAGE_REQUEST) == []


def test_the_area_limit_comes_from_the_setting(database, audit, people, town, tmp_path):
    from console.settings import Settings

    strict = FootageService.from_settings(database, audit, Settings({"footage_max_area_radius_m": 100.0,
                                                                     "evidence_dir": str(tmp_path / "ev")}))
    with pytest.raises(UserError, match="larger than the 100 m"):
        strict.cameras_in_area(Circle(*CENTRE, 200))
    assert {c.id for c in strict.cameras_in_area(Circle(*CENTRE, 100))} == {town["ana_n"], town["ana_e"], town["gone_w"]}
