"""Drawing a footage request's area on the real map page: corners by map clicks, the cameras inside listed by owner,
and the incident left where it was."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from console.domain.users import Role
from console.gui.registry_tools import ActionIds
from console.store import registry as repo
from console.store.db import open_database
from tests.gui.conftest import CENTRE, signed_in
from tests.gui.map_clicks import double_click_map_at, press_key
from tests.gui.page_probe import js_eval, js_state
from tests.support.geometry import destination

pytestmark = pytest.mark.gui


def offset(north_m: float, east_m: float) -> tuple[float, float]:
    lat, _ = destination(*CENTRE, 0, north_m) if north_m >= 0 else destination(*CENTRE, 180, -north_m)
    _, lon = destination(lat, CENTRE[1], 90, east_m) if east_m >= 0 else destination(lat, CENTRE[1], 270, -east_m)
    return lat, lon


# A box north and north-east of the incident: always_50m (50 m N) and registered_120m (120 m NE) inside; the incident
# itself, alert_100m (100 m E), never_80m (80 m W) and always_450m (450 m N) outside.
AREA = [offset(30, -30), offset(110, -30), offset(110, 110), offset(30, 110)]


def area_state(qtbot, window) -> dict:
    return json.loads(js_eval(qtbot, window, "rtic.areaState()"))


def open_footage(qtbot, make_console, known_registry, tmp_path, players):
    signed = signed_in(make_console(known_registry.url), "disp-area", Role.DISPATCHER, tmp_path, players)
    window = signed.window
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        incident = repo.get_incident(conn, known_registry.incident_id)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        window.controller.set_incident(incident.lat, incident.lon, "CAD-1", incident)
    window.actions_by_id[ActionIds.FOOTAGE_REQUEST].trigger()
    dialog = signed.tools.footage_dialog
    qtbot.waitUntil(lambda: dialog.isVisible(), timeout=5000)
    return signed, window, dialog, incident


def listed(dialog) -> set[str]:
    return {owner.child(i).text(0) for owner in dialog.owner_items.values() for i in range(owner.childCount())}


def test_an_area_drawn_by_map_clicks_lists_the_cameras_inside_and_never_moves_the_incident(
        qtbot, make_console, known_registry, tmp_path, players):
    signed, window, dialog, incident = open_footage(qtbot, make_console, known_registry, tmp_path, players)
    controller = window.controller
    assert "always_450m" not in listed(dialog) and "alert_100m" in listed(dialog)  # the radius list first

    dialog.draw_button.click()
    assert dialog.drawing and not dialog.isModal() and dialog.isVisible()  # the map takes clicks, the dialog stays
    assert dialog.finish_button.isVisible() and not controller.map_click_sets_incident
    for lat, lon in AREA[:3]:
        js_eval(qtbot, window, f"rtic.clickMap({lat}, {lon})")
    assert area_state(qtbot, window)["drawing"] and len(area_state(qtbot, window)["points"]) == 3
    lat, lon = AREA[3]
    with qtbot.waitSignal(window.map.sig_area_drawn, timeout=10_000) as drawn:
        # The user's own double-click (real Qt mouse events): the bridge takes the area only after one.
        double_click_map_at(qtbot, window, lat, lon)
    assert len(drawn.args[0]) == 4  # one corner for the double-click, not two
    for (got_lat, got_lon), (want_lat, want_lon) in zip(drawn.args[0][:3], AREA[:3]):
        assert abs(got_lat - want_lat) < 1e-9 and abs(got_lon - want_lon) < 1e-9
    assert abs(drawn.args[0][3][0] - lat) < 1e-4 and abs(drawn.args[0][3][1] - lon) < 1e-4  # within a pixel
    qtbot.waitUntil(lambda: "inside the area" in dialog.source_label.text(), timeout=10_000)
    assert listed(dialog) == {"always_50m", "registered_120m"}
    assert len(dialog.owner_items) == 2  # grouped by owner (each known camera has its own)
    assert set(dialog.cameras) == {known_registry.ids["always_50m"], known_registry.ids["registered_120m"]}
    qtbot.waitUntil(lambda: all("·" in o.text(0) for o in dialog.owner_items.values()), timeout=10_000)

    # The incident never moved, in Python or on the page; clicks set it again now the drawing is over.
    assert controller.map_click_sets_incident and not dialog.drawing
    assert controller.point.incident == incident
    assert (controller.point.lat, controller.point.lon) == (incident.lat, incident.lon)
    page = js_state(qtbot, window)["incident"]
    assert (page["lat"], page["lon"]) == (incident.lat, incident.lon)
    shown = area_state(qtbot, window)
    assert not shown["drawing"] and shown["shapes"] == 1  # the area stays on the map while the dialog is open

    dialog.back_to_radius()
    assert "alert_100m" in listed(dialog) and area_state(qtbot, window)["shapes"] == 0
    dialog.close()
    signed.close()
    QApplication.instance().setStyleSheet("")


def test_drawing_finishes_from_the_dialog_and_escape_on_the_map_abandons_it(
        qtbot, make_console, known_registry, tmp_path, players):
    signed, window, dialog, incident = open_footage(qtbot, make_console, known_registry, tmp_path, players)
    dialog.draw_button.click()
    js_eval(qtbot, window, f"rtic.clickMap({AREA[0][0]}, {AREA[0][1]})")
    with qtbot.waitSignal(window.map.sig_area_cancelled, timeout=10_000):
        press_key(window, Qt.Key.Key_Escape)  # the user's own key on the map
    assert not dialog.drawing and window.controller.map_click_sets_incident
    assert area_state(qtbot, window) == {"drawing": False, "points": [], "shapes": 0}

    dialog.draw_button.click()
    for lat, lon in AREA[:2]:
        js_eval(qtbot, window, f"rtic.clickMap({lat}, {lon})")
    dialog.finish_button.click()  # two corners are not an area: still drawing
    assert area_state(qtbot, window)["drawing"] and dialog.drawing
    js_eval(qtbot, window, f"rtic.clickMap({AREA[2][0]}, {AREA[2][1]})")
    with qtbot.waitSignal(window.map.sig_area_drawn, timeout=10_000):
        dialog.finish_button.click()
    qtbot.waitUntil(lambda: "inside the area" in dialog.source_label.text(), timeout=10_000)
    assert listed(dialog) == {"always_50m"}  # the triangle's south-east half misses registered_120m

    dialog.close()  # the area leaves the map with the dialog
    qtbot.waitUntil(lambda: area_state(qtbot, window)["shapes"] == 0, timeout=5000)
    assert window.controller.point.incident == incident
    signed.close()
    QApplication.instance().setStyleSheet("")
