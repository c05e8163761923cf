"""Road centerlines for the map when no tile server is configured (setting `streets_geojson`).

The file is outside data (an agency's GIS export, the NENA NG9-1-1 road centerline layer, or the demo's town):
it is read once off the GUI thread, bounded in size, and only numbers in range and plain street names leave
here. Names come from a plain `name`, a full-name field, or NENA's street-name parts; they are drawn as text on
a canvas in the page, never as markup. Each line crosses to the page as [name, lat, lon, lat, lon, ...].
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from console.errors import UserError

MAX_FILE_BYTES = 300_000_000  # a county's centerlines as GeoJSON are tens of MB
MAX_LINES = 400_000
MAX_POINTS = 6_000_000
MAX_NAME = 80
_FULL_NAME_FIELDS = ("name", "Name", "NAME", "FullName", "Full_Name", "FULLNAME", "FULL_NAME", "St_Full",
                     "STREET", "Street")
# NENA NG9-1-1 GIS Data Model street name parts, in reading order.
_NENA_PARTS = ("St_PreMod", "St_PreDir", "St_PreTyp", "St_PreSep", "St_Name", "St_PosTyp", "St_PosDir", "St_PosMod")


class StreetsError(UserError):
    """The streets file cannot be used; the message says why in one sentence."""


def street_name(properties) -> str:
    """The street's name as plain text (empty when it has none): control characters dropped, length bounded."""
    if not isinstance(properties, dict):
        return ""
    for key in _FULL_NAME_FIELDS:
        value = properties.get(key)
        if isinstance(value, str) and value.strip():
            return _plain(value)
    parts = [properties.get(key) for key in _NENA_PARTS]
    return _plain(" ".join(p for p in parts if isinstance(p, str)))


@lru_cache(maxsize=65_536)  # a county has a few thousand street names over tens of thousands of segments
def _plain(text: str) -> str:
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())[:MAX_NAME]


def _coordinate(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _line(coordinates) -> list[float] | None:
    """GeoJSON [[lon, lat], ...] as a flat [lat, lon, ...] (6 decimals, about 0.1 m); None when unusable."""
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        return None
    flat: list[float] = []
    for position in coordinates:
        if not isinstance(position, list) or len(position) < 2:
            return None
        lon, lat = _coordinate(position[0]), _coordinate(position[1])
        if lon is None or lat is None or not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            return None
        flat += [round(lat, 6), round(lon, 6)]
    return flat


def streets_from_geojson(document) -> tuple[list[list], int]:
    """The drawable lines of a GeoJSON FeatureCollection (LineString and MultiLineString features), and how many
    features were skipped (other geometry types, broken coordinates)."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise StreetsError("it is not a GeoJSON FeatureCollection")
    lines: list[list] = []
    skipped = points = 0
    for feature in document["features"]:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind == "LineString":
            parts = [geometry.get("coordinates")]
        elif kind == "MultiLineString" and isinstance(geometry.get("coordinates"), list):
            parts = geometry["coordinates"]
        else:
            skipped += 1
            continue
        name = street_name(feature.get("properties"))
        drawn = [flat for flat in map(_line, parts) if flat is not None]
        if not drawn:
            skipped += 1
        for flat in drawn:
            points += len(flat) // 2
            if len(lines) >= MAX_LINES or points > MAX_POINTS:
                raise StreetsError(f"it has more than {MAX_LINES:,} lines or {MAX_POINTS:,} points; "
                                   "give the service area's streets only")
            lines.append([name, *flat])
    return join_by_name(lines), skipped


def join_by_name(lines: list[list]) -> list[list]:
    """Lines of one street that meet end to start (centerlines are cut at every intersection) joined into one,
    so a name can run along the street rather than be squeezed into each block."""
    starts: dict[tuple, list[int]] = {}
    for index, line in enumerate(lines):
        if line[0]:
            starts.setdefault((line[0], line[1], line[2]), []).append(index)
    used = [False] * len(lines)
    joined: list[list] = []
    for index, line in enumerate(lines):
        if used[index]:
            continue
        used[index] = True
        chain = list(line)
        while chain[0]:
            following = [i for i in starts.get((chain[0], chain[-2], chain[-1]), ()) if not used[i]]
            if not following:
                break
            used[following[0]] = True
            chain.extend(lines[following[0]][3:])
        joined.append(chain)
    return joined


def load_streets(path: str | Path) -> tuple[list[list], int]:
    """Read the streets file (setting streets_geojson); StreetsError with one sentence when it cannot be used."""
    path = Path(path).expanduser()
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise StreetsError(f"the streets file {path} is {size / 1e6:.0f} MB (at most "
                               f"{MAX_FILE_BYTES / 1e6:.0f} MB)")
        with path.open("rb") as handle:
            document = json.loads(handle.read())
    except OSError as exc:
        raise StreetsError(f"the streets file {path} cannot be read: {exc.strerror or exc}") from None
    except (ValueError, RecursionError):
        raise StreetsError(f"the streets file {path} is not JSON") from None
    try:
        lines, skipped = streets_from_geojson(document)
    except StreetsError as exc:
        raise StreetsError(f"the streets file {path} cannot be used: {exc}") from None
    if not lines:
        raise StreetsError(f"the streets file {path} has no road lines (LineString features)")
    return lines, skipped
