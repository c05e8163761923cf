"""Offline tiles from MBTiles through tiles://, the grid without tiles, themes, and a layout that persists."""

from __future__ import annotations

import pytest

from tests.gui.conftest import CENTRE
from tests.gui.page_probe import js_eval, js_state
from tests.gui.test_main_window import enter_incident
from tests.gui.tiles import make_mbtiles

pytestmark = pytest.mark.gui


def test_mbtiles_are_served_to_the_page_through_the_tiles_scheme(qtbot, make_console, known_registry,
                                                                  console_settings, tmp_path):
    path = tmp_path / "town.mbtiles"
    make_mbtiles(path, *CENTRE, zooms=range(15, 18), reach=3)
    window = make_console(known_registry.url, console_settings.replaced(mbtiles_path=str(path))).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    qtbot.waitUntil(lambda: window.map.tile_handler.served >= 4, timeout=15_000)
    state = js_state(qtbot, window)
    assert state["tiles"] == "tiles://local/{z}/{x}/{y}.png"
    qtbot.waitUntil(lambda: js_eval(qtbot, window, "document.querySelectorAll('img.leaflet-tile-loaded').length")
                    >= 4, timeout=15_000)


def test_without_tiles_the_grid_and_scale_bar_still_show(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    assert window.map.tiles_source == "grid"
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    assert js_state(qtbot, window)["tiles"] is None
    assert js_eval(qtbot, window, "document.querySelectorAll('canvas.leaflet-tile').length") > 0
    assert js_eval(qtbot, window, "document.querySelectorAll('.leaflet-control-scale-line').length") == 2
    assert js_eval(qtbot, window, "document.querySelectorAll('.legend .cam').length") == 3


def test_the_theme_switches_widgets_and_page_together(qtbot, make_console, known_registry):
    from PySide6.QtWidgets import QApplication

    window = make_console(known_registry.url).window
    assert "theme-dark" in js_state(qtbot, window)["theme"]
    with qtbot.waitSignal(window.sig_theme_changed, timeout=5_000) as blocker:
        window.actions_by_id["toggle_theme"].trigger()
    assert blocker.args == ["light"]
    qtbot.waitUntil(lambda: "theme-light" in js_state(qtbot, window)["theme"], timeout=5_000)
    assert "#f4f5f7" in QApplication.instance().styleSheet()


def test_dock_layout_and_geometry_persist_between_runs(qtbot, make_console, known_registry):
    first = make_console(known_registry.url, remember_layout=True).window
    first.docks["detail"].hide()
    first.resize(760, 700)  # inside the offscreen screen (800x800): restoreGeometry clamps to it
    first.close()  # what the user does: the layout is saved on close
    second = make_console(known_registry.url, remember_layout=True, size=None).window
    assert second.docks["detail"].isHidden()
    assert not second.docks["nearby"].isHidden()
    assert (second.width(), second.height()) == (760, 700)


def test_every_common_action_has_a_shortcut(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    for action_id in ("new_incident", "focus_search", "next_camera", "previous_camera", "open_feed",
                      "open_nearest_live", "zoom_to_incident"):
        assert not window.actions_by_id[action_id].shortcut().isEmpty(), action_id
    window.actions_by_id["focus_search"].trigger()
    qtbot.waitUntil(lambda: window.incident_panel.search.hasFocus(), timeout=5_000)


def test_tiles_from_the_agency_tile_server_come_through_python_with_the_user_agent(qtbot, make_console,
                                                                                    known_registry, console_settings):
    from tests.geo.tile_server import TileServer

    with TileServer() as server:
        settings = console_settings.replaced(tile_url=server.template, tile_attribution="County GIS")
        window = make_console(known_registry.url, settings).window
        assert window.map.tiles_source == "url"
        enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
        qtbot.waitUntil(lambda: js_eval(qtbot, window, "document.querySelectorAll('img.leaflet-tile-loaded').length")
                        >= 4, timeout=15_000)
    assert len(server.requests) >= 4
    assert {agent for _path, agent in server.requests} == {settings.user_agent}
    assert "County GIS" in js_eval(qtbot, window, "document.querySelector('.leaflet-control-attribution').textContent")
