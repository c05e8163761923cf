"""Background work: a superseded request's late answer is dropped; a first start fills an empty registry."""

from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtTest import QTest

from tests.gui.conftest import CENTRE
from tests.gui.page_probe import js_eval
from tests.gui.test_main_window import enter_incident

pytestmark = pytest.mark.gui


def test_only_the_newest_request_on_a_channel_is_delivered(qtbot):
    from console.gui.workers import Tasks

    tasks = Tasks()
    release = threading.Event()
    delivered, errors = [], []

    def slow():
        release.wait(10)
        return "old incident"

    tasks.run("nearby", slow, delivered.append)
    tasks.run("nearby", lambda: "new incident", delivered.append)
    qtbot.waitUntil(lambda: delivered == ["new incident"], timeout=5_000)
    release.set()
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=5_000)
    assert delivered == ["new incident"]  # the late answer for the superseded incident was dropped

    def broken():
        raise RuntimeError("driver exploded")

    tasks.run("detail", broken, delivered.append, errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
    assert "Traceback" not in errors[0] and "log file" in errors[0]
    tasks.close()


def test_hovering_a_marker_shows_its_label_and_distance(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    camera = known_registry.ids["never_80m"]
    x, y = json.loads(js_eval(qtbot, window, f"rtic.markerPoint({camera})"))
    widget = window.map.view.focusProxy() or window.map.view
    QTest.mouseMove(widget, QPoint(round(x) + 30, round(y) + 30))
    QTest.mouseMove(widget, QPoint(round(x), round(y)))
    qtbot.waitUntil(lambda: "never_80m" in (js_eval(qtbot, window,
                    "(document.querySelector('.leaflet-tooltip') || {textContent: ''}).textContent") or ""),
                    timeout=10_000)
    tooltip = js_eval(qtbot, window, "document.querySelector('.leaflet-tooltip').textContent")
    assert tooltip == "never_80m · 80 m"


def test_a_first_start_on_an_empty_database_shows_the_demo_registry(qtbot, make_console, sqlite_url):
    window = make_console(sqlite_url).window
    combo = window.incident_panel.open_incidents
    qtbot.waitUntil(lambda: combo.count() > 0, timeout=20_000)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        combo.activated.emit(0)
    assert len(window.nearby_panel.camera_ids()) > 0
