"""Address look-up through the agency's geocoder: Nominatim, Pelias, ArcGIS (findAddressCandidates), US Census.

One request per `min_interval_s` at most (Nominatim's usage policy), an identifying User-Agent, a local SQLite
cache so a repeated address costs no request, and every candidate returned so the dispatcher picks when the
answer is ambiguous. Blocking: call it from a worker thread, never the GUI thread.

The four HTTP APIs are called with requests directly, not through geopy: geopy cannot bound a body's size, its
Pelias adapter takes no `limit` (every look-up failed with TypeError) and its ArcGIS adapter indexes error bodies
(KeyError). The answer is read at most MAX_BODY_BYTES, decoded with a depth limit and then read field by field
(console.geo.geocoder_answers). Every failure is one sentence: `GeocoderUnreachable` when the service gave no
usable answer now (CAD tries again later), a plain UserError when the address itself cannot be looked up.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

from console.domain.bounded_json import JsonRefused, loads_bounded
from console.domain.service_area import ServiceArea
from console.errors import UserError
from console.geo.geocoder_answers import AnswerRefused, Candidate, parse_answer

__all__ = ["Candidate", "Geocoder", "GeocoderUnreachable", "KINDS"]

KINDS = ("nominatim", "pelias", "arcgis", "census")
MAX_BODY_BYTES = 2_000_000
MAX_DEPTH = 32
MAX_ADDRESS = 500
DEFAULT_URLS = {"arcgis": "https://geocode.arcgis.com/arcgis/rest/services/World/GeocodeServer",
                "census": "https://geocoding.geo.census.gov"}
_PATHS = {"nominatim": "/search", "pelias": "/v1/search", "arcgis": "/findAddressCandidates",
          "census": "/geocoder/locations/onelineaddress"}
_CACHE_VERSION = "2"  # answers cached before scores were kept are asked again


class GeocoderUnreachable(UserError):
    """No usable answer from the geocoder now (no network, service down, refused, garbled): coordinates and map
    clicks still work, and CAD tries the same document again later."""


class Geocoder:
    def __init__(self, kind: str, url: str, user_agent: str, *, api_key: str = "", timeout_s: float = 5.0,
                 min_interval_s: float = 1.0, cache_path: Path | None = None,
                 service_area: ServiceArea | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if kind not in KINDS:
            raise UserError(f"geocoder kind {kind!r} is not known: use one of {', '.join(KINDS)}")
        self.kind, self.user_agent = kind, user_agent
        self.url = (url or DEFAULT_URLS.get(kind, "")).rstrip("/")
        if self.url and "://" not in self.url:
            self.url = f"https://{self.url}"
        self.timeout_s, self.min_interval_s, self.api_key = timeout_s, min_interval_s, api_key
        self.service_area = service_area
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()  # one request at a time, spaced, from any number of workers
        self._last_request: float | None = None
        self._cache = _Cache(cache_path) if cache_path else None
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})

    @property
    def configured(self) -> bool:
        return bool(self.url)

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc or self.url

    def lookup(self, address: str, limit: int = 5) -> list[Candidate]:
        """Candidates for the address, best first, each marked inside the service area or not; [] when nothing
        matches. Raises GeocoderUnreachable or UserError with one sentence."""
        address = " ".join((address or "").split())
        if not address:
            raise UserError("type an address to look up, or coordinates such as 42.1487, -72.6079")
        if len(address) > MAX_ADDRESS:
            raise UserError(f"the address is longer than {MAX_ADDRESS} characters: shorten it")
        if not self.configured:
            raise UserError("no geocoder is configured (setting geocoder_url): type coordinates or click the map")
        limit = max(1, min(int(limit), 50))
        key = f"v{_CACHE_VERSION}|{self.kind}|{self.url}|{address.lower()}|{limit}"
        found = self._cache.get(key) if self._cache is not None else None
        if found is None:
            with self._lock:
                self._wait_turn()
                try:
                    found = self._ask(address, limit)[:limit]
                finally:
                    self._last_request = self._clock()
            if self._cache is not None:
                self._cache.put(key, found)
        return [self._marked(c) for c in found]

    def _marked(self, candidate: Candidate) -> Candidate:
        inside = None if self.service_area is None else self.service_area.contains(candidate.lat, candidate.lon)
        return Candidate(candidate.label, candidate.lat, candidate.lon, candidate.score, inside)

    def _wait_turn(self) -> None:
        if self._last_request is not None:
            wait = self.min_interval_s - (self._clock() - self._last_request)
            if wait > 0:
                self._sleep(wait)

    def _params(self, address: str, limit: int) -> dict[str, Any]:
        if self.kind == "nominatim":
            return {"q": address, "format": "json", "limit": limit}
        if self.kind == "pelias":
            return {"text": address, "size": limit, **({"api_key": self.api_key} if self.api_key else {})}
        if self.kind == "arcgis":
            return {"SingleLine": address, "f": "json", "outSR": 4326, "outFields": "", "maxLocations": limit,
                    **({"token": self.api_key} if self.api_key else {})}
        return {"address": address, "benchmark": "Public_AR_Current", "format": "json"}

    def _ask(self, address: str, limit: int) -> list[Candidate]:
        status, reason, body = self._fetch(f"{self.url}{_PATHS[self.kind]}", self._params(address, limit))
        try:
            document = loads_bounded(body.decode("utf-8"), max_chars=MAX_BODY_BYTES, max_depth=MAX_DEPTH)
        except UnicodeDecodeError:
            document = None
            why = "text that is not UTF-8"
        except JsonRefused as exc:
            document = None
            looks_html = body.lstrip()[:1] == b"<"
            why = ("an HTML page, not JSON (perhaps a sign-in or rate-limit page)" if looks_html
                   else f"a body that {str(exc).removeprefix('it ')}")
        if status == 429:
            raise self._unreachable("is limiting requests (HTTP 429 Too Many Requests): wait a minute and try "
                                    "again, or type coordinates")
        if status >= 500:
            raise self._unreachable(f"has a fault (HTTP {status} {reason}): try again later, or type coordinates")
        if document is None:
            if status != 200:
                raise self._unreachable(f"refused the request (HTTP {status} {reason}): check the settings "
                                        "geocoder_url and geocoder_api_key")
            raise self._unreachable(f"answered with {why}: check the setting geocoder_url")
        try:
            found = parse_answer(self.kind, document)
        except AnswerRefused as exc:
            if status != 200 and "refused the request" not in str(exc):  # the status says more than the body
                raise self._unreachable(f"refused the request (HTTP {status} {reason}): check the settings "
                                        "geocoder_url and geocoder_api_key") from None
            raise self._unreachable(f"gave no usable answer: {exc}") from None
        if status != 200:  # a JSON body that did not say what was wrong
            raise self._unreachable(f"refused the request (HTTP {status} {reason}): check the settings "
                                    "geocoder_url and geocoder_api_key")
        return found

    def _fetch(self, url: str, params: dict[str, Any]) -> tuple[int, str, bytes]:
        try:
            with self._session.get(url, params=params, timeout=self.timeout_s, stream=True,
                                   allow_redirects=False) as reply:
                chunks, size = [], 0
                give_up = time.monotonic() + 2 * self.timeout_s  # a server trickling bytes is not waited for
                for chunk in reply.iter_content(65536):
                    size += len(chunk)
                    if time.monotonic() > give_up:
                        raise requests.Timeout()
                    if size > MAX_BODY_BYTES:
                        raise self._unreachable(f"sent an answer larger than {MAX_BODY_BYTES:,} bytes: check the "
                                                "setting geocoder_url")
                    chunks.append(chunk)
                return reply.status_code, (reply.reason or "")[:60], b"".join(chunks)
        except requests.Timeout:
            raise self._unreachable(f"did not answer within {self.timeout_s:g} s: type coordinates or click the "
                                    "map instead") from None
        except requests.RequestException as exc:
            raise self._unreachable(f"cannot be reached ({exc.__class__.__name__}): type coordinates or click the "
                                    "map instead") from None

    def _unreachable(self, what: str) -> GeocoderUnreachable:
        return GeocoderUnreachable(f"the {self.kind} geocoder at {self.host} {what}")


class _Cache:
    """Answers kept on disk: a laptop offline in the field still finds addresses it looked up before."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        with closing(self._connect()) as conn, conn:
            conn.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, body TEXT, at REAL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=10)

    def get(self, key: str) -> list[Candidate] | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT body FROM answers WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return [Candidate(str(c["label"]), float(c["lat"]), float(c["lon"]),
                              None if c.get("score") is None else float(c["score"])) for c in json.loads(row[0])]
        except (ValueError, TypeError, KeyError, AttributeError):
            return None  # a damaged row: ask the geocoder again

    def put(self, key: str, found: list[Candidate]) -> None:
        body = json.dumps([{"label": c.label, "lat": c.lat, "lon": c.lon, "score": c.score} for c in found])
        with closing(self._connect()) as conn, conn:
            conn.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", (key, body, time.time()))


def geocoder_from_settings(settings: Any, cache_path: Path | None = None,
                           service_area: ServiceArea | None = None) -> Geocoder | None:
    """The agency's geocoder the settings name, or None when none is configured."""
    if not (settings.geocoder_url or settings.geocoder_kind in DEFAULT_URLS):
        return None
    return Geocoder(settings.geocoder_kind, settings.geocoder_url, settings.user_agent,
                    api_key=settings.geocoder_api_key, timeout_s=settings.geocoder_timeout_s,
                    min_interval_s=settings.geocoder_min_interval_s, cache_path=cache_path,
                    service_area=service_area)
