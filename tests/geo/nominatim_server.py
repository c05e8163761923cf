"""A local stand-in for the agency's Nominatim: answers /search with the real Nominatim JSON, records requests."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from tests.support.local_http import LocalHttpServer, QuietHandler


def place(display_name: str, lat: float, lon: float, place_id: int = 1) -> dict:
    """One result as Nominatim's format=json gives it (coordinates are strings there)."""
    return {
        "place_id": place_id, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.", "osm_type": "way",
        "osm_id": 1000 + place_id, "lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "class": "building", "type": "house",
        "place_rank": 30, "importance": 0.3, "addresstype": "building", "name": "", "display_name": display_name,
        "boundingbox": [f"{lat - 0.0001:.7f}", f"{lat + 0.0001:.7f}", f"{lon - 0.0001:.7f}", f"{lon + 0.0001:.7f}"],
    }


class NominatimServer(LocalHttpServer):
    def __init__(self, places: dict[str, list[dict]]):
        self.places = {k.lower(): v for k, v in places.items()}
        self.requests: list[dict] = []
        server = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                server.requests.append({"path": parts.path, "query": query,
                                        "user_agent": self.headers.get("User-Agent", "")})
                if parts.path != "/search" or query.get("format") != "json":
                    self.send_error(400, "Nominatim: unsupported request")
                    return
                found = server.places.get(query.get("q", "").lower(), [])[: int(query.get("limit", 10))]
                self.reply("application/json; charset=utf-8", json.dumps(found).encode())

        super().__init__(Handler)
        self.url = self.base_url


def closed_port_url() -> str:
    """A URL where nothing listens (a laptop with no network reaching its geocoder)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
