"""Addresses in the window: one match, a pick among candidates, and no network (coordinates still work)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from console.domain.geo import haversine_m
from tests.geo.nominatim_server import NominatimServer, closed_port_url, place
from tests.gui.conftest import CENTRE
from tests.gui.test_main_window import enter_incident

pytestmark = pytest.mark.gui

PLACES = {
    "1 Test St, Chicopee": [place("1, Test Street, Chicopee, MA 01013, USA", *CENTRE)],
    "Main St": [place("Main Street, Chicopee, MA", 42.15, -72.61, 1),
                place("Main Street, Springfield, MA", 42.10, -72.59, 2)],
}


def type_and_enter(qtbot, window, text):
    qtbot.keyClicks(window.incident_panel.search, text)
    qtbot.keyClick(window.incident_panel.search, Qt.Key.Key_Return)


def test_an_address_with_one_match_becomes_the_incident(qtbot, make_console, known_registry, console_settings):
    with NominatimServer(PLACES) as server:
        settings = console_settings.replaced(geocoder_url=server.url, geocoder_min_interval_s=0.0)
        window = make_console(known_registry.url, settings).window
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000) as blocker:
            type_and_enter(qtbot, window, "1 Test St, Chicopee")
    assert haversine_m(blocker.args[0].lat, blocker.args[0].lon, *CENTRE) < 0.1
    assert "Test Street" in window.incident_panel.current.text()
    assert window.nearby_panel.camera_ids()[0] == known_registry.ids["always_50m"]
    assert server.requests[0]["user_agent"] == settings.user_agent


def test_an_ambiguous_address_asks_which_place(qtbot, make_console, known_registry, console_settings):
    from console.gui.dialogs import CandidatesDialog

    with NominatimServer(PLACES) as server:
        settings = console_settings.replaced(geocoder_url=server.url, geocoder_min_interval_s=0.0)
        window = make_console(known_registry.url, settings).window
        type_and_enter(qtbot, window, "Main St")
        qtbot.waitUntil(lambda: window.findChild(CandidatesDialog, "candidatesDialog") is not None, timeout=10_000)
    dialog = window.findChild(CandidatesDialog, "candidatesDialog")
    assert dialog.form.candidates.count() == 2
    dialog.form.candidates.setCurrentRow(1)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000) as blocker:
        dialog.accept()
    assert (blocker.args[0].lat, blocker.args[0].lon) == pytest.approx((42.10, -72.59))


def test_with_no_network_the_console_says_so_and_coordinates_still_work(qtbot, make_console, known_registry,
                                                                        console_settings):
    settings = console_settings.replaced(geocoder_url=closed_port_url(), geocoder_timeout_s=2.0)
    window = make_console(known_registry.url, settings).window
    type_and_enter(qtbot, window, "1 Test St, Chicopee")
    message = window.incident_panel.message
    qtbot.waitUntil(lambda: "cannot be reached" in message.text(), timeout=15_000)
    assert "type coordinates or click the map" in message.text()
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    assert len(window.nearby_panel.camera_ids()) == 5


def test_with_no_geocoder_configured_the_console_says_what_still_works(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    type_and_enter(qtbot, window, "1 Test St, Chicopee")
    message = window.incident_panel.message
    assert "cannot be looked up" in message.text() and "type coordinates" in message.text()
    assert "geocoder_url" in message.toolTip()  # the detail for the administrator, out of the dispatcher's way
    assert window.controller.point is None
    # One short sentence: the Incident panel keeps its room (the message takes at most three lines).
    assert message.heightForWidth(window.incident_panel.width()) <= 3 * message.fontMetrics().lineSpacing() + 4
