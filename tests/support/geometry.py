"""Test geometry: points at a given distance and bearing, to place cameras around a search centre."""

import math

from console.domain.geo import EARTH_RADIUS_M


def destination(lat, lon, bearing_deg, distance_m):
    """The point `distance_m` from (lat, lon) along `bearing_deg` (spherical direct problem)."""
    d = distance_m / EARTH_RADIUS_M
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180
