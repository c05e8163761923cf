"""Great-circle distance, bearings and the boxes that bound a search circle."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.geo import (
    bounding_boxes,
    compass_point,
    haversine_m,
    initial_bearing_deg,
    validate_point,
)
from tests.support.geometry import destination

lats = st.floats(-90, 90, allow_nan=False)
lons = st.floats(-180, 180, allow_nan=False)


def test_known_distances():
    # Chicopee centre to Springfield centre is about 5.4 km; one degree of latitude is about 111.2 km.
    assert haversine_m(42.1487, -72.6079, 42.1015, -72.5898) == pytest.approx(5440, rel=0.02)
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)
    assert haversine_m(10, 179.9, 10, -179.9) == pytest.approx(21_900, rel=0.01)  # across the antimeridian


def test_bearings_and_compass_points():
    assert initial_bearing_deg(0, 0, 1, 0) == pytest.approx(0)
    assert initial_bearing_deg(0, 0, 0, 1) == pytest.approx(90)
    assert initial_bearing_deg(0, 0, -1, 0) == pytest.approx(180)
    assert [compass_point(b) for b in (0, 44, 46, 180, 270, 350)] == ["N", "NE", "NE", "S", "W", "N"]


@pytest.mark.parametrize("lat,lon", [(91, 0), (-90.5, 0), (0, 180.1), (0, -181), (math.nan, 0), (0, math.inf)])
def test_points_off_the_earth_are_refused_with_a_reason(lat, lon):
    with pytest.raises(ValueError, match="out of range"):
        validate_point(lat, lon)


@settings(max_examples=400)
@given(lats, lons, st.floats(0, 2_000_000), st.floats(0, 360), st.floats(0, 1))
def test_every_point_of_the_circle_lies_in_a_box(lat, lon, radius, bearing, fraction):
    """Whatever the centre (poles, antimeridian) the boxes never leave out a point inside the circle."""
    plat, plon = destination(lat, lon, bearing, radius * fraction)
    if haversine_m(lat, lon, plat, plon) > radius:  # rounding in `destination` can step just outside
        return
    boxes = bounding_boxes(lat, lon, radius)
    assert all(b.min_lon <= b.max_lon and -180 <= b.min_lon and b.max_lon <= 180 for b in boxes)
    assert any(b.min_lat <= plat <= b.max_lat and b.min_lon <= plon <= b.max_lon for b in boxes)


def test_boxes_are_tight_away_from_the_poles():
    (box,) = bounding_boxes(42.1487, -72.6079, 500)
    assert box.max_lat - box.min_lat == pytest.approx(2 * 500 / 111_195, rel=1e-3)
    assert box.max_lon - box.min_lon == pytest.approx(2 * 500 / (111_195 * math.cos(math.radians(42.1487))), rel=1e-3)


def test_antimeridian_and_pole_boxes():
    assert len(bounding_boxes(0, 179.999, 1000)) == 2
    assert len(bounding_boxes(0, -179.999, 1000)) == 2
    (polar,) = bounding_boxes(89.999, 10, 1000)
    assert (polar.min_lon, polar.max_lon, polar.max_lat) == (-180, 180, pytest.approx(90, abs=1e-6))
