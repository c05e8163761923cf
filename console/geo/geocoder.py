"""Address look-up through the agency's geocoder (Nominatim, Pelias, ArcGIS via geopy; US Census by hand).

One request per `min_interval_s` at most (Nominatim's usage policy), an identifying User-Agent, a local
SQLite cache so a repeated address costs no request, and every candidate returned so the dispatcher picks
when the answer is ambiguous. Blocking: call it from a worker thread, never the GUI thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import requests
from geopy import geocoders
from geopy.exc import GeocoderQueryError, GeocoderServiceError, GeocoderTimedOut, GeocoderUnavailable

from console.errors import UserError

KINDS = ("nominatim", "pelias", "arcgis", "census")
_CENSUS_PATH = "/geocoder/locations/onelineaddress"


@dataclass(frozen=True)
class Candidate:
    """One place the geocoder thinks the address may be."""

    label: str
    lat: float
    lon: float


class GeocoderUnreachable(UserError):
    """No answer from the geocoder (no network, service down): coordinates and map clicks still work."""


class Geocoder:
    def __init__(self, kind: str, url: str, user_agent: str, *, api_key: str = "", timeout_s: float = 5.0,
                 min_interval_s: float = 1.0, cache_path: Path | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if kind not in KINDS:
            raise UserError(f"geocoder kind {kind!r} is not known: use one of {', '.join(KINDS)}")
        self.kind, self.url, self.user_agent = kind, url.rstrip("/"), user_agent
        self.timeout_s, self.min_interval_s, self.api_key = timeout_s, min_interval_s, api_key
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()  # one request at a time, spaced, from any number of workers
        self._last_request: float | None = None
        self._cache = _Cache(cache_path) if cache_path else None
        self._client = None if kind == "census" or not url else self._geopy_client()

    @property
    def configured(self) -> bool:
        return bool(self.url) or self.kind == "arcgis"

    def lookup(self, address: str, limit: int = 5) -> list[Candidate]:
        """Candidates for the address, best first; [] when nothing matches. Raises UserError with a reason."""
        address = " ".join((address or "").split())
        if not address:
            raise UserError("type an address to look up, or coordinates such as 42.1487, -72.6079")
        if not self.configured:
            raise UserError("no geocoder is configured (setting geocoder_url): type coordinates or click the map")
        key = f"{self.kind}|{self.url}|{address.lower()}|{limit}"
        if self._cache is not None:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        with self._lock:
            self._wait_turn()
            try:
                found = self._census(address, limit) if self.kind == "census" else self._geopy(address, limit)
            finally:
                self._last_request = self._clock()
        if self._cache is not None:
            self._cache.put(key, found)
        return found

    def _wait_turn(self) -> None:
        if self._last_request is not None:
            wait = self.min_interval_s - (self._clock() - self._last_request)
            if wait > 0:
                self._sleep(wait)

    def _geopy_client(self):
        parts = urlsplit(self.url if "://" in self.url else f"https://{self.url}")
        domain, scheme = parts.netloc + parts.path.rstrip("/"), parts.scheme
        common = {"user_agent": self.user_agent, "timeout": self.timeout_s, "scheme": scheme}
        if self.kind == "nominatim":
            return geocoders.Nominatim(domain=domain, **common)
        if self.kind == "pelias":
            return geocoders.Pelias(domain=domain, api_key=self.api_key or None, **common)
        return geocoders.ArcGIS(domain=domain, **common)

    def _geopy(self, address: str, limit: int) -> list[Candidate]:
        try:
            if self.kind == "arcgis":
                answer = self._client.geocode(address, exactly_one=False, out_fields=None)
            else:
                answer = self._client.geocode(address, exactly_one=False, limit=limit)
        except (GeocoderUnavailable, GeocoderTimedOut) as exc:
            raise self._unreachable(exc) from None
        except GeocoderQueryError as exc:
            raise UserError(f"the geocoder did not accept {address!r} ({exc}): check the address") from None
        except GeocoderServiceError as exc:
            raise self._unreachable(exc) from None
        return [Candidate(a.address, a.latitude, a.longitude) for a in (answer or [])[:limit]]

    def _census(self, address: str, limit: int) -> list[Candidate]:
        base = self.url or "https://geocoding.geo.census.gov"
        try:
            reply = requests.get(f"{base}{_CENSUS_PATH}", timeout=self.timeout_s,
                                 headers={"User-Agent": self.user_agent},
                                 params={"address": address, "benchmark": "Public_AR_Current", "format": "json"})
            reply.raise_for_status()
            matches = reply.json()["result"]["addressMatches"]
            return [Candidate(m["matchedAddress"], float(m["coordinates"]["y"]), float(m["coordinates"]["x"]))
                    for m in matches[:limit]]
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: Exception) -> GeocoderUnreachable:
        host = urlsplit(self.url).netloc or self.url
        return GeocoderUnreachable(
            f"the geocoder at {host} cannot be reached ({exc.__class__.__name__}): "
            "type coordinates or click the map instead"
        )


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
        return None if row is None else [Candidate(**c) for c in json.loads(row[0])]

    def put(self, key: str, found: list[Candidate]) -> None:
        body = json.dumps([c.__dict__ for c in found])
        with closing(self._connect()) as conn, conn:
            conn.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)", (key, body, time.time()))
