"""Coordinates typed or pasted by a dispatcher: '42.1487, -72.6079', '42.1487 -72.6079', DMS, a map link."""

from __future__ import annotations

import re
import warnings

from console.domain.geo import validate_point
from console.errors import UserError

# Map links carry the point in the URL: '...#map=17/42.1487/-72.6079', '...@42.1487,-72.6079,17z', '?q=42.1,-72.6'.
_LINK = re.compile(r"(?:map=\d+/|@|[?&](?:q|ll|query)=)(-?\d+(?:\.\d+)?)[/,](-?\d+(?:\.\d+)?)")
_HELP = "type latitude, longitude in degrees, for example 42.1487, -72.6079"


_DECIMAL_PAIR = re.compile(r"^\s*\(?\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*\)?\s*$")
# Degrees-minutes-seconds need explicit marks (°, ', "): bare "42 08 55 N" is too easy to misread.
_DMS = re.compile(r"[°'\"′″]")


def parse_coordinates(text: str) -> tuple[float, float]:
    """(lat, lon) from what a person typed or pasted; UserError with an example when it is not a point."""
    text = (text or "").strip()
    if not text:
        raise UserError(f"no coordinates given: {_HELP}")
    link = _LINK.search(text)
    pair = _DECIMAL_PAIR.match(text)
    if link or pair:
        match = link or pair
        lat, lon = float(match.group(1)), float(match.group(2))
    elif _DMS.search(text):
        from geopy.point import Point  # only here: importing geopy costs start-up time

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # geopy warns about normalising; the range check below decides
                point = Point(text)
        except (ValueError, TypeError):
            raise UserError(f"{text!r} is not a pair of coordinates: {_HELP}") from None
        lat, lon = point.latitude, point.longitude
    else:
        raise UserError(f"{text!r} is not a pair of coordinates: {_HELP}")
    try:
        validate_point(lat, lon)
    except ValueError as exc:
        raise UserError(f"{exc}; {_HELP}") from None
    return lat, lon


def looks_like_coordinates(text: str) -> bool:
    """True when the text reads as a point rather than an address (so no geocoder request is made)."""
    try:
        parse_coordinates(text)
    except UserError:
        return False
    return True
