"""What each geocoder answers, read into candidates or one sentence: Nominatim, Pelias, ArcGIS, US Census.

Pure (no I/O): the client (console.geo.geocoder) fetches and decodes the JSON, these functions check every field
they use. A candidate with a missing or out-of-range coordinate is dropped (when all are, the answer is refused
with the first reason); labels are cleaned of control characters and cut to MAX_LABEL; scores become 0..1 (None
where the service gives none). Error bodies are recognised even when they arrive with HTTP 200 (ArcGIS does so).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_LABEL = 300
MAX_CANDIDATES = 50


@dataclass(frozen=True)
class Candidate:
    """One place the geocoder thinks the address may be; `score` 0..1 (None: the service gives none);
    `inside` the service area (None: no area is configured)."""

    label: str
    lat: float
    lon: float
    score: float | None = None
    inside: bool | None = None


class AnswerRefused(ValueError):
    """The geocoder's answer cannot be used; the message is one sentence saying why (without the host)."""


def parse_answer(kind: str, document: Any) -> list[Candidate]:
    """Candidates in the order the service ranked them; [] when it found nothing; AnswerRefused otherwise."""
    return _PARSERS[kind](document)


def nominatim(document: Any) -> list[Candidate]:
    if isinstance(document, dict) and "error" in document:  # {"error": {"code": 400, "message": ...}} or text
        raise AnswerRefused(f"Nominatim refused the request ({_error_text(document['error'])})")
    places = _list(document, "a list of places")
    return _kept([(p, lambda p: (_field(p, "display_name"), p.get("lat"), p.get("lon"), None)) for p in places])


def pelias(document: Any) -> list[Candidate]:
    doc = _dict(document, "a GeoJSON FeatureCollection")
    errors = (doc.get("geocoding") or {}).get("errors") if isinstance(doc.get("geocoding"), dict) else None
    if errors:
        raise AnswerRefused(f"Pelias refused the request ({_error_text(errors)})")
    if doc.get("type") != "FeatureCollection":
        raise AnswerRefused("Pelias answered something that is not a GeoJSON FeatureCollection")
    features = _list(doc.get("features"), "a list of features")

    def read(feature):
        props = _dict(feature.get("properties"), "feature properties")
        geometry = _dict(feature.get("geometry"), "a feature geometry")
        if geometry.get("type") != "Point":
            raise AnswerRefused("a feature's geometry is not a Point")
        coordinates = _list(geometry.get("coordinates"), "[longitude, latitude]")
        if len(coordinates) < 2:
            raise AnswerRefused("a feature's coordinates are not [longitude, latitude]")
        return _field(props, "label"), coordinates[1], coordinates[0], _score(props.get("confidence"), 1.0)

    return _kept([(f, read) for f in features])


def arcgis(document: Any) -> list[Candidate]:
    doc = _dict(document, "a JSON object")
    if "error" in doc:  # e.g. {"error": {"code": 498, "message": "Invalid Token", "details": []}}, with HTTP 200
        error = doc["error"]
        code = error.get("code") if isinstance(error, dict) else None
        hint = ": check the setting geocoder_api_key" if code in (498, 499, 401, 403) else ""
        raise AnswerRefused(f"ArcGIS refused the request ({_error_text(error)}){hint}")
    reference = doc.get("spatialReference")
    if isinstance(reference, dict):
        wkid = reference.get("latestWkid", reference.get("wkid"))
        if wkid not in (None, 4326):
            raise AnswerRefused(f"ArcGIS answered in spatial reference {_short(wkid)}, not WGS 84 (4326)")
    candidates = _list(doc.get("candidates"), "a list of candidates")

    def read(candidate):
        location = _dict(candidate.get("location"), "a candidate location")
        return _field(candidate, "address"), location.get("y"), location.get("x"), _score(candidate.get("score"), 100)

    return _kept([(c, read) for c in candidates])


def census(document: Any) -> list[Candidate]:
    doc = _dict(document, "a JSON object")
    if doc.get("errors"):  # {"errors": ["Address cannot be empty ..."], "status": "400"}
        raise AnswerRefused(f"the Census geocoder refused the request ({_error_text(doc['errors'])})")
    result = _dict(doc.get("result"), "a result object")
    matches = _list(result.get("addressMatches"), "a list of addressMatches")

    def read(match):
        coordinates = _dict(match.get("coordinates"), "match coordinates")
        return _field(match, "matchedAddress"), coordinates.get("y"), coordinates.get("x"), None

    return _kept([(m, read) for m in matches])


_PARSERS = {"nominatim": nominatim, "pelias": pelias, "arcgis": arcgis, "census": census}


# --- checks ---------------------------------------------------------------------------------------------------


def _kept(items) -> list[Candidate]:
    """Each (raw, reader) read into a candidate; bad ones dropped; all bad: the first reason."""
    kept, first_reason = [], None
    for number, (raw, read) in enumerate(items[:MAX_CANDIDATES], 1):
        try:
            if not isinstance(raw, dict):
                raise AnswerRefused("it is not an object")
            label, lat, lon, score = read(raw)
            kept.append(Candidate(clean_label(label), *_point(lat, lon), score))
        except AnswerRefused as exc:
            first_reason = first_reason or f"candidate {number}: {exc}"
    if not kept and first_reason:
        raise AnswerRefused(f"none of its places could be used ({first_reason})")
    return kept


def _point(lat: Any, lon: Any) -> tuple[float, float]:
    try:
        if isinstance(lat, bool) or isinstance(lon, bool) or not isinstance(lat, (int, float, str)) \
                or not isinstance(lon, (int, float, str)):
            raise ValueError
        lat_f, lon_f = float(lat), float(lon)  # Nominatim sends strings: "42.1462300"
    except (TypeError, ValueError, OverflowError):
        raise AnswerRefused(f"{_short(lat)}, {_short(lon)} are not coordinates") from None
    if not (math.isfinite(lat_f) and math.isfinite(lon_f) and -90 <= lat_f <= 90 and -180 <= lon_f <= 180):
        raise AnswerRefused(f"{_short(lat)}, {_short(lon)} is not a place on Earth")
    return lat_f, lon_f


def _score(value: Any, full: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return round(min(1.0, max(0.0, value / full)), 4)


def clean_label(value: Any) -> str:
    """One line of plain text: control and format characters (bidi overrides too) become spaces, cut to MAX_LABEL."""
    text = value if isinstance(value, str) else ""
    text = text[: MAX_LABEL * 4]
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = " ".join(text.split())
    if not text:
        raise AnswerRefused("it has no label")
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _field(obj: dict, name: str) -> Any:
    if name not in obj:
        raise AnswerRefused(f"it has no {name}")
    return obj[name]


def _dict(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise AnswerRefused(f"expected {what}, got {_kind(value)}")
    return value


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise AnswerRefused(f"expected {what}, got {_kind(value)}")
    return value


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message") or error.get("description")
        parts = [f"error {_short(code)}" if code is not None else "", clean_or_empty(message)]
        return ": ".join(p for p in parts if p) or "no reason given"
    if isinstance(error, list):
        return "; ".join(clean_or_empty(e) for e in error[:3] if clean_or_empty(e)) or "no reason given"
    return clean_or_empty(error) or "no reason given"


def clean_or_empty(value: Any, limit: int = 120) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return ""
    try:
        return clean_label(str(value))[:limit]
    except AnswerRefused:
        return ""


def _short(value: Any) -> str:
    return repr(value)[:40]


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", type(None): "nothing"}.get(type(value),
                                                                                      type(value).__name__)
