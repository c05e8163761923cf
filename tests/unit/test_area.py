"""Footage request rules with no I/O: which points an area holds, the time window, the status after a call."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from console.domain.footage import (
    Circle,
    ContactOutcome,
    FootageStatus,
    Polygon,
    check_window,
    default_window,
    enclosing_circle,
    point_in_polygon,
    status_after,
)
from console.domain.geo import haversine_m
from console.errors import UserError

NOW = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)

# An L-shaped block (concave): the notch at the top right is outside.
L_SHAPE = ((0.0, 0.0), (0.0, 2.0), (1.0, 2.0), (1.0, 1.0), (2.0, 1.0), (2.0, 0.0))


@pytest.mark.parametrize("lat, lon, inside", [
    (0.5, 0.5, True), (0.5, 1.5, True), (1.5, 0.5, True),
    (1.5, 1.5, False),  # the notch
    (3.0, 0.5, False), (-0.1, 0.5, False), (0.5, 2.1, False),
    (0.0, 0.0, True), (1.0, 1.5, True), (1.5, 1.0, True),  # corners and edges count as inside
    (2.0, 0.5, True), (2.0, 1.5, False),  # on the top edge; level with it but past its end
])
def test_points_of_a_concave_block(lat, lon, inside):
    assert point_in_polygon(lat, lon, L_SHAPE) is inside
    assert Polygon(L_SHAPE).contains(lat, lon) is inside


coordinate = st.floats(min_value=-60, max_value=60, allow_nan=False)


@given(coordinate, coordinate, coordinate, coordinate, coordinate, coordinate)
def test_a_box_holds_exactly_the_points_between_its_edges(lat1, lat2, lon1, lon2, lat, lon):
    assume(abs(lat1 - lat2) > 1e-6 and abs(lon1 - lon2) > 1e-6)
    south, north, west, east = min(lat1, lat2), max(lat1, lat2), min(lon1, lon2), max(lon1, lon2)
    ring = ((south, west), (north, west), (north, east), (south, east))
    expected = south <= lat <= north and west <= lon <= east
    assert point_in_polygon(lat, lon, ring) is expected
    assert point_in_polygon(lat, lon, tuple(reversed(ring))) is expected  # winding does not matter


@given(st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=8), coordinate, coordinate)
def test_the_answer_does_not_depend_on_the_first_corner(points, lat, lon):
    ring = tuple(points)
    shifted = ring[1:] + ring[:1]
    assert point_in_polygon(lat, lon, ring) == point_in_polygon(lat, lon, shifted)


@given(st.floats(-50, 50), st.floats(-170, 170), st.floats(10, 5000), st.floats(0, 359.9), st.floats(0, 1.2))
def test_circle_holds_what_is_within_its_radius(lat, lon, radius, bearing, fraction):
    from tests.support.geometry import destination

    circle = Circle(lat, lon, radius)
    p_lat, p_lon = destination(lat, lon, bearing, radius * fraction)
    assume(abs(haversine_m(lat, lon, p_lat, p_lon) - radius) > 0.01)
    assert circle.contains(p_lat, p_lon) is (haversine_m(lat, lon, p_lat, p_lon) <= radius)


@given(st.lists(st.tuples(st.floats(42.0, 42.01), st.floats(-72.61, -72.6)), min_size=3, max_size=8))
def test_the_enclosing_circle_holds_every_corner(points):
    try:
        polygon = Polygon(tuple(points))
    except UserError:
        return  # corners on one line
    circle = enclosing_circle(polygon)
    assert all(circle.contains(lat, lon) for lat, lon in polygon.points)


@pytest.mark.parametrize("points, message", [
    (((0, 0), (1, 1)), "at least 3 corner points"),
    (((0, 0), (1, 1), (0, 0)), "at least 3 corner points"),  # closed ring of two distinct points
    (((0, 0), (1, 1), (2, 2)), "on one line"),
    (((0, 0), (95, 1), (1, 2)), "not on Earth"),
    (((0, -179), (1, 179), (2, -179)), "180th meridian"),
])
def test_areas_that_cannot_be_searched_say_why(points, message):
    with pytest.raises(UserError, match=message):
        Polygon(points)


def test_a_closed_ring_is_the_same_area():
    assert Polygon(L_SHAPE + (L_SHAPE[0],)).points == L_SHAPE


@pytest.mark.parametrize("radius", [0, -5, float("nan")])
def test_a_circle_needs_a_radius(radius):
    with pytest.raises(UserError, match="radius"):
        Circle(42.0, -72.0, radius)


@pytest.mark.parametrize("start, end, message", [
    (NOW - timedelta(hours=1), NOW - timedelta(hours=2), "must end after it starts"),
    (NOW - timedelta(hours=1), NOW - timedelta(hours=1), "must end after it starts"),
    (NOW - timedelta(minutes=30), NOW + timedelta(minutes=5), "after now"),
    (NOW - timedelta(hours=3), NOW, "3 h 00 min long: at most 2 h 00 min"),
    (NOW.replace(tzinfo=None) - timedelta(hours=1), NOW.replace(tzinfo=None), "time zone"),
])
def test_windows_that_cannot_be_requested(start, end, message):
    with pytest.raises(UserError, match=message):
        check_window(start, end, NOW)


def test_a_setting_may_allow_a_longer_window():
    check_window(NOW - timedelta(hours=2), NOW, NOW)  # exactly the limit is fine
    with pytest.raises(UserError):
        check_window(NOW - timedelta(hours=3), NOW, NOW)
    check_window(NOW - timedelta(hours=3), NOW, NOW, max_window=timedelta(hours=4))


@pytest.mark.parametrize("incident_at, expected", [
    (NOW - timedelta(hours=5), (NOW - timedelta(hours=6), NOW - timedelta(hours=4))),
    (NOW - timedelta(minutes=20), (NOW - timedelta(minutes=80), NOW)),  # never ends in the future
])
def test_default_window_is_an_hour_either_side(incident_at, expected):
    assert default_window(incident_at, NOW) == expected


def test_default_window_is_clamped_to_the_limit():
    start, end = default_window(NOW - timedelta(hours=5), NOW, max_window=timedelta(minutes=30))
    assert end - start == timedelta(minutes=30)
    check_window(start, end, NOW, timedelta(minutes=30))


S, O = FootageStatus, ContactOutcome


@pytest.mark.parametrize("current, outcome, expected", [
    (S.OPEN, O.AGREED, S.AGREED),
    (S.OPEN, O.DECLINED, S.DECLINED),
    (S.OPEN, O.OVERWRITTEN, S.OVERWRITTEN),
    (S.OPEN, O.NO_ANSWER, S.NO_ANSWER),
    (S.OPEN, O.LEFT_MESSAGE, S.OPEN),
    (S.NO_ANSWER, O.LEFT_MESSAGE, S.NO_ANSWER),
    (S.NO_ANSWER, O.AGREED, S.AGREED),
    (S.AGREED, O.NO_ANSWER, S.AGREED),  # calling back to collect does not undo the agreement
    (S.AGREED, O.DECLINED, S.DECLINED),  # the owner changed their mind
    (S.DECLINED, O.AGREED, S.AGREED),
    (S.RECEIVED, O.DECLINED, S.RECEIVED),  # files in hand stay in hand
])
def test_status_after_an_attempt(current, outcome, expected):
    assert status_after(current, outcome) is expected
