"""Footage requests: ask owners for recorded footage of an incident, track each call, receive and package the files.

From an incident, cameras chosen by id or by an area (circle or polygon) and a time window become one request
per owner. Each write is one transaction: the rows, the audit event (ids only; never a contact or a note),
then the change row other consoles follow. Two consoles changing one request at once: the second is told
who changed it and asked to reload (compare-and-set on the request's version).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from console.domain.audit import Action, AuditEntry
from console.domain.cameras import NearbyCamera
from console.domain.changes import ChangeKind
from console.domain.footage import (
    DEFAULT_MAX_WINDOW,
    MAX_NOTE_CHARS,
    Area,
    ContactChannel,
    ContactOutcome,
    EvidenceFile,
    FootageRequest,
    FootageStatus,
    check_window,
    DEFAULT_MAX_AREA_RADIUS_M,
    check_area_size,
    enclosing_circle,
    status_after,
)
from console.domain.incidents import Incident
from console.domain.users import Permission, User
from console.errors import UserError
from console.services import evidence
from console.services.accounts import acting_name, audited_transaction, default_workstation
from console.services.bulletins import incident_bulletins
from console.services.bulletins import package_entries as bulletin_package_entries
from console.store import footage as repo
from console.store import registry as registry_repo
from console.store.audit import AuditLog
from console.store.changes import record_change
from console.store.db import Database
from console.store.spatial import NearbyFilter, nearby_cameras


def evidence_folder(setting: str) -> Path:
    """The evidence folder a setting names; empty means 'evidence' in the user's data folder."""
    if setting:
        return Path(setting).expanduser()
    from console.paths import user_data_dir

    return user_data_dir() / "evidence"


@dataclass(frozen=True)
class Created:
    """What `create` made: one request per owner, and what it left out and why."""

    request_ids: tuple[int, ...]
    erased_owner_cameras: tuple[int, ...] = ()  # cameras whose owner asked to be erased: nobody to ask

    def summary(self) -> str:
        text = f"{len(self.request_ids)} footage request(s) created"
        if self.erased_owner_cameras:
            text += f"; {len(self.erased_owner_cameras)} camera(s) skipped: their owner's record was erased"
        return text


class ConcurrentChange(UserError):
    """Someone else changed the request since it was read."""


class FootageService:
    def __init__(self, database: Database, audit: AuditLog, evidence_dir: Path | None = None,
                 max_window: timedelta = DEFAULT_MAX_WINDOW, workstation: str | None = None,
                 max_area_radius_m: float = DEFAULT_MAX_AREA_RADIUS_M):
        self.database = database
        self.max_area_radius_m = max_area_radius_m
        self.audit = audit
        self.evidence_dir = Path(evidence_dir) if evidence_dir else evidence_folder("")
        self.max_window = max_window
        self.workstation = workstation or default_workstation()

    @classmethod
    def from_settings(cls, database: Database, audit: AuditLog, settings, workstation: str | None = None):
        return cls(database, audit, evidence_folder(settings.evidence_dir),
                   timedelta(hours=settings.footage_max_window_hours), workstation,
                   settings.footage_max_area_radius_m)

    # --- who asks ---------------------------------------------------------------------------------

    def _actor(self, actor: User | str) -> str:
        return acting_name(self.database, actor, Permission.FOOTAGE_REQUEST, "request or handle footage")

    def _event(self, conn, who: str, action: str, incident_id: int | None, details: dict) -> None:
        self.audit.append(AuditEntry(action=action, username=who, workstation=self.workstation,
                                     incident_id=incident_id, details=details), conn=conn)

    # --- reading ----------------------------------------------------------------------------------

    def incident(self, incident_id: int) -> Incident:
        with self.database.engine.connect() as conn:
            incident = registry_repo.get_incident(conn, incident_id)
        if incident is None:
            raise UserError(f"there is no incident {incident_id}")
        return incident

    def cameras_in_area(self, area: Area) -> list[NearbyCamera]:
        """The active cameras inside the area, nearest its centre first (the dialog's candidate list)."""
        check_area_size(area, self.max_area_radius_m)
        circle = enclosing_circle(area)
        with self.database.engine.connect() as conn:
            found = nearby_cameras(conn, circle.lat, circle.lon, circle.radius_m, NearbyFilter())
        return [c for c in found if area.contains(c.lat, c.lon)]

    def get(self, request_id: int) -> FootageRequest:
        with self.database.engine.connect() as conn:
            request = repo.get_request(conn, request_id)
        if request is None:
            raise UserError(f"there is no footage request {request_id}")
        return request

    def list(self, incident_id: int | None = None) -> list[FootageRequest]:
        with self.database.engine.connect() as conn:
            return repo.list_requests(conn, incident_id)

    # --- creating ---------------------------------------------------------------------------------

    def create(self, actor: User | str, incident_id: int, window_start: datetime, window_end: datetime,
               now: datetime, camera_ids: list[int] | tuple[int, ...] = (), area: Area | None = None) -> Created:
        """One request per owner of the chosen cameras (by id, or every camera in `area`), all or none."""
        check_window(window_start, window_end, now, self.max_window)
        who = self._actor(actor)
        chosen = list(camera_ids) + ([c.id for c in self.cameras_in_area(area)] if area is not None else [])
        if not chosen:
            raise UserError("no cameras to ask for: select cameras, or an area that holds some"
                            if area is None else "there are no registered cameras in that area")
        with audited_transaction(self.database) as conn:
            if not repo.incident_exists(conn, incident_id):
                raise UserError(f"there is no incident {incident_id}")
            owners = repo.camera_owners(conn, chosen)
            missing = sorted(set(chosen) - set(owners))
            if missing:
                raise UserError(f"there is no camera {', '.join(map(str, missing))} in the registry")
            by_owner: dict[int, list[int]] = {}
            erased = []
            for camera_id, (owner_id, is_erased) in sorted(owners.items()):
                if is_erased:
                    erased.append(camera_id)
                else:
                    by_owner.setdefault(owner_id, []).append(camera_id)
            if not by_owner:
                raise UserError("every chosen camera's owner record was erased: there is nobody to ask")
            created = []
            for owner_id, cameras in sorted(by_owner.items()):
                request_id = repo.add_request(conn, incident_id, owner_id, window_start, window_end, cameras, who, now)
                created.append(request_id)
                self._event(conn, who, Action.FOOTAGE_REQUEST, incident_id, {
                    "request_id": request_id, "owner_id": owner_id, "camera_ids": cameras,
                    "window_start": window_start.astimezone(timezone.utc).isoformat(),
                    "window_end": window_end.astimezone(timezone.utc).isoformat(),
                    "by_area": area is not None})
            for request_id in created:
                record_change(conn, ChangeKind.FOOTAGE, request_id, self.workstation)
        return Created(tuple(created), tuple(erased))

    # --- changing one request ---------------------------------------------------------------------

    def _claim(self, conn, request_id: int, expected_version: int) -> FootageRequest:
        request = repo.get_request(conn, request_id)
        if request is None:
            raise UserError(f"there is no footage request {request_id}")
        if request.version != expected_version:
            self._conflict(conn, request_id)
        return request

    def _conflict(self, conn, request_id: int):
        who, at = repo.last_change(conn, request_id) or ("someone", datetime.now(timezone.utc))
        raise ConcurrentChange(f"footage request {request_id} was changed by {who} at {at:%H:%M:%S} UTC while you "
                               "had it open: reload it and try again")

    def _move(self, conn, request: FootageRequest, expected_version: int, status: FootageStatus, now: datetime):
        if not repo.bump_version(conn, request.id, expected_version, status, now):
            self._conflict(conn, request.id)

    def record_attempt(self, actor: User | str, request_id: int, expected_version: int, channel: ContactChannel,
                       outcome: ContactOutcome, note: str, now: datetime) -> FootageRequest:
        """Record one attempt to reach the owner; the request's status follows from its outcome."""
        channel, outcome = ContactChannel(channel), ContactOutcome(outcome)
        note = (note or "").strip()
        if len(note) > MAX_NOTE_CHARS:
            raise UserError(f"the note is {len(note)} characters long: keep it under {MAX_NOTE_CHARS}")
        who = self._actor(actor)
        with audited_transaction(self.database) as conn:
            request = self._claim(conn, request_id, expected_version)
            status = status_after(request.status, outcome)
            self._move(conn, request, expected_version, status, now)
            contact_id = repo.add_contact(conn, request_id, now, who, channel, outcome, note)
            self._event(conn, who, Action.FOOTAGE_CONTACT, request.incident_id, {
                "request_id": request_id, "owner_id": request.owner_id, "attempt_id": contact_id,
                "channel": channel.value, "outcome": outcome.value, "status": status.value})
            record_change(conn, ChangeKind.FOOTAGE, request_id, self.workstation)
        return self.get(request_id)

    def attach_files(self, actor: User | str, request_id: int, expected_version: int, paths: list[Path],
                     now: datetime, camera_id: int | None = None) -> FootageRequest:
        """Copy each file into the evidence folder (hashed while copied, re-hashed after) and record it.

        Slow for big files: call it off the GUI thread. All or nothing: when any copy or the database write
        fails, the copies already made are removed and nothing is recorded.
        """
        who = self._actor(actor)
        paths = [Path(p) for p in paths]
        if not paths:
            raise UserError("choose at least one file to attach")
        request = self.get(request_id)
        if request.version != expected_version:
            with self.database.engine.connect() as conn:
                self._conflict(conn, request_id)
        if camera_id is None and len(request.camera_ids) == 1:
            camera_id = request.camera_ids[0]
        if camera_id is not None and camera_id not in request.camera_ids:
            raise UserError(f"camera {camera_id} is not part of footage request {request_id}")
        folder = self.evidence_dir / f"incident-{request.incident_id}" / f"request-{request_id}"
        taken = {f.file_name.lower() for f in request.files}
        copied: list[tuple[str, Path, str, int]] = []
        try:
            for path in paths:
                name = _unique(f"R{request_id}-{evidence.safe_name(path.name)}", taken, folder)
                target = folder / name
                digest, size = evidence.copy_hashed(path, target)
                copied.append((name, target, digest, size))
            with audited_transaction(self.database) as conn:
                current = self._claim(conn, request_id, expected_version)
                self._move(conn, current, expected_version, FootageStatus.RECEIVED, now)
                file_ids = [repo.add_file(conn, request_id, camera_id, name, str(target), digest, size, who, now)
                            for name, target, digest, size in copied]
                self._event(conn, who, Action.EVIDENCE_ATTACH, request.incident_id, {
                    "request_id": request_id, "owner_id": request.owner_id, "camera_id": camera_id,
                    "files": [{"file_id": i, "sha256": d, "size_bytes": s}
                              for i, (_, _, d, s) in zip(file_ids, copied)]})
                record_change(conn, ChangeKind.FOOTAGE, request_id, self.workstation)
        except BaseException:
            for _, target, _, _ in copied:
                target.unlink(missing_ok=True)
            raise
        return self.get(request_id)

    # --- exporting --------------------------------------------------------------------------------

    def export_package(self, actor: User | str, request_ids: list[int], out: Path, now: datetime) -> dict:
        """Write the files of the requests (one incident) and their manifest to a folder or .zip; the manifest."""
        who = self._actor(actor)
        if not request_ids:
            raise UserError("choose at least one footage request to export")
        with self.database.engine.connect() as conn:
            requests = [repo.get_request(conn, i) for i in request_ids]
            for request_id, request in zip(request_ids, requests):
                if request is None:
                    raise UserError(f"there is no footage request {request_id}")
            incident_ids = {r.incident_id for r in requests}
            if len(incident_ids) != 1:
                raise UserError("an evidence package holds one incident: export these requests separately")
            incident = registry_repo.get_incident(conn, incident_ids.pop())
        owners = {r.id: r.owner_id for r in requests}
        received = [f for r in requests for f in r.files]
        if not received:
            raise UserError("no files were attached to "
                            f"footage request{'s' if len(requests) > 1 else ''} {', '.join(map(str, request_ids))} "
                            "yet: attach the owner's files first")
        manifest = {
            "format": evidence.FORMAT,
            "package_id": str(uuid.uuid4()),
            "incident": {"id": incident.id, "cad_number": incident.cad_number},
            "request_ids": sorted(owners),
            "exported_by": who,
            "exported_at": now.astimezone(timezone.utc).isoformat(),
            "files": [_manifest_entry(f, owners[f.request_id]) for f in received],
        }
        sources = [(Path(f.stored_path), f"{evidence.FILES_DIR}/{f.file_name}") for f in received]
        for stored, _ in sources:
            if not stored.is_file():
                raise UserError(f"the stored evidence file {stored} is missing: report it to the evidence custodian")
        sent = incident_bulletins(self.database, incident.id)  # what was sent to responders is evidence too
        if sent:
            entries, held = bulletin_package_entries(sent)
            manifest["files"] += entries
            manifest["bulletin_ids"] = sorted(b.id for b in sent)
            sources += held
        digest = evidence.write_package(Path(out), manifest, sources)
        try:
            with audited_transaction(self.database) as conn:
                self._event(conn, who, Action.EVIDENCE_EXPORT, incident.id, {
                    "package_id": manifest["package_id"], "request_ids": manifest["request_ids"],
                    "file_ids": [f.id for f in received], "bulletin_ids": manifest.get("bulletin_ids", []),
                    "manifest_sha256": digest})
        except UserError:
            evidence.remove_package(Path(out))  # an export nobody can account for must not stay behind
            raise
        return manifest


def _manifest_entry(f: EvidenceFile, owner_id: int) -> dict:
    return {"name": f"{evidence.FILES_DIR}/{f.file_name}", "sha256": f.sha256, "size_bytes": f.size_bytes,
            "camera_id": f.camera_id, "owner_id": owner_id, "request_id": f.request_id,
            "received_by": f.received_by, "received_at": f.received_at.astimezone(timezone.utc).isoformat()}


def _unique(name: str, taken: set[str], folder: Path) -> str:
    """`name`, or name-2, name-3...: never one already recorded for the request or lying in its folder."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    candidate, n = name, 2
    while candidate.lower() in taken or (folder / candidate).exists():  # Windows folders ignore case
        candidate = f"{stem}-{n}.{suffix}" if dot else f"{stem}-{n}"
        n += 1
    taken.add(candidate.lower())
    return candidate

