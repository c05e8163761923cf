"""Incident bulletins: send what the camera shows (a snapshot, a short clip, a text) to the officers responding.

The one promise: a bulletin exists only with its audit event. One transaction writes the bulletin (its attachments
and SHA-256), one outbox row per e-mail recipient, the audit event `bulletin_send` (incident, reason, the hashes of
the content, the attachments and every recipient: never an address) and the change row every other console follows
(ChangeKind.BULLETIN), so a console with the incident open shows it at once. The e-mail copies leave later, from the
outbox (console/services/bulletin_outbox.py), whichever console delivers first.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from console.domain.audit import Action, AuditEntry
from console.domain.bulletins import (
    DEFAULT_CLIP_MAX_S,
    DEFAULT_MAX_MB,
    MAX_GROUP_MEMBERS,
    MAX_REASON_CHARS,
    MAX_RECIPIENTS,
    MAX_TEXT_CHARS,
    Attachment,
    Bulletin,
    address_hash,
    check_attachment,
    check_group_name,
    check_size,
    clean_text,
    content_hash,
    normalise_address,
)
from console.domain.changes import ChangeKind
from console.domain.users import Permission, User
from console.errors import UserError
from console.services import evidence
from console.services.accounts import acting_name, default_workstation
from console.store import bulletins as repo
from console.store import cad as cad_repo
from console.store import registry as registry_repo
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.transactions import audited_transaction


@dataclass(frozen=True)
class Sent:
    bulletin_id: int
    content_sha256: str
    recipients: int


class BulletinService:
    def __init__(self, database: Database, audit: AuditLog, workstation: str | None = None,
                 max_mb: float = DEFAULT_MAX_MB, clip_max_s: float = DEFAULT_CLIP_MAX_S):
        self.database = database
        self.audit = audit
        self.workstation = workstation or default_workstation()
        self.max_mb = max_mb
        self.clip_max_s = clip_max_s

    @classmethod
    def from_settings(cls, database: Database, audit: AuditLog, settings, workstation: str | None = None):
        return cls(database, audit, workstation, settings.bulletin_max_mb, settings.bulletin_clip_max_s)

    def _actor(self, actor: User | str) -> str:
        return acting_name(self.database, actor, Permission.BULLETIN_SEND, "send bulletins")

    # --- reading ------------------------------------------------------------------------------------------

    def list(self, incident_id: int | None = None) -> list[Bulletin]:
        with self.database.engine.connect() as conn:
            return repo.list_bulletins(conn, incident_id)

    def get(self, bulletin_id: int) -> Bulletin:
        with self.database.engine.connect() as conn:
            found = repo.get_bulletin(conn, bulletin_id)
        if found is None:
            raise UserError(f"there is no bulletin {bulletin_id}")
        return found

    def incident_id(self, cad_number: str) -> int:
        with self.database.engine.connect() as conn:
            incident = registry_repo.find_incident(conn, (cad_number or "").strip()[:64])
        if incident is None:
            raise UserError(f"there is no incident with CAD number {cad_number[:64]!r}")
        return incident.id

    def groups(self) -> dict[str, list[str]]:
        with self.database.engine.connect() as conn:
            return repo.list_groups(conn)

    def unit_targets(self, incident_id: int) -> tuple[list[str], list[str]]:
        """The units CAD names on the incident, split into (those with a saved recipient group named exactly like
        the unit id: targets `send` takes as they are, and those without one: to show the dispatcher)."""
        with self.database.engine.connect() as conn:
            units = cad_repo.incident_units(conn, incident_id)
            names = set(repo.list_groups(conn))
        return [u for u in units if u in names], [u for u in units if u not in names]

    # --- checking what comes in ---------------------------------------------------------------------------

    def check_attachments(self, image: bytes | None, clip: bytes | None) -> list[Attachment]:
        attachments = []
        if image is not None:
            attachments.append(check_attachment(image, "the image", want_image=True))
        if clip is not None:
            if self.clip_max_s <= 0:
                raise UserError("this agency does not send clips with bulletins (setting bulletin_clip_max_s is 0)")
            attachment = check_attachment(clip, "the clip", want_image=False)
            from console.video.clip_buffer import mp4_duration_s

            duration = mp4_duration_s(clip)
            if duration is None:
                raise UserError("the clip cannot be read as an MP4 video (damaged or not a video): not sent")
            if duration > self.clip_max_s + 0.5:
                raise UserError(f"the clip is {duration:.1f} s long: a bulletin clip is at most {self.clip_max_s:g} s "
                                "(setting bulletin_clip_max_s)")
            attachments.append(attachment)
        check_size(attachments, self.max_mb)
        return attachments

    def resolve(self, conn, targets: list[str]) -> list[tuple[str, str | None]]:
        """Each target (an address or a saved group's name) as (address, group); duplicates once."""
        out: dict[str, str | None] = {}
        for target in targets:
            target = (target or "").strip()
            if not target:
                continue
            if "@" in target:
                out.setdefault(normalise_address(target), None)
                continue
            name = check_group_name(target)
            members = repo.get_group(conn, name)
            if members is None:
                raise UserError(f"there is no recipient group {name!r}: make it with `bulletin group`, or give "
                                "an e-mail address")
            for member in members:
                out.setdefault(normalise_address(member), name)
        if len(out) > MAX_RECIPIENTS:
            raise UserError(f"{len(out)} recipients: a bulletin goes to at most {MAX_RECIPIENTS} addresses")
        return list(out.items())

    # --- sending ------------------------------------------------------------------------------------------

    def send(self, actor: User | str, incident_id: int, text: str, targets: list[str], now: datetime,
             image: bytes | None = None, clip: bytes | None = None, reason: str = "",
             camera_id: int | None = None) -> Sent:
        """Record the bulletin, queue its e-mail copies, audit it and tell the other consoles: all or nothing."""
        text = clean_text(text, MAX_TEXT_CHARS, "bulletin text")
        reason = clean_text(reason, MAX_REASON_CHARS, "reason")
        if not text and image is None and clip is None:
            raise UserError("a bulletin needs a text, an image or a clip: there is nothing to send")
        who = self._actor(actor)
        attachments = self.check_attachments(image, clip)
        now = now.astimezone(timezone.utc)
        with audited_transaction(self.database) as conn:
            incident = registry_repo.get_incident(conn, incident_id)
            if incident is None:
                raise UserError(f"there is no incident {incident_id}")
            people = self.resolve(conn, targets)
            if camera_id is not None and registry_repo.get_camera(conn, camera_id) is None:
                raise UserError(f"there is no camera {camera_id} in the registry")
            digest = content_hash(incident.id, incident.cad_number or "", who, now, text, reason, camera_id,
                                  attachments, [a for a, _ in people])
            bulletin_id = repo.add_bulletin(conn, incident.id, who, now, self.workstation, text, reason, camera_id,
                                            digest, attachments)
            domain = "rtic.invalid"
            for address, group in people:
                repo.add_recipient(conn, bulletin_id, address, group,
                                   f"<bulletin-{bulletin_id}.{uuid.uuid4().hex}@{domain}>", now)
            self.audit.append(AuditEntry(
                action=Action.BULLETIN_SEND, username=who, workstation=self.workstation, incident_id=incident.id,
                camera_id=camera_id,
                details={"bulletin_id": bulletin_id, "cad_number": incident.cad_number, "reason": reason,
                         "content_sha256": digest, "text_chars": len(text),
                         "attachments": [{"name": a.name, "type": a.kind.value, "sha256": a.sha256, "size": a.size}
                                         for a in attachments],
                         "recipients": sorted(address_hash(a) for a, _ in people),
                         "groups": sorted({g for _, g in people if g})}), conn=conn)
            record_change(conn, ChangeKind.BULLETIN, bulletin_id, self.workstation)
        return Sent(bulletin_id, digest, len(people))

    def save_group(self, actor: User | str, name: str, members: list[str], now: datetime) -> int:
        """Create or replace a saved recipient group (audited as bulletin_group, with the members' hashes)."""
        name = check_group_name(name)
        who = self._actor(actor)
        addresses = sorted({normalise_address(m) for m in members if (m or "").strip()})
        if not addresses:
            raise UserError(f"the group {name!r} needs at least one e-mail address")
        if len(addresses) > MAX_GROUP_MEMBERS:
            raise UserError(f"{len(addresses)} addresses: a group holds at most {MAX_GROUP_MEMBERS}")
        with audited_transaction(self.database) as conn:
            group_id, created = repo.put_group(conn, name, addresses, who, now)
            self.audit.append(AuditEntry(
                action=Action.BULLETIN_GROUP, username=who, workstation=self.workstation,
                details={"group": name, "group_id": group_id, "created": created,
                         "members": [address_hash(a) for a in addresses]}), conn=conn)
            record_change(conn, ChangeKind.BULLETIN, None, self.workstation)
        return group_id

    # --- evidence -----------------------------------------------------------------------------------------

    def export_package(self, actor: User | str, incident_id: int, out, now: datetime) -> dict:
        """Write the incident's bulletins (each one's record and attachments) as an evidence package; the manifest.
        `rtic-console evidence verify` checks it like any other package."""
        who = self._actor(actor)
        with self.database.engine.connect() as conn:
            incident = registry_repo.get_incident(conn, incident_id)
            if incident is None:
                raise UserError(f"there is no incident {incident_id}")
            sent = repo.list_bulletins(conn, incident_id, limit=10_000, with_clips=True)
        if not sent:
            raise UserError(f"no bulletins were sent for incident {incident.cad_number or incident_id}: nothing to export")
        entries, sources = package_entries(sent)
        manifest = {"format": evidence.FORMAT, "package_id": str(uuid.uuid4()),
                    "incident": {"id": incident.id, "cad_number": incident.cad_number},
                    "request_ids": [], "bulletin_ids": sorted(b.id for b in sent), "exported_by": who,
                    "exported_at": now.astimezone(timezone.utc).isoformat(), "files": entries}
        digest = evidence.write_package(Path(out), manifest, sources)
        try:
            with audited_transaction(self.database) as conn:
                self.audit.append(AuditEntry(
                    action=Action.EVIDENCE_EXPORT, username=who, workstation=self.workstation, incident_id=incident.id,
                    details={"package_id": manifest["package_id"], "bulletin_ids": manifest["bulletin_ids"],
                             "manifest_sha256": digest}), conn=conn)
        except UserError:
            evidence.remove_package(Path(out))
            raise
        return manifest


def bulletin_record(b: Bulletin) -> bytes:
    """A bulletin as the evidence package keeps it: what was sent, by whom, to whom (hashes) and how it went."""
    body = {"bulletin_id": b.id, "incident_id": b.incident_id, "cad_number": b.cad_number, "sent_by": b.sent_by,
            "sent_at": b.sent_at.astimezone(timezone.utc).isoformat(), "workstation": b.workstation, "text": b.text,
            "reason": b.reason, "camera_id": b.camera_id, "content_sha256": b.content_sha256,
            "attachments": [{"name": a.name, "type": a.kind.value, "sha256": a.sha256, "size": a.size}
                            for a in b.attachments],
            "recipients": [{"address_sha256": address_hash(r.address), "group": r.group_name, "state": r.state.value,
                            "attempts": r.attempts, "message_id": r.message_id,
                            "sent_at": r.sent_at.isoformat() if r.sent_at else None} for r in b.recipients]}
    return (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def package_entries(sent: list[Bulletin]) -> tuple[list[dict], list[tuple[bytes, str]]]:
    """Manifest entries and sources (bytes, name in the package) for bulletins: each record and attachment."""
    entries, sources = [], []
    for b in sorted(sent, key=lambda b: b.id):
        parts = [(f"bulletins/B{b.id}.json", bulletin_record(b))]
        parts += [(f"{evidence.FILES_DIR}/B{b.id}-{a.name}", a.data) for a in b.attachments]
        for name, data in parts:
            entries.append({"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data),
                            "bulletin_id": b.id, "sent_by": b.sent_by,
                            "sent_at": b.sent_at.astimezone(timezone.utc).isoformat()})
            sources.append((data, name))
    return entries, sources


def incident_bulletins(database: Database, incident_id: int) -> list[Bulletin]:
    with database.engine.connect() as conn:
        return repo.list_bulletins(conn, incident_id, limit=10_000, with_clips=True)
