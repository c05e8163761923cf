"""The service area: a box or a GeoJSON file (Polygon, MultiPolygon with holes, Feature, FeatureCollection), checked
at the edge (size, nesting, vertices, ranges), and point-in-polygon answered against an independent oracle."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.service_area import MAX_VERTICES, ServiceAreaInvalid, parse_box
from console.errors import UserError
from console.geo.service_area import load_service_area
from console.settings import Settings

# A rough Chicopee outline (lon, lat) with a hole (a pond) and a detached piece: real boundaries look like this.
OUTER = [[-72.66, 42.12], [-72.50, 42.12], [-72.50, 42.22], [-72.58, 42.22], [-72.58, 42.17], [-72.66, 42.17],
         [-72.66, 42.12]]
HOLE = [[-72.62, 42.13], [-72.60, 42.13], [-72.60, 42.15], [-72.62, 42.15], [-72.62, 42.13]]
ISLAND = [[-72.70, 42.30], [-72.69, 42.30], [-72.69, 42.31], [-72.70, 42.31], [-72.70, 42.30]]
MULTI = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "Chicopee"},
     "geometry": {"type": "MultiPolygon", "coordinates": [[OUTER, HOLE], [ISLAND]]}}]}


def write(tmp_path, document, name="area.geojson"):
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def test_box_contains_its_inside_and_edges_and_nothing_else():
    area = parse_box("42.10,-72.66,42.22,-72.49")
    assert area.contains(42.1487, -72.6079) and area.contains(42.10, -72.66) and area.contains(42.22, -72.49)
    assert not area.contains(51.5034, -0.1276) and not area.contains(-77.85, 166.67)
    assert area.describe() == "the service area (42.1,-72.66,42.22,-72.49)"


@pytest.mark.parametrize("text, words", [
    ("42.22,-72.66,42.10,-72.49", "south must be less than north"),
    ("42.10,170,42.22,-170", "west must be less than east"),
    ("42.10,-72.66,91,-72.49", "within -90..90"),
    ("nan,-72.66,42.22,-72.49", "finite"),
])
def test_bad_boxes_say_what_to_fix(text, words):
    with pytest.raises(ServiceAreaInvalid, match=words):
        parse_box(text)
    with pytest.raises(UserError, match=words):
        Settings({"service_area": text})


def test_multipolygon_with_a_hole_and_an_island(tmp_path):
    area = load_service_area(str(write(tmp_path, MULTI)))
    assert area.contains(42.20, -72.52)  # north-east part of the outline
    assert not area.contains(42.20, -72.62)  # the notch cut out of the north-west
    assert not area.contains(42.14, -72.61)  # in the pond
    assert area.contains(42.305, -72.695)  # on the island
    assert area.name == "area.geojson" and area.bounds == (42.12, -72.70, 42.31, -72.50)


@pytest.mark.parametrize("document, words", [
    ({"type": "Point", "coordinates": [-72.6, 42.1]}, "'Point' is not a Polygon"),
    ({"type": "Polygon", "coordinates": [[[-72.6, 42.1], [-72.5, 42.1], [-72.5, 42.2]]]}, "4 to"),
    ({"type": "Polygon", "coordinates": [[[-72.6, 42.1], [-72.5, 42.1], [-72.5, 42.2], [-72.6, 42.2]]]},
     "must end where it starts"),
    ({"type": "Polygon", "coordinates": [[[-72.6, 42.1], [-272.5, 42.1], [-72.5, 95], [-72.6, 42.1]]]},
     "not a longitude, latitude on Earth"),
    ({"type": "Polygon", "coordinates": [[[-72.6, "42.1"], [-72.5, 42.1], [-72.5, 42.2], [-72.6, 42.1]]]},
     "must be \\[longitude, latitude\\]"),
    ({"type": "FeatureCollection", "features": []}, "holds no Polygon"),
    ("[" * 50_000 + "]" * 50_000, "nested more than 16 levels"),
    ("{not json", "not JSON"),
])
def test_bad_files_are_one_sentence_naming_the_file(tmp_path, document, words):
    path = write(tmp_path, document)
    with pytest.raises(UserError, match=words) as raised:
        load_service_area(str(path))
    assert str(raised.value).startswith("setting service_area: ") and "\n" not in str(raised.value)


def test_size_and_vertex_limits(tmp_path):
    ring = [[-72, 42]] * (MAX_VERTICES // 2 - 2) + [[-71, 42], [-71, 43], [-72, 42]]  # compact: under 5 MB
    many = {"type": "MultiPolygon", "coordinates": [[ring], [ring], [ring]]}
    with pytest.raises(UserError, match="more than 200,000 vertices"):
        load_service_area(str(write(tmp_path, many)))
    big = tmp_path / "big.geojson"
    big.write_bytes(b" " * 5_000_001)
    with pytest.raises(UserError, match="larger than 5,000,000 bytes"):
        load_service_area(str(big))
    with pytest.raises(UserError, match="cannot read"):
        load_service_area(str(tmp_path / "missing.geojson"))
    (tmp_path / "u16.geojson").write_text(json.dumps(MULTI), encoding="utf-16")
    with pytest.raises(UserError, match="not UTF-8"):
        load_service_area(str(tmp_path / "u16.geojson"))


def test_empty_setting_is_no_area_and_a_setting_that_is_neither_is_refused():
    assert load_service_area("") is None and load_service_area("   ") is None
    with pytest.raises(UserError, match="a box south,west,north,east or the path of a .geojson"):
        Settings({"service_area": "Chicopee please"})
    assert Settings({"service_area": "/etc/rtic/area.geojson"}).service_area == "/etc/rtic/area.geojson"


def _oracle(ring, x, y):
    """Crossing number written the other way round (count edges crossing a ray to the left)."""
    crossings = 0
    for (ax, ay), (bx, by) in zip(ring, ring[1:]):
        if min(ay, by) < y <= max(ay, by):
            t = (y - ay) / (by - ay)
            if ax + t * (bx - ax) < x:
                crossings += 1
    return crossings % 2 == 1


@settings(max_examples=300, deadline=None)
@given(st.floats(42.05, 42.35), st.floats(-72.75, -72.45))
def test_point_in_polygon_agrees_with_an_oracle(lat, lon):
    from console.domain.service_area import ServiceArea

    polygons = (([tuple(p) for p in OUTER], [tuple(p) for p in HOLE]), ([tuple(p) for p in ISLAND],))
    area = ServiceArea("t", tuple(tuple(tuple(r) for r in poly) for poly in polygons), (42.12, -72.70, 42.31, -72.50))
    expected = (_oracle(OUTER, lon, lat) and not _oracle(HOLE, lon, lat)) or _oracle(ISLAND, lon, lat)
    on_an_edge = any(abs(lat - p[1]) < 1e-9 or abs(lon - p[0]) < 1e-9 for p in OUTER + HOLE + ISLAND)
    if not on_an_edge:
        assert area.contains(lat, lon) == expected


def test_the_demo_names_chicopees_box_and_its_cameras_and_incidents_lie_inside(sqlite_url):
    from sqlalchemy import text

    from console.services.demo import create_demo
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key

    with open_database(sqlite_url, create=True) as database:
        summary = create_demo(database, ContactCipher(load_contact_key()), cameras=2500, seed=3)
        with database.engine.connect() as conn:
            points = conn.execute(text("SELECT lat, lon FROM cameras UNION ALL SELECT lat, lon FROM incidents")).all()
    area = load_service_area(summary["service_area"])
    assert summary["service_area"] == "42.12,-72.66,42.21,-72.50" and len(points) > 2500
    assert all(area.contains(lat, lon) for lat, lon in points)
