"""A geocoder answer outside the service area is never taken silently: the console asks, No is the default, and the
place becomes the incident only on Yes. Recorded far-away answers (London, Antarctica) from a local geocoder."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.geo.nominatim_server import GeocoderServer
from tests.gui.conftest import CENTRE

pytestmark = pytest.mark.gui
AREA = "42.10,-72.66,42.22,-72.49"
ANSWERS = {"10 Downing St": "nominatim_london.json", "McMurdo Station": "nominatim_antarctica.json",
           "452 Montgomery St, Chicopee": "nominatim_montgomery.json"}


def look_up(qtbot, window, text):
    window.incident_panel.search.clear()
    qtbot.keyClicks(window.incident_panel.search, text)
    qtbot.keyClick(window.incident_panel.search, Qt.Key.Key_Return)


def open_questions(window):
    return [b for b in window.findChildren(QMessageBox, "outsideServiceAreaQuestion") if b.isVisible()]


def question(qtbot, window):
    qtbot.waitUntil(lambda: len(open_questions(window)) == 1, timeout=10_000)
    return open_questions(window)[0]


def test_outside_the_area_asks_and_no_keeps_the_incident(qtbot, make_console, known_registry, console_settings):
    with GeocoderServer("nominatim", ANSWERS) as server:
        settings = console_settings.replaced(geocoder_url=server.url, geocoder_min_interval_s=0.0, service_area=AREA)
        window = make_console(known_registry.url, settings).window
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
            window.controller.set_incident(*CENTRE, "Start")
        look_up(qtbot, window, "10 Downing St")
        box = question(qtbot, window)
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
        assert box.textFormat() == Qt.TextFormat.PlainText and "10 Downing Street" in box.text()
        assert window.controller.point.label == "Start"  # nothing taken while the question is open
        box.button(QMessageBox.StandardButton.No).click()
        assert (window.controller.point.lat, window.controller.point.lon) == CENTRE

        look_up(qtbot, window, "McMurdo Station")
        box = question(qtbot, window)
        qtbot.keyClick(box, Qt.Key.Key_Escape)  # Escape is No too
        assert window.controller.point.label == "Start"

        look_up(qtbot, window, "McMurdo Station")
        box = question(qtbot, window)
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000) as blocker:
            box.button(QMessageBox.StandardButton.Yes).click()
    assert blocker.args[0].lat == pytest.approx(-77.8462833)


def test_inside_the_area_is_taken_without_a_question(qtbot, make_console, known_registry, console_settings):
    with GeocoderServer("nominatim", ANSWERS) as server:
        settings = console_settings.replaced(geocoder_url=server.url, geocoder_min_interval_s=0.0, service_area=AREA)
        window = make_console(known_registry.url, settings).window
        with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000) as blocker:
            look_up(qtbot, window, "452 Montgomery St, Chicopee")
    assert blocker.args[0].lat == pytest.approx(42.1462317)
    assert open_questions(window) == []


def test_among_several_places_the_far_one_is_marked_and_still_asked(qtbot, make_console, known_registry,
                                                                    console_settings):
    from console.gui.dialogs import CandidatesDialog
    from tests.geo.nominatim_server import Answer, place

    both = [place("Center Street, Chicopee, MA", 42.1487, -72.6079, 1),
            place("Center Street, London, United Kingdom", 51.5034, -0.1276, 2)]
    with GeocoderServer("nominatim", {"Center St": Answer.json(both)}) as server:
        settings = console_settings.replaced(geocoder_url=server.url, geocoder_min_interval_s=0.0, service_area=AREA)
        window = make_console(known_registry.url, settings).window
        look_up(qtbot, window, "Center St")
        qtbot.waitUntil(lambda: window.findChild(CandidatesDialog, "candidatesDialog") is not None, timeout=10_000)
    dialog = window.findChild(CandidatesDialog, "candidatesDialog")
    texts = [dialog.form.candidates.item(i).text() for i in range(dialog.form.candidates.count())]
    assert not texts[0].endswith("OUTSIDE the service area") and texts[1].endswith("OUTSIDE the service area")
    dialog.form.candidates.setCurrentRow(1)
    dialog.accept()
    box = question(qtbot, window)
    box.button(QMessageBox.StandardButton.No).click()
    assert window.controller.point is None
