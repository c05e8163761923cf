"""Putting portal camera records into the registry: `upsert_records`, shared by `rtic-console import` and the feed.

Idempotent by the portal's camera id: a record whose camera is already registered with the same values changes
nothing; a changed one updates the camera (its version goes up, the old and new values go to the registry
history); a new one adds the camera, and its owner and site when they are new. Large batches take a bulk path
(COPY on PostgreSQL, the spatial index built once), small ones the same code without it.

What changes is planned with no database (console/services/registry_import_plan.py); this module reads what the
plan needs and writes it through the store (console/store/registry_import.py), in the caller's transaction, audited.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from console.domain.audit import Action, AuditEntry
from console.domain.cameras import split_credentials, stream_protocol
from console.domain.changes import ChangeKind
from console.domain.portal_records import PortalRecord
from console.errors import UserError
from console.services.accounts import audited_transaction
from console.services.portal_files import PortalFile, read_portal_file, write_rejects
from console.services.registry_import_plan import (
    CAMERA_FIELDS,
    EXPORTED_ID,
    PORTAL_TAKER,
    ImportCancelled,
    ImportCounts,
    ImportPlan,
    ImportRejected,
    Progress,
    camera_values,
    validate_file,
)
from console.store import bulk
from console.store import registry_import as import_rows
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.secrets import ContactCipher
from console.store.spatial import bulk_loading

__all__ = ["BULK_THRESHOLD", "EXPORTED_ID", "ImportCancelled", "ImportCounts", "ImportRejected", "Progress",
           "import_file", "upsert_records"]

BULK_THRESHOLD = 1000  # new cameras from which the spatial index is built once instead of row by row


def upsert_records(conn, cipher: ContactCipher, records: Sequence[PortalRecord], workstation: str, *,
                   username: str = "import", audit: AuditLog | None = None, event: AuditEntry | None = None,
                   progress: Progress | None = None, announce: bool = True) -> ImportCounts:
    """Add or update the cameras of `records` (already validated) inside the caller's transaction.

    For the registry feed as for file imports, a handful of records or 100k:

    - a camera is found by `portal_id`; unchanged ones are skipped, changed ones updated (version + 1, each
      changed field written to registry_history under `username`);
    - records of one owner (same phone or e-mail, by their keyed digests; else the same name and address) make
      one owner, matched to an existing owner by those digests or by the owner of an already registered camera
      of the group; a changed contact is re-encrypted (version + 1);
    - a site is one owner's address (new sites take the first camera's position);
    - credentials in `stream_url` are split off and stored encrypted; a URL without credentials keeps the
      stored ones when the address is the same, and a blank `stream_url` leaves the camera's streams alone.

    Statement order inside the transaction: the writes, then `event` (when given, with the counts added to its
    details) appended to `audit` in the same transaction, then, only when something changed, ONE
    `ChangeKind.REGISTRY` change as the last statement. Call it as the last thing before commit; a feed client
    passing several batches in one transaction should pass `event` only with the last. Nothing is committed
    here: an exception (a `progress` callback may raise `ImportCancelled`) leaves the registry as it was once
    the caller's transaction rolls back. Portal ids in `records` must be unique.

    `announce=False` leaves out the REGISTRY change, for a caller that appends its own audit events after this
    call and records its changes itself at the end: on PostgreSQL every writer takes the audit chain's lock before
    the change feed's lock, and a transaction taking them the other way round can deadlock with another console.

    A `portal_id` of the form `rtic-<camera id>` (what `export` writes for a camera that has no portal id, e.g.
    one registered by phone) finds that camera, so an export imported back into the same registry changes nothing.
    """
    import_rows.take_write_lock(conn)  # before reading what is there: the ids after the largest stay ours
    plan = ImportPlan(_Registered(conn), cipher, records, username, _utcnow())
    plan.match(progress)
    _Loader(conn, cipher, plan).write()
    counts = plan.counts()
    if event is not None and audit is not None:
        entry = AuditEntry(event.action, event.username, event.workstation, event.outcome, event.camera_id,
                           event.incident_id, {**event.details, **counts.as_details()})
        audit.append(entry, conn)
    if counts.changed and announce:
        record_change(conn, ChangeKind.REGISTRY, None, workstation)
    return counts


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _Registered:
    """The plan's look-ups (registry_import_plan.Registered), read in the import's transaction."""

    def __init__(self, conn):
        self.conn = conn

    def cameras_by_portal_id(self, portal_ids: Sequence[str]) -> dict:
        return import_rows.cameras_by_portal_id(self.conn, portal_ids, CAMERA_FIELDS)

    def cameras_without_portal_id(self, camera_ids: Sequence[int]) -> list:
        return import_rows.cameras_without_portal_id(self.conn, camera_ids, CAMERA_FIELDS)

    def main_streams(self, camera_ids: Sequence[int]) -> dict:
        return import_rows.main_streams(self.conn, camera_ids)

    def owners_by_digest(self, digests: Sequence[str]) -> list:
        return import_rows.owners_by_digest(self.conn, digests)

    def owner_contacts(self, owner_ids: Sequence[int]) -> list:
        return import_rows.owner_contacts(self.conn, owner_ids)

    def sites_by_owner_address(self, owner_ids: Sequence[int]) -> dict[tuple, int]:
        return import_rows.sites_by_owner_address(self.conn, owner_ids)


class _Loader:
    """Writes a matched plan: new owners, sites, cameras and streams with ids reserved ahead (bulk-loaded), then
    the updates of owners and cameras with their registry history. Contacts and credentials are encrypted here."""

    def __init__(self, conn, cipher: ContactCipher, plan: ImportPlan):
        self.conn, self.cipher, self.plan = conn, cipher, plan
        self.now, self.username = plan.now, plan.username

    def write(self) -> None:
        conn, now, plan = self.conn, self.now, self.plan
        stamp = bulk.timestamp_adapter(conn)
        owner_ids = dict(zip((o["group"] for o in plan.new_owners),
                             import_rows.reserve_ids(conn, "owners", len(plan.new_owners))))
        bulk.load_rows(conn, "owners", bulk.OWNER_COLUMNS, (
            (owner_ids[o["group"]], o["kind"], None, self.cipher.encrypt(o["contact"]), o["phone_digest"],
             o["email_digest"], False, stamp(now), stamp(now), 1) for o in plan.new_owners))

        def owner(ref) -> int:
            return owner_ids[ref[1]] if isinstance(ref, tuple) else ref

        site_ids = dict(zip(plan.new_sites, import_rows.reserve_ids(conn, "sites", len(plan.new_sites))))
        bulk.load_rows(conn, "sites", bulk.SITE_COLUMNS, (
            (site_ids[key], owner(s["owner"]), s["name"][:200], s["address"], s["lat"], s["lon"], stamp(now),
             stamp(now), 1) for key, s in plan.new_sites.items()))

        def site(ref) -> int:
            return site_ids[ref[1]] if isinstance(ref, tuple) else ref

        self._add_cameras(owner, site, stamp)
        self._update_owners()
        self._update_cameras(owner, site)

    def _add_cameras(self, owner, site, stamp) -> None:
        new_cameras = self.plan.new_cameras
        if not new_cameras:
            return
        conn, now = self.conn, stamp(self.now)
        camera_ids = import_rows.reserve_ids(conn, "cameras", len(new_cameras))
        rows, stream_rows = [], []
        for camera_id, (record, owner_ref, site_ref) in zip(camera_ids, new_cameras):
            rows.append((camera_id, site(site_ref), owner(owner_ref), record.portal_id, record.camera_label,
                         record.lat, record.lon, record.capability.value, record.sharing_mode.value, "active",
                         "outside", record.bearing_deg, record.fov_deg, record.range_m, stamp(record.consent_at),
                         record.consent_channel.value if record.consent_channel else None,
                         PORTAL_TAKER if record.consent_at else None, None, False, now, now, 1))
            if record.stream_url:
                stream_rows.append((camera_id, record.stream_url))
        many = len(rows) >= BULK_THRESHOLD
        if many:
            with bulk_loading(conn, rebuild_index=import_rows.may_rebuild_index(conn)):
                bulk.load_rows(conn, "cameras", bulk.CAMERA_COLUMNS, rows)
        else:
            bulk.load_rows(conn, "cameras", bulk.CAMERA_COLUMNS, rows)
        stream_ids = import_rows.reserve_ids(conn, "streams", len(stream_rows))
        bulk.load_rows(conn, "streams", bulk.STREAM_COLUMNS, (
            (stream_id, camera_id, *self._stream_values(url)) for stream_id, (camera_id, url) in
            zip(stream_ids, stream_rows)))

    def _stream_values(self, raw_url: str) -> tuple:
        url, user, password = split_credentials(raw_url)
        secret = self.cipher.encrypt({"username": user, "password": password}, b"stream") if user or password else None
        return stream_protocol(url).value, "main", url, secret

    def _update_owners(self) -> None:
        updates = self.plan.owner_updates
        if not updates:
            return
        import_rows.update_owners(self.conn, [
            {"id": o["id"], "kind": o["kind"], "contact_ciphertext": self.cipher.encrypt(o["contact"]),
             "phone_digest": o["phone_digest"], "email_digest": o["email_digest"]} for o in updates], self.now)
        # Contact fields are recorded as changed, never with their values (see RegistryHistoryRow).
        import_rows.add_history(self.conn, [
            {"at": self.now, "username": self.username, "entity": "owner", "entity_id": o["id"], "field": "contact",
             "old_value": None, "new_value": None} for o in updates])

    def _update_cameras(self, owner, site) -> None:
        updates = self.plan.camera_updates
        if not updates:
            return
        changes, history, new_streams, stream_updates = [], [], [], []
        for record, row, (owner_ref, site_ref), stream_change in updates:
            values = dict(zip(CAMERA_FIELDS, camera_values(record, owner(owner_ref), site(site_ref))))
            for name in CAMERA_FIELDS:
                old, new = getattr(row, name), values[name]
                if old != new:
                    history.append({"at": self.now, "username": self.username, "entity": "camera",
                                    "entity_id": row.id, "field": name, "old_value": _history_text(old),
                                    "new_value": _history_text(new)})
            values["consent_taken_by"] = PORTAL_TAKER if record.consent_at else None
            changes.append(values | {"id": row.id})
            if stream_change is not None:
                history.append({"at": self.now, "username": self.username, "entity": "camera", "entity_id": row.id,
                                "field": "stream", "old_value": None, "new_value": None})
                stream_updates.append((row.id, record.stream_url))
        import_rows.update_cameras(self.conn, changes, self.now)
        if history:
            import_rows.add_history(self.conn, history)
        stored = import_rows.main_streams(self.conn, [camera_id for camera_id, _ in stream_updates])
        for camera_id, raw_url in stream_updates:
            protocol, role, url, secret = self._stream_values(raw_url)
            if camera_id in stored:
                values = {"url": url, "protocol": protocol}
                if secret is not None:
                    values["credential_ciphertext"] = secret
                elif stored[camera_id].url != url:
                    values["credential_ciphertext"] = None  # another address: the old credentials are not its own
                import_rows.update_stream(self.conn, stored[camera_id].id, values)
            else:
                new_streams.append({"camera_id": camera_id, "protocol": protocol, "role": role, "url": url,
                                    "credential_ciphertext": secret})
        if new_streams:
            import_rows.add_streams(self.conn, new_streams)


def _history_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# --- importing a file -------------------------------------------------------------------------------


def import_file(database: Database, cipher: ContactCipher, path: str | Path, *, username: str, workstation: str,
                mapping: dict[str, str] | None = None, partial: bool = False, dry_run: bool = False,
                rejects: Path | None = None, progress: Progress | None = None, audit: AuditLog | None = None) -> dict:
    """Import a portal export in one audited transaction; a summary (counts, never contacts).

    All or nothing: any bad row raises ImportRejected (the report in it) unless `partial`, which imports the
    good rows and writes the bad ones to `rejects` (default: FILE.rejected.csv beside the file). `dry_run`
    validates, works out what would be added, updated and left, and rolls back: it writes nothing.
    """
    started = time.perf_counter()
    source = read_portal_file(path, mapping)
    total = len(source.rows)
    steps = 2 * total + len(source.problems)
    records, problems, rows = validate_file(source, _centre(database, source), progress)
    summary = {"file": source.path.name, "format": source.format, "sha256": source.sha256, "rows": rows,
               "valid": len(records), "rejected": len({p.row for p in problems}), "dry_run": dry_run}
    if problems and not partial and not dry_run:
        raise ImportRejected(problems, rows, source.path.name)
    if problems and partial and not dry_run:
        rejects = Path(rejects or source.path.with_name(source.path.name + ".rejected.csv"))
        try:
            write_rejects(rejects, source, problems)
        except OSError as exc:
            raise UserError(f"cannot write the bad rows to {rejects}: {exc.strerror or exc}; nothing was imported"
                            ) from None
        summary["rejects_file"] = str(rejects)
        if not records:
            raise UserError(f"{source.path.name}: none of its {rows:,} rows can be imported; nothing was imported "
                            f"(the bad rows and why are in {rejects})")

    def upsert_progress(done: int, _total: int) -> None:
        if progress is not None:
            progress(total + done, steps)

    event = AuditEntry(Action.REGISTRY_IMPORT, username, workstation, details={
        "file": source.path.name, "sha256": source.sha256, "format": source.format, "rows": rows,
        "rejected": summary["rejected"], "partial": partial})
    if dry_run:
        with database.engine.connect() as conn:
            counts = upsert_records(conn, cipher, records, workstation, username=username, progress=upsert_progress)
            conn.rollback()
    else:
        with audited_transaction(database) as conn:
            counts = upsert_records(conn, cipher, records, workstation, username=username, audit=audit or AuditLog(database),
                                    event=event, progress=upsert_progress)
    if progress is not None:
        progress(steps, steps)
    summary.update(counts.as_details())
    summary["owner_conflicts"] = [c.as_dict() for c in counts.owner_conflicts]  # masked, as lists show contacts
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return {"problems": problems, **summary} if dry_run else summary


def _centre(database: Database, source: PortalFile) -> tuple[float, float] | None:
    """Where the registry's cameras are, for the swapped-coordinates check of a file too small to tell."""
    if len(source.rows) >= 3:
        return None
    with database.engine.connect() as conn:
        return import_rows.registry_centre(conn)
