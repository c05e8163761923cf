"""A local registration portal speaking the registry feed protocol (resources/openapi/registry-feed.json).

Serves `GET /changes?cursor=C&limit=N` from an in-memory list of change items, with opaque cursors, paging,
ETags (304 when If-None-Match matches) and bearer-token checking, and records every request. Faults can be
planned for the next requests, or for requests at one cursor: an HTTP status (500, 429 with Retry-After), a
page that is not JSON, a dropped connection (before any answer, or halfway through the body).

Long poll (protocol 1.1): with `long_poll_max_s` > 0 every page says so, and a request with `wait=S` at the end of
the log is held open until an item is added or S seconds (at most `long_poll_max_s`) pass; then it is answered as
any request would be (an empty page, or 304 when If-None-Match still matches).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from tests.support.local_http import LocalHttpServer, QuietHandler

DEFAULT_LIMIT = 100


@dataclass
class Fault:
    kind: str  # "status", "malformed", "drop", "drop_mid_body"
    status: int = 500
    retry_after: str | None = None
    at_cursor: str | None = None  # only requests at this cursor ("" = the first page); None: any request
    times: int = 1


def cursor_for(position: int) -> str:
    return f"pos-{position:06d}"


class PortalServer(LocalHttpServer):
    def __init__(self, items: list[dict] | None = None, token: str | None = None, max_limit: int = 1000,
                 long_poll_max_s: int = 0):
        self.items: list[dict] = list(items or [])
        self.long_poll_max_s = long_poll_max_s
        self.extra: dict = {}  # added to every page as is (hostile tests: a bad long_poll_max_s, ...)
        self.held = 0  # requests being held open right now
        self.token = token
        self.max_limit = max_limit
        self.faults: list[Fault] = []
        self.requests: list[dict] = []  # {"cursor", "limit", "headers", "status"}
        self.responses: list[dict] = []  # the JSON bodies of the 200 answers, for schema checks
        self.stuck = False  # a broken portal: next_cursor is the cursor asked for, has_more stays true
        # Called once (then cleared) before the next page is answered: e.g. another console syncing meanwhile.
        self.before_next_page = None
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.closing = False
        server = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                server.handle(self)

        super().__init__(Handler)

    # --- test controls ------------------------------------------------------------------------------

    def add(self, *items: dict) -> None:
        with self.lock:
            self.items.extend(items)
            self.changed.notify_all()

    def wait_until_held(self, timeout: float = 20.0) -> bool:
        """True once a long poll is being held open (the console is waiting at the portal)."""
        with self.lock:
            return self.changed.wait_for(lambda: self.held > 0, timeout=timeout)

    def __exit__(self, *exc) -> None:
        with self.lock:
            self.closing = True
            self.changed.notify_all()
        super().__exit__(*exc)

    def fail(self, kind: str, status: int = 500, retry_after: str | None = None, at_cursor: str | None = None,
             times: int = 1) -> None:
        self.faults.append(Fault(kind, status, retry_after, at_cursor, times))

    @property
    def statuses(self) -> list[int]:
        return [r["status"] for r in self.requests]

    # --- the protocol -------------------------------------------------------------------------------

    def handle(self, h: QuietHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        cursor = query.get("cursor")
        record = {"cursor": cursor, "limit": query.get("limit"), "wait": query.get("wait"), "headers": dict(h.headers),
                  "status": None}
        self.requests.append(record)
        if parts.path != "/changes":
            return self._json(h, record, 404, {"error": "not found"})
        if self.token is not None and h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json(h, record, 401, {"error": "missing or wrong bearer token"})
        fault = self._fault(cursor or "")
        if fault is not None:
            return self._fault_answer(h, record, fault)
        try:
            position = 0 if cursor is None else int(cursor.removeprefix("pos-"))
            limit = min(int(query.get("limit", DEFAULT_LIMIT)), self.max_limit)
            wait = int(query.get("wait", "0"))
            if position < 0 or limit < 1 or not (cursor is None or cursor.startswith("pos-")) or not 0 <= wait <= 30:
                raise ValueError
        except ValueError:
            return self._json(h, record, 400, {"error": "bad cursor, limit or wait"})
        with self.lock:
            wait = min(wait, self.long_poll_max_s)
            if wait and position == len(self.items) and not self.closing:
                self.held += 1
                self.changed.notify_all()  # wait_until_held
                try:  # the long poll: answer as soon as something is added, or when the wait is over
                    self.changed.wait_for(lambda: len(self.items) > position or self.closing, timeout=wait)
                finally:
                    self.held -= 1
            if position > len(self.items):
                return self._json(h, record, 410, {"error": "cursor unknown: read the feed from the start"})
            page = self.items[position:position + limit]
            total = len(self.items)
        etag = f'"{position}-{total}"'
        if h.headers.get("If-None-Match") == etag:
            record["status"] = 304
            h.send_response(304)
            h.send_header("ETag", etag)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return None
        hook, self.before_next_page = self.before_next_page, None
        if hook is not None:
            hook()
        end = position + len(page)
        body = {"items": page, "next_cursor": cursor_for(end), "has_more": end < total}
        if self.long_poll_max_s:
            body["long_poll_max_s"] = self.long_poll_max_s
        body.update(self.extra)
        if self.stuck:
            body.update(next_cursor=cursor_for(position), has_more=True)
        self.responses.append(body)
        return self._json(h, record, 200, body, {"ETag": etag})

    def _fault(self, cursor: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.at_cursor is None or fault.at_cursor == cursor):
                    fault.times -= 1
                    return fault
        return None

    def _fault_answer(self, h: QuietHandler, record: dict, fault: Fault) -> None:
        if fault.kind == "drop":
            record["status"] = "dropped"
            h.close_connection = True
            return
        if fault.kind == "drop_mid_body":
            record["status"] = "dropped mid-body"
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "5000")
            h.end_headers()
            h.wfile.write(b'{"items": [')
            h.close_connection = True
            return
        if fault.kind == "malformed":
            record["status"] = 200
            h.send_response(200)
            body = b'{"items": [{"type": "camera", "portal_id": '
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        self._json(h, record, fault.status, {"error": "planned fault"}, headers)

    @staticmethod
    def _json(h: QuietHandler, record: dict, status: int, body: dict, headers: dict | None = None) -> None:
        record["status"] = status
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)


def camera(portal_id: str, **changes) -> dict:
    """A camera item as a portal sends it (every field of the CSV export; numbers as JSON numbers)."""
    n = sum(ord(c) for c in portal_id) % 50
    item = {"type": "camera", "portal_id": portal_id, "owner_name": f"Owner {portal_id}", "organisation": "",
            "phone": f"413-555-{1000 + n:04d}", "email": f"owner.{portal_id.lower()}@example.org",
            "address": f"{10 + n} Front St, Chicopee, MA", "lat": 42.15 + n / 10000, "lon": -72.6 - n / 10000,
            "camera_label": f"cam {portal_id}", "capability": "live", "sharing_mode": "on_alert",
            "stream_url": f"rtsp://viewer:pw-{portal_id}@10.1.0.{n + 1}:554/main", "bearing_deg": 90,
            "fov_deg": 80, "range_m": 30, "consent_date": "2026-10-01", "consent_channel": "web"}
    item.update(changes)
    return item


def alert(alert_id: str, camera_portal_id: str, starts_at: str, expires_at: str, **changes) -> dict:
    item = {"type": "alert", "alert_id": alert_id, "camera_portal_id": camera_portal_id, "scope": "camera",
            "starts_at": starts_at, "expires_at": expires_at, "source": "panic_button", "cancelled_at": None}
    item.update(changes)
    return item
