"""Streets without a tile server: road centerlines (setting streets_geojson) drawn with names in the real page."""

from __future__ import annotations

import json

import pytest

from console.gui.map.streets import StreetsError, load_streets, street_name, streets_from_geojson
from tests.gui.conftest import CENTRE
from tests.gui.page_probe import js_eval
from tests.gui.test_main_window import enter_incident


def _feature(coordinates, kind="LineString", **properties):
    return {"type": "Feature", "properties": properties, "geometry": {"type": kind, "coordinates": coordinates}}


def _collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def test_names_come_from_a_plain_name_or_the_nena_street_name_parts():
    assert street_name({"name": "Main St"}) == "Main St"
    assert street_name({"St_PreDir": "N", "St_Name": "Main", "St_PosTyp": "St", "St_PosDir": None}) == "N Main St"
    assert street_name({"FullName": "  Elm\x00\u202e  Ave \n"}) == "Elm Ave"
    assert street_name({"name": "x" * 500}) == "x" * 80
    assert street_name(None) == street_name({"name": 7}) == ""


def test_broken_features_are_skipped_and_lines_of_one_street_are_joined():
    lines, skipped = streets_from_geojson(_collection(
        _feature([[-72.60, 42.14], [-72.59, 42.14]], name="Main St"),
        _feature([[-72.59, 42.14], [-72.58, 42.14]], name="Main St"),  # continues the first: one line
        _feature([[[-72.6, 42.1], [-72.6, 42.2]], [[-72.5, 42.1], [-72.5, 42.2]]], "MultiLineString", name="Elm"),
        _feature([[-72.60, 42.14]]),  # one point
        _feature([[-72.60, 95.0], [-72.59, 42.14]]),  # latitude out of range
        _feature([[float("nan"), 42.0], [-72.59, 42.14]]),
        _feature([["-72.6", "42.1"], [-72.59, 42.14]]),  # strings are not numbers
        _feature([-72.6, 42.1], "Point"),
        "not a feature",
    ))
    assert lines == [["Main St", 42.14, -72.6, 42.14, -72.59, 42.14, -72.58],
                     ["Elm", 42.1, -72.6, 42.2, -72.6], ["Elm", 42.1, -72.5, 42.2, -72.5]]
    assert skipped == 6


@pytest.mark.parametrize("content, reason", [
    (b"\xff\xfe not json", "is not JSON"),
    (b"[" * 100_000, "is not JSON"),
    (json.dumps({"type": "Feature"}).encode(), "not a GeoJSON FeatureCollection"),
    (json.dumps(_collection(_feature([-72.6, 42.1], "Point"))).encode(), "has no road lines"),
])
def test_an_unusable_file_is_refused_in_one_sentence(tmp_path, content, reason):
    path = tmp_path / "streets.geojson"
    path.write_bytes(content)
    with pytest.raises(StreetsError, match=reason):
        load_streets(path)
    with pytest.raises(StreetsError, match="cannot be read"):
        load_streets(tmp_path / "missing.geojson")


def test_a_file_beyond_the_limits_is_refused(monkeypatch):
    import console.gui.map.streets as streets

    monkeypatch.setattr(streets, "MAX_LINES", 2)
    with pytest.raises(StreetsError, match="more than 2 lines"):
        streets_from_geojson(_collection(*[_feature([[-72.6, 42.1 + i / 100], [-72.5, 42.1]]) for i in range(3)]))


def demo_streets(tmp_path) -> str:
    from console.services.demo_town import write_demo_streets

    path = tmp_path / "demo-streets.geojson"
    write_demo_streets(path)
    return str(path)


def streets_shown(qtbot, window, wanted=lambda state: state.get("lines", 0) > 0 and bool(state.get("labels"))) -> dict:
    box: dict = {}

    def ready():
        window.map.streets_state(lambda state: box.__setitem__("state", state))
        qtbot.waitUntil(lambda: "state" in box, timeout=10_000)
        return wanted(box.pop("state"))

    qtbot.waitUntil(ready, timeout=20_000)
    found: dict = {}
    window.map.streets_state(lambda state: found.setdefault("state", state))
    qtbot.waitUntil(lambda: "state" in found, timeout=10_000)
    return found["state"]


@pytest.mark.gui
def test_the_demo_towns_streets_are_drawn_with_names_and_follow_the_theme(qtbot, make_console, known_registry,
                                                                       console_settings, tmp_path):
    settings = console_settings.replaced(streets_geojson=demo_streets(tmp_path))
    window = make_console(known_registry.url, settings).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    state = streets_shown(qtbot, window)
    assert state["lines"] == 56 and state["visible"]  # 28 streets each way, each joined from its blocks
    from console.services.demo_town import Town

    assert len(set(state["labels"])) >= 5 and set(state["labels"]) <= {s.name for s in Town(2500, 1).streets}
    # Painted: the canvas has street-coloured pixels (not only the background).
    painted = js_eval(qtbot, window, """(function () {
        var c = document.querySelector('canvas.streets-canvas'), d = c.getContext('2d')
            .getImageData(0, 0, c.width, c.height).data, n = 0;
        for (var i = 3; i < d.length; i += 16) if (d[i] > 0) n++;
        return n; })()""")
    assert painted > 1000
    window.actions_by_id["toggle_theme"].trigger()
    light = js_eval(qtbot, window, "getComputedStyle(document.body).getPropertyValue('--street-line').trim()")
    assert light == "#ffffff"
    assert streets_shown(qtbot, window)["lines"] == 56


@pytest.mark.gui
def test_street_names_from_the_file_stay_text_in_the_page(qtbot, make_console, known_registry, console_settings,
                                                          tmp_path):
    hostile = '<img src=x onerror="document.title=1">Main'
    path = tmp_path / "streets.geojson"
    lat, lon = CENTRE
    path.write_text(json.dumps(_collection(_feature([[lon - 0.01, lat], [lon + 0.01, lat]], name=hostile))))
    window = make_console(known_registry.url, console_settings.replaced(streets_geojson=str(path))).window
    enter_incident(qtbot, window, f"{lat}, {lon}")
    state = streets_shown(qtbot, window)
    assert hostile in state["labels"]
    assert js_eval(qtbot, window, "document.querySelectorAll('img:not(.leaflet-tile)').length") == 0
    assert js_eval(qtbot, window, "document.title") != "1"


@pytest.mark.gui
def test_a_broken_streets_file_says_so_and_tiles_come_first(qtbot, make_console, known_registry, console_settings,
                                                            tmp_path):
    from tests.gui.tiles import make_mbtiles

    broken = tmp_path / "broken.geojson"
    broken.write_text("{nope")
    window = make_console(known_registry.url, console_settings.replaced(streets_geojson=str(broken))).window
    qtbot.waitUntil(lambda: "No streets on the map" in window.statusBar().currentMessage(), timeout=10_000)
    assert "is not JSON" in window.statusBar().currentMessage()

    tiles = tmp_path / "town.mbtiles"
    make_mbtiles(tiles, *CENTRE, zooms=range(15, 17), reach=1)
    settings = console_settings.replaced(streets_geojson=demo_streets(tmp_path), mbtiles_path=str(tiles))
    window = make_console(known_registry.url, settings).window
    enter_incident(qtbot, window, f"{CENTRE[0]}, {CENTRE[1]}")
    assert window.tasks.pending() == 0
    assert js_eval(qtbot, window, "JSON.parse(rtic.streetsState()).lines") == 0


@pytest.mark.gui
def test_picture_of_the_demo_town_with_streets_and_no_tiles(qtbot, make_console, sqlite_url, console_settings,
                                                            tmp_path):
    """tests/output/streets-dark.png: the demo registry at 1920x1080 with its streets and no tile server."""
    from pathlib import Path

    from tests.gui.test_screenshots import demo_registry
    from tests.support.pictures import settle

    output = Path(__file__).resolve().parents[1] / "output"
    output.mkdir(exist_ok=True)
    from PySide6.QtWidgets import QApplication

    from console.gui.theme import apply_theme
    from console.paths import resources_dir

    demo_registry(sqlite_url, 2500)
    settings = console_settings.replaced(streets_geojson=demo_streets(tmp_path))
    app = QApplication.instance()
    apply_theme(app, resources_dir(), "dark")  # as run_console does before the window
    try:
        window = make_console(sqlite_url, settings, size=(1920, 1080)).window
        combo = window.incident_panel.open_incidents
        qtbot.waitUntil(lambda: combo.count() > 0, timeout=10_000)
        combo.setFocus()
        with qtbot.waitSignal(window.controller.sig_context_shown, timeout=20_000):
            combo.activated.emit(0)  # the most urgent open incident, as a dispatcher picks it
        assert len(set(streets_shown(qtbot, window)["labels"])) >= 5
        settle(500)
        image = window.grab().toImage()
        assert image.save(str(output / "streets-dark.png"))
        assert (image.width(), image.height()) == (1920, 1080)
        window.toggle_theme()  # daylight: white streets with a grey edge, dark names
        assert streets_shown(qtbot, window)["lines"] == 56
        settle(500)
        assert window.grab().toImage().save(str(output / "streets-light.png"))
    finally:
        app.setStyleSheet("")


def test_a_demo_registry_gets_its_streets_set_and_an_agency_setting_is_kept(sqlite_url, console_settings, tmp_path,
                                                                             monkeypatch):
    from console.app.online import demo_streets
    from console.domain.audit import Action, AuditEntry
    from console.settings import load_settings
    from console.store.audit import AuditLog
    from console.store.db import open_database

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the user's data folder (platformdirs)
    database = open_database(sqlite_url, create=True)
    try:
        audit = AuditLog(database)
        assert demo_streets(console_settings, audit) is console_settings  # not a demo registry: nothing changes
        audit.append(AuditEntry(Action.DEMO_CREATED, "os:test", "ws", details={"cameras": 400, "seed": 3}))
        chosen = console_settings.replaced(tile_url="https://tiles.example.gov/{z}/{x}/{y}.png")
        assert demo_streets(chosen, audit) is chosen  # tiles come first
        settings = demo_streets(console_settings, audit)
    finally:
        database.close()
    path = settings.streets_geojson
    assert path.startswith(str(tmp_path / "data")) and path.endswith("demo-streets-400-3.geojson")
    assert load_settings().streets_geojson == path  # kept in the user's file for the next start
    lines, _ = load_streets(path)
    from console.services.demo_town import Town

    assert {line[0] for line in lines} == {s.name for s in Town(400, 3).streets}
