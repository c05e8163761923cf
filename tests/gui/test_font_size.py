"""A font-size setting for the whole window (a dark room read from two metres): widgets, tables and the map page."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from console.errors import UserError
from console.gui.theme import apply_theme, font_points, stylesheet
from console.paths import resources_dir
from console.settings import parse_value

pytestmark = pytest.mark.gui


def test_the_setting_is_checked_and_held_to_its_range():
    assert parse_value("font_size_pt", "16") == 16
    with pytest.raises(UserError, match="at least 8"):
        parse_value("font_size_pt", "6")
    assert font_points(400) == 24 and font_points("x") == 10 and font_points(7) == 8
    assert "font-size: 14pt" in stylesheet(resources_dir(), "dark", 14)


def test_the_whole_window_follows_the_font_size(qtbot, make_console, known_registry, console_settings):
    app = QApplication.instance()
    default_font = app.font()
    settings = console_settings.replaced(font_size_pt=16)
    apply_theme(app, resources_dir(), "dark", settings.font_size_pt)  # as run_console does before the window
    try:
        window = make_console(known_registry.url, settings).window
        window.incident_panel.search.ensurePolished()
        assert window.incident_panel.search.font().pointSize() == 16
        assert window.nearby_panel.table.font().pointSize() == 16
        assert window.map.view.zoomFactor() == pytest.approx(1.6)
        window.toggle_theme()  # a theme switch keeps the size
        window.nearby_panel.summary.ensurePolished()
        assert "font-size: 16pt" in app.styleSheet() and window.nearby_panel.summary.font().pointSize() == 16
    finally:
        app.setStyleSheet("")
        app.setFont(default_font)
