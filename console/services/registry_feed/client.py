"""The registry feed's HTTP side: one page per call, retried as the protocol allows.

Connection errors, timeouts, 5xx and 429 are retried with exponential backoff (Retry-After honoured). The token
is sent as `Authorization: Bearer` and never logged, audited or shown. With `wait=S` (a portal that offers a long
poll) the portal holds the request open until a change exists or S seconds pass; the read timeout grows by S.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

import requests

from console.domain.feed_items import FeedPage
from console.domain.redaction import redact
from console.errors import UserError
from console.services.registry_feed.protocol import (
    MAX_LONG_POLL_S,
    MAX_PAGE_BYTES,
    PageRejected,
    decode_page,
    retry_after,
)

log = logging.getLogger("console.services.registry_feed")

DEFAULT_USER_AGENT = "CommunityConnectConsole/0.1 (police RTIC console; registry feed)"
TOKEN_ENV = "RTIC_FEED_TOKEN"
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})


class FeedUnavailable(UserError):
    """The portal could not be reached or kept failing after the retries; what was synced before stays."""


@dataclass(frozen=True)
class FeedOptions:
    page_size: int = 500
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    attempts: int = 5  # tries per request, the first included
    backoff_s: float = 0.5  # the first wait; doubled on each retry, with jitter
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 300.0  # a longer Retry-After ends the sync (try again later)
    max_pages: int = 10_000  # per sync: a portal handing out cursors forever cannot keep the client busy
    user_agent: str = DEFAULT_USER_AGENT
    long_poll_s: int = 25  # the longest wait this console asks for (the portal's offer may be shorter); 0: never


@dataclass(frozen=True)
class Fetched:
    page: FeedPage | None  # None: 304, nothing new
    etag: str | None
    long_poll_max_s: int = 0  # what the portal offered on this page (0 on a 304: keep the last offer)


class FeedHttp:
    """The HTTP side: one page per call, retried as the protocol allows. Use as a context manager."""

    def __init__(self, base_url: str, token: str | None = None, options: FeedOptions = FeedOptions(),
                 sleep: Callable[[float], None] = time.sleep):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"the feed URL {redact(base_url)!r} is not an http(s) address")
        if parts.username or parts.password:
            raise UserError("put the feed's token in an environment variable (--token-env), not in the URL")
        self.base_url = base_url.rstrip("/")
        self.options = options
        self.sleep = sleep
        self.in_flight = False  # a request is out (a long poll may be held at the portal): nothing is being applied
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": options.user_agent, "Accept": "application/json"})
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "FeedHttp":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fetch(self, cursor: str | None, etag: str | None = None, wait: int = 0) -> Fetched:
        """The page after `cursor`; with `wait` > 0 the portal may hold the answer up to that many seconds."""
        params = {"limit": str(self.options.page_size)}
        if cursor is not None:
            params["cursor"] = cursor
        wait = max(0, min(int(wait), MAX_LONG_POLL_S, self.options.long_poll_s))
        if wait:
            params["wait"] = str(wait)
        headers = {"If-None-Match": etag} if etag else {}
        self.in_flight = True
        try:
            status, answer_headers, body = self._get(f"{self.base_url}/changes", params, headers, wait)
        finally:
            self.in_flight = False
        if status == 304:
            return Fetched(None, answer_headers.get("ETag") or etag)
        decoded = decode_page(body, cursor)
        return Fetched(decoded.page, answer_headers.get("ETag"), decoded.long_poll_max_s)

    def _get(self, url: str, params: dict, headers: dict, wait: int = 0) -> tuple[int, dict, bytes]:
        """(status, headers, body) of a 200 or 304, retrying what may pass; FeedUnavailable otherwise."""
        options, last = self.options, "no answer"
        for attempt in range(1, options.attempts + 1):
            delay = None
            try:
                with self.session.get(url, params=params, headers=headers, stream=True,
                                      timeout=(options.connect_timeout_s, options.read_timeout_s + wait),
                                      allow_redirects=False) as response:
                    status = response.status_code
                    if status in (200, 304):
                        return status, dict(response.headers), _read_limited(response) if status == 200 else b""
                    if status not in RETRIED_STATUS:
                        raise _refusal(response, self.base_url)
                    last = f"HTTP {status}"
                    delay = retry_after(response.headers.get("Retry-After"))
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                last = _reason(exc)
            if delay is not None and delay > options.max_retry_after_s:
                raise FeedUnavailable(f"the portal at {redact(url)} is busy and asks to come back in "
                                      f"{delay:.0f} s: try again later")
            if attempt == options.attempts:
                break
            if delay is None:
                base = min(options.max_backoff_s, options.backoff_s * 2 ** (attempt - 1))
                delay = base * random.uniform(0.5, 1.0)  # jitter: consoles that failed together retry apart
            log.info("registry feed: %s from %s; retry %d in %.2f s", last, redact(url), attempt, delay)
            self.sleep(delay)
        raise FeedUnavailable(f"the portal at {redact(url)} did not answer after {options.attempts} attempts "
                              f"({last}); what was synced before is kept")


def _read_limited(response: requests.Response) -> bytes:
    """The body, refused past MAX_PAGE_BYTES; a connection broken mid-body raises (and is retried)."""
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_PAGE_BYTES:
            raise PageRejected(f"the portal's page is larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB: "
                               "ask for smaller pages")
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal(response: requests.Response, base_url: str) -> UserError:
    status, where = response.status_code, redact(base_url)
    if status in (401, 403):
        return FeedUnavailable(f"the portal at {where} refused the token (HTTP {status}): check the token given "
                               f"with --token-env (default ${TOKEN_ENV})")
    if status == 404:
        return FeedUnavailable(f"the portal at {where} has no {where}/changes (HTTP 404): check the feed URL")
    if status == 410:
        return FeedUnavailable(f"the portal at {where} no longer knows the saved cursor (HTTP 410): the feed must be "
                               "re-read from the start (`feed sync URL --from-start`)")
    if status in (301, 302, 303, 307, 308):
        return FeedUnavailable(f"the portal at {where} redirects to {redact(response.headers.get('Location', ''))}"
                               ": use that address as the feed URL")
    return FeedUnavailable(f"the portal at {where} answered HTTP {status}: the feed could not be read")


def _reason(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return "connection failed or was dropped"
    return exc.__class__.__name__
