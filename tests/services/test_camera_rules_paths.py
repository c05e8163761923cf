"""Every ingest path goes through the domain's camera rules and its one stream-URL classifier (issue 13), on both
backends: phone intake, camera edits, portal import, the demo. Bad input: one sentence naming the field, nothing
written."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from console.domain.cameras import Capability, SharingMode, StreamProtocol, check_camera
from console.domain.intake import IntakeCamera
from console.domain.users import Role
from console.errors import UserError
from console.services.demo import generate_demo
from console.services.intake import IntakeService
from console.services.registry_edits import RegistryEditService
from console.services.registry_import import import_file
from console.store import registry as repo
from tests.services.conftest import NOW
from tests.services.test_intake import form
from tests.services.test_registry_import import ROWS, WHO, snapshot, write_csv


def test_a_whep_url_taken_by_phone_gets_the_whep_player_as_from_the_portal(database, audit, cipher, people, tmp_path):
    """The issue's case: https://gw/whep/cam1 was HTTP from the intake form and WHEP from the portal."""
    camera = IntakeCamera("Gate", 42.1488, -72.6080, Capability.LIVE, SharingMode.ALWAYS,
                          stream_url="https://gw.example/whep/cam1")
    done = IntakeService(database, audit, cipher, workstation="desk").register(
        people[Role.OUTREACH], form(cameras=(camera,)), now=NOW)
    import_file(database, cipher, write_csv(tmp_path / "p.csv", [{**ROWS[2], "stream_url":
                                                                   "https://gw.example/whep/cam1"}]), **WHO)
    with database.engine.connect() as conn:
        by_phone = repo.get_camera(conn, done.camera_ids[0])
        portal_id = conn.execute(text("SELECT id FROM cameras WHERE portal_id = 'B1'")).scalar_one()
        by_portal = repo.get_camera(conn, portal_id)
    assert by_phone.streams[0].protocol is by_portal.streams[0].protocol is StreamProtocol.WHEP
    assert check_camera(by_phone) and check_camera(by_portal)


@pytest.mark.parametrize("camera, words", [
    (IntakeCamera("Gate", 42.1488, -72.608, Capability.LIVE, SharingMode.ALWAYS), "needs a stream URL"),
    (IntakeCamera("Gate", 42.1488, -72.608, sharing_mode=SharingMode.ALWAYS), "sharing must be 'never'"),
    (IntakeCamera("Gate", 42.1488, -72.608, stream_url="rtsp://gw/1"), "registered-only camera has no stream"),
    (IntakeCamera("Gate", 42.1488, -72.608, Capability.LIVE, SharingMode.ALWAYS, stream_url="rtsp://gw/\u202e1"),
     "control characters"),
    (IntakeCamera("Gate", 42.1488, -72.608, Capability.LIVE, SharingMode.ALWAYS, stream_url="javascript:alert(1)"),
     "must start with"),
])
def test_phone_intake_refuses_a_camera_that_breaks_the_rules(database, audit, cipher, people, camera, words):
    before = snapshot(database)
    with pytest.raises(UserError, match=words) as caught:
        IntakeService(database, audit, cipher, workstation="desk").register(
            people[Role.OUTREACH], form(cameras=(camera,)), now=NOW)
    assert "camera 1 (Gate)" in str(caught.value)
    assert snapshot(database) == before


@pytest.mark.parametrize("name, changes, words", [
    ("registered", {"capability": "live"}, "stream url: a live-capable camera needs a stream URL"),
    ("always", {"capability": "registered", "sharing_mode": "never"}, "registered-only camera has no stream"),
    ("registered", {"sharing_mode": "on_alert"}, "sharing mode: a registered-only camera cannot be shared live"),
])
def test_a_camera_edit_that_breaks_the_rules_is_refused(database, audit, cipher, people, registry, name, changes,
                                                        words):
    edits = RegistryEditService(database, audit, cipher, workstation="desk")
    seen = edits.camera_for_edit(registry[name]).version
    before = snapshot(database)
    with pytest.raises(UserError, match=words):
        edits.edit_camera(people[Role.OUTREACH], registry[name], seen, changes)
    assert snapshot(database) == before


def test_the_portal_path_refuses_registered_and_always_and_live_without_a_stream(database, cipher, tmp_path):
    rows = [{**ROWS[1], "portal_id": "R1", "sharing_mode": "always"},
            {**ROWS[0], "portal_id": "L1", "stream_url": ""}]
    before = snapshot(database)
    with pytest.raises(UserError, match="2 of 2 rows are bad") as caught:
        import_file(database, cipher, write_csv(tmp_path / "bad.csv", rows), **WHO)
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, "sharing_mode"), (3, "stream_url")]
    assert snapshot(database) == before


def test_every_demo_camera_keeps_the_rules(database, cipher):
    generate_demo(database, cipher, cameras=400, seed=2)
    with database.engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM cameras ORDER BY id")).scalars().all()
        cameras = [repo.get_camera(conn, i) for i in ids]
    assert len(cameras) == 400 and all(check_camera(c) for c in cameras)
    assert {s.protocol for c in cameras for s in c.streams} == {StreamProtocol.RTSP, StreamProtocol.WHEP}
