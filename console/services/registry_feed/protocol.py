"""The registry feed's wire format (resources/openapi/registry-feed.json), checked: pure, no I/O.

A 200 answer's body becomes a typed page (console/domain/feed_items.py checks the items) plus the portal's
long-poll offer (`long_poll_max_s`, 0 to 30 s: how long the portal will hold `GET /changes?wait=S` open until a
change exists). Everything here is untrusted input from the portal: a body that breaks the protocol is refused
with a sentence naming what is wrong, and nothing of it is applied.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from console.domain.feed_items import BadPage, FeedPage, parse_page
from console.errors import UserError

MAX_PAGE_BYTES = 32 * 1024 * 1024
MAX_LONG_POLL_S = 30  # the protocol's ceiling for `long_poll_max_s` (and so for `wait`)


class PageRejected(UserError):
    """A page broke the protocol (or named something the registry does not have); it was not applied."""


@dataclass(frozen=True)
class DecodedPage:
    page: FeedPage
    long_poll_max_s: int = 0  # 0: the portal does not hold requests open (poll at the interval)


def decode_page(body: bytes, cursor: str | None) -> DecodedPage:
    """The body of a 200 answer as a typed page with the portal's long-poll offer, or PageRejected."""
    if len(body) > MAX_PAGE_BYTES:
        raise PageRejected(f"the portal's page is larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB: "
                           "ask for smaller pages")
    try:
        decoded = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise PageRejected(f"the portal's page after cursor {cursor!r} is not JSON ({reason})") from None
    try:
        page = parse_page(decoded)
        return DecodedPage(page, long_poll_offer(decoded))
    except BadPage as exc:
        raise PageRejected(f"the portal's page after cursor {cursor!r} was rejected: {exc}") from None


def long_poll_offer(body: Any) -> int:
    """The page's `long_poll_max_s`: absent or null is 0 (no long poll); else a whole number of seconds 0..30."""
    value = body.get("long_poll_max_s") if isinstance(body, dict) else None
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadPage(f"the page's 'long_poll_max_s' is {_shown(value)}; give a whole number of seconds, "
                      f"0 to {MAX_LONG_POLL_S}")
    if isinstance(value, float) and not value.is_integer():
        raise BadPage(f"the page's 'long_poll_max_s' is {_shown(value)}; give a whole number of seconds, "
                      f"0 to {MAX_LONG_POLL_S}")
    if not 0 <= value <= MAX_LONG_POLL_S:
        raise BadPage(f"the page's 'long_poll_max_s' is {_shown(value)}; it must be 0 to {MAX_LONG_POLL_S} seconds")
    return int(value)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()[:100]
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def feed_key(url: str) -> str:
    """The feed's identity for its cursor row: scheme, host, port and path (no user info, no query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def feed_name(base_url: str) -> str:
    """The key of this feed's row in feed_cursors."""
    shown = feed_key(base_url).rstrip("/")
    name = f"registry-feed {shown}"
    return name if len(name) <= 100 else "registry-feed " + hashlib.sha256(shown.encode()).hexdigest()


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "..."
