"""Opening feeds from the window end to end: the access decision, the durable audit events, real RTSP on the wall."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher

from console.domain.access import Purpose
from console.domain.cameras import (
    Camera,
    Capability,
    SharingMode,
    Stream,
    StreamProtocol,
    StreamRole,
)
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.gui.live_feeds import IncidentContext, LiveFeedController
from console.gui.video.wall import VideoWall
from console.gui.workers import Tasks
from console.services.accounts import AccountService
from console.services.registry import RegistryService
from console.services.viewing import ViewingService
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key
from tests.support.backends import require
from tests.support.rtsp_stream import RtspServer

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def camera_server():
    """A camera gateway that asks for a password, as real ones do."""
    require("gstreamer")
    server = RtspServer(user="viewer", password="gw-Secret-77").start()
    yield server
    server.stop()


@pytest.fixture
def setup(sqlite_url, camera_server):
    database = open_database(sqlite_url, create=True)
    cipher = ContactCipher(load_contact_key())
    audit = AuditLog(database)
    accounts = AccountService(database, audit, cipher, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    user = accounts.add_user("os:test", "disp1", Role.DISPATCHER, "a long enough password", datetime.now(timezone.utc))
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Shop Owner", phone="413-555-0100"))
        site = repo.add_site(conn, owner, "Shop", "1 Main St", 42.1, -72.6)
        url = camera_server.url("cam", user="viewer", password="gw-Secret-77")
        live = repo.add_camera(conn, cipher, Camera(None, site, "Shop door", 42.1, -72.6, "", Capability.LIVE,
                                                    SharingMode.ALWAYS, streams=(Stream(StreamProtocol.RTSP, url,
                                                                                        StreamRole.MAIN),)), owner)
        registered = repo.add_camera(conn, cipher, Camera(None, site, "Back lot", 42.1, -72.6, "",
                                                          Capability.REGISTERED, SharingMode.NEVER), owner)
    yield database, audit, cipher, user, live, registered
    database.close()


def test_open_plays_only_what_the_owner_allows_and_audits_every_step(qtbot, setup, factory):
    database, audit, cipher, user, live, registered = setup
    wall = VideoWall(factory)
    qtbot.addWidget(wall)
    wall.resize(640, 480)
    wall.show()
    messages, asked = [], []
    purpose = Purpose(reason="robbery suspect fled on foot", cad_number="CHI-2026-000412")
    controller = LiveFeedController(
        ViewingService(database, audit, cipher), RegistryService(database), lambda: user, wall, Tasks(wall),
        lambda: IncidentContext("CHI-2026-000412 Armed robbery"), wall,
        ask_purpose=lambda context, count: asked.append(count) or purpose, time_zone=ZoneInfo("America/New_York"))
    controller.sig_message.connect(messages.append)

    controller.open_feeds([live, registered])
    qtbot.waitUntil(lambda: any("not opened" in m for m in messages), timeout=15000)
    qtbot.waitUntil(lambda: any(t.view is not None for t in wall.visible_tiles()), timeout=15000)
    tile = next(t for t in wall.visible_tiles() if t.view is not None)
    qtbot.waitUntil(lambda: tile.state == "live" and tile.painted >= 3, timeout=20000)
    assert tile.view.camera_id == live
    assert asked == [2], "the reason is asked once for the incident, not per camera"
    assert any(f"Camera {registered} not opened" in m and "registered" in m.lower() for m in messages)

    started = audit.query(actions=("view_start",))
    denied = audit.query(actions=("view_denied",))
    assert [(e.camera_id, e.details["reason"]) for e in started] == [(live, purpose.reason)]
    assert [e.camera_id for e in denied] == [registered]
    assert all("gw-Secret-77" not in e.details_json for e in audit.query())  # credentials never in the trail
    # The status bar reads the agency's zone, with its abbreviation (the view's expiry as recorded, in New York).
    expires = datetime.fromisoformat(started[0].details["expires_at"]).astimezone(ZoneInfo("America/New_York"))
    assert f"Live: Shop door until {expires:%H:%M} {expires.tzname()}" in messages
    assert expires.tzname() in ("EST", "EDT")

    controller.close_all()
    assert wall.shutdown(15)
    ended = audit.query(actions=("view_end",))
    assert [e.camera_id for e in ended] == [live] and ended[0].details["end_reason"] == "console_closed"
    assert audit.verify().ok


def test_contact_reveal_asks_why_audits_and_refuses_roles_without_it(qtbot, setup):
    from console.gui.contact_reveal import ContactRevealController
    from console.services.contacts import ContactService

    database, audit, cipher, dispatcher, live, _ = setup
    accounts = AccountService(database, audit, cipher, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    auditor = accounts.add_user("os:test", "aud1", Role.AUDITOR, "a long enough password", datetime.now(timezone.utc))
    from PySide6.QtWidgets import QWidget

    parent = QWidget()
    qtbot.addWidget(parent)
    shown, messages, current = [], [], {"user": dispatcher}
    controller = ContactRevealController(ContactService(database, audit, cipher), lambda: current["user"],
                                         Tasks(parent), parent, ask_reason=lambda: "call owner for footage",
                                         show=shown.append)
    controller.sig_message.connect(messages.append)
    controller.reveal(live)
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=10000)
    assert shown[0].phone == "413-555-0100" and shown[0].name == "Shop Owner"

    current["user"] = auditor
    controller.reveal(live)
    qtbot.waitUntil(lambda: len(messages) == 1, timeout=10000)
    assert "auditor role cannot see owner contact" in messages[0] and len(shown) == 1
    reveals = audit.query(actions=("contact_reveal",))
    assert [(e.username, e.outcome) for e in reveals] == [("disp1", "ok"), ("aud1", "denied")]
    assert all("413-555" not in e.details_json and "Shop Owner" not in e.details_json for e in reveals)


def test_when_the_authorised_time_is_up_the_feed_stops_and_a_renewal_asks_again(qtbot, setup, factory):
    from datetime import timedelta

    database, audit, cipher, user, live, _ = setup
    wall = VideoWall(factory)
    qtbot.addWidget(wall)
    wall.show()
    asked = []
    controller = LiveFeedController(
        ViewingService(database, audit, cipher, max_session=timedelta(seconds=3)), RegistryService(database),
        lambda: user, wall, Tasks(wall), lambda: IncidentContext("CHI-2026-000413"), wall,
        ask_purpose=lambda context, count: asked.append(count) or Purpose(f"reason {len(asked)}",
                                                                          cad_number="CHI-2026-000413"))
    controller.open_feeds([live])
    qtbot.waitUntil(lambda: len(audit.query(actions=("view_end",))) == 1, timeout=20_000)
    tile = wall.visible_tiles()[0]
    assert tile.view is None and tile.notice, "the expired feed leaves a visible notice"
    assert audit.query(actions=("view_end",))[0].details["end_reason"] == "expired"
    controller.open_feeds([live])
    qtbot.waitUntil(lambda: len(audit.query(actions=("view_start",))) == 2, timeout=20_000)
    assert asked == [1, 1]
    assert [e.details["reason"] for e in audit.query(actions=("view_start",))] == ["reason 1", "reason 2"]
    controller.close_all()
    assert wall.shutdown(15)


def test_a_camera_that_cannot_be_reached_ends_its_view_as_never_played_and_retry_asks_again(qtbot, setup, factory):
    """A real player against a closed loopback port: the view ends with 0 frames and why; Retry is a new view."""
    import socket

    from console.gui.video.tile import NO_PICTURE

    database, audit, cipher, user, _, _ = setup
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Porch Owner", phone="413-555-0101"))
        site = repo.add_site(conn, owner, "Porch", "14 Elm St", 42.1, -72.6)
        dead = repo.add_camera(conn, cipher, Camera(
            None, site, "Elm St porch", 42.1, -72.6, "", Capability.LIVE, SharingMode.ALWAYS,
            streams=(Stream(StreamProtocol.RTSP, f"rtsp://127.0.0.1:{port}/cam", StreamRole.MAIN),)), owner)
    wall = VideoWall(factory)
    qtbot.addWidget(wall)
    wall.show()
    messages = []
    controller = LiveFeedController(
        ViewingService(database, audit, cipher), RegistryService(database), lambda: user, wall, Tasks(wall),
        lambda: IncidentContext("CHI-2026-000414"), wall,
        ask_purpose=lambda context, count: Purpose("burglary in progress, checking the porch",
                                                   cad_number="CHI-2026-000414"))
    controller.sig_message.connect(messages.append)
    controller.open_feeds([dead])
    qtbot.waitUntil(lambda: len(audit.query(actions=("view_end",))) == 1, timeout=60_000)
    [end] = audit.query(actions=("view_end",))
    assert end.details["end_reason"] == NO_PICTURE and end.details["frames_shown"] == 0
    assert "cannot be reached" in end.details["problem"]
    assert any(m.startswith("No picture from Elm St porch:") for m in messages)
    tile = wall.visible_tiles()[0]
    assert tile.failed is not None and tile.retry.isVisible()
    tile.retry.click()  # a new view: decided and recorded again, not the old one revived
    qtbot.waitUntil(lambda: len(audit.query(actions=("view_end",))) == 2, timeout=60_000)
    assert len(audit.query(actions=("view_start",))) == 2
    controller.close_all()
    assert wall.shutdown(15)
    assert audit.verify().ok
