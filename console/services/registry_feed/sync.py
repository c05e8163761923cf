"""Applying the registry feed: each page in ONE transaction together with the cursor that follows it.

A crash or a lost connection mid-sync resumes at the first page not committed, and no page is ever applied twice.
Items are idempotent anyway (cameras by portal id, alerts by the portal's alert id), so a portal that re-sends
changes does no harm. A page that breaks the protocol is rejected whole with the reason and the cursor stays
before it. An alert the owner raised from the app or a panic button opens an "owner alert" incident with its
grant (console/services/owner_alerts.py), in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.cameras import CameraStatus
from console.domain.changes import ChangeKind
from console.domain.feed_items import AlertItem, CameraRemoved, CameraUpsert, FeedPage, OwnerDeleted
from console.domain.grants import ShareGrant
from console.domain.redaction import redact
from console.errors import UserError
from console.services.accounts import audited_transaction, default_workstation
from console.services.owner_alerts import OwnerAlertService, check_window
from console.services.registry_edits import erase_owner_in, remove_camera_in
from console.services.registry_feed.client import FeedHttp
from console.services.registry_feed.protocol import PageRejected, feed_key, feed_name
from console.services.registry_import import ImportCounts, upsert_records
from console.store import alerts as store
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.secrets import ContactCipher
from console.store.transactions import Connection, StoreError, transaction

log = logging.getLogger("console.services.registry_feed")


class ConcurrentSync(UserError):
    """Another console applied the page first; this sync stops without applying anything twice."""


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
    long_poll_max_s: int = 0  # the portal's long-poll offer on its last page (0: poll at the interval)

    def as_dict(self) -> dict:
        return {"pages": self.pages, "applied": dict(self.applied), "unchanged": self.unchanged,
                "rejected": self.rejected, "conflicts": self.conflicts, "not_modified": self.not_modified,
                "cursor": self.cursor, "error": self.error, "long_poll_max_s": self.long_poll_max_s}


class RegistryFeed:
    """Syncs one portal's feed into the registry; `sync()` reads every page the portal has now."""

    def __init__(self, database: Database, audit: AuditLog, cipher: ContactCipher, http: FeedHttp,
                 workstation: str | None = None, clock: Callable[[], datetime] | None = None):
        self.database = database
        self.audit = audit
        self.cipher = cipher
        self.http = http
        self.name = feed_name(http.base_url)
        self.actor = "feed:" + feed_key(http.base_url)[:59]
        self.workstation = workstation or default_workstation()
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.alerts = OwnerAlertService(database, audit, self.workstation)
        self.long_poll_max_s = 0  # the portal's last long-poll offer; 0 until a page says otherwise

    def position(self) -> tuple[str | None, str | None]:
        """(cursor, etag) saved for this feed."""
        with transaction(self.database) as conn:
            return store.read_cursor(conn, self.name)

    def reset(self) -> None:
        """Forget the saved position: the next sync reads the portal's feed from its start (items are idempotent)."""
        with transaction(self.database) as conn:
            store.save_cursor(conn, self.name, None, None, self.clock())

    def sync(self, wait: int = 0, stopped: Callable[[], bool] = lambda: False) -> SyncSummary:
        """Every page up to the portal's end now. Errors end the sync with `summary.error` set; pages committed
        before the error stay committed. `wait` > 0 (a portal that offered a long poll): at the end of the log the
        portal may hold the request up to that many seconds, answering as soon as a change exists. `stopped()` true
        when an answer arrives: the sync ends there and that page is not applied (the runner was stopped meanwhile)."""
        summary = SyncSummary(long_poll_max_s=self.long_poll_max_s)
        try:
            with transaction(self.database) as conn:
                store.ensure_cursor(conn, self.name, self.clock())
            cursor, etag = self.position()
        except StoreError as exc:
            summary.error = f"the registry database cannot be reached ({exc.__class__.__name__}): nothing was synced"
            return summary
        summary.cursor = cursor
        try:
            for _ in range(self.http.options.max_pages):
                fetched = self.http.fetch(cursor, etag, wait=min(wait, self.long_poll_max_s))
                if stopped():
                    return summary  # the runner was stopped while the portal held the request: nothing applied
                if fetched.page is None:
                    summary.not_modified = summary.pages == 0
                    break
                page = fetched.page
                self.long_poll_max_s = summary.long_poll_max_s = fetched.long_poll_max_s
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
            self._close_ended_alert_incidents()
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
            store.hold_write_lock(conn)  # one syncing console at a time; the cursor read is current
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
            grant_id = self.alerts.store_new(conn, grant, self.actor, now, external_id=item.alert_id,
                                             ends_at=item.cancelled_at)
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

    def _close_ended_alert_incidents(self) -> None:
        """Owner alert incidents whose alert ran out are closed at each sync (a console that is not following
        the feed closes them when its bar's alert ends)."""
        try:
            self.alerts.close_ended(self.clock())
        except (UserError, StoreError) as exc:
            log.warning("registry feed: ended owner alert incidents not closed now (tried again next sync): %s", exc)

    def _record_rejection(self, cursor: str | None, reason: str) -> None:
        try:
            self.audit.append(AuditEntry(Action.REGISTRY_CHANGE, self.actor, self.workstation, Outcome.FAILED, None,
                                         None, {"feed": redact(self.http.base_url), "cursor": cursor,
                                                "rejected": reason[:500]}))
        except UserError as exc:  # the rejection itself stands; only its record is missing
            log.warning("registry feed: the rejected page could not be recorded in the audit log: %s", exc)
