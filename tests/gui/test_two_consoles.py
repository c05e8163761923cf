"""Two consoles on one PostgreSQL registry: each sees the other's changes without reloading (LISTEN/NOTIFY)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from console.domain.changes import ChangeKind
from console.domain.grants import GrantSource, ShareGrant
from console.domain.incidents import Incident
from console.domain.sharing import SharingState
from console.domain.users import Role
from console.gui.theme import apply_theme
from console.paths import resources_dir
from console.store import changes as feed
from console.store import registry as repo
from console.video.factory import PlayerFactory
from tests.gui.conftest import CENTRE, signed_in

pytestmark = [pytest.mark.gui, pytest.mark.postgres]
OUTPUT = Path(__file__).resolve().parents[1] / "output"
EIDO = Path(__file__).resolve().parents[1] / "data" / "eido"


def state_of(window, camera_id: int):
    rows = window.nearby_panel.model.rows
    return next((row.state for row in rows if row.camera.id == camera_id), None)


def test_each_console_sees_the_others_changes_without_reloading(qtbot, make_console, shared_registry, tmp_path):
    url, camera_id, incident = shared_registry
    players = PlayerFactory()
    apply_theme(QApplication.instance(), resources_dir(), "dark")  # before the windows, as run_console does
    try:
        first = signed_in(make_console(url), "disp1", Role.DISPATCHER, tmp_path, players)
        second = signed_in(make_console(url), "disp2", Role.DISPATCHER, tmp_path, players)
        window = second.window
        assert window.sync_label.text() != ""
        qtbot.waitUntil(lambda: "LISTEN/NOTIFY" in window.sync_label.text(), timeout=10_000)
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
            window.controller.set_incident(incident.lat, incident.lon, "CAD-100 Robbery", incident)
        assert state_of(window, camera_id) is SharingState.LIVE_NOT_NOW

        # The owner calls the first console's dispatcher, who enters the alert: the second console shows it live.
        now = datetime.now(timezone.utc)
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=10_000,
                              check_params_cb=lambda answer: answer.nearest_live(5) == [camera_id]):
            with first.services.registry.database.engine.begin() as conn:
                grant = repo.add_grant(conn, ShareGrant(None, camera_id, None, now, now + timedelta(minutes=30),
                                                        GrantSource.STAFF), created_by="disp1")
                feed.record_change(conn, ChangeKind.GRANT, grant, "ws-1")
        assert state_of(window, camera_id) is SharingState.LIVE_NOW
        assert window.alerts_label.text() == "Owner alerts: 1"
        qtbot.waitUntil(lambda: "OWNER ALERT" in window.notice_label.text() and "deli door" in window.notice_label.text(),
                        timeout=10_000)
        assert window.notice_bar.isVisible()
        # The map's marker is the live-now one now.
        marker_states = []
        window.map.run_js("JSON.stringify(Array.from(document.querySelectorAll('.leaflet-marker-pane .cam'))"
                          ".map(function (e) { return e.className; }))", marker_states.append)
        qtbot.waitUntil(lambda: bool(marker_states), timeout=5000)
        assert marker_states[0] == '["cam cam-live_now cam-inside"]'
        qtbot.wait(600)  # only for the picture: let the page paint its new frame (the check above is the DOM's)
        OUTPUT.mkdir(exist_ok=True)
        assert window.grab().save(str(OUTPUT / "owner-alert-from-another-console.png"))

        # A new incident on the first console appears in the second console's open-incidents list.
        with first.services.registry.database.engine.begin() as conn:
            new = repo.add_incident(conn, Incident(None, "CAD-101", "Shots fired", 1, "9 Test St", *CENTRE, now))
            feed.record_change(conn, ChangeKind.INCIDENT, new, "ws-1")
        combo = window.incident_panel.open_incidents
        qtbot.waitUntil(lambda: any("CAD-101" in combo.itemText(i) for i in range(combo.count())), timeout=10_000)
        first.close()
        second.close()
    finally:
        players.close()
        QApplication.instance().setStyleSheet("")


def test_an_urgent_cad_incident_is_put_on_the_map_and_offered(qtbot, make_console, shared_registry, tmp_path,
                                                               console_settings):
    """The CAD intake the composition root starts (only where the settings name a source) takes an EIDO from the drop
    folder; the change feed offers it on every console."""
    from console.app import start_cad_intake

    url, camera_id, _ = shared_registry
    drop = tmp_path / "cad-drop"
    drop.mkdir()
    settings = console_settings.replaced(cad_watch_folder=str(drop), cad_poll_interval_s=1.0)
    players = PlayerFactory()
    intakes = []
    try:
        busy_console, free_console = make_console(url, settings), make_console(url, console_settings)
        busy = signed_in(busy_console, "disp3", Role.DISPATCHER, tmp_path, players)
        free = signed_in(free_console, "disp4", Role.DISPATCHER, tmp_path, players)
        intakes = [start_cad_intake(busy_console, busy.services.audit),
                   start_cad_intake(free_console, free.services.audit)]
        assert intakes[0] is not None and intakes[1] is None  # no CAD source in the free console's settings
        busy.window.controller.set_incident(*CENTRE, "a call already being worked")

        eido = json.loads((EIDO / "new_burglary.json").read_text())
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        eido["lastUpdateTimeStamp"] = eido["incidentComponent"]["lastUpdateTimeStamp"] = stamp
        (drop / "call.json.part").write_text(json.dumps(eido))
        (drop / "call.json.part").rename(drop / "call.json")  # written, then renamed: the CAD side's contract

        # The free console shows it at once and offers the nearest live cameras ...
        qtbot.waitUntil(lambda: "URGENT INCIDENT" in free.window.notice_label.text(), timeout=15_000)
        assert "CPD-2026-004711" in free.window.notice_label.text()
        assert free.window.notice_button.text() == "Open nearest live cameras"
        qtbot.waitUntil(lambda: free.window.controller.point is not None
                        and free.window.controller.point.incident is not None, timeout=20_000)
        assert free.window.controller.point.incident.cad_number == "CPD-2026-004711"
        # ... the busy one keeps its map and offers it with a button.
        qtbot.waitUntil(lambda: "URGENT INCIDENT" in busy.window.notice_label.text(), timeout=15_000)
        assert busy.window.notice_button.text() == "Show on map"
        assert busy.window.controller.point.label == "a call already being worked"
        busy.window.notice_button.click()
        assert busy.window.controller.point.incident.cad_number == "CPD-2026-004711"
        assert (drop / "processed" / "call.json").exists()
        busy.close()
        free.close()
    finally:
        for intake in intakes:
            if intake is not None:
                intake.stop()
        players.close()


def test_a_footage_request_updated_on_one_console_shows_on_the_other(qtbot, make_console, shared_registry, tmp_path):
    from console.domain.footage import ContactChannel, ContactOutcome
    from console.gui.registry_tools import ActionIds

    url, camera_id, incident = shared_registry
    players = PlayerFactory()
    try:
        first = signed_in(make_console(url), "det1", Role.DETECTIVE, tmp_path, players)
        second = signed_in(make_console(url), "det2", Role.DETECTIVE, tmp_path, players)
        window = second.window
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
            window.controller.set_incident(incident.lat, incident.lon, "CAD-100 Robbery", incident)
        now = datetime.now(timezone.utc)
        created = first.tools.footage.create(first.session.user, incident.id, now - timedelta(hours=1), now, now,
                                             camera_ids=[camera_id])
        request = first.tools.footage.get(created.request_ids[0])
        window.actions_by_id[ActionIds.FOOTAGE_REQUEST].trigger()
        dialog = second.tools.footage_dialog
        qtbot.waitUntil(lambda: len(dialog.requests) == 1, timeout=10_000)
        assert dialog.requests[0].status.value == "open"

        first.tools.footage.record_attempt(first.session.user, request.id, request.version, ContactChannel.PHONE,
                                           ContactOutcome.AGREED, "will export tonight",
                                           datetime.now(timezone.utc))
        qtbot.waitUntil(lambda: dialog.requests and dialog.requests[0].status.value == "agreed", timeout=10_000)
        dialog.close()
        first.close()
        second.close()
    finally:
        players.close()
