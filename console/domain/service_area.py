"""The agency's service area (setting `service_area`): a place outside it is never taken without a person's word.

Given as a bounding box "south,west,north,east" in degrees, or as GeoJSON (a Polygon or MultiPolygon, or a
Feature / FeatureCollection of them; holes allowed). Pure: the caller reads the file; this module checks size,
nesting, vertex count and every coordinate, and answers `contains(lat, lon)` by ray casting (even-odd rule; a
point on an edge may fall either way, which is far below a geocoder's own error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from console.domain.bounded_json import JsonRefused, loads_bounded

MAX_FILE_BYTES = 5_000_000
MAX_VERTICES = 200_000
MAX_DEPTH = 16
MAX_FEATURES = 1_000

Ring = tuple[tuple[float, float], ...]  # (lon, lat) pairs, as GeoJSON orders them; closed
Polygon = tuple[Ring, ...]  # the outer ring, then holes


class ServiceAreaInvalid(ValueError):
    """The setting or file does not describe an area; the message says what to fix."""


@dataclass(frozen=True)
class ServiceArea:
    name: str  # how messages name it: the box as given, or the file's name
    polygons: tuple[Polygon, ...]
    bounds: tuple[float, float, float, float]  # south, west, north, east
    is_box: bool = False

    def contains(self, lat: float, lon: float) -> bool:
        south, west, north, east = self.bounds
        if not (south <= lat <= north and west <= lon <= east):
            return False
        if self.is_box:
            return True
        for polygon in self.polygons:
            if _in_ring(polygon[0], lon, lat) and not any(_in_ring(hole, lon, lat) for hole in polygon[1:]):
                return True
        return False

    def describe(self) -> str:
        return f"the service area ({self.name})"


def looks_like_box(text: str) -> bool:
    """Four comma-separated values, not a file name: read (and checked) as a box."""
    text = (text or "").strip()
    return text.count(",") == 3 and not text.lower().endswith((".geojson", ".json"))


def parse_box(text: str) -> ServiceArea:
    """A bounding box "south,west,north,east" (degrees)."""
    try:
        south, west, north, east = (float(part) for part in text.split(","))
    except ValueError:
        raise ServiceAreaInvalid(f"{text!r} is not a box: write south,west,north,east like "
                                 "42.11,-72.66,42.21,-72.51") from None
    if not all(math.isfinite(v) for v in (south, west, north, east)):
        raise ServiceAreaInvalid(f"{text!r}: the box's numbers must be finite degrees")
    if not (-90 <= south < north <= 90):
        raise ServiceAreaInvalid(f"{text!r}: south must be less than north, both within -90..90")
    if not (-180 <= west < east <= 180):
        raise ServiceAreaInvalid(f"{text!r}: west must be less than east, both within -180..180 "
                                 "(an area across the 180th meridian needs a GeoJSON MultiPolygon)")
    ring = ((west, south), (east, south), (east, north), (west, north), (west, south))
    name = ",".join(f"{v:g}" for v in (south, west, north, east))
    return ServiceArea(name, ((ring,),), (south, west, north, east), is_box=True)


def parse_geojson(data: bytes, name: str) -> ServiceArea:
    """The area in a GeoJSON document (the bytes of a file called `name`)."""
    if len(data) > MAX_FILE_BYTES:
        raise ServiceAreaInvalid(f"{name} is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        document = loads_bounded(data.decode("utf-8-sig"), max_chars=MAX_FILE_BYTES, max_depth=MAX_DEPTH)
    except UnicodeDecodeError:
        raise ServiceAreaInvalid(f"{name} is not UTF-8 text") from None
    except JsonRefused as exc:
        raise ServiceAreaInvalid(f"{name} cannot be read: {exc}") from None
    polygons: list[Polygon] = []
    _collect(document, polygons, name)
    if not polygons:
        raise ServiceAreaInvalid(f"{name} holds no Polygon or MultiPolygon")
    if sum(len(ring) for polygon in polygons for ring in polygon) > MAX_VERTICES:
        raise ServiceAreaInvalid(f"{name} has more than {MAX_VERTICES:,} vertices: simplify the boundary")
    lons = [x for polygon in polygons for x, _ in polygon[0]]
    lats = [y for polygon in polygons for _, y in polygon[0]]
    return ServiceArea(name, tuple(polygons), (min(lats), min(lons), max(lats), max(lons)))


def _collect(node: Any, out: list[Polygon], name: str) -> None:
    if not isinstance(node, dict):
        raise ServiceAreaInvalid(f"{name}: expected a GeoJSON object")
    kind = node.get("type")
    if kind == "FeatureCollection":
        features = node.get("features")
        if not isinstance(features, list) or len(features) > MAX_FEATURES:
            raise ServiceAreaInvalid(f"{name}: a FeatureCollection needs a list of at most {MAX_FEATURES} features")
        for feature in features:
            _collect(feature, out, name)
    elif kind == "Feature":
        _collect(node.get("geometry"), out, name)
    elif kind == "Polygon":
        out.append(_polygon(node.get("coordinates"), name))
    elif kind == "MultiPolygon":
        parts = node.get("coordinates")
        if not isinstance(parts, list) or not parts:
            raise ServiceAreaInvalid(f"{name}: a MultiPolygon needs a list of polygons")
        out.extend(_polygon(part, name) for part in parts)
        if len(out) > MAX_FEATURES:
            raise ServiceAreaInvalid(f"{name} has more than {MAX_FEATURES} polygons")
    else:
        raise ServiceAreaInvalid(f"{name}: {str(kind)[:40]!r} is not a Polygon, MultiPolygon, Feature or "
                                 "FeatureCollection")


def _polygon(rings: Any, name: str) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise ServiceAreaInvalid(f"{name}: a Polygon needs a list of rings")
    out = []
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4 or len(ring) > MAX_VERTICES:
            raise ServiceAreaInvalid(f"{name}: a ring needs 4 to {MAX_VERTICES:,} positions")
        points = tuple(_position(p, name) for p in ring)
        if points[0] != points[-1]:
            raise ServiceAreaInvalid(f"{name}: a ring must end where it starts (GeoJSON closes every ring)")
        out.append(points)
    return tuple(out)


def _position(value: Any, name: str) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) < 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value[:2])):
        raise ServiceAreaInvalid(f"{name}: a position must be [longitude, latitude], not {str(value)[:40]}")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ServiceAreaInvalid(f"{name}: {lon:g}, {lat:g} is not a longitude, latitude on Earth")
    return lon, lat


def _in_ring(ring: Ring, x: float, y: float) -> bool:
    inside = False
    x1, y1 = ring[-1]
    for x2, y2 in ring:
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
        x1, y1 = x2, y2
    return inside
