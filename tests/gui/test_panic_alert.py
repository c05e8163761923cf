"""An owner's panic alert in the real window: a red bar that rings, names camera, address and distance from the
incident, opens the feed with one key (the alert as the reason, no prompt), is acknowledged (audited), does not come
back empty after a restart, and is not repeated by the amber notice. Double-click in the nearby list opens a feed.

The registry is SQLite with an alert-only camera whose gateway is the local GStreamer RTSP server; the alert is
raised as the registry feed enters it (console/services/owner_alerts.py), and the console hears it through the
change feed like any other. The picture is written under tests/output/.
"""

from __future__ import annotations

import wave
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from console.domain.access import Purpose
from console.domain.audit import Action
from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
from console.domain.grants import GrantSource
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.gui.panels.panic_alert import alert_wav
from console.gui.theme import apply_theme
from console.paths import resources_dir
from console.services.owner_alerts import OwnerAlertService
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key
from tests.gui.conftest import CENTRE, signed_in
from tests.support.geometry import destination

pytestmark = [pytest.mark.gui]
OUTPUT = Path(__file__).resolve().parents[1] / "output"
WAIT_MS = 20_000  # how long a broken test takes to fail, never a measured time


@pytest.fixture
def alert_registry(sqlite_url, rtsp_server):
    """An alert-only live camera 80 m north-east of an open incident, and an always-shared one 40 m north."""
    cipher = ContactCipher(load_contact_key())
    database = open_database(sqlite_url, create=True)
    with database.engine.begin() as conn:
        lat, lon = destination(*CENTRE, 45, 80)
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Corner Deli", phone="413-555-0100"))
        site = repo.add_site(conn, owner, "Corner Deli", "80 Front St", lat, lon)
        deli = repo.add_camera(conn, cipher, Camera(None, site, "Street view", lat, lon, "80 Front St",
                                                    Capability.LIVE, SharingMode.ON_ALERT,
                                                    streams=(Stream(StreamProtocol.RTSP, rtsp_server.url("cam")),)),
                               owner)
        lat2, lon2 = destination(*CENTRE, 0, 40)
        home = repo.add_owner(conn, cipher, OwnerKind.RESIDENT, OwnerContact("Ana Rivera", phone="413-555-0177"))
        home_site = repo.add_site(conn, home, "Residence", "40 Test St", lat2, lon2)
        door = repo.add_camera(conn, cipher, Camera(None, home_site, "door", lat2, lon2, "", Capability.LIVE,
                                                    SharingMode.ALWAYS,
                                                    streams=(Stream(StreamProtocol.RTSP, rtsp_server.url("cam")),)),
                               home)
        incident = repo.get_incident(conn, repo.add_incident(conn, Incident(
            None, "CHI-2026-555002", "Robbery", 1, "1 Test St", *CENTRE, datetime.now(timezone.utc))))
    return sqlite_url, database, {"deli": deli, "door": door}, incident


def events(database, action):
    from tests.services.conftest import audit_rows

    return audit_rows(database, action)


def test_the_alert_sound_is_a_short_wav_made_here():
    with wave.open(BytesIO(alert_wav())) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22_050)
        assert 0.5 < wav.getnframes() / wav.getframerate() < 2.0


def test_a_panic_alert_rings_and_opens_live_with_one_key(qtbot, make_console, alert_registry, tmp_path, players):
    url, database, cams, incident = alert_registry
    apply_theme(QApplication.instance(), resources_dir(), "dark")
    try:
        console = signed_in(make_console(url, size=(1600, 900)), "disp-panic", Role.DISPATCHER, tmp_path, players)
        window = console.window
        asked = []
        console.feeds.ask_purpose = lambda *args: asked.append(args)  # must never be called for the alert
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=WAIT_MS):
            window.controller.set_incident(incident.lat, incident.lon, "CHI-2026-555002 Robbery", incident)
        assert not console.panic.toolbar.isVisible()  # nothing in force: no bar, and never an empty one

        # An older amber notice, as a staff alert would give: the red bar takes its place.
        window.show_notice("OWNER ALERT: live view allowed — Street view", button="Show on map", slot=lambda: None)
        alerts = OwnerAlertService(database, AuditLog(database), "portal-ws")
        now = datetime.now(timezone.utc)
        grant = alerts.raise_alert("feed:http://portal.test/feed", now, camera_id=cams["deli"], minutes=20,
                                   source=GrantSource.PANIC_BUTTON)
        qtbot.waitUntil(lambda: console.panic.toolbar.isVisible(), timeout=WAIT_MS)
        (row,) = console.panic.bar.rows
        text = row.label.text()
        assert "PANIC BUTTON" in text and "Street view" in text and "Corner Deli" in text and "80 Front St" in text
        assert "80 m NE of the incident" in text, text
        assert console.panic.sound is not None and console.panic.sound.played == 1
        assert not window.notice_bar.isVisible()  # one bar, not two

        OUTPUT.mkdir(exist_ok=True)
        qtbot.wait(300)  # only for the picture: let the bar paint
        assert window.grab().save(str(OUTPUT / "panic-alert-bar.png"))

        # Enter on the bar: the feed opens with the alert as its purpose, nobody is asked anything.
        qtbot.keyClick(console.panic.bar, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: any(t.view is not None for t in console.wall.tiles), timeout=WAIT_MS)
        assert asked == []
        (start,) = events(database, Action.VIEW_START)
        bar = console.panic.shown[0]
        assert start["camera_id"] == cams["deli"] and start["incident_id"] == bar.incident.id
        assert start["details"]["reason"] == bar.reason and start["details"]["rule"] == "owner_alert"
        qtbot.waitUntil(lambda: any(t.view is not None and t.frames_shown > 0 for t in console.wall.tiles),
                        timeout=WAIT_MS)  # real RTSP frames on the wall
        assert window.grab().save(str(OUTPUT / "panic-alert-open-live.png"))

        # Acknowledge: audited as the dispatcher, the bar closes and stays closed.
        row = console.panic.bar.rows[0]
        row.acknowledge.click()
        assert not console.panic.toolbar.isVisible()
        qtbot.waitUntil(lambda: any(e["details"].get("event") == "acknowledged"
                                    for e in events(database, Action.ALERT_INCIDENT)), timeout=WAIT_MS)
        (ack,) = [e for e in events(database, Action.ALERT_INCIDENT) if e["details"]["event"] == "acknowledged"]
        assert ack["username"] == "disp-panic" and ack["details"]["grant_id"] == grant.id
        console.close()
    finally:
        QApplication.instance().setStyleSheet("")


def test_after_a_restart_the_bar_is_full_or_absent_never_empty(qtbot, make_console, alert_registry, tmp_path,
                                                               players):
    url, database, cams, incident = alert_registry
    alerts = OwnerAlertService(database, AuditLog(database), "portal-ws")
    now = datetime.now(timezone.utc)
    alerts.raise_alert("feed:portal", now - timedelta(minutes=2), camera_id=cams["deli"], minutes=30,
                       source=GrantSource.APP)
    # A console started while the alert is in force shows it at once, with its full text.
    console = signed_in(make_console(url), "disp-restart", Role.DISPATCHER, tmp_path, players)
    qtbot.waitUntil(lambda: console.panic.toolbar.isVisible(), timeout=WAIT_MS)
    assert "OWNER APP ALERT" in console.panic.bar.rows[0].label.text()
    assert not console.window.notice_bar.isVisible()
    # The owner cancels; the bar goes, and a console started after it shows nothing at all.
    (bar,) = alerts.alert_bars(datetime.now(timezone.utc))
    alerts.end_alert("feed:portal", bar.grant_id, datetime.now(timezone.utc))
    qtbot.waitUntil(lambda: not console.panic.toolbar.isVisible(), timeout=WAIT_MS)
    console.close()
    again = signed_in(make_console(url), "disp-restart2", Role.DISPATCHER, tmp_path, players)
    with qtbot.waitSignal(again.panic.sig_shown, timeout=WAIT_MS):  # the registry was read at sign-in
        pass
    assert not again.panic.toolbar.isVisible() and not again.window.notice_bar.isVisible()
    assert again.panic.bar.rows == []
    # The alert's view is refused now that the alert ended: alert-only consent allows it only while in force.
    again.panic.open_live(bar)
    qtbot.waitUntil(lambda: bool(events(database, Action.VIEW_DENIED)), timeout=WAIT_MS)
    assert events(database, Action.VIEW_START) == []
    again.close()


def test_double_click_in_the_nearby_list_opens_the_feed(qtbot, make_console, alert_registry, tmp_path, players):
    url, database, cams, incident = alert_registry
    console = signed_in(make_console(url), "disp-dbl", Role.DISPATCHER, tmp_path, players)
    window = console.window
    console.feeds.ask_purpose = lambda context, count: Purpose(reason="robbery in progress, checking the street",
                                                               incident=incident)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=WAIT_MS):
        window.controller.set_incident(incident.lat, incident.lon, "CHI-2026-555002 Robbery", incident)
    table = window.nearby_panel.table
    row = next(i for i, r in enumerate(window.nearby_panel.model.rows) if r.camera.id == cams["door"])
    rect = table.visualRect(window.nearby_panel.model.index(row, 0))
    # A real double-click: press, release, then the double-click event (QTest's mouseDClick alone has no press).
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: any(t.view is not None for t in console.wall.tiles), timeout=WAIT_MS)
    (start,) = events(database, Action.VIEW_START)
    assert start["camera_id"] == cams["door"]
    console.close()


def test_when_the_alert_runs_out_the_bar_goes_and_its_incident_closes(qtbot, make_console, alert_registry, tmp_path,
                                                                      players):
    from console.domain.changes import ChangeKind
    from console.domain.grants import ShareGrant
    from console.services.owner_alerts import SYSTEM_ACTOR
    from console.store.changes import record_change

    url, database, cams, incident = alert_registry
    console = signed_in(make_console(url), "disp-expiry", Role.DISPATCHER, tmp_path, players)
    alerts = OwnerAlertService(database, AuditLog(database), "portal-ws")
    now = datetime.now(timezone.utc)
    with database.engine.begin() as conn:  # an alert with only seconds left, as the feed could deliver it
        grant_id = alerts.store_new(conn, ShareGrant(None, cams["deli"], None, now, now + timedelta(seconds=2),
                                                     GrantSource.PANIC_BUTTON), "feed:portal", now)
        record_change(conn, ChangeKind.GRANT, grant_id, "portal-ws")
    qtbot.waitUntil(lambda: console.panic.toolbar.isVisible(), timeout=WAIT_MS)
    # No console follows the feed here: the bar's own expiry closes the incident, once.
    qtbot.waitUntil(lambda: not console.panic.toolbar.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: any(e["details"].get("event") == "closed"
                                for e in events(database, Action.ALERT_INCIDENT)), timeout=WAIT_MS)
    (closed,) = [e for e in events(database, Action.ALERT_INCIDENT) if e["details"]["event"] == "closed"]
    assert closed["username"] == SYSTEM_ACTOR and closed["details"]["how"] == "alert_ended"
    console.close()


def test_show_on_map_then_the_dispatcher_closes_the_incident(qtbot, make_console, alert_registry, tmp_path, players,
                                                             monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from console.gui.panels.panic_alert import CLOSE_ALERT_INCIDENT

    url, database, cams, incident = alert_registry
    console = signed_in(make_console(url), "disp-close", Role.DISPATCHER, tmp_path, players)
    window = console.window
    alerts = OwnerAlertService(database, AuditLog(database), "portal-ws")
    alerts.raise_alert("feed:portal", datetime.now(timezone.utc), site_id=None, camera_id=cams["deli"], minutes=20,
                       source=GrantSource.PANIC_BUTTON)
    qtbot.waitUntil(lambda: console.panic.toolbar.isVisible(), timeout=WAIT_MS)
    # Without the alert's incident on the map, the action says what to do and changes nothing.
    window.actions_by_id[CLOSE_ALERT_INCIDENT].trigger()
    assert "owner alert's incident on the map first" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=WAIT_MS):
        console.panic.bar.rows[0].show_map.click()
    assert window.controller.point.incident.type == "owner alert"
    assert "Street view" in window.controller.point.label
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("owner called: false alarm", True)))
    window.actions_by_id[CLOSE_ALERT_INCIDENT].trigger()
    qtbot.waitUntil(lambda: not console.panic.toolbar.isVisible(), timeout=WAIT_MS)
    (closed,) = [e for e in events(database, Action.ALERT_INCIDENT) if e["details"]["event"] == "closed"]
    assert (closed["username"], closed["details"]["how"], closed["details"]["note"]) == (
        "disp-close", "dispatcher", "owner called: false alarm")
    console.close()


def test_a_notice_shown_at_close_does_not_come_back_empty(qtbot, make_console, alert_registry):
    url = alert_registry[0]
    first = make_console(url, remember_layout=True).window
    first.show_notice("OWNER ALERT: live view allowed — Street view", button="Show on map", slot=lambda: None)
    assert first.notice_bar.isVisible()
    first.close()  # the layout (toolbars' visibility with it) is saved on close
    second = make_console(url, remember_layout=True, size=None).window
    assert not second.notice_bar.isVisible() and second.notice_label.text() == ""
