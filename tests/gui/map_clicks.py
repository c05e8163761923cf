"""The user's own clicks on the live map page: real Qt mouse events on the web view's render widget.

The bridge honours a state-changing call only after Qt saw such an event (console/gui/map/guard.py), so tests
that mean "the user clicked" click for real; a Leaflet event fired from page script is a forgery.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from tests.gui.page_probe import js_eval


def render_widget(map_view):
    return map_view.view.focusProxy() or map_view.view


def pixel_of(qtbot, window, lat: float, lon: float) -> QPoint:
    x, y = json.loads(js_eval(qtbot, window, f"rtic.pointOf({lat}, {lon})"))
    return QPoint(round(x), round(y))


def click_map_at(qtbot, window, lat: float, lon: float) -> QPoint:
    """A real left click where (lat, lon) is on the page now; returns the pixel clicked."""
    point = pixel_of(qtbot, window, lat, lon)
    QTest.mouseClick(render_widget(window.map), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    return point


def double_click_map_at(qtbot, window, lat: float, lon: float) -> None:
    """A real click at the point, then the page's dblclick there. (QTest.mouseDClick reaches Chromium as a lone
    mousedown, and QTest spaces its clicks beyond the double-click interval, so the dblclick itself is fired in the
    page; the user's real click stands behind it, as the bridge requires.) While an area is drawn, the dblclick waits
    until the page has taken the click's corner: the mouse event reaches Chromium's renderer asynchronously, and on a
    loaded machine a dblclick fired at once could close the area before that corner arrived."""
    state = json.loads(js_eval(qtbot, window, "rtic.areaState()"))
    click_map_at(qtbot, window, lat, lon)
    if state.get("drawing"):
        corners = len(state["points"]) + 1
        qtbot.waitUntil(lambda: len(json.loads(js_eval(qtbot, window, "rtic.areaState()"))["points"]) >= corners,
                        timeout=10_000)
    js_eval(qtbot, window, f"rtic.doubleClickMap({lat}, {lon})")


def click_marker(qtbot, window, camera_id: int) -> None:
    """A real left click on a camera's marker (it must be drawn, not inside a cluster)."""
    text = js_eval(qtbot, window, f"rtic.markerPoint({camera_id})")
    assert text, f"camera {camera_id} has no marker drawn on the map"
    x, y = json.loads(text)
    QTest.mouseClick(render_widget(window.map), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(round(x), round(y)))


def press_key(window, key: Qt.Key) -> None:
    QTest.keyClick(render_widget(window.map), key)
