"""Planning a portal import: which records add, update or leave a camera, owner and site, with no database.

`ImportPlan.match` compares validated records with what is registered, read through a `Registered` look-up (the
loader, console/services/registry_import.py, gives it the store's); the plan it leaves is what the loader writes.
`validate_file` turns a parsed portal file into records and the problems of its bad rows.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from console.domain.cameras import CameraInvalid, check_camera_fields, split_credentials
from console.domain.owners import OwnerConflict, OwnerKind, mask_text, same_name
from console.domain.portal_records import PortalRecord, Problem, validate_rows
from console.errors import UserError

if TYPE_CHECKING:
    from console.services.portal_files import PortalFile
    from console.store.secrets import ContactCipher

EXPORTED_ID = re.compile(r"^rtic-([1-9][0-9]{0,9})$")  # see registry_export: a camera without a portal id
PORTAL_TAKER = "registration portal"

Progress = Callable[[int, int], None]
"""progress(records done, records in all); may raise (ImportCancelled) to abandon the whole transaction."""

CAMERA_FIELDS = ("site_id", "owner_id", "label", "lat", "lon", "capability", "sharing_mode", "fov_bearing_deg",
                 "fov_angle_deg", "fov_range_m", "consent_at", "consent_channel")


class ImportCancelled(UserError):
    """The person running the import cancelled it before it was committed: nothing was written."""


class ImportRejected(UserError):
    """Bad rows and no --partial: nothing was imported. `problems` is the full report."""

    def __init__(self, problems: list[Problem], rows: int, name: str):
        bad = len({p.row for p in problems})
        super().__init__(f"{name}: {bad:,} of {rows:,} rows are bad, so nothing was imported; fix them, or use "
                         "--partial to import the good rows and write the bad ones to a file")
        self.problems = problems


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


class Registered(Protocol):
    """What the plan reads of the registry (console/store/registry_import.py, bound to the import's transaction).
    Rows are read by attribute, as the store returns them."""

    def cameras_by_portal_id(self, portal_ids: Sequence[str]) -> dict:
        """portal id -> (id, portal_id, status, *CAMERA_FIELDS)."""

    def cameras_without_portal_id(self, camera_ids: Sequence[int]) -> list:
        """The same rows, of those cameras that have no portal id."""

    def main_streams(self, camera_ids: Sequence[int]) -> dict:
        """camera id -> (id, camera_id, url, credential_ciphertext) of its first main stream."""

    def owners_by_digest(self, digests: Sequence[str]) -> list:
        """(id, phone_digest, email_digest, contact_ciphertext) of owners not erased, oldest first."""

    def owner_contacts(self, owner_ids: Sequence[int]) -> list:
        """(id, kind, contact_ciphertext) of those owners not erased."""

    def sites_by_owner_address(self, owner_ids: Sequence[int]) -> dict[tuple, int]:
        """(owner id, address case-folded) -> site id."""


def validate_file(source: PortalFile, centre: tuple[float, float] | None,
                  progress: Progress | None = None) -> tuple[list[PortalRecord], list[Problem], int]:
    """(records, the problems of the file and its rows by row, how many rows it has); `progress` counts rows on the
    way to 2 × rows + the file's problems (the other half is the upsert's)."""
    total = len(source.rows)
    steps = 2 * total + len(source.problems)
    if progress is not None:
        progress(0, steps)
    records, problems = validate_rows(_counted(source.rows, progress, steps), centre)
    problems = sorted(problems + source.problems, key=lambda p: p.row)
    return records, problems, total + len({p.row for p in source.problems})


def _counted(rows, progress: Progress | None, steps: int):
    for done, row in enumerate(rows, 1):
        if progress is not None and done % 2000 == 0:
            progress(done, steps)
        yield row


def camera_values(record: PortalRecord, owner_ref, site_ref) -> tuple:
    """The record's camera as CAMERA_FIELDS."""
    return (site_ref, owner_ref, record.camera_label, record.lat, record.lon, record.capability.value,
            record.sharing_mode.value, record.bearing_deg, record.fov_deg, record.range_m, record.consent_at,
            record.consent_channel.value if record.consent_channel else None)


class ImportPlan:
    """Matches records to what is registered; the difference is left in its lists for the loader to write.

    Owners and sites still to be added are referred to as ("new-owner", group) and ("new-site", key), registered
    ones by their ids. A new camera's record whose phone or e-mail digest is a registered owner's, but whose owner
    name is not that owner's, is a conflict: two people share a line, or the row is wrong. Which, only a person can
    tell, so the row is not imported (its camera would otherwise be listed under, and its footage asked of, someone
    else) and the registered owner is left as they were; `conflicts` lists them (names masked).
    """

    def __init__(self, registered: Registered, cipher: ContactCipher, records: Sequence[PortalRecord],
                 username: str, now: datetime):
        self.registered, self.cipher, self.records, self.username = registered, cipher, records, username[:64]
        self.now = now
        self.digest = _memo(cipher.digest)
        self.new_owners: list[dict] = []  # {"group", "contact", "kind", digests}
        self.owner_updates: list[dict] = []  # {"id", "contact", "kind", digests}
        self.new_sites: dict[tuple, dict] = {}
        self.new_cameras: list[tuple[PortalRecord, object, object]] = []  # record, owner ref, site ref
        self.camera_updates: list[tuple[PortalRecord, object, tuple, tuple | None]] = []  # record, row, refs, stream
        self.unchanged = 0
        self.conflicts: list[OwnerConflict] = []
        self.matched_by: dict[int, tuple[int, str]] = {}  # group -> (registered owner, "phone"/"email") by digest
        self.stored_names: dict[int, str] = {}  # registered owner -> name, for the owners matched by digest

    def counts(self) -> ImportCounts:
        return ImportCounts(len(self.new_cameras), len(self.camera_updates), self.unchanged, len(self.new_owners),
                            len(self.owner_updates), len(self.new_sites), len(self.conflicts), list(self.conflicts))

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
        stream_rows = self.registered.main_streams([row.id for row in existing.values()])
        groups = self._owner_groups()
        owner_of = self._owners(groups, existing)
        site_ids = self.registered.sites_by_owner_address([o for o in owner_of.values() if isinstance(o, int)]
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
                if stream_change is not None or camera_values(record, owner_ref, site_ref) != tuple(
                        getattr(row, f) for f in CAMERA_FIELDS):
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
        found = self.registered.cameras_by_portal_id(portal_ids)
        exported = {int(m.group(1)): p for p in portal_ids if p not in found and (m := EXPORTED_ID.match(p))}
        for row in self.registered.cameras_without_portal_id(sorted(exported)):
            found[exported[row.id]] = row
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
        for row in self.registered.owners_by_digest(digests):
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
        for row in self.registered.owner_contacts(sorted(contact_from)):
            values = self._owner_values(contact_from[row.id])
            stored = self.cipher.decrypt_or_none(row.contact_ciphertext) if row.contact_ciphertext else None
            if stored != values["contact"] or row.kind != values["kind"]:
                self.owner_updates.append({"id": row.id, **values})

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


def _memo(fn):
    cache: dict = {}

    def call(value):
        if value not in cache:
            cache[value] = fn(value)
        return cache[value]

    return call
