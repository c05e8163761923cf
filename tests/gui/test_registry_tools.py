"""The registry and footage tools reach the window for the roles that may use them, and work from its menus."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from PySide6.QtWidgets import QApplication

from console.domain.users import Role
from console.gui.registry_tools import ActionIds
from console.store import registry as repo
from console.store.db import open_database
from tests.gui.conftest import signed_in

pytestmark = pytest.mark.gui


def test_each_role_sees_only_its_tools(make_console, known_registry, tmp_path, players):
    expected = {
        Role.DISPATCHER: {ActionIds.FOOTAGE_REQUEST},
        Role.OUTREACH: {ActionIds.PHONE_INTAKE, ActionIds.IMPORT_PORTAL, ActionIds.RAISE_ALERT, ActionIds.EDIT_CAMERA,
                        ActionIds.REMOVE_CAMERA, ActionIds.ERASE_OWNER},
        Role.AUDITOR: set(),
    }
    tools = {ActionIds.FOOTAGE_REQUEST, ActionIds.PHONE_INTAKE, ActionIds.IMPORT_PORTAL, ActionIds.RAISE_ALERT,
             ActionIds.EDIT_CAMERA, ActionIds.REMOVE_CAMERA, ActionIds.ERASE_OWNER}
    for role, allowed in expected.items():
        signed = signed_in(make_console(known_registry.url), f"user_{role.value}", role, tmp_path, players)
        assert {a for a in tools if a in signed.window.actions_by_id} == allowed, role
        assert ("outreach" in signed.window.docks) == (role is Role.OUTREACH)
        signed.close()


def test_outreach_staff_enter_an_owner_alert_for_the_selected_camera(qtbot, make_console, known_registry, tmp_path,
                                                                      players, monkeypatch):
    signed = signed_in(make_console(known_registry.url), "outreach1", Role.OUTREACH, tmp_path, players)
    window = signed.window
    camera = known_registry.ids["no_alert_150m"]
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        incident = repo.get_incident(conn, known_registry.incident_id)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        window.controller.set_incident(incident.lat, incident.lon, "CAD-1", incident)
    with qtbot.waitSignal(window.controller.sig_camera_shown, timeout=10_000):
        window.controller.select(camera)
    monkeypatch.setattr("console.gui.registry_tools.QInputDialog.getInt", lambda *a, **k: (20, True))
    window.actions_by_id[ActionIds.RAISE_ALERT].trigger()
    qtbot.waitUntil(lambda: "Owner alert entered" in window.statusBar().currentMessage(), timeout=10_000)
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        [grant] = [g for g in repo.grants_for_cameras(conn, [camera], datetime.now(timezone.utc))
                   if g.camera_id == camera]
    assert 19 <= (grant.expires_at - grant.starts_at).total_seconds() / 60 <= 20
    signed.close()
    QApplication.instance().setStyleSheet("")


def test_a_dispatcher_opens_footage_requests_for_the_incident_on_the_map(qtbot, make_console, known_registry,
                                                                         tmp_path, players):
    signed = signed_in(make_console(known_registry.url), "disp9", Role.DISPATCHER, tmp_path, players)
    window = signed.window
    window.actions_by_id[ActionIds.FOOTAGE_REQUEST].trigger()  # no incident yet: told what to do
    assert "pick one from the open incidents" in window.statusBar().currentMessage()
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        incident = repo.get_incident(conn, known_registry.incident_id)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        window.controller.set_incident(incident.lat, incident.lon, "CAD-1", incident)
    window.actions_by_id[ActionIds.FOOTAGE_REQUEST].trigger()
    dialog = signed.tools.footage_dialog
    qtbot.waitUntil(lambda: dialog.isVisible(), timeout=5000)
    assert dialog.incident.id == incident.id
    assert set(dialog.cameras) == {c.camera.id for c in window.controller.answer.inside}
    dialog.close()
    signed.close()


def test_a_map_click_places_the_intake_site_and_leaves_the_incident_alone(qtbot, make_console, known_registry,
                                                                          tmp_path, players):
    signed = signed_in(make_console(known_registry.url), "outreach5", Role.OUTREACH, tmp_path, players)
    window, controller = signed.window, signed.window.controller
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        incident = repo.get_incident(conn, known_registry.incident_id)
    with qtbot.waitSignal(controller.sig_nearby_shown, timeout=20_000):
        controller.set_incident(incident.lat, incident.lon, "CAD-1", incident)
    window.actions_by_id[ActionIds.PHONE_INTAKE].trigger()
    dialog = signed.tools.intake_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()  # the map stays usable

    window.map.sig_map_clicked.emit(42.151234, -72.601234)
    assert (round(dialog.lat.value(), 6), round(dialog.lon.value(), 6)) == (42.151234, -72.601234)
    assert "Placed on the map" in dialog.place_note.text()
    assert "Intake site placed at 42.151234, -72.601234" in window.statusBar().currentMessage()
    assert controller.point.incident == incident  # the incident did not move

    dialog.reject()  # closed: a click in place-incident mode sets the incident point again; the dialog hears nothing
    assert signed.tools.intake_dialog is None
    window.actions_by_id["place_incident"].trigger()
    with qtbot.waitSignal(controller.sig_nearby_shown, timeout=20_000):
        window.map.sig_map_clicked.emit(42.15, -72.60)
    assert controller.point.incident is None and (controller.point.lat, controller.point.lon) == (42.15, -72.60)
    assert round(dialog.lat.value(), 6) == 42.151234
    signed.close()
    QApplication.instance().setStyleSheet("")
