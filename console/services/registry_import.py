"""Putting portal camera records into the registry: `upsert_records`, shared by `rtic-console import` and the feed.

Idempotent by the portal's camera id: a record whose camera is already registered with the same values changes
nothing; a changed one updates the camera (its version goes up, the old and new values go to the registry
history); a new one adds the camera, and its owner and site when they are new. Large batches take a bulk path
(COPY on PostgreSQL, the spatial index built once), small ones the same code without it.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection

from console.domain.audit import Action, AuditEntry
from console.domain.changes import ChangeKind
from console.domain.owners import OwnerConflict, OwnerKind, mask_text, same_name
from console.domain.cameras import CameraInvalid, check_camera_fields, stream_protocol
from console.domain.portal_records import PortalRecord, Problem, validate_rows
from console.errors import UserError
from console.services.accounts import audited_transaction
from console.services.portal_files import PortalFile, read_portal_file, write_rejects
from console.store import bulk
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.models import RegistryHistoryRow
from console.store.registry import cameras, owners, sites, split_credentials, streams
from console.store.secrets import ContactCipher
from console.store.spatial import bulk_loading

EXPORTED_ID = re.compile(r"^rtic-([1-9][0-9]{0,9})$")  # see registry_export: a camera without a portal id
BULK_THRESHOLD = 1000  # new cameras from which the spatial index is built once instead of row by row
_CHUNK = 5000  # ids per IN (...) look-up
_PORTAL_TAKER = "registration portal"
_history = RegistryHistoryRow.__table__

Progress = Callable[[int, int], None]
"""progress(records done, records in all); may raise (ImportCancelled) to abandon the whole transaction."""

_CAMERA_FIELDS = ("site_id", "owner_id", "label", "lat", "lon", "capability", "sharing_mode", "fov_bearing_deg",
                  "fov_angle_deg", "fov_range_m", "consent_at", "consent_channel")


class ImportCancelled(UserError):
    """The person running the import cancelled it before it was committed: nothing was written."""


@dataclass
class ImportCounts:
    """What an upsert did. `changed` is False when the registry is exactly as it was."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    owners_added: int = 0
    owners_updated: int = 0
    sites_added: int = 0
    conflicts: int = 0  # rows not imported: their phone or e-mail is a registered owner's, under another name
    owner_conflicts: list[OwnerConflict] = field(default_factory=list)  # those rows, names masked

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.owners_added or self.owners_updated or self.sites_added)

    def as_details(self) -> dict:
        """For audit details and summaries: counts only, never contact details."""
        details = asdict(self)
        del details["owner_conflicts"]
        return details


def upsert_records(conn: Connection, cipher: ContactCipher, records: Sequence[PortalRecord], workstation: str, *,
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
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock before reading what is there: ids stay ours
    counts = ImportCounts()
    plan = _Plan(conn, cipher, records, username)
    plan.match(progress)
    plan.write(counts)
    if event is not None and audit is not None:
        entry = AuditEntry(event.action, event.username, event.workstation, event.outcome, event.camera_id,
                           event.incident_id, {**event.details, **counts.as_details()})
        audit.append(entry, conn)
    if counts.changed and announce:
        record_change(conn, ChangeKind.REGISTRY, None, workstation)
    return counts


def _chunks(values: Sequence, size: int = _CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _Plan:
    """Matches records to what is registered, then writes the difference.

    A new camera's record whose phone or e-mail digest is a registered owner's, but whose owner name is not that
    owner's, is a conflict: two people share a line, or the row is wrong. Which, only a person can tell, so the row
    is not imported (its camera would otherwise be listed under, and its footage asked of, someone else) and the
    registered owner is left as they were; `conflicts` lists them (names masked).
    """

    def __init__(self, conn: Connection, cipher: ContactCipher, records: Sequence[PortalRecord], username: str):
        self.conn, self.cipher, self.records, self.username = conn, cipher, records, username[:64]
        self.now = _utcnow()
        self.digest = _memo(cipher.digest)
        self.new_owners: list[dict] = []  # {"key", "contact", "kind", digests}
        self.owner_updates: list[dict] = []
        self.new_sites: dict[tuple, dict] = {}
        self.new_cameras: list[tuple[PortalRecord, tuple, tuple]] = []  # record, owner ref, site ref
        self.camera_updates: list[tuple[PortalRecord, object, tuple, tuple]] = []
        self.unchanged = 0
        self.conflicts: list[OwnerConflict] = []
        self.matched_by: dict[int, tuple[int, str]] = {}  # group -> (registered owner, "phone"/"email") by digest
        self.stored_names: dict[int, str] = {}  # registered owner -> name, for the owners matched by digest

    # --- matching ---------------------------------------------------------------------------------

    def match(self, progress: Progress | None) -> None:
        records = self.records
        for record in records:  # validate_rows checked them; the rule is the domain's, so it is asked once more here
            try:
                check_camera_fields(record.capability, record.sharing_mode,
                                    [record.stream_url] if record.stream_url else [])
            except CameraInvalid as exc:
                raise UserError(f"portal camera {record.portal_id[:64]!r}, {exc.field}: {exc}; nothing was imported"
                                ) from None
        existing = self._existing_cameras([r.portal_id for r in records])
        stream_rows = self._main_streams([row.id for row in existing.values()])
        groups = self._owner_groups()
        owner_of = self._owners(groups, existing)
        site_ids = self._existing_sites([o for o in owner_of.values() if isinstance(o, int)]
                                        + [row.owner_id for row in existing.values()])
        contact_from: dict[int, PortalRecord] = {}  # an existing owner -> the first record that speaks for them
        total = len(records)
        for done, record in enumerate(records, 1):
            if progress is not None and (done % 2000 == 0 or done == total):
                progress(done, total)
            row = existing.get(record.portal_id)
            if row is not None and row.status == "removed":
                self.unchanged += 1  # a camera the owner withdrew stays withdrawn; so does an erased owner
                continue
            # A registered camera stays with its owner (owners may share a phone line); new ones join their group's.
            owner_ref = row.owner_id if row is not None else owner_of[self.group_of[done - 1]]
            if row is None and self._conflicting(record, self.group_of[done - 1]):
                continue
            if isinstance(owner_ref, int):
                contact_from.setdefault(owner_ref, record)
            address_key = record.address.casefold()
            site_ref = site_ids.get((owner_ref, address_key)) if isinstance(owner_ref, int) else None
            if site_ref is None:
                key = (owner_ref, address_key)
                site_ref = ("new-site", key)
                if key not in self.new_sites:
                    self.new_sites[key] = {"owner": owner_ref, "name": record.organisation or "Residence",
                                           "address": record.address, "lat": record.lat, "lon": record.lon}
            if row is None:
                self.new_cameras.append((record, owner_ref, site_ref))
            else:
                stream_change = self._stream_change(record, stream_rows.get(row.id))
                if stream_change is not None or self._camera_values(record, owner_ref, site_ref) != tuple(
                        getattr(row, f) for f in _CAMERA_FIELDS):
                    self.camera_updates.append((record, row, (owner_ref, site_ref), stream_change))
                else:
                    self.unchanged += 1
        self._owner_changes(contact_from)

    def _conflicting(self, record: PortalRecord, group: int) -> bool:
        """Whether a new camera's record names another person than the registered owner its digest matched."""
        matched = self.matched_by.get(group)
        if matched is None:
            return False
        owner_id, matched_on = matched
        stored = self.stored_names.get(owner_id, "")
        if same_name(record.owner_name, stored):
            return False
        self.conflicts.append(OwnerConflict(record.row, record.portal_id, owner_id, matched_on, mask_text(stored),
                                            mask_text(record.owner_name)))
        return True

    def _existing_cameras(self, portal_ids: list[str]) -> dict:
        found = {}
        columns = (cameras.c.id, cameras.c.portal_id, cameras.c.status) + tuple(cameras.c[f] for f in _CAMERA_FIELDS)
        for chunk in _chunks(portal_ids):
            for row in self.conn.execute(select(*columns).where(cameras.c.portal_id.in_(chunk))):
                found[row.portal_id] = row
        exported = {int(m.group(1)): p for p in portal_ids if p not in found and (m := EXPORTED_ID.match(p))}
        for chunk in _chunks(sorted(exported)):
            query = select(*columns).where(cameras.c.id.in_(chunk)).where(cameras.c.portal_id.is_(None))
            for row in self.conn.execute(query):
                found[exported[row.id]] = row
        return found

    def _main_streams(self, camera_ids: list[int]) -> dict:
        found = {}
        query = select(streams.c.id, streams.c.camera_id, streams.c.url, streams.c.credential_ciphertext)
        for chunk in _chunks(camera_ids):
            for row in self.conn.execute(query.where(streams.c.camera_id.in_(chunk)).where(streams.c.role == "main")
                                         .order_by(streams.c.id)):
                found.setdefault(row.camera_id, row)
        return found

    def _owner_groups(self) -> list[dict]:
        """Records grouped by owner: the same name with a shared phone or e-mail digest, else the same name and
        address. Two names on one phone line are two owners, as the file says (see _conflicting for registered ones)."""
        digest = self.digest
        by_key: dict[tuple, int] = {}
        groups: list[dict] = []
        self.group_of: list[int] = []
        for record in self.records:
            phone, email = digest(record.phone), digest(record.email)
            name = " ".join(record.owner_name.split()).casefold()  # as same_name compares them
            keys = [(*k, name) for k in (("phone", phone), ("email", email)) if k[1]] or [
                ("name", name, record.address.casefold())]
            group = next((by_key[k] for k in keys if k in by_key), None)
            if group is None:
                group = len(groups)
                groups.append({"record": record, "phone": phone, "email": email, "portal_ids": []})
            for k in keys:
                by_key.setdefault(k, group)
            groups[group]["portal_ids"].append(record.portal_id)
            self.group_of.append(group)
        return groups

    def _owners(self, groups: list[dict], existing: dict) -> dict[int, object]:
        """Group number -> an existing owner's id, or ("new-owner", group) for an owner to add."""
        digests = sorted({g[k] for g in groups for k in ("phone", "email") if g[k]})
        by_digest: dict[tuple[str, str], list[int]] = {}  # ("phone"/"email", digest) -> registered owners, oldest first
        names: dict[int, bytes] = {}
        for chunk in _chunks(digests):
            query = (select(owners.c.id, owners.c.phone_digest, owners.c.email_digest, owners.c.contact_ciphertext)
                     .where(owners.c.erased_at.is_(None))
                     .where(owners.c.phone_digest.in_(chunk) | owners.c.email_digest.in_(chunk)).order_by(owners.c.id))
            for row in self.conn.execute(query):
                names[row.id] = row.contact_ciphertext
                for kind, value in (("phone", row.phone_digest), ("email", row.email_digest)):
                    if value and row.id not in by_digest.setdefault((kind, value), []):
                        by_digest[(kind, value)].append(row.id)
        owner_of: dict[int, object] = {}
        for number, group in enumerate(groups):
            candidates = [(owner, kind) for kind in ("phone", "email") if group[kind]
                          for owner in by_digest.get((kind, group[kind]), ())]
            owner_id = None
            if candidates:
                # The registered owner of this phone or e-mail with this name; if none has it, the first is the
                # conflicting one (its new cameras are reported, not imported: see _conflicting).
                for owner, _ in candidates:
                    if owner not in self.stored_names:
                        stored = names.get(owner)
                        self.stored_names[owner] = self.cipher.decrypt(stored)["name"] if stored else ""
                owner_id, kind = next(((o, k) for o, k in candidates
                                       if same_name(group["record"].owner_name, self.stored_names[o])), candidates[0])
                self.matched_by[number] = (owner_id, kind)
            if owner_id is None:
                owner_id = next((existing[p].owner_id for p in group["portal_ids"] if p in existing), None)
            owner_of[number] = owner_id if owner_id is not None else ("new-owner", number)
            if owner_id is None:
                self.new_owners.append({"group": number, **self._owner_values(group["record"])})
        return owner_of

    def _owner_values(self, record: PortalRecord) -> dict:
        contact = {"name": record.owner_name, "organisation": record.organisation, "phone": record.phone,
                   "email": record.email, "address": record.address}
        return {"contact": contact, "kind": (OwnerKind.BUSINESS if record.organisation else OwnerKind.RESIDENT).value,
                "phone_digest": self.digest(record.phone), "email_digest": self.digest(record.email)}

    def _owner_changes(self, contact_from: dict[int, PortalRecord]) -> None:
        """Re-encrypt the contact of existing owners whose record says otherwise (never of an erased owner)."""
        for chunk in _chunks(sorted(contact_from)):
            query = (select(owners.c.id, owners.c.kind, owners.c.contact_ciphertext).where(owners.c.id.in_(chunk))
                     .where(owners.c.erased_at.is_(None)))
            for row in self.conn.execute(query):
                values = self._owner_values(contact_from[row.id])
                stored = self.cipher.decrypt_or_none(row.contact_ciphertext) if row.contact_ciphertext else None
                if stored != values["contact"] or row.kind != values["kind"]:
                    self.owner_updates.append({"b_id": row.id, **values})

    def _existing_sites(self, owner_ids: list[int]) -> dict[tuple, int]:
        found: dict[tuple, int] = {}
        for chunk in _chunks(sorted(set(owner_ids))):
            query = select(sites.c.id, sites.c.owner_id, sites.c.address).where(sites.c.owner_id.in_(chunk))
            for row in self.conn.execute(query.order_by(sites.c.id)):
                found.setdefault((row.owner_id, row.address.casefold()), row.id)
        return found

    @staticmethod
    def _camera_values(record: PortalRecord, owner_ref, site_ref) -> tuple:
        return (site_ref, owner_ref, record.camera_label, record.lat, record.lon, record.capability.value,
                record.sharing_mode.value, record.bearing_deg, record.fov_deg, record.range_m, record.consent_at,
                record.consent_channel.value if record.consent_channel else None)

    def _stream_change(self, record: PortalRecord, stored) -> tuple | None:
        """None when the stored main stream already matches the record; else (url, user, password)."""
        if not record.stream_url:
            return None
        url, user, password = split_credentials(record.stream_url)
        if stored is not None and stored.url == url:
            if user is None and password is None:
                return None
            if stored.credential_ciphertext and self.cipher.decrypt_or_none(stored.credential_ciphertext, b"stream") == {
                    "username": user, "password": password}:
                return None
        return url, user, password

    # --- writing ----------------------------------------------------------------------------------

    def write(self, counts: ImportCounts) -> None:
        conn, now = self.conn, self.now
        stamp = bulk.timestamp_adapter(conn)
        owner_ids = dict(zip((o["group"] for o in self.new_owners), _reserve_ids(conn, "owners", len(self.new_owners))))
        bulk.load_rows(conn, "owners", bulk.OWNER_COLUMNS, (
            (owner_ids[o["group"]], o["kind"], None, self.cipher.encrypt(o["contact"]), o["phone_digest"],
             o["email_digest"], False, stamp(now), stamp(now), 1) for o in self.new_owners))

        def owner(ref) -> int:
            return owner_ids[ref[1]] if isinstance(ref, tuple) else ref

        site_ids = dict(zip(self.new_sites, _reserve_ids(conn, "sites", len(self.new_sites))))
        bulk.load_rows(conn, "sites", bulk.SITE_COLUMNS, (
            (site_ids[key], owner(s["owner"]), s["name"][:200], s["address"], s["lat"], s["lon"], stamp(now),
             stamp(now), 1) for key, s in self.new_sites.items()))

        def site(ref) -> int:
            return site_ids[ref[1]] if isinstance(ref, tuple) else ref

        self._add_cameras(owner, site, stamp)
        self._update_owners()
        self._update_cameras(owner, site)
        counts.added, counts.updated, counts.unchanged = len(self.new_cameras), len(self.camera_updates), self.unchanged
        counts.owners_added, counts.owners_updated = len(self.new_owners), len(self.owner_updates)
        counts.sites_added = len(self.new_sites)
        counts.conflicts, counts.owner_conflicts = len(self.conflicts), list(self.conflicts)

    def _add_cameras(self, owner, site, stamp) -> None:
        if not self.new_cameras:
            return
        conn, now = self.conn, stamp(self.now)
        camera_ids = _reserve_ids(conn, "cameras", len(self.new_cameras))
        rows, stream_rows = [], []
        for camera_id, (record, owner_ref, site_ref) in zip(camera_ids, self.new_cameras):
            rows.append((camera_id, site(site_ref), owner(owner_ref), record.portal_id, record.camera_label,
                         record.lat, record.lon, record.capability.value, record.sharing_mode.value, "active",
                         "outside", record.bearing_deg, record.fov_deg, record.range_m, stamp(record.consent_at),
                         record.consent_channel.value if record.consent_channel else None,
                         _PORTAL_TAKER if record.consent_at else None, None, False, now, now, 1))
            if record.stream_url:
                stream_rows.append((camera_id, record.stream_url))
        many = len(rows) >= BULK_THRESHOLD
        if many:
            with bulk_loading(conn, rebuild_index=_may_rebuild_index(conn)):
                bulk.load_rows(conn, "cameras", bulk.CAMERA_COLUMNS, rows)
        else:
            bulk.load_rows(conn, "cameras", bulk.CAMERA_COLUMNS, rows)
        stream_ids = _reserve_ids(conn, "streams", len(stream_rows))
        bulk.load_rows(conn, "streams", bulk.STREAM_COLUMNS, (
            (stream_id, camera_id, *self._stream_values(url)) for stream_id, (camera_id, url) in
            zip(stream_ids, stream_rows)))

    def _stream_values(self, raw_url: str) -> tuple:
        url, user, password = split_credentials(raw_url)
        secret = self.cipher.encrypt({"username": user, "password": password}, b"stream") if user or password else None
        return stream_protocol(url).value, "main", url, secret

    def _update_owners(self) -> None:
        if not self.owner_updates:
            return
        self.conn.execute(
            update(owners).where(owners.c.id == bindparam("b_id")).values(
                kind=bindparam("b_kind"), contact_ciphertext=bindparam("b_contact"),
                phone_digest=bindparam("b_phone"), email_digest=bindparam("b_email"), updated_at=self.now,
                version=owners.c.version + 1),
            [{"b_id": o["b_id"], "b_kind": o["kind"], "b_contact": self.cipher.encrypt(o["contact"]),
              "b_phone": o["phone_digest"], "b_email": o["email_digest"]} for o in self.owner_updates])
        # Contact fields are recorded as changed, never with their values (see RegistryHistoryRow).
        self.conn.execute(insert(_history), [
            {"at": self.now, "username": self.username, "entity": "owner", "entity_id": o["b_id"], "field": "contact",
             "old_value": None, "new_value": None} for o in self.owner_updates])

    def _update_cameras(self, owner, site) -> None:
        if not self.camera_updates:
            return
        params, history, new_streams, stream_updates = [], [], [], []
        for record, row, (owner_ref, site_ref), stream_change in self.camera_updates:
            values = dict(zip(_CAMERA_FIELDS, self._camera_values(record, owner(owner_ref), site(site_ref))))
            for name in _CAMERA_FIELDS:
                old, new = getattr(row, name), values[name]
                if old != new:
                    history.append({"at": self.now, "username": self.username, "entity": "camera",
                                    "entity_id": row.id, "field": name, "old_value": _history_text(old),
                                    "new_value": _history_text(new)})
            values["consent_taken_by"] = _PORTAL_TAKER if record.consent_at else None
            params.append({f"b_{k}": v for k, v in values.items()} | {"b_id": row.id})
            if stream_change is not None:
                history.append({"at": self.now, "username": self.username, "entity": "camera", "entity_id": row.id,
                                "field": "stream", "old_value": None, "new_value": None})
                stream_updates.append((row.id, record.stream_url))
        fields = _CAMERA_FIELDS + ("consent_taken_by",)
        self.conn.execute(
            update(cameras).where(cameras.c.id == bindparam("b_id")).values(
                **{f: bindparam(f"b_{f}") for f in fields}, updated_at=self.now, version=cameras.c.version + 1),
            params)
        if history:
            self.conn.execute(insert(_history), history)
        stored = self._main_streams([camera_id for camera_id, _ in stream_updates])
        for camera_id, raw_url in stream_updates:
            protocol, role, url, secret = self._stream_values(raw_url)
            if camera_id in stored:
                values = {"url": url, "protocol": protocol}
                if secret is not None:
                    values["credential_ciphertext"] = secret
                elif stored[camera_id].url != url:
                    values["credential_ciphertext"] = None  # another address: the old credentials are not its own
                self.conn.execute(update(streams).where(streams.c.id == stored[camera_id].id).values(**values))
            else:
                new_streams.append({"camera_id": camera_id, "protocol": protocol, "role": role, "url": url,
                                    "credential_ciphertext": secret})
        if new_streams:
            self.conn.execute(insert(streams), new_streams)


def _reserve_ids(conn: Connection, table: str, count: int) -> list[int]:
    """`count` fresh ids for `table`: from its sequence on PostgreSQL (safe beside other writers); on SQLite the
    caller holds the write lock, so the ids after the largest are free."""
    if count == 0:
        return []
    if conn.dialect.name == "postgresql":
        return list(conn.execute(text(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": count}
        ).scalars())
    first = bulk.next_id(conn, table)
    return list(range(first, first + count))


def _may_rebuild_index(conn: Connection) -> bool:
    """PostgreSQL: build the spatial index once after the load only into an empty registry (dropping it locks the
    table) and only as the table's owner (the consoles' least-privileged role may not drop indexes)."""
    if conn.dialect.name != "postgresql":
        return True  # SQLite's R*Tree is filled in one pass anyway (see bulk_loading)
    if conn.execute(select(func.count()).select_from(cameras)).scalar_one():
        return False
    return bool(conn.execute(text(
        "SELECT pg_get_userbyid(relowner) = current_user FROM pg_class WHERE oid = 'cameras'::regclass")).scalar_one())


def _history_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _memo(fn):
    cache: dict = {}

    def call(value):
        if value not in cache:
            cache[value] = fn(value)
        return cache[value]

    return call


# --- importing a file -------------------------------------------------------------------------------


class ImportRejected(UserError):
    """Bad rows and no --partial: nothing was imported. `problems` is the full report."""

    def __init__(self, problems: list[Problem], rows: int, name: str):
        bad = len({p.row for p in problems})
        super().__init__(f"{name}: {bad:,} of {rows:,} rows are bad, so nothing was imported; fix them, or use "
                         "--partial to import the good rows and write the bad ones to a file")
        self.problems = problems


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
    if progress is not None:
        progress(0, steps)
    records, problems = validate_rows(_counted(source.rows, progress, steps), _centre(database, source))
    problems = sorted(problems + source.problems, key=lambda p: p.row)
    rows = total + len({p.row for p in source.problems})
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


def _counted(rows, progress: Progress | None, steps: int):
    for done, row in enumerate(rows, 1):
        if progress is not None and done % 2000 == 0:
            progress(done, steps)
        yield row


def _centre(database: Database, source: PortalFile) -> tuple[float, float] | None:
    """Where the registry's cameras are, for the swapped-coordinates check of a file too small to tell."""
    if len(source.rows) >= 3:
        return None
    with database.engine.connect() as conn:
        lat, lon = conn.execute(select(func.avg(cameras.c.lat), func.avg(cameras.c.lon))).one()
    return None if lat is None else (float(lat), float(lon))
