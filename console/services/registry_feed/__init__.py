"""The registry feed client: keeps the registry in step with a registration portal's JSON API, page by page.

Protocol (resources/openapi/registry-feed.json): `GET {base}/changes?cursor=C&limit=N[&wait=S]` answers
`{"items": [...], "next_cursor": "...", "has_more": bool, "long_poll_max_s": S}`, or 304 when `If-None-Match`
still matches. The parts, by responsibility:

- protocol.py: the pages as the portal sends them, checked (pure; untrusted input refused with a sentence);
- client.py: HTTP, retries, backoff, Retry-After, the bearer token (never logged), the long poll's `wait`;
- sync.py: applying each page with its cursor in one transaction (alerts through owner_alerts);
- runner.py: the background loop, long poll where the portal offers it, the interval otherwise.
"""

from console.services.registry_feed.client import (
    DEFAULT_USER_AGENT,
    RETRIED_STATUS,
    TOKEN_ENV,
    FeedHttp,
    FeedOptions,
    FeedUnavailable,
    Fetched,
)
from console.services.registry_feed.protocol import (
    MAX_LONG_POLL_S,
    MAX_PAGE_BYTES,
    DecodedPage,
    PageRejected,
    decode_page,
    feed_key,
    feed_name,
    long_poll_offer,
    retry_after,
)
from console.services.registry_feed.runner import FeedRunner, FeedStopped, runner_from_settings
from console.services.registry_feed.sync import ConcurrentSync, RegistryFeed, SyncSummary

__all__ = ["DEFAULT_USER_AGENT", "MAX_LONG_POLL_S", "MAX_PAGE_BYTES", "RETRIED_STATUS", "TOKEN_ENV", "ConcurrentSync",
           "DecodedPage", "FeedHttp", "FeedOptions", "FeedRunner", "FeedStopped", "FeedUnavailable", "Fetched",
           "PageRejected", "RegistryFeed", "SyncSummary", "decode_page", "feed_key", "feed_name", "long_poll_offer",
           "retry_after", "runner_from_settings"]
