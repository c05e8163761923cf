"""Owner changes to the registry: camera edits (sharing mode and other fields), camera removal, owner erasure.

Every edit takes the version of the record the user saw. The UPDATE is `WHERE id = ? AND version = ?` and bumps
the version; when it changes no row, someone else saved first: `ConcurrentEdit` carries what is stored now
and what the user tried, and nothing is written. Each change keeps registry_history rows (who, when, old,
new; contact fields as "changed", never their values), one audit event, and a change-feed row (the last
statement of its transaction).

For the registry feed and other Qt-free callers without a signed-in user, the module-level `remove_camera`
and `erase_owner` do the same work in their own transaction (no permission check: the caller vouches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from console.domain.audit import Action, AuditEntry
from console.domain.cameras import (
    CameraInvalid,
    CameraStatus,
    Capability,
    ConsentRecord,
    SharingMode,
    check_camera_fields,
    normalize_fingerprint,
)
from console.domain.changes import ChangeKind
from console.domain.intake import Placement
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Permission, User
from console.errors import UserError
from console.services.accounts import AuditedService
from console.store import intake as store
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.registry import camera_owner_id, readable_contact
from console.store.transactions import Connection, audited_transaction
from console.store.users import get_user_by_id


class ConcurrentEdit(UserError):
    """Someone saved this record after the user opened it: nothing was written. Both versions are attached.

    `stored` is the record as it is now (at `stored_version`), `attempted` the values the user tried to save
    over `seen_version`. Re-saving `attempted` with `seen_version=stored_version` overwrites deliberately.
    """

    def __init__(self, entity: str, record_id: int, seen_version: int, stored_version: int,
                 stored: dict[str, Any], attempted: dict[str, Any]):
        super().__init__(f"{entity} {record_id} was changed by someone else after you opened it (you saw version "
                         f"{seen_version}, it is now version {stored_version}): nothing was saved; compare the two "
                         "and save again")
        self.entity, self.record_id = entity, record_id
        self.seen_version, self.stored_version = seen_version, stored_version
        self.stored, self.attempted = stored, attempted


class EditDenied(UserError):
    """The user's role or account state does not allow registry edits."""


@dataclass(frozen=True)
class EditableCamera:
    """A camera as an edit form opens it: its editable values and the version they belong to."""

    camera_id: int
    owner_id: int
    version: int
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Erasure:
    owner_id: int
    cameras_removed: tuple[int, ...]
    sites: tuple[int, ...]
    outreach_calls: int


# What `edit_camera` accepts, with the check for each (None: any number or text; coerced below).
_CAMERA_EDITABLE = {"label", "lat", "lon", "capability", "sharing_mode", "status", "placement", "fov_bearing_deg",
                    "fov_angle_deg", "fov_range_m", "tls_pin_sha256"}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _normalise_camera_values(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - _CAMERA_EDITABLE
    if unknown:
        raise UserError(f"these camera fields cannot be edited here: {', '.join(sorted(unknown))}")
    out = dict(changes)
    try:
        if "capability" in out:
            out["capability"] = Capability(out["capability"]).value
        if "sharing_mode" in out:
            out["sharing_mode"] = SharingMode(out["sharing_mode"]).value
        if "placement" in out:
            out["placement"] = Placement(out["placement"]).value
        if "status" in out:
            out["status"] = CameraStatus(out["status"]).value
    except ValueError as exc:
        raise UserError(f"not a valid value: {exc}") from None
    if "tls_pin_sha256" in out:  # a pasted fingerprint in any common form; empty: no pin
        text = str(out["tls_pin_sha256"] or "").strip()
        try:
            out["tls_pin_sha256"] = normalize_fingerprint(text) if text else None
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if out.get("status") == CameraStatus.REMOVED.value:
        raise UserError("use 'remove camera' to take a camera out of the registry")
    if "label" in out and not str(out["label"]).strip():
        raise UserError("a camera needs a label")
    for name, low, high in (("lat", -90, 90), ("lon", -180, 180), ("fov_bearing_deg", 0, 360),
                            ("fov_angle_deg", 1, 360), ("fov_range_m", 1, 1000)):
        if out.get(name) is not None:
            try:
                out[name] = float(out[name])
            except (TypeError, ValueError):
                raise UserError(f"{name.replace('_', ' ')} must be a number") from None
            if not low <= out[name] <= high:
                raise UserError(f"{name.replace('_', ' ')} must be between {low} and {high}")
    return out


# --- the work, inside a caller's transaction -----------------------------------------------------------


def edit_camera_in(conn: Connection, audit: AuditLog, camera_id: int, seen_version: int, changes: dict[str, Any],
                   username: str, workstation: str, now: datetime, consent: ConsentRecord | None = None) -> int:
    """Apply `changes` to a camera saved at `seen_version`; the new version. ConcurrentEdit or UserError otherwise.

    Writes history, one audit event (CONSENT_CHANGE when the sharing mode changes, else REGISTRY_CHANGE) and a
    CAMERA change as its last statement: the caller must not write anything after it in the same transaction.
    `consent` (how the owner gave the new sharing choice) is stored on the camera and in the audit event when the
    sharing mode changes.
    """
    values = _normalise_camera_values(changes)
    current = store.camera_values(conn, camera_id)
    if current is None:
        raise UserError(f"there is no camera {camera_id} in the registry")
    stored_version, stored = current
    if stored["status"] == CameraStatus.REMOVED.value:
        raise UserError(f"camera {camera_id} has been removed from the registry; it cannot be edited")
    after = {**stored, **values}
    try:  # the registry's camera rules, the domain's: as the camera would be after the edit, with its streams
        check_camera_fields(Capability(after["capability"]), SharingMode(after["sharing_mode"]),
                            store.camera_stream_urls(conn, camera_id))
    except CameraInvalid as exc:
        raise UserError(f"not saved: camera {camera_id}, {exc.field.replace('_', ' ')}: {exc}") from None
    if store.update_camera(conn, camera_id, seen_version, values, now) != 1:
        raise _conflict(conn, camera_id, seen_version, values)
    diff = [(name, stored[name], value) for name, value in values.items() if stored[name] != value]
    store.add_history(conn, now, username, "camera", camera_id, diff)
    consent_changed = any(name == "sharing_mode" for name, _, _ in diff)
    details: dict[str, Any] = {"changes": [{"field": n, "old": _plain(o), "new": _plain(v)} for n, o, v in diff],
                               "version": seen_version + 1}
    if consent_changed and consent is not None:
        store.set_camera_consent(conn, camera_id, consent)
        details["consent"] = {"channel": consent.channel.value, "taken_by": consent.taken_by,
                              "note": consent.wording[:500]}
    audit.append(AuditEntry(
        action=Action.CONSENT_CHANGE if consent_changed else Action.REGISTRY_CHANGE, username=username,
        workstation=workstation, camera_id=camera_id, details=details), conn=conn)
    record_change(conn, ChangeKind.CAMERA, camera_id, workstation)
    return seen_version + 1


def _conflict(conn: Connection, camera_id: int, seen_version: int, attempted: dict[str, Any]) -> ConcurrentEdit:
    # Read again: on PostgreSQL the UPDATE waited for the other writer's commit, so a new read sees its values.
    stored_version, stored = store.camera_values(conn, camera_id)
    return ConcurrentEdit("camera", camera_id, seen_version, stored_version, stored, attempted)


def remove_camera_in(conn: Connection, audit: AuditLog, camera_id: int, username: str, workstation: str,
                     now: datetime, seen_version: int | None = None, reason: str = "") -> None:
    """Take a camera out of the registry (status removed, sharing never, stream credentials forgotten).

    `seen_version` None means "whatever is stored" (the feed); the row stays for history and audit. Writes a
    CAMERA change as the last statement. Removing a removed camera is a UserError.
    """
    _remove_cameras(conn, [camera_id], now, username, seen_version)
    audit.append(AuditEntry(action=Action.REGISTRY_CHANGE, username=username, workstation=workstation,
                            camera_id=camera_id, details={"change": "camera_removed", "reason": reason[:200]}),
                 conn=conn)
    record_change(conn, ChangeKind.CAMERA, camera_id, workstation)


def _remove_cameras(conn: Connection, camera_ids: list[int], now: datetime, username: str,
                    seen_version: int | None = None) -> None:
    for camera_id in camera_ids:
        current = store.camera_values(conn, camera_id)
        if current is None:
            raise UserError(f"there is no camera {camera_id} in the registry")
        stored_version, stored = current
        if stored["status"] == CameraStatus.REMOVED.value:
            raise UserError(f"camera {camera_id} was already removed from the registry")
        version = stored_version if seen_version is None else seen_version
        values = {"status": CameraStatus.REMOVED.value, "sharing_mode": SharingMode.NEVER.value}
        if store.update_camera(conn, camera_id, version, values, now) != 1:
            raise _conflict(conn, camera_id, version, values)
        store.add_history(conn, now, username, "camera", camera_id,
                          [(n, stored[n], v) for n, v in values.items() if stored[n] != v])
    store.forget_stream_credentials(conn, camera_ids)


def erase_owner_in(conn: Connection, audit: AuditLog, owner_id: int, username: str, workstation: str,
                   now: datetime, seen_version: int | None = None) -> Erasure:
    """The owner asked to be deleted: contact and digests gone (erased_at set), every camera removed, the
    owner's name cleared from sites, outreach calls and history values. The owner's id stays (audit events
    and footage requests name it). Writes an OWNER change as the last statement.
    """
    row = store.owner_version_for_update(conn, owner_id)
    if row is None:
        raise UserError(f"there is no owner {owner_id} in the registry")
    version, erased_at = row
    if erased_at is not None:
        raise UserError(f"owner {owner_id} was already erased")
    if seen_version is not None and seen_version != version:
        raise ConcurrentEdit("owner", owner_id, seen_version, version, {"contact": "changed since"},
                             {"erase": True})
    camera_ids = store.owner_camera_ids(conn, owner_id)
    _remove_cameras(conn, camera_ids, now, username)
    touched = store.erase_owner_rows(conn, owner_id, now)
    store.add_history(conn, now, username, "owner", owner_id, [("contact", None, "erased")])
    erasure = Erasure(owner_id, tuple(camera_ids), tuple(touched["sites"]), touched["outreach_calls"])
    audit.append(AuditEntry(action=Action.REGISTRY_CHANGE, username=username, workstation=workstation,
                            details={"change": "owner_erased", "owner_id": owner_id,
                                     "cameras_removed": list(camera_ids), "sites": list(erasure.sites),
                                     "outreach_calls": erasure.outreach_calls}), conn=conn)
    record_change(conn, ChangeKind.OWNER, owner_id, workstation)
    return erasure


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


# --- for callers without a signed-in user (the registry feed) --------------------------------------------


def remove_camera(database: Database, camera_id: int, username: str, workstation: str, *,
                  reason: str = "", now: datetime | None = None) -> None:
    """Remove one camera in its own audited transaction (no permission check). UserError if unknown/removed."""
    with audited_transaction(database) as conn:
        remove_camera_in(conn, AuditLog(database), camera_id, username, workstation, now or _utcnow(), reason=reason)


def erase_owner(database: Database, owner_id: int, username: str, workstation: str, *,
                now: datetime | None = None) -> Erasure:
    """Erase one owner in its own audited transaction (no permission check). UserError if unknown/erased."""
    with audited_transaction(database) as conn:
        return erase_owner_in(conn, AuditLog(database), owner_id, username, workstation, now or _utcnow())


# --- the service the console uses ---------------------------------------------------------------------


class RegistryEditService(AuditedService):
    """Owner changes made by outreach staff or administrators (Permission.REGISTRY_EDIT)."""

    def check_allowed(self, user: User) -> User:
        """The user as stored now; EditDenied unless the account is active and its role may edit the registry."""
        if user.id is not None:
            with self.database.engine.connect() as conn:
                user = get_user_by_id(conn, user.id) or user
        if not user.is_active:
            raise EditDenied(f"not saved: the account {user.username} is {user.state}")
        if not user.may(Permission.REGISTRY_EDIT):
            raise EditDenied(f"not saved: the {user.role.value} role cannot change the camera registry")
        return user

    def camera_for_edit(self, camera_id: int) -> EditableCamera:
        with self.database.engine.connect() as conn:
            current = store.camera_values(conn, camera_id)
            owner_id = camera_owner_id(conn, camera_id)
        if current is None:
            raise UserError(f"there is no camera {camera_id} in the registry")
        return EditableCamera(camera_id, owner_id, current[0], current[1])

    def edit_camera(self, user: User, camera_id: int, seen_version: int, changes: dict[str, Any],
                    now: datetime | None = None, consent: ConsentRecord | None = None) -> int:
        """Save `changes` over the version the user saw; the new version. ConcurrentEdit if it changed since.
        `consent`: how the owner gave a new sharing choice (kept on the camera and in the audit event)."""
        user = self.check_allowed(user)
        with audited_transaction(self.database) as conn:
            return edit_camera_in(conn, self.audit, camera_id, seen_version, changes, user.username,
                                  self.workstation, now or _utcnow(), consent)

    def set_sharing_mode(self, user: User, camera_id: int, seen_version: int, mode: SharingMode | str,
                         now: datetime | None = None) -> int:
        return self.edit_camera(user, camera_id, seen_version, {"sharing_mode": mode}, now)

    def remove_camera(self, user: User, camera_id: int, seen_version: int, reason: str = "",
                      now: datetime | None = None) -> None:
        user = self.check_allowed(user)
        with audited_transaction(self.database) as conn:
            remove_camera_in(conn, self.audit, camera_id, user.username, self.workstation, now or _utcnow(),
                             seen_version=seen_version, reason=reason)

    def owner_for_edit(self, owner_id: int) -> tuple[int, OwnerKind, OwnerContact]:
        """(version, kind, contact) of an owner, for the contact edit form of a permitted user."""
        with self.database.engine.connect() as conn:
            row = store.owner_row(conn, owner_id)
        if row is None or row.erased_at is not None:
            raise UserError(f"there is no owner {owner_id} in the registry (or the owner was erased)")
        return row.version, OwnerKind(row.kind), OwnerContact(**self.cipher.decrypt(row.contact_ciphertext))

    def edit_owner_contact(self, user: User, owner_id: int, seen_version: int, contact: OwnerContact,
                           now: datetime | None = None) -> int:
        """Replace the owner's contact; history and audit say "contact changed", never the values."""
        user = self.check_allowed(user)
        if not contact.name.strip() or not (contact.phone.strip() or contact.email.strip()):
            raise UserError("an owner needs a name and a phone number or an e-mail address")
        now = now or _utcnow()
        cipher = self.cipher
        with audited_transaction(self.database) as conn:
            row = store.owner_row(conn, owner_id)
            if row is None or row.erased_at is not None:
                raise UserError(f"there is no owner {owner_id} in the registry (or the owner was erased)")
            values = {"contact_ciphertext": cipher.encrypt({"name": contact.name, "organisation": contact.organisation,
                                                            "phone": contact.phone, "email": contact.email,
                                                            "address": contact.address}),
                      "phone_digest": cipher.digest(contact.phone), "email_digest": cipher.digest(contact.email)}
            if store.update_owner(conn, owner_id, seen_version, values, now) != 1:
                stored = readable_contact(cipher, row.contact_ciphertext).masked()
                raise ConcurrentEdit("owner", owner_id, seen_version, row.version, {"contact": stored},
                                     {"contact": contact})
            store.add_history(conn, now, user.username, "owner", owner_id, [("contact", None, "changed")])
            self.audit.append(AuditEntry(action=Action.REGISTRY_CHANGE, username=user.username,
                                         workstation=self.workstation,
                                         details={"change": "contact_changed", "owner_id": owner_id}), conn=conn)
            record_change(conn, ChangeKind.OWNER, owner_id, self.workstation)
        return seen_version + 1

    def erase_owner(self, user: User, owner_id: int, seen_version: int | None = None,
                    now: datetime | None = None) -> Erasure:
        """The owner's deletion request: see `erase_owner_in`."""
        user = self.check_allowed(user)
        with audited_transaction(self.database) as conn:
            return erase_owner_in(conn, self.audit, owner_id, user.username, self.workstation, now or _utcnow(),
                                  seen_version)

    def history(self, entity: str, entity_id: int) -> list[dict]:
        with self.database.engine.connect() as conn:
            return store.history_of(conn, entity, entity_id)
