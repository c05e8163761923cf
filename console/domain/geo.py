"""Great-circle geometry on a spherical Earth: distances, bearings and the boxes that bound a search circle.

One sphere (mean radius 6,371,008.8 m) everywhere, so the index-backed search and a brute-force scan agree
to the last bit. The sphere's error against WGS 84 (< 0.5 %) is far below what a camera search cares about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8

# A little slack on every box edge (about 1 cm) so rounding in the bounds never drops a camera on the edge;
# the exact distance check after the box does the real filtering.
_EDGE_SLACK_DEG = 1e-7


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    return distance_from(lat1, lon1)(lat2, lon2)


def distance_from(lat: float, lon: float):
    """haversine_m from a fixed point, with the point's share of the work done once (a search runs it per camera)."""
    radians, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
    p1 = radians(lat)
    cos_p1 = cos(p1)

    def distance(lat2: float, lon2: float) -> float:
        p2 = radians(lat2)
        h = sin((p2 - p1) / 2) ** 2 + cos_p1 * cos(p2) * sin(radians(lon2 - lon) / 2) ** 2
        return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(h)))

    return distance


def initial_bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Compass bearing from point 1 towards point 2, 0..360 degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def compass_point(bearing_deg: float) -> str:
    """'N', 'NE', ... for a bearing, as a dispatcher says it."""
    points = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
    return points[int((bearing_deg % 360) / 45 + 0.5) % 8]


@dataclass(frozen=True)
class Box:
    """A latitude/longitude rectangle that never crosses the antimeridian (min_lon <= max_lon)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def bounding_boxes(lat: float, lon: float, radius_m: float) -> list[Box]:
    """One or two boxes that together contain every point within `radius_m` of (lat, lon).

    The latitude band is exact (the circle's northernmost and southernmost points lie on the centre's
    meridian). The longitude half-width is asin(sin r / cos lat), the longitude of the circle's tangent
    meridians; when the circle reaches a pole every longitude is inside. A box crossing the antimeridian
    is split in two.
    """
    r = radius_m / EARTH_RADIUS_M  # angular radius
    min_lat = lat - math.degrees(r)
    max_lat = lat + math.degrees(r)
    if r >= math.pi or max_lat >= 90.0 or min_lat <= -90.0:
        return [Box(max(min_lat, -90.0) - _EDGE_SLACK_DEG, min(max_lat, 90.0) + _EDGE_SLACK_DEG, -180.0, 180.0)]
    half_width = math.degrees(math.asin(min(1.0, math.sin(r) / math.cos(math.radians(lat)))))
    min_lat -= _EDGE_SLACK_DEG
    max_lat += _EDGE_SLACK_DEG
    west, east = lon - half_width - _EDGE_SLACK_DEG, lon + half_width + _EDGE_SLACK_DEG
    if east - west >= 360.0:
        return [Box(min_lat, max_lat, -180.0, 180.0)]
    if west < -180.0:
        return [Box(min_lat, max_lat, west + 360.0, 180.0), Box(min_lat, max_lat, -180.0, east)]
    if east > 180.0:
        return [Box(min_lat, max_lat, west, 180.0), Box(min_lat, max_lat, -180.0, east - 360.0)]
    return [Box(min_lat, max_lat, west, east)]


def validate_point(lat: float, lon: float) -> None:
    """Raise ValueError with a sentence a person can act on when a point is not on Earth."""
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude {lat} is out of range: it must be between -90 and 90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude {lon} is out of range: it must be between -180 and 180")
