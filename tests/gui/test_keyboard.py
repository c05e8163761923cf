"""The window by keyboard alone: Tab walks the panels in reading order and never gets stuck in the map page,
Enter places the incident, Space presses the focused button (issue 15: drive the window with the keyboard)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import CENTRE

pytestmark = pytest.mark.gui


def _tab(qtbot, backwards=False):
    widget = QApplication.focusWidget()
    qtbot.keyClick(widget, Qt.Key.Key_Backtab if backwards else Qt.Key.Key_Tab)
    qtbot.wait(30)  # the map hands a Tab on from the event loop
    return QApplication.focusWidget()


def test_tab_order_enter_and_space_without_a_mouse(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    panel, nearby = window.incident_panel, window.nearby_panel
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # Ctrl+L: the Location box
    qtbot.waitUntil(panel.search.hasFocus, timeout=5_000)
    qtbot.keyClicks(panel.search, f"{CENTRE[0]}, {CENTRE[1]}")
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        qtbot.keyClick(panel.search, Qt.Key.Key_Return)

    order = [_tab(qtbot) for _ in range(8)]
    expected = [panel.find_button, panel.open_incidents, panel.radius, nearby.live_only, nearby.open_live,
                nearby.table]
    assert order[:6] == expected
    assert all(w is not None and not isinstance(w.parent(), type(window.map.view)) for w in order)  # never the map
    assert _tab(qtbot, backwards=True) in (expected[-1], order[6])  # Shift+Tab walks back

    nearby.open_live.setFocus()
    with qtbot.waitSignal(window.sig_open_nearest_live, timeout=5_000) as opened:
        qtbot.keyClick(nearby.open_live, Qt.Key.Key_Space)
    assert opened.args[0] == [known_registry.ids["always_50m"], known_registry.ids["alert_100m"]]
