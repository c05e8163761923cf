"""A stray map click never moves the incident; the Location box and the open-incident list follow the incident;
the nearby list sorts by any column and narrows to live now (issue 15, item 8), all driven by keys and clicks."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from console.domain.geo import haversine_m
from console.gui.main_window import ActionId
from tests.gui.conftest import CENTRE
from tests.gui.map_clicks import click_map_at
from tests.gui.test_main_window import enter_incident

pytestmark = pytest.mark.gui


def test_a_map_click_moves_the_incident_only_in_place_incident_mode(qtbot, make_console, known_registry):
    from tests.support.geometry import destination

    window = make_console(known_registry.url).window
    combo = window.incident_panel.open_incidents
    qtbot.waitUntil(lambda: combo.count() == 1, timeout=10_000)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        combo.activated.emit(0)  # the open incident CAD-1
    assert combo.currentIndex() == 0 and window.incident_panel.search.text() == f"{CENTRE[0]:.5f}, {CENTRE[1]:.5f}"

    lat, lon = destination(*CENTRE, 0, 120)
    click_map_at(qtbot, window, lat, lon)  # a stray click: the incident stays, and the status line says how to move it
    qtbot.waitUntil(lambda: "Ctrl+M" in window.statusBar().currentMessage(), timeout=10_000)
    assert haversine_m(window.controller.point.lat, window.controller.point.lon, *CENTRE) < 0.01
    assert "CAD-1" in window.incident_panel.current.text()

    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5_000)
    QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert window.controller.placing and window.actions_by_id[ActionId.PLACE_INCIDENT].isChecked()
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000) as moved:
        click_map_at(qtbot, window, lat, lon)
    assert haversine_m(moved.args[0].lat, moved.args[0].lon, lat, lon) < 5
    assert not window.controller.placing and not window.actions_by_id[ActionId.PLACE_INCIDENT].isChecked()
    # The Location box and the list follow: the new point's coordinates, and no open incident named any more.
    assert window.incident_panel.search.text() == f"{window.controller.point.lat:.5f}, {window.controller.point.lon:.5f}"
    assert combo.currentIndex() == -1 and "Map point" in window.incident_panel.current.text()

    QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)  # and Ctrl+M again cancels
    QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert not window.controller.placing and "cancelled" in window.statusBar().currentMessage()


def test_the_nearby_list_sorts_by_a_column_and_narrows_to_live_now(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    panel, ids = window.nearby_panel, known_registry.ids
    nearest = ["always_50m", "never_80m", "alert_100m", "registered_120m", "no_alert_150m"]
    assert panel.camera_ids() == [ids[n] for n in nearest]
    header = panel.table.horizontalHeader()

    def click_header(column):
        QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=_section_point(header, column))

    click_header(0)  # Camera: by label
    assert [r.camera.label for r in panel.model.rows] == sorted(nearest)
    click_header(0)  # again: the other way
    assert [r.camera.label for r in panel.model.rows] == sorted(nearest, reverse=True)
    click_header(3)  # Sharing: live now first, then nearest
    assert [r.camera.label for r in panel.model.rows][:2] == ["always_50m", "alert_100m"]

    panel.select_camera(ids["alert_100m"])
    panel.live_only.setFocus()
    QTest.keyClick(panel.live_only, Qt.Key.Key_Space)  # Live now only
    assert set(panel.camera_ids()) == {ids["always_50m"], ids["alert_100m"]}
    assert panel.selected_id() == ids["alert_100m"]  # the selection survives the filter
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")  # a new search keeps the toggle and the order
    assert set(panel.camera_ids()) == {ids["always_50m"], ids["alert_100m"]}
    QTest.keyClick(panel.live_only, Qt.Key.Key_Space)
    assert len(panel.camera_ids()) == 5
    assert panel.table.columnWidth(3) >= panel.table.fontMetrics().horizontalAdvance("on owner alert") + 8


def _section_point(header, column):
    from PySide6.QtCore import QPoint

    return QPoint(header.sectionViewportPosition(column) + header.sectionSize(column) // 2, header.height() // 2)
