"""Following the registry feed in the background: a long poll where the portal offers one, else the interval.

A portal whose pages carry `long_poll_max_s` > 0 is asked again at once with `wait=S`: it holds the request until
a change exists, so an owner's alert reaches every console within a second or so. A portal without it (or one
that failed) is read every `interval_s`, as before.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Callable

from console.domain.redaction import redact
from console.services.background import BackgroundLoop
from console.services.registry_feed.client import DEFAULT_USER_AGENT, FeedHttp, FeedOptions, FeedUnavailable
from console.services.registry_feed.sync import RegistryFeed, SyncSummary
from console.store.audit import AuditLog
from console.store.db import Database
from console.store.secrets import ContactCipher

log = logging.getLogger("console.services.registry_feed")

# Between two long polls: a portal that offers the long poll but answers at once anyway is not asked in a hot loop.
LONG_POLL_PAUSE_S = 0.1


class FeedStopped(FeedUnavailable):
    """The runner was stopped while the client waited to retry: the sync ends here, what it applied stays."""


class FeedRunner(BackgroundLoop):
    """Syncs the feed on its own thread until `stop()`; `run_once()` syncs once here.

    With a portal that offers a long poll the next sync starts at once and waits at the portal; otherwise every
    `interval_s`. A failed sync (portal away after the client's retries, database away, a rejected page) is
    logged and tried again at the next interval; nothing the feed does ends the thread. The client's retry waits
    end at `stop()`; a long poll in progress ends when the portal answers (at most its `long_poll_max_s`).
    """

    thread_name = "registry-feed"

    def __init__(self, feed: RegistryFeed, interval_s: float = 60.0,
                 on_sync: Callable[[SyncSummary], None] | None = None, long_poll: bool = True):
        super().__init__()
        self.feed, self.interval_s, self.on_sync, self.long_poll = feed, interval_s, on_sync, long_poll
        self.last: SyncSummary | None = None
        feed.http.sleep = self.sleep  # the client's retry waits become stoppable

    def sleep(self, seconds: float) -> None:
        """The client's retry wait (FeedHttp's `sleep`): cut short, ending the sync, once stop() is called."""
        if self._stop.wait(seconds):
            raise FeedStopped("the registry feed was stopped")

    @property
    def mode(self) -> str:
        """'long_poll' while the portal offers it (and this runner uses it), else 'interval'."""
        return "long_poll" if self._wait() else "interval"

    def _wait(self) -> int:
        if not self.long_poll:
            return 0
        return min(self.feed.long_poll_max_s, self.feed.http.options.long_poll_s)

    def run_once(self) -> SyncSummary:
        try:
            summary = self.feed.sync(wait=self._wait(), stopped=self._stop.is_set)
        except Exception as exc:  # the database gone mid-page, or a bug: logged, and the next interval tries again
            if not self._stop.is_set():  # stopped mid-request, the closed session's error is no news
                log.warning("registry feed %s: sync failed", redact(self.feed.http.base_url), exc_info=True)
            summary = SyncSummary(error=f"the sync failed ({exc.__class__.__name__}); it is tried again later")
        if summary.error and not self._stop.is_set():
            log.warning("registry feed %s: %s", redact(self.feed.http.base_url), summary.error)
        elif summary.pages and any(summary.applied.values()):
            log.info("registry feed %s: %s", redact(self.feed.http.base_url), json.dumps(summary.as_dict()))
        self.last = summary
        if self.on_sync is not None:
            try:
                self.on_sync(summary)
            except Exception:
                log.exception("registry feed: the on_sync listener failed")
        return summary

    def stop(self, timeout: float = 10.0) -> None:
        """Stop syncing (a page being applied finishes first) and close the HTTP session. A long poll held at the
        portal is not waited for: its answer, when it comes, is dropped unapplied (the thread is a daemon)."""
        super().stop(min(timeout, 0.5) if self.feed.http.in_flight else timeout)
        self.feed.http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            summary = self.run_once()
            # Long poll: straight back to the portal, which holds the request; after an error, the interval.
            pause = min(LONG_POLL_PAUSE_S, self.interval_s) if summary.error is None and self._wait() \
                else self.interval_s
            if self._stop.wait(pause):
                return


def runner_from_settings(database: Database, audit: AuditLog, cipher: ContactCipher, settings,
                         on_sync: Callable[[SyncSummary], None] | None = None,
                         environ: dict | None = None) -> FeedRunner | None:
    """The runner for the feed the settings name (feed_url, feed_interval_s, feed_token_env), or None when
    feed_url is empty. UserError when the URL is not an http(s) address."""
    if not settings.feed_url:
        return None
    environ = os.environ if environ is None else environ
    token = environ.get(settings.feed_token_env) or None
    if token is None:
        log.warning("registry feed: the environment variable %s (feed_token_env) is not set: the feed is read "
                    "without a token", settings.feed_token_env)
    agent = f"{settings.user_agent} registry-feed".strip() if settings.user_agent else DEFAULT_USER_AGENT
    http = FeedHttp(settings.feed_url, token, FeedOptions(user_agent=agent))
    return FeedRunner(RegistryFeed(database, audit, cipher, http), settings.feed_interval_s, on_sync)
