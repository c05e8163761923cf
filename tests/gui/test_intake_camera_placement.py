"""Phone intake in the real window: a camera placed by a click on the map page is stored at that point, the site and
the other cameras keep the site's point, and the incident stays where it was."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from console.domain.users import Role
from console.gui.intake_dialog import LAT, LON
from console.gui.registry_tools import ActionIds
from console.store import registry as repo
from console.store.db import open_database
from console.store.models import CameraRow, SiteRow
from tests.gui.conftest import signed_in
from console.domain.geo import haversine_m
from tests.gui.map_clicks import click_map_at
from tests.gui.page_probe import js_state
from tests.gui.test_intake_dialog import SHOP_POINT, fill

pytestmark = pytest.mark.gui
PARKING_LOT = (42.149112, -72.606841)  # across the lot from the shop's front door


def test_a_camera_placed_on_the_map_is_stored_at_its_own_point(qtbot, make_console, known_registry, tmp_path,
                                                               players):
    signed = signed_in(make_console(known_registry.url), "outreach-place", Role.OUTREACH, tmp_path, players)
    window, controller = signed.window, signed.window.controller
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        incident = repo.get_incident(conn, known_registry.incident_id)
    with qtbot.waitSignal(controller.sig_nearby_shown, timeout=20_000):
        controller.set_incident(incident.lat, incident.lon, "CAD-1", incident)
    window.actions_by_id[ActionIds.PHONE_INTAKE].trigger()
    dialog = signed.tools.intake_dialog
    fill(dialog, qtbot)
    table = dialog.camera_table

    dialog.place_camera_button.click()  # nothing selected: told to select a row, nothing armed
    assert not dialog.place_camera_button.isChecked() and "Select a camera row" in dialog.camera_note.text()
    table.setCurrentCell(1, 0)
    dialog.place_camera_button.click()
    assert "Parking lot" in dialog.camera_note.text()
    click_map_at(qtbot, window, *PARKING_LOT)  # the user's own click on the page
    qtbot.waitUntil(lambda: table.item(1, LAT).text() != "", timeout=10_000)
    placed = (float(table.item(1, LAT).text()), float(table.item(1, LON).text()))
    assert haversine_m(*placed, *PARKING_LOT) < 5  # where the click landed, to a pixel (a metre or two)
    assert not dialog.place_camera_button.isChecked()  # one click places one camera
    assert (round(dialog.lat.value(), 6), round(dialog.lon.value(), 6)) == SHOP_POINT  # the site kept its point
    assert "Intake camera “Parking lot” placed at" in window.statusBar().currentMessage()
    assert table.item(0, LAT).text() == "" and table.item(2, LAT).text() == ""

    with qtbot.waitSignal(dialog.sig_registered, timeout=20_000, raising=False) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved.signal_triggered, dialog.message.text()
    registered = saved.args[0]
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        points = {row.label: (row.lat, row.lon) for row in conn.execute(
            select(CameraRow.label, CameraRow.lat, CameraRow.lon).where(CameraRow.id.in_(registered.camera_ids)))}
        site = conn.execute(select(SiteRow.lat, SiteRow.lon).where(SiteRow.id == registered.site_id)).one()
    assert points == {"Parking lot": placed, "Front door": SHOP_POINT, "Till": SHOP_POINT}
    assert (site.lat, site.lon) == SHOP_POINT
    assert controller.point.incident == incident  # placing never moved the incident
    page = js_state(qtbot, window)["incident"]
    assert (page["lat"], page["lon"]) == (incident.lat, incident.lon)
    signed.close()
    QApplication.instance().setStyleSheet("")


def test_half_a_point_is_refused_with_the_row_named(qtbot, make_console, known_registry, tmp_path, players):
    signed = signed_in(make_console(known_registry.url), "outreach-half", Role.OUTREACH, tmp_path, players)
    window = signed.window
    window.actions_by_id[ActionIds.PHONE_INTAKE].trigger()
    dialog = signed.tools.intake_dialog
    fill(dialog, qtbot)
    dialog.camera_table.item(2, LAT).setText("42.15")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "camera 3: give both latitude and longitude" in dialog.message.text()
    dialog.reject()
    signed.close()
    QApplication.instance().setStyleSheet("")
