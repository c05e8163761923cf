"""Send to responders from the real window: a live RTSP view (real GStreamer server, the PyAV player), Ctrl+Shift+B,
mark-up placed with the keyboard, a clip of the view, sent to a real SMTP relay (aiosmtpd, STARTTLS, test CA);
the message's attachments are the bulletin's hashed attachments, the audit event says so, the panel shows it.
On PostgreSQL a second console's Incident bulletins panel shows the first console's bulletin without reloading."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import datetime, timezone
from pathlib import Path

import av
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from console.domain.access import Purpose
from console.domain.audit import Action
from console.domain.users import Role
from console.gui.main_window import ActionId
from console.video.clip_buffer import mp4_duration_s
from tests.gui.conftest import signed_in
from tests.support.smtp_server import PASSWORD, USER, SmtpRelay

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"


@pytest.fixture
def relay(tmp_path):
    with SmtpRelay(tmp_path / "relay") as relay:
        yield relay


@pytest.fixture
def console_settings(tmp_path, monkeypatch, relay):
    """The agency's relay and a 3 s clip limit in the machine file (no real system file is read)."""
    machine = tmp_path / "machine.toml"
    machine.write_text(f'smtp_host = "127.0.0.1"\nsmtp_port = {relay.port}\nsmtp_ca_file = "{relay.ca.as_posix()}"\n'
                       f'smtp_from = "rtic-bulletins@pd.example.gov"\nsmtp_user = "{USER}"\nsmtp_timeout_s = 5.0\n'
                       'bulletin_clip_max_s = 3.0\n')
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(machine))
    monkeypatch.setenv("RTIC_USER_SETTINGS", str(tmp_path / "user.toml"))
    monkeypatch.setenv("RTIC_SMTP_PASSWORD", PASSWORD)
    from console.settings import load_settings

    return load_settings()


def yellow_pixels(image: QImage) -> int:
    step = 4
    return sum(1 for y in range(0, image.height(), step) for x in range(0, image.width(), step)
               if (c := image.pixelColor(x, y)).red() > 200 and c.green() > 170 and c.blue() < 80)


def send_from_live_tile(qtbot, signed, incident, camera_id, relay, shot_name="bulletin-send.png"):
    """Ctrl+Shift+B on the tile playing `camera_id`, marks placed with the keyboard, a clip, sent; the relay has it.
    Returns (the picture the dialog showed, the relay's message)."""
    window = signed.window
    signed.feeds.ask_purpose = lambda context, count: Purpose("armed robbery, suspect leaving", incident=incident)
    runner = signed.services.tools.outbox
    runner.start()
    try:
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
            window.controller.set_incident(incident.lat, incident.lon, f"{incident.cad_number} {incident.type}",
                                           incident)
        window.sig_open_feed.emit(camera_id)
        tile = signed.wall.tiles[0]
        qtbot.waitUntil(lambda: tile.view is not None and tile.painted >= 5, timeout=20_000)
        qtbot.waitUntil(lambda: tile.clip_buffer is not None and tile.clip_buffer.buffered_s >= 2.5, timeout=30_000)

        window.activateWindow()
        tile.setFocus()
        qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        if signed.bulletins.dialog is None:  # no active window under the offscreen platform: the action itself
            window.actions_by_id[ActionId.SEND_BULLETIN].trigger()
        dialog = signed.bulletins.dialog
        assert dialog is not None and dialog.canvas is not None
        qtbot.waitUntil(dialog.isVisible, timeout=5000)
        info = tile.player.stats.info
        qtbot.waitUntil(lambda: (dialog.canvas.image.width(), dialog.canvas.image.height()) == (info.width, info.height),
                        timeout=10_000)
        frame = dialog.canvas.image  # the stream's own resolution, whatever size the tile shows it at
        qtbot.keyClicks(dialog.to, "unit12@police.example.gov")
        qtbot.keyClicks(dialog.text, "Red hoodie, grey backpack, heading north on foot")
        qtbot.keyClicks(dialog.reason, "armed robbery in progress")
        dialog.with_clip.setChecked(True)
        canvas = dialog.canvas
        canvas.setFocus()
        qtbot.keyClick(canvas, Qt.Key.Key_1)  # circle: Enter at the centre, move right, Enter for its size
        qtbot.keyClick(canvas, Qt.Key.Key_Return)
        for _ in range(6):
            qtbot.keyClick(canvas, Qt.Key.Key_Right)
        qtbot.keyClick(canvas, Qt.Key.Key_Return)
        qtbot.keyClick(canvas, Qt.Key.Key_2)  # arrow: from here, up
        qtbot.keyClick(canvas, Qt.Key.Key_Return)
        for _ in range(3):
            qtbot.keyClick(canvas, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
        qtbot.keyClick(canvas, Qt.Key.Key_Return)
        qtbot.keyClick(canvas, Qt.Key.Key_3)  # text: typed into the mark field, Enter goes back to the picture
        qtbot.keyClicks(dialog.mark_text, "RED HOODIE")
        qtbot.keyClick(dialog.mark_text, Qt.Key.Key_Return)
        qtbot.keyClick(canvas, Qt.Key.Key_Return)
        assert [m.tool for m in canvas.marks] == ["circle", "arrow", "text"]
        qtbot.wait(100)
        OUTPUT.mkdir(exist_ok=True)
        assert dialog.grab().save(str(OUTPUT / shot_name))
        before = len(relay.messages)
        qtbot.keyClick(dialog.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Enter sends
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=20_000)
        qtbot.waitUntil(lambda: len(relay.messages) == before + 1, timeout=30_000)
    finally:
        runner.stop()
    return frame, relay.messages[-1]


def check_message(audit, incident, camera_id, frame, message):
    """The e-mail's attachments are the audited bulletin's, byte for byte; the marks and the caption are burned in."""
    [sent] = audit.query(actions=(Action.BULLETIN_SEND,))
    assert sent.incident_id == incident.id and sent.camera_id == camera_id
    hashes = {a["name"]: a["sha256"] for a in sent.details["attachments"]}
    assert set(hashes) == {"snapshot.png", "clip.mp4"}
    rcpts, mail, over_tls = message
    assert rcpts == ("unit12@police.example.gov",) and over_tls
    assert sent.details["content_sha256"] in mail["X-RTIC-Bulletin"]
    parts = {p.get_filename(): p.get_content() for p in mail.iter_attachments()}
    assert {n: hashlib.sha256(d).hexdigest() for n, d in parts.items()} == hashes
    picture = QImage.fromData(parts["snapshot.png"])
    assert picture.width() == frame.width() and picture.height() > frame.height()  # the caption band under it
    assert yellow_pixels(picture) > 50  # the marks are burned in
    assert 1.0 <= mp4_duration_s(parts["clip.mp4"]) <= 3.1
    with av.open(io.BytesIO(parts["clip.mp4"])) as clip:
        assert sum(1 for _ in clip.decode(video=0)) >= 10
    return sent


def test_send_to_responders_from_a_live_tile(qtbot, registry, sign_in, relay):
    _, ids, incident = registry
    signed = sign_in("disp16", Role.DISPATCHER)
    window, audit = signed.window, signed.services.audit
    frame, message = send_from_live_tile(qtbot, signed, incident, ids["door"], relay)
    sent = check_message(audit, incident, ids["door"], frame, message)
    assert sent.username == "disp16" and audit.verify().ok

    panel = signed.bulletins.panel
    qtbot.waitUntil(lambda: panel.list.count() == 1 and "1 delivered" in panel.list.item(0).text(), timeout=20_000)
    assert "Red hoodie" in panel.detail.text() and "unit12@police.example.gov: delivered" in panel.detail.text()
    window.docks["bulletins"].raise_()
    qtbot.wait(300)
    assert window.grab().save(str(OUTPUT / "bulletin-panel.png"))
    signed.close()


@pytest.fixture
def pg_live_registry(pg_url, rtsp_server):
    """A camera shared always whose gateway is the local RTSP server, near an open incident, on PostgreSQL."""
    from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
    from console.domain.incidents import Incident
    from console.domain.owners import OwnerContact, OwnerKind
    from console.store import registry as repo
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key
    from tests.gui.conftest import CENTRE
    from tests.support.geometry import destination

    cipher = ContactCipher(load_contact_key())
    with open_database(pg_url, create=True) as database, database.engine.begin() as conn:
        lat, lon = destination(*CENTRE, 0, 40)
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Corner Deli", phone="413-555-0100"))
        site = repo.add_site(conn, owner, "Corner Deli", "40 Test St", lat, lon)
        camera = repo.add_camera(conn, cipher, Camera(None, site, "deli door", lat, lon, "", Capability.LIVE,
                                                      SharingMode.ALWAYS,
                                                      streams=(Stream(StreamProtocol.RTSP, rtsp_server.url("cam")),)),
                                 owner)
        incident = repo.get_incident(conn, repo.add_incident(conn, Incident(
            None, "CHI-2026-555016", "Armed robbery", 1, "1 Test St", *CENTRE, datetime.now(timezone.utc))))
    return pg_url, camera, incident


@pytest.mark.postgres
def test_a_live_bulletin_reaches_the_relay_and_a_second_console(qtbot, make_console, pg_live_registry, relay,
                                                                tmp_path):
    """The issue's check: mark-up and a clip from a live RTSP view, to a real SMTP server and to a second console
    on PostgreSQL, with the attachments' hashes and the audit event."""
    from console.gui.theme import apply_theme
    from console.paths import resources_dir
    from console.video.factory import PlayerFactory

    url, camera_id, incident = pg_live_registry
    players = PlayerFactory()
    apply_theme(QApplication.instance(), resources_dir(), "dark")
    try:
        first = signed_in(make_console(url), "disp1", Role.DISPATCHER, tmp_path, players)
        second = signed_in(make_console(url), "disp2", Role.DISPATCHER, tmp_path, players)
        qtbot.waitUntil(lambda: "LISTEN/NOTIFY" in second.window.sync_label.text(), timeout=10_000)
        with qtbot.waitSignal(second.window.controller.sig_nearby_shown, timeout=20_000):
            second.window.controller.set_incident(incident.lat, incident.lon, "CHI-2026-555016", incident)
        panel = second.bulletins.panel
        frame, message = send_from_live_tile(qtbot, first, incident, camera_id, relay, "bulletin-send-pg.png")
        began = time.monotonic()
        sent = check_message(first.services.audit, incident, camera_id, frame, message)
        qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=10_000)
        print(f"\nbulletin on the second console {time.monotonic() - began:.3f} s after the e-mail arrived")
        assert "Red hoodie" in panel.list.item(0).text() and "disp1" in panel.list.item(0).text()
        assert sent.details["content_sha256"] in panel.detail.text()
        qtbot.waitUntil(lambda: "1 delivered" in panel.list.item(0).text(), timeout=20_000)  # the outbox's change too
        assert not panel.picture.pixmap().isNull()
        second.window.docks["bulletins"].raise_()
        qtbot.wait(300)
        assert second.window.grab().save(str(OUTPUT / "bulletin-second-console.png"))
        first.close()
        second.close()
    finally:
        players.close()
        QApplication.instance().setStyleSheet("")


def test_an_auditor_sees_no_send_action(qtbot, sign_in):
    signed = sign_in("aud16", Role.AUDITOR)
    assert ActionId.SEND_BULLETIN not in signed.window.actions_by_id
    assert not signed.bulletins.panel.send_button.isVisible()
    signed.close()


@pytest.mark.postgres
def test_a_second_console_shows_the_bulletin_without_reloading(qtbot, make_console, shared_registry, tmp_path):
    from console.video.factory import PlayerFactory

    url, _camera, incident = shared_registry
    players = PlayerFactory()
    try:
        first = signed_in(make_console(url), "disp1", Role.DISPATCHER, tmp_path, players)
        second = signed_in(make_console(url), "disp2", Role.DISPATCHER, tmp_path, players)
        qtbot.waitUntil(lambda: "LISTEN/NOTIFY" in second.window.sync_label.text(), timeout=10_000)
        for console in (first, second):
            with qtbot.waitSignal(console.window.controller.sig_nearby_shown, timeout=20_000):
                console.window.controller.set_incident(incident.lat, incident.lon, "CAD-100 Robbery", incident)
        panel = second.bulletins.panel
        qtbot.waitUntil(lambda: panel.incident_id == incident.id and panel._known is not None, timeout=5000)
        began = time.monotonic()
        first.services.tools.bulletins.send(first.session.user, incident.id, "Grey sedan, partial plate 7KX",
                                            ["unit4@pd.example.gov"], datetime.now(timezone.utc))
        qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=10_000)
        print(f"\nbulletin on the second console after {time.monotonic() - began:.3f} s")
        assert "Grey sedan" in panel.list.item(0).text() and "disp1" in panel.list.item(0).text()
        notice = second.window.notice_label.text()  # said across the top of the other console too
        assert notice == "BULLETIN CAD-100 from disp1: Grey sedan, partial plate 7KX" and second.window.notice_bar.isVisible()
        assert not first.window.notice_bar.isVisible() or "BULLETIN" not in first.window.notice_label.text()
        first.close()
        second.close()
    finally:
        players.close()
