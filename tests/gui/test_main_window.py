"""The real console window, offscreen: enter an incident, read the list and the page, click markers, change radius."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from console.domain.geo import haversine_m
from tests.gui.conftest import CENTRE
from tests.gui.map_clicks import click_map_at, click_marker
from tests.gui.page_probe import js_eval, js_state

pytestmark = pytest.mark.gui

INSIDE_300 = ["always_50m", "never_80m", "alert_100m", "registered_120m", "no_alert_150m"]


def enter_incident(qtbot, window, text: str):
    """Type the location into the search box and press Enter, as a dispatcher would."""
    window.incident_panel.search.clear()
    answers = []
    window.controller.sig_nearby_shown.connect(answers.append)
    with qtbot.waitSignals([window.controller.sig_nearby_shown, window.controller.sig_context_shown],
                           timeout=20_000, order="strict"):
        qtbot.keyClicks(window.incident_panel.search, text)
        qtbot.keyClick(window.incident_panel.search, Qt.Key.Key_Return)
    window.controller.sig_nearby_shown.disconnect(answers.append)
    return answers[-1]


def test_coordinates_typed_fill_the_list_and_the_map(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    answer = enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    ids = known_registry.ids

    assert window.nearby_panel.camera_ids() == [ids[name] for name in INSIDE_300]
    distances = [window.nearby_panel.model.index(row, 1).data() for row in range(5)]
    assert distances == ["50 m", "80 m", "100 m", "120 m", "150 m"]
    bearing = window.nearby_panel.model.index(1, 2).data()
    assert bearing.startswith("W 270")
    # The owner is masked in the list, never shown in full.
    owners = {window.nearby_panel.model.index(row, 4).data() for row in range(5)}
    assert owners == {"M**** L****"}
    # Live now: the always camera and the one with an owner alert in force, nearest first.
    assert window.nearby_panel.nearest_live_ids() == [ids["always_50m"], ids["alert_100m"]]
    assert window.nearby_panel.open_live.isEnabled()

    state = js_state(qtbot, window)
    assert state["inside"] == 5
    assert state["cameras"] == 7  # the 450 m and 900 m cameras are context, clustered
    assert state["clustered"] == 2
    assert state["fov"] == 3  # cones for the inside cameras whose field of view is known
    assert state["incident"]["radius"] == 300
    assert abs(state["incident"]["lat"] - CENTRE[0]) < 1e-9
    assert answer.radius_m == 300


def test_marker_states_on_the_page_match_the_sharing_states(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    enter_incident(qtbot, window, f"{CENTRE[0]} {CENTRE[1]}")
    classes = json.loads(js_eval(qtbot, window, """JSON.stringify(Array.from(
        document.querySelectorAll('.leaflet-marker-pane .cam')).map(function (e) { return e.className; }))"""))
    inside = [c for c in classes if "cam-inside" in c]
    live_now = [c for c in inside if "cam-live_now" in c]
    not_now = [c for c in inside if "cam-live_not_now" in c]
    registered = [c for c in inside if "cam-registered" in c]
    assert (len(live_now), len(not_now), len(registered)) == (2, 2, 1)
    # Context cameras beyond the radius are drawn (alone or in clusters) without the highlight.
    assert len(classes) - len(inside) <= 2


def test_a_real_click_on_a_marker_selects_the_camera_and_shows_its_detail(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    target = known_registry.ids["alert_100m"]
    x, y = json.loads(js_eval(qtbot, window, f"rtic.markerPoint({target})"))
    widget = window.map.view.focusProxy() or window.map.view
    with qtbot.waitSignal(window.controller.sig_camera_shown, timeout=10_000) as blocker:
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(round(x), round(y)))
    assert blocker.args == [target]
    assert window.nearby_panel.selected_id() == target
    detail = window.detail_panel
    assert detail.form.title.text() == "alert_100m"
    assert detail.form.state.text() == "Live now"
    assert "ends in" in detail.grant_text()
    assert "s3cret" not in detail.form.streams.text() and "RTSP" in detail.form.streams.text()
    assert detail.form.openFeed.isEnabled()
    assert js_state(qtbot, window)["selected"] == target


def test_list_selection_and_shortcuts_move_the_map_selection(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    ids = known_registry.ids
    with qtbot.waitSignal(window.controller.sig_camera_shown, timeout=10_000):
        window.actions_by_id["next_camera"].trigger()
    with qtbot.waitSignal(window.controller.sig_camera_shown, timeout=10_000) as blocker:
        window.actions_by_id["next_camera"].trigger()
    assert blocker.args == [ids["never_80m"]]
    assert window.detail_panel.form.state.text() == "Live-capable, not shared now"
    assert not window.detail_panel.form.openFeed.isEnabled()
    qtbot.waitUntil(lambda: js_state(qtbot, window)["selected"] == ids["never_80m"], timeout=5_000)
    with qtbot.waitSignal(window.controller.sig_camera_shown, timeout=10_000) as blocker:
        window.actions_by_id["previous_camera"].trigger()
    assert blocker.args == [ids["always_50m"]]


def test_marker_clicked_in_the_page_reaches_python_through_the_bridge(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    target = known_registry.ids["registered_120m"]
    with qtbot.waitSignal(window.map.sig_marker_clicked, timeout=10_000) as blocker:
        click_marker(qtbot, window, target)
    assert blocker.args == [target]
    qtbot.waitUntil(lambda: window.detail_panel.form.title.text() == "registered_120m", timeout=10_000)
    assert "registration only" in window.detail_panel.form.sharing.text()


def test_changing_the_radius_moves_the_ring_and_the_list(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    with qtbot.waitSignals([window.controller.sig_nearby_shown, window.controller.sig_context_shown],
                           timeout=20_000, order="strict"):
        window.incident_panel.radius.setValue(500)
    assert window.controller.answer.radius_m == 500
    assert known_registry.ids["always_450m"] in window.nearby_panel.camera_ids()
    assert len(window.nearby_panel.camera_ids()) == 6
    state = js_state(qtbot, window)
    assert state["incident"]["radius"] == 500 and state["inside"] == 6
    assert window.nearby_panel.summary.text() == "6 cameras within 500 m, 3 live now"


def test_a_click_on_the_map_places_the_incident_there(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    from tests.support.geometry import destination

    lat, lon = destination(*CENTRE, 0, 450)  # on the 450 m camera
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000) as blocker:
        click_map_at(qtbot, window, lat, lon)
    answer = blocker.args[0]
    assert haversine_m(answer.lat, answer.lon, lat, lon) < 5  # a pixel at this zoom is a metre or two
    assert window.nearby_panel.camera_ids()[0] == known_registry.ids["always_450m"]
    assert "Map point" in window.incident_panel.current.text()


def test_an_open_incident_from_the_database_can_be_picked(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    combo = window.incident_panel.open_incidents
    qtbot.waitUntil(lambda: combo.count() == 1, timeout=10_000)
    assert "CAD-1" in combo.itemText(0)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000) as blocker:
        combo.activated.emit(0)
    assert haversine_m(blocker.args[0].lat, blocker.args[0].lon, *CENTRE) < 0.01


def test_bad_coordinates_get_one_sentence_and_no_search(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    qtbot.keyClicks(window.incident_panel.search, "91, 0")
    qtbot.keyClick(window.incident_panel.search, Qt.Key.Key_Return)
    message = window.incident_panel.message
    assert message.isVisible()
    assert "Latitude 91" in message.text() and "between -90 and 90" in message.text()
    assert window.controller.point is None


def test_open_nearest_live_and_open_feed_are_signals_on_the_window(qtbot, make_console, known_registry):
    window = make_console(known_registry.url).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    ids = known_registry.ids
    with qtbot.waitSignal(window.sig_open_nearest_live, timeout=5_000) as blocker:
        window.nearby_panel.open_live.click()
    assert blocker.args == [[ids["always_50m"], ids["alert_100m"]]]
    window.controller.select(ids["always_50m"])
    qtbot.waitUntil(lambda: window.detail_panel.form.openFeed.isEnabled(), timeout=10_000)
    with qtbot.waitSignal(window.sig_open_feed, timeout=5_000) as blocker:
        window.actions_by_id["open_feed"].trigger()
    assert blocker.args == [ids["always_50m"]]
    with qtbot.waitSignal(window.sig_reveal_contact, timeout=5_000) as blocker:
        window.detail_panel.form.revealContact.click()
    assert blocker.args == [ids["always_50m"]]
