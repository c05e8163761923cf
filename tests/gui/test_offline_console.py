"""The database goes away mid-shift (the real PostgreSQL server, cut by a TCP proxy): the console says so, running
feeds keep playing, a view it may still open is journaled, and everything reaches the trail in order when it is back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtWidgets import QApplication

from console.domain.access import Purpose
from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.gui.main_window import ActionId
from console.services.field_copy import FieldCopy
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key
from console.video.factory import PlayerFactory
from tests.gui.conftest import CENTRE, signed_in
from tests.support.geometry import destination
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.gui, pytest.mark.postgres]


@pytest.fixture
def proxied(pg_url, rtsp_server):
    """Two always-shared cameras (their gateway: the local RTSP server) near an incident; the console's way to the
    database goes through a proxy that can be cut."""
    cipher = ContactCipher(load_contact_key())
    ids = {}
    with open_database(pg_url, create=True) as database, database.engine.begin() as conn:
        for name, bearing in (("door", 0), ("yard", 90)):
            lat, lon = destination(*CENTRE, bearing, 50)
            owner = repo.add_owner(conn, cipher, OwnerKind.RESIDENT, OwnerContact("Ana Rivera", phone="413-555-0177"))
            site = repo.add_site(conn, owner, "Residence", f"{name} Test St", lat, lon)
            ids[name] = repo.add_camera(conn, cipher, Camera(None, site, name, lat, lon, "", Capability.LIVE,
                                                             SharingMode.ALWAYS,
                                                             streams=(Stream(StreamProtocol.RTSP,
                                                                             rtsp_server.url("cam")),)), owner)
        incident_id = repo.add_incident(conn, Incident(None, "CAD-7", "Robbery", 1, "1 Test St", *CENTRE,
                                                       datetime.now(timezone.utc) - timedelta(minutes=3)))
        incident = repo.get_incident(conn, incident_id)
    with TcpProxy() as proxy:
        yield pg_url, proxy, ids, incident


def test_the_console_keeps_working_while_the_database_is_away(qtbot, make_console, proxied, tmp_path):
    pg_url, proxy, ids, incident = proxied
    players = PlayerFactory()
    console = make_console(proxy.url(pg_url))
    signed = signed_in(console, "disp5", Role.DISPATCHER, tmp_path, players, journal=tmp_path / "journal.db")
    copy = FieldCopy(tmp_path / "field.rtic")  # what `rtic-console field sync` leaves on a detective's laptop
    copy.refresh(console.database, signed.session.user, datetime.now(timezone.utc), "laptop-1",
                 signed.services.audit, seal=copy.seal_for("the dispatcher's passphrase"))
    field = copy.open("the dispatcher's passphrase")
    window, wall = signed.window, signed.wall
    try:
        signed.feeds.ask_purpose = lambda context, count: Purpose("robbery, suspect on foot", incident=incident)
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
            window.controller.set_incident(incident.lat, incident.lon, "CAD-7 Robbery", incident)
        window.actions_by_id[ActionId.OPEN_NEAREST_LIVE].trigger()
        qtbot.waitUntil(lambda: sum(t.state == "live" for t in wall.visible_tiles() if t.view) == 2, timeout=20_000)
        door = next(t for t in wall.visible_tiles() if t.view and t.view.camera_id == ids["door"])
        yard = next(t for t in wall.visible_tiles() if t.view and t.view.camera_id == ids["yard"])
        door.close_view("user_closed")  # its end is stored while the database is there

        proxy.cut()
        qtbot.waitUntil(lambda: window.sync_label.text().startswith("OFFLINE"), timeout=20_000)
        painted = yard.painted
        qtbot.waitUntil(lambda: yard.painted >= painted + 10, timeout=10_000)  # the running feed keeps playing
        assert yard.state == "live"

        # A camera this console decided on an hour ago may be opened again: its view start goes to the journal.
        signed.feeds.open_feeds([ids["door"]])
        qtbot.waitUntil(lambda: any(t.view and t.view.camera_id == ids["door"] and t.state == "live"
                                    for t in wall.visible_tiles()), timeout=20_000)
        reopened = next(t for t in wall.visible_tiles() if t.view and t.view.camera_id == ids["door"])
        assert int(reopened.view.session_id) < 0  # an offline session
        qtbot.waitUntil(lambda: "kept locally" in window.sync_label.text(), timeout=10_000)

        # A new search while offline: with no field copy it says so; with one, the copy answers and the bar says so.
        with qtbot.waitSignal(window.controller.sig_status, timeout=20_000,
                              check_params_cb=lambda text: text == "Search failed"):
            window.controller.refresh()
        assert "no field copy" in window.incident_panel.message.text()
        registry = window.parts.incident_view.registry
        registry.field_copy = field
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000) as shown:
            window.controller.refresh()
        assert shown.args[0].data_as_of == field.made_at
        assert {c.camera.id for c in shown.args[0].inside} == set(ids.values())
        assert window.notice_label.text().startswith("DATABASE OFFLINE: cameras from the field copy")
        registry.field_copy = None

        proxy.restore()
        qtbot.waitUntil(lambda: window.sync_label.text().startswith("Sync: live"), timeout=30_000)
        qtbot.waitUntil(lambda: signed.services.sink.journal.pending_count() == 0, timeout=30_000)
        signed.close()
    finally:
        field.close()
        signed.services.sink.stop()
        players.close()
        QApplication.instance().setStyleSheet("")

    with open_database(pg_url) as database:
        log = AuditLog(database)
        starts = log.query(actions=("view_start",))
        ends = log.query(actions=("view_end",))
        assert sorted(e.camera_id for e in starts) == sorted([ids["door"], ids["yard"], ids["door"]])
        assert sorted(e.camera_id for e in ends) == sorted([ids["door"], ids["yard"], ids["door"]])
        assert sum("offline_session" in e.details for e in starts) == 1
        assert log.verify().ok
