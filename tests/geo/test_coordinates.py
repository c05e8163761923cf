"""Coordinates as dispatchers type or paste them."""

from __future__ import annotations

import pytest

from console.errors import UserError
from console.geo.coordinates import looks_like_coordinates, parse_coordinates


@pytest.mark.parametrize("text, expected", [
    ("42.1487, -72.6079", (42.1487, -72.6079)),
    ("42.1487 -72.6079", (42.1487, -72.6079)),
    ("(42.1487; -72.6079)", (42.1487, -72.6079)),
    ("https://www.openstreetmap.org/#map=17/42.1487/-72.6079", (42.1487, -72.6079)),
    ("https://www.google.com/maps/@42.1487,-72.6079,17z", (42.1487, -72.6079)),
])
def test_decimal_pairs_and_map_links(text, expected):
    assert parse_coordinates(text) == pytest.approx(expected)
    assert looks_like_coordinates(text)


def test_degrees_minutes_seconds_with_marks():
    lat, lon = parse_coordinates("42°08'55\"N 72°36'28\"W")
    assert lat == pytest.approx(42.148611, abs=1e-5) and lon == pytest.approx(-72.607778, abs=1e-5)


@pytest.mark.parametrize("text, says", [
    ("", "no coordinates"),
    ("42", "not a pair"),
    ("452 Montgomery St", "not a pair"),
    ("42 08 55 N 72 36 28 W", "not a pair"),  # too easy to misread without marks
    ("91, 0", "latitude 91"),
    ("42, 181", "longitude 181"),
])
def test_what_is_not_a_point_says_why_with_an_example(text, says):
    with pytest.raises(UserError) as raised:
        parse_coordinates(text)
    assert says in str(raised.value) and "42.1487, -72.6079" in str(raised.value)
    assert not looks_like_coordinates(text)
