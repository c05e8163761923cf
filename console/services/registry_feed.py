"""The registry feed client: keeps the registry in step with a registration portal's JSON API, page by page.

Protocol (resources/openapi/registry-feed.json): `GET {base}/changes?cursor=C&limit=N` answers
`{"items": [...], "next_cursor": "...", "has_more": bool}`, or 304 when `If-None-Match` still matches.
Each page is applied in ONE transaction together with the cursor that follows it, so a crash or a lost
connection mid-sync resumes at the first page not committed, and no page is ever applied twice. Items are
idempotent anyway (cameras by portal id, alerts by the portal's alert id), so a portal that re-sends changes
does no harm. A page that breaks the protocol is rejected whole with the reason and the cursor stays before it.

Connection errors, timeouts, 5xx and 429 are retried with exponential backoff (Retry-After honoured). The token
is sent as `Authorization: Bearer` and never logged, audited or shown.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import requests
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.cameras import CameraStatus
from console.domain.changes import ChangeKind
from console.domain.feed_items import (
    AlertItem,
    BadPage,
    CameraRemoved,
    CameraUpsert,
    FeedPage,
    OwnerDeleted,
    parse_page,
)
from console.domain.grants import ShareGrant
from console.domain.redaction import redact
from console.errors import UserError
from console.services.accounts import audited_transaction, default_workstation
from console.services.background import BackgroundLoop
from console.services.owner_alerts import OwnerAlertService, check_window
from console.services.registry_edits import erase_owner_in, remove_camera_in
from console.services.registry_import import ImportCounts, upsert_records
from console.store import alerts as store
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.secrets import ContactCipher

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "CommunityConnectConsole/0.1 (police RTIC console; registry feed)"
TOKEN_ENV = "RTIC_FEED_TOKEN"
MAX_PAGE_BYTES = 32 * 1024 * 1024
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})


class FeedUnavailable(UserError):
    """The portal could not be reached or kept failing after the retries; what was synced before stays."""


class PageRejected(UserError):
    """A page broke the protocol (or named something the registry does not have); it was not applied."""


class ConcurrentSync(UserError):
    """Another console applied the page first; this sync stops without applying anything twice."""


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


@dataclass
class SyncSummary:
    """What one sync did, as `feed sync` prints it (one JSON line)."""

    pages: int = 0
    applied: dict[str, int] = field(default_factory=lambda: {"camera": 0, "camera_removed": 0, "owner_deleted": 0,
                                                              "alert": 0})
    unchanged: int = 0
    rejected: int = 0
    conflicts: int = 0  # camera items not applied: their phone or e-mail is a registered owner's, another name
    not_modified: bool = False
    cursor: str | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return {"pages": self.pages, "applied": dict(self.applied), "unchanged": self.unchanged,
                "rejected": self.rejected, "conflicts": self.conflicts, "not_modified": self.not_modified,
                "cursor": self.cursor, "error": self.error}


@dataclass(frozen=True)
class Fetched:
    page: FeedPage | None  # None: 304, nothing new
    etag: str | None


def _feed_key(url: str) -> str:
    """The feed's identity for its cursor row: scheme, host, port and path (no user info, no query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def feed_name(base_url: str) -> str:
    """The key of this feed's row in feed_cursors."""
    shown = _feed_key(base_url).rstrip("/")
    name = f"registry-feed {shown}"
    return name if len(name) <= 100 else "registry-feed " + hashlib.sha256(shown.encode()).hexdigest()


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

    def fetch(self, cursor: str | None, etag: str | None = None) -> Fetched:
        params = {"limit": str(self.options.page_size)}
        if cursor is not None:
            params["cursor"] = cursor
        headers = {"If-None-Match": etag} if etag else {}
        status, answer_headers, body = self._get(f"{self.base_url}/changes", params, headers)
        if status == 304:
            return Fetched(None, answer_headers.get("ETag") or etag)
        try:
            decoded = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise PageRejected(f"the portal's page after cursor {cursor!r} is not JSON ({exc})") from None
        try:
            return Fetched(parse_page(decoded), answer_headers.get("ETag"))
        except BadPage as exc:
            raise PageRejected(f"the portal's page after cursor {cursor!r} was rejected: {exc}") from None

    def _get(self, url: str, params: dict, headers: dict) -> tuple[int, dict, bytes]:
        """(status, headers, body) of a 200 or 304, retrying what may pass; FeedUnavailable otherwise."""
        options, last = self.options, "no answer"
        for attempt in range(1, options.attempts + 1):
            wait = None
            try:
                with self.session.get(url, params=params, headers=headers, stream=True,
                                      timeout=(options.connect_timeout_s, options.read_timeout_s),
                                      allow_redirects=False) as response:
                    status = response.status_code
                    if status in (200, 304):
                        return status, dict(response.headers), _read_limited(response) if status == 200 else b""
                    if status not in RETRIED_STATUS:
                        raise _refusal(response, self.base_url)
                    last = f"HTTP {status}"
                    wait = _retry_after(response.headers.get("Retry-After"))
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                last = _reason(exc)
            if wait is not None and wait > options.max_retry_after_s:
                raise FeedUnavailable(f"the portal at {redact(url)} is busy and asks to come back in "
                                      f"{wait:.0f} s: try again later")
            if attempt == options.attempts:
                break
            if wait is None:
                base = min(options.max_backoff_s, options.backoff_s * 2 ** (attempt - 1))
                wait = base * random.uniform(0.5, 1.0)  # jitter: consoles that failed together retry apart
            log.info("registry feed: %s from %s; retry %d in %.2f s", last, redact(url), attempt, wait)
            self.sleep(wait)
        raise FeedUnavailable(f"the portal at {redact(url)} did not answer after {options.attempts} attempts "
                              f"({last}); what was synced before is kept")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


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


class RegistryFeed:
    """Syncs one portal's feed into the registry; `sync()` reads every page the portal has now."""

    def __init__(self, database: Database, audit: AuditLog, cipher: ContactCipher, http: FeedHttp,
                 workstation: str | None = None, clock: Callable[[], datetime] | None = None):
        self.database = database
        self.audit = audit
        self.cipher = cipher
        self.http = http
        self.name = feed_name(http.base_url)
        self.actor = "feed:" + _feed_key(http.base_url)[:59]
        self.workstation = workstation or default_workstation()
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.alerts = OwnerAlertService(database, audit, self.workstation)

    def position(self) -> tuple[str | None, str | None]:
        """(cursor, etag) saved for this feed."""
        with self.database.engine.connect() as conn:
            return store.read_cursor(conn, self.name)

    def reset(self) -> None:
        """Forget the saved position: the next sync reads the portal's feed from its start (items are idempotent)."""
        with self.database.engine.begin() as conn:
            store.save_cursor(conn, self.name, None, None, self.clock())

    def sync(self) -> SyncSummary:
        """Every page up to the portal's end now. Errors end the sync with `summary.error` set; pages committed
        before the error stay committed."""
        summary = SyncSummary()
        try:
            with self.database.engine.begin() as conn:
                store.ensure_cursor(conn, self.name, self.clock())
            cursor, etag = self.position()
        except SQLAlchemyError as exc:
            summary.error = f"the registry database cannot be reached ({exc.__class__.__name__}): nothing was synced"
            return summary
        summary.cursor = cursor
        try:
            for _ in range(self.http.options.max_pages):
                fetched = self.http.fetch(cursor, etag)
                if fetched.page is None:
                    summary.not_modified = summary.pages == 0
                    break
                page = fetched.page
                if page.next_cursor == cursor and (page.items or page.has_more):
                    raise PageRejected(f"the portal's page after cursor {cursor!r} was rejected: its next_cursor is "
                                       "the cursor asked for, so the feed would never move on")
                # An ETag is only for the URL it came with: keep it when the feed is at its end (the cursor
                # does not move), so the next poll of that same URL can be answered 304.
                keep_etag = fetched.etag if page.next_cursor == cursor and not page.items else None
                self._apply(page, cursor, keep_etag, summary)
                summary.pages += 1
                cursor, etag = page.next_cursor, keep_etag
                summary.cursor = cursor
                if not page.has_more:
                    break
        except PageRejected as exc:
            summary.rejected += 1
            summary.error = str(exc)
            self._record_rejection(cursor, str(exc))
        except UserError as exc:
            summary.error = str(exc)
        return summary

    # --- one page, one transaction ------------------------------------------------------------------

    def _apply(self, page: FeedPage, cursor: str | None, etag: str | None, summary: SyncSummary) -> None:
        counts = ImportCounts()
        applied = {"camera": 0, "camera_removed": 0, "owner_deleted": 0, "alert": 0}
        grant_ids: list[int] = []
        now = self.clock()
        with audited_transaction(self.database) as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # one syncing console at a time; cursor read is current
            # The cursor row stays locked until commit (FOR UPDATE on PostgreSQL, the write lock on SQLite):
            # a second console syncing the same feed waits, then sees the page was applied and stops.
            if store.read_cursor(conn, self.name, lock=True)[0] != cursor:
                raise ConcurrentSync("another console synced this feed meanwhile (nothing was applied twice): "
                                     "run the sync again to continue from where it got to")
            store.save_cursor(conn, self.name, page.next_cursor, etag, now)
            if not page.items:
                return  # nothing new: no audit event for an idle poll
            batch: dict[str, CameraUpsert] = {}
            for item in page.items:
                if isinstance(item, CameraUpsert):
                    if item.record.portal_id in batch:
                        self._upsert(conn, batch, counts)
                    batch[item.record.portal_id] = item
                    applied["camera"] += 1
                    continue
                self._upsert(conn, batch, counts)  # earlier cameras first: later items may refer to them
                if isinstance(item, AlertItem):
                    changed = self._alert(conn, item, now)
                    if changed is not None:
                        grant_ids.append(changed)
                        applied["alert"] += 1
                    else:
                        summary.unchanged += 1
                elif isinstance(item, CameraRemoved):
                    if self._remove(conn, item, now):
                        applied["camera_removed"] += 1
                    else:
                        summary.unchanged += 1
                elif isinstance(item, OwnerDeleted):
                    if self._erase(conn, item, now):
                        applied["owner_deleted"] += 1
                    else:
                        summary.unchanged += 1
            self._upsert(conn, batch, counts)
            applied["camera"] -= counts.unchanged + counts.conflicts
            summary.unchanged += counts.unchanged
            summary.conflicts += counts.conflicts
            if not any(applied.values()):
                return  # a page the registry already had (re-sent): the cursor moves, nothing else is written
            self.audit.append(AuditEntry(
                Action.REGISTRY_CHANGE, self.actor, self.workstation, Outcome.OK, None, None,
                {"feed": redact(self.http.base_url), "cursor": cursor, "next_cursor": page.next_cursor,
                 "items": len(page.items), **counts.as_details(), "alerts_changed": len(grant_ids),
                 "cameras_removed": applied["camera_removed"], "owners_erased": applied["owner_deleted"]}),
                conn=conn)
            for grant_id in grant_ids:  # the last statements: every console hears of each alert
                record_change(conn, ChangeKind.GRANT, grant_id, self.workstation)
        for kind, value in applied.items():
            summary.applied[kind] += value

    def _upsert(self, conn: Connection, batch: dict[str, CameraUpsert], counts: ImportCounts) -> None:
        if not batch:
            return
        # A removed camera stays removed (and an erased owner erased): a camera item for it, e.g. an older entry
        # of the log read again from its start, must not bring back its sharing mode or its owner's contact.
        removed = store.removed_portal_ids(conn, list(batch))
        if removed:
            counts.unchanged += len(removed)
            log.info("registry feed: %d camera item(s) for removed cameras skipped: %s", len(removed),
                     ", ".join(sorted(removed)[:20]))
        records = [item.record for portal_id, item in batch.items() if portal_id not in removed]
        batch.clear()
        if not records:
            return
        done = upsert_records(conn, self.cipher, records, self.workstation, username=self.actor)
        for key in ("added", "updated", "unchanged", "owners_added", "owners_updated", "sites_added", "conflicts"):
            setattr(counts, key, getattr(counts, key) + getattr(done, key))
        if done.owner_conflicts:  # portal ids and owner ids only: names stay out of the log
            log.warning("registry feed: %d camera item(s) not applied, owner conflict (the phone or e-mail is a "
                        "registered owner's under another name): %s", len(done.owner_conflicts),
                        ", ".join(f"{c.portal_id} (owner #{c.owner_id})" for c in done.owner_conflicts[:20]))

    def _remove(self, conn: Connection, item: CameraRemoved, now: datetime) -> bool:
        """Remove the camera; False when there is nothing to do (unknown to the registry, or removed already)."""
        camera = store.camera_by_portal_id(conn, item.portal_id)
        if camera is None or camera.status == CameraStatus.REMOVED.value:
            return False
        remove_camera_in(conn, self.audit, camera.id, self.actor, self.workstation, now, reason="portal: removed")
        return True

    def _erase(self, conn: Connection, item: OwnerDeleted, now: datetime) -> bool:
        """Erase the owner of the camera; False when there is nothing to do (unknown camera, or erased already)."""
        camera = store.camera_by_portal_id(conn, item.camera_portal_id)
        if camera is None or camera.owner_erased:
            return False
        erase_owner_in(conn, self.audit, camera.owner_id, self.actor, self.workstation, now)
        return True

    def _alert(self, conn: Connection, item: AlertItem, now: datetime) -> int | None:
        """Apply one alert; the grant's id when something changed, None when the registry already had it so."""
        where = f"alert {item.alert_id}"
        try:
            check_window(item.starts_at, item.expires_at, self.alerts.max_minutes)
        except UserError as exc:
            raise PageRejected(f"the portal's page was rejected: {where}: {exc}") from None
        camera = store.camera_by_portal_id(conn, item.camera_portal_id)
        if camera is None:
            raise PageRejected(f"the portal's page was rejected: {where} is for camera {item.camera_portal_id!r}, "
                               "which the registry does not have (send the camera before its alerts)")
        if camera.status != CameraStatus.ACTIVE.value:
            # Kept, not rejected: the portal may send an alert the owner raised just before removing the camera.
            log.info("registry feed: alert %s is for a camera that is %s; the grant opens nothing while it is",
                     item.alert_id, camera.status)
        camera_id, site_id = camera.id, camera.site_id
        stored = store.grant_by_external_id(conn, item.alert_id)
        if stored is None:
            grant = ShareGrant(None, None if item.whole_site else camera_id, site_id if item.whole_site else None,
                               item.starts_at, item.expires_at, item.source, None)
            grant_id = self.alerts.store_new(conn, grant, self.actor, now, external_id=item.alert_id)
            if item.cancelled_at is not None and item.cancelled_at < item.expires_at:
                self.alerts.store_end(conn, store.get_grant(conn, grant_id), self.actor,
                                      max(item.cancelled_at, item.starts_at))
            return grant_id
        changed = False
        if (stored.grant.starts_at, stored.grant.expires_at) != (item.starts_at, item.expires_at):
            self.alerts.store_window(conn, stored, item.starts_at, item.expires_at, self.actor)
            changed = True
        if item.cancelled_at is not None and stored.grant.revoked_at is None:
            fresh = store.get_grant(conn, stored.id)
            if fresh.grant.expires_at > item.cancelled_at:
                self.alerts.store_end(conn, fresh, self.actor, max(item.cancelled_at, fresh.grant.starts_at))
                changed = True
        return stored.id if changed else None

    def _record_rejection(self, cursor: str | None, reason: str) -> None:
        try:
            self.audit.append(AuditEntry(Action.REGISTRY_CHANGE, self.actor, self.workstation, Outcome.FAILED, None,
                                         None, {"feed": redact(self.http.base_url), "cursor": cursor,
                                                "rejected": reason[:500]}))
        except UserError as exc:  # the rejection itself stands; only its record is missing
            log.warning("registry feed: the rejected page could not be recorded in the audit log: %s", exc)


# --- following the feed in the background ----------------------------------------------------------------


class FeedStopped(FeedUnavailable):
    """The runner was stopped while the client waited to retry: the sync ends here, what it applied stays."""


class FeedRunner(BackgroundLoop):
    """Syncs the feed every `interval_s` on its own thread until `stop()`; `run_once()` syncs once here.

    A failed sync (portal away after the client's retries, database away, a rejected page) is logged and tried
    again at the next interval; nothing the feed does ends the thread. The client's retry waits end at `stop()`.
    """

    def __init__(self, feed: RegistryFeed, interval_s: float = 60.0,
                 on_sync: Callable[[SyncSummary], None] | None = None):
        super().__init__()
        self.feed, self.interval_s, self.on_sync = feed, interval_s, on_sync
        self.last: SyncSummary | None = None
        feed.http.sleep = self.sleep  # the client's retry waits become stoppable

    def sleep(self, seconds: float) -> None:
        """The client's retry wait (FeedHttp's `sleep`): cut short, ending the sync, once stop() is called."""
        if self._stop.wait(seconds):
            raise FeedStopped("the registry feed was stopped")

    def run_once(self) -> SyncSummary:
        try:
            summary = self.feed.sync()
        except Exception as exc:  # the database gone mid-page, or a bug: logged, and the next interval tries again
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

    thread_name = "registry-feed"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop syncing (a page being applied finishes first) and close the HTTP session."""
        super().stop(timeout)
        self.feed.http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            if self._stop.wait(self.interval_s):
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
