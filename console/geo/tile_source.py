"""Tiles from the agency's XYZ tile server, fetched for the map page (through tiles://) with an identifying agent.

Fetching here rather than in the page means one place sets the User-Agent the tile usage policies ask for, and
the page never talks to the network itself. Blocking: the GUI calls `tile()` from its tile-reading threads.
"""

from __future__ import annotations

import threading

import requests

from console.domain.redaction import redact
from console.errors import UserError

_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class UrlTiles:
    def __init__(self, template: str, user_agent: str, timeout_s: float = 10.0, max_zoom: int = 19):
        if not all(part in template for part in ("{z}", "{x}", "{y}")):
            raise UserError(f"the tile URL {redact(template)!r} must contain {{z}}, {{x}} and {{y}}: "
                            "fix the setting tile_url")
        self.template, self.timeout_s, self.max_zoom = template, timeout_s, max_zoom
        self.path = redact(template)  # shown in log lines, like an MBTiles file's path: never with its key
        self.metadata: dict[str, str] = {}
        self.image_format = "png"
        self._local = threading.local()  # a requests.Session is not safe to share between threads
        self._user_agent = user_agent

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["User-Agent"] = self._user_agent
        return session

    def url(self, z: int, x: int, y: int) -> str:
        return self.template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y)) \
            .replace("{s}", "abc"[(x + y) % 3])

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes, or None when the server has none or cannot be reached (the map shows a gap)."""
        try:
            reply = self._session().get(self.url(z, x, y), timeout=self.timeout_s)
        except requests.RequestException:
            return None
        if reply.status_code != 200:
            return None
        kind = reply.headers.get("Content-Type", "image/png").split(";")[0].strip()
        self.image_format = _IMAGE_TYPES.get(kind, "png")
        return reply.content

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
