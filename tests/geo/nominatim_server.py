"""Local stand-ins for the agency's geocoder, on loopback: recorded real answers of Nominatim, Pelias, ArcGIS and the
US Census geocoder (tests/data/geocoders), served on each service's own path for the address in its own parameter.

`GeocoderServer(kind, answers)`: answers maps an address (any case) to an `Answer` (status, body, content type),
or to the name of a recorded file; an address it does not know gets the kind's recorded empty answer. Requests are
recorded (path, query, User-Agent). `Answer.hang()` never answers (a geocoder that accepted and went quiet).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.support.local_http import LocalHttpServer, QuietHandler

RECORDED = Path(__file__).resolve().parent.parent / "data" / "geocoders"
PATHS = {"nominatim": "/search", "pelias": "/v1/search", "arcgis": "/findAddressCandidates",
         "census": "/geocoder/locations/onelineaddress"}
QUERY_PARAMETER = {"nominatim": "q", "pelias": "text", "arcgis": "SingleLine", "census": "address"}


@dataclass(frozen=True)
class Answer:
    body: bytes
    status: int = 200
    content_type: str = "application/json; charset=utf-8"
    hangs: bool = False

    @classmethod
    def recorded(cls, name: str, status: int = 200) -> Answer:
        kind = "text/html; charset=utf-8" if name.endswith(".html") else "application/json; charset=utf-8"
        return cls((RECORDED / name).read_bytes(), status, kind)

    @classmethod
    def json(cls, document, status: int = 200) -> Answer:
        return cls(json.dumps(document).encode(), status)

    @classmethod
    def hang(cls) -> Answer:
        return cls(b"", hangs=True)


class GeocoderServer(LocalHttpServer):
    def __init__(self, kind: str, answers: dict[str, Answer | str] | None = None):
        self.kind = kind
        self.answers = {k.lower(): Answer.recorded(v) if isinstance(v, str) else v
                        for k, v in (answers or {}).items()}
        self.empty = Answer.recorded(f"{kind}_empty.json")
        self.requests: list[dict] = []
        self.released = threading.Event()
        server = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                server.requests.append({"path": parts.path, "query": query,
                                        "user_agent": self.headers.get("User-Agent", "")})
                if parts.path != PATHS[server.kind]:
                    self.send_error(404, "not a path of this geocoder")
                    return
                answer = server.answers.get(query.get(QUERY_PARAMETER[server.kind], "").lower(), server.empty)
                if answer.hangs:
                    server.released.wait(30)  # until the test ends: the client must give up by itself
                    return
                self.reply(answer.content_type, answer.body, answer.status)

        super().__init__(Handler)
        self.url = self.base_url

    def __exit__(self, *exc) -> None:
        self.released.set()
        super().__exit__(*exc)


def place(display_name: str, lat: float, lon: float, place_id: int = 1) -> dict:
    """One result as Nominatim's format=json gives it (coordinates are strings there)."""
    return {
        "place_id": place_id, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.", "osm_type": "way",
        "osm_id": 1000 + place_id, "lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "class": "building", "type": "house",
        "place_rank": 30, "importance": 0.3, "addresstype": "building", "name": "", "display_name": display_name,
        "boundingbox": [f"{lat - 0.0001:.7f}", f"{lat + 0.0001:.7f}", f"{lon - 0.0001:.7f}", f"{lon + 0.0001:.7f}"],
    }


class NominatimServer(GeocoderServer):
    """A Nominatim answering each address with the given places (format=json only, `limit` honoured)."""

    def __init__(self, places: dict[str, list[dict]]):
        self.places = {k.lower(): v for k, v in places.items()}
        super().__init__("nominatim")
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

        self.httpd.RequestHandlerClass = Handler


def closed_port_url() -> str:
    """A URL where nothing listens (a laptop with no network reaching its geocoder)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
