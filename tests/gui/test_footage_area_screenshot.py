"""A picture of the window with a footage area drawn on the map and the request dialog listing its cameras, in the
dark theme on offline tiles: tests/output/footage-area.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication

from console.domain.users import Role
from console.gui.registry_tools import ActionIds
from console.gui.theme import apply_theme
from console.paths import resources_dir
from console.store import registry as repo
from console.store.db import open_database
from console.video.factory import PlayerFactory
from tests.gui.conftest import CENTRE, signed_in
from tests.gui.page_probe import js_eval
from tests.gui.test_footage_area import AREA, listed
from tests.gui.test_screenshots import count_near
from tests.gui.tiles import make_mbtiles

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"
AREA_GREEN = QColor("#7dff4f")


@pytest.fixture
def dark():
    app = QApplication.instance()
    old_sheet, old_style = app.styleSheet(), app.style().name()
    apply_theme(app, resources_dir(), "dark")
    yield
    app.setStyleSheet(old_sheet)
    app.setStyle(old_style)


def test_footage_area_picture(qtbot, make_console, known_registry, console_settings, tmp_path, dark):
    tiles = tmp_path / "chicopee.mbtiles"
    make_mbtiles(tiles, *CENTRE, zooms=range(14, 19), reach=5)
    settings = console_settings.replaced(theme="dark", mbtiles_path=str(tiles))
    players = PlayerFactory()
    signed = signed_in(make_console(known_registry.url, settings, size=(1600, 950)), "disp-pic", Role.DISPATCHER,
                       tmp_path, players)
    try:
        window = signed.window
        with open_database(known_registry.url) as database, database.engine.connect() as conn:
            incident = repo.get_incident(conn, known_registry.incident_id)
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
            window.controller.set_incident(incident.lat, incident.lon, "CAD-1 Burglary in progress", incident)
        window.actions_by_id[ActionIds.FOOTAGE_REQUEST].trigger()
        dialog = signed.tools.footage_dialog
        qtbot.waitUntil(dialog.isVisible, timeout=5000)
        dialog.draw_button.click()
        for lat, lon in AREA:
            js_eval(qtbot, window, f"rtic.clickMap({lat}, {lon})")
        with qtbot.waitSignal(window.map.sig_area_drawn, timeout=10_000):
            dialog.finish_button.click()
        qtbot.waitUntil(lambda: "inside the area" in dialog.source_label.text(), timeout=10_000)
        qtbot.waitUntil(lambda: all("·" in o.text(0) for o in dialog.owner_items.values()), timeout=10_000)
        assert listed(dialog) == {"always_50m", "registered_120m"}
        js_eval(qtbot, window, "rtic.zoomToIncident(); true")
        qtbot.waitUntil(lambda: js_eval(qtbot, window, "document.querySelectorAll('.leaflet-tile-loaded').length")
                        > 4, timeout=10_000)

        def finished_area_painted() -> bool:
            # The page paints on its own compositor, so a grab can lag: wait for a frame with the closed area in
            # it and the drawing bar (green-bordered, along the map's top edge) gone.
            image = window.map.grab().toImage()
            return (count_near(image, AREA_GREEN) > 30
                    and count_near(image.copy(0, 0, image.width(), 60), AREA_GREEN) == 0)

        qtbot.waitUntil(finished_area_painted, timeout=10_000)

        # The window and, beside it, the dialog (as on a second screen): neither hides the other's content.
        dialog.resize(1280, 760)
        shot, panel = window.grab().toImage(), dialog.grab().toImage()
        picture = QImage(shot.width() + 16 + panel.width(), max(shot.height(), panel.height()),
                         QImage.Format.Format_RGB32)
        picture.fill(QColor("#0b0e11"))
        painter = QPainter(picture)
        painter.drawImage(QPoint(0, 0), shot)
        painter.drawImage(QPoint(shot.width() + 16, 0), panel)
        painter.end()
        OUTPUT.mkdir(exist_ok=True)
        out = OUTPUT / "footage-area.png"
        assert picture.save(str(out))
        assert count_near(picture, AREA_GREEN) > 30, "the drawn area is not visible"
        assert picture.pixelColor(5, picture.height() // 2).lightness() < 80  # dark theme
        dialog.close()
    finally:
        signed.close()
        players.close()
