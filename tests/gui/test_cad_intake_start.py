"""The CAD intake as the composition root starts it (console.app.start_cad_intake): only where the settings name a
CAD source, and not at all (fail closed, said on the window) when the service area its points are checked against
cannot be read."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from console.app import start_cad_intake
from console.store.audit import AuditLog

pytestmark = pytest.mark.gui


def test_no_cad_source_no_intake(make_console, known_registry):
    console = make_console(known_registry.url)
    assert start_cad_intake(console, AuditLog(console.database)) is None


def test_an_unreadable_service_area_starts_no_intake_and_the_window_says_why(make_console, known_registry,
                                                                              console_settings, tmp_path):
    drop = tmp_path / "cad-drop"
    drop.mkdir()
    area = tmp_path / "area.geojson"
    area.write_text('<b>not GeoJSON</b> {"type": "Polygon"')  # hostile: markup, and not a polygon
    settings = console_settings.replaced(cad_watch_folder=str(drop), service_area=str(area))
    console = make_console(known_registry.url, settings)
    assert start_cad_intake(console, AuditLog(console.database)) is None
    notice = console.window.notice_label
    assert notice.text().startswith("CAD intake not started: setting service_area: ")
    assert "area.geojson" in notice.text() and notice.textFormat() == Qt.TextFormat.PlainText


def test_a_cad_folder_starts_the_intake(make_console, known_registry, console_settings, tmp_path):
    drop = tmp_path / "cad-drop"
    drop.mkdir()
    console = make_console(known_registry.url, console_settings.replaced(cad_watch_folder=str(drop)))
    runner = start_cad_intake(console, AuditLog(console.database))
    try:
        assert runner is not None and runner.running
    finally:
        if runner is not None:
            runner.stop()
    assert not runner.running
