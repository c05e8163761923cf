"""Audit use cases for auditors: browse, verify (recorded), export for a court (CSV/PDF), monthly transparency report.

Qt-free and synchronous: the GUI runs these on a worker thread. Verifying and exporting are themselves
audited (audit_verify, audit_export); an export file appears only once its audit event is stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from console.domain.audit import (
    Action,
    AuditEntry,
    AuditFilter,
    AuditRecord,
    Detail,
    Outcome,
    VerifyResult,
    format_timestamp,
)
from console.errors import UserError
from console.domain.checkpoints import Checkpoint
from console.store.audit import AuditLog, iter_records
from console.store.checkpoints import stored_checkpoints

EXPORT_FORMATS = ("csv", "pdf")
CSV_COLUMNS = ("seq", "occurred_at", "username", "workstation", "action", "outcome", "camera_id", "incident_id",
               "details", "prev_hash", "hash", "camera", "cad_number", "reason", "details_in_words")


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    events: int
    sha256: str  # of the file written, also recorded in the audit_export event
    verification: VerifyResult


@dataclass(frozen=True)
class TransparencyReport:
    """What a department publishes for a month. Counts and minutes only: no names, cameras or reasons."""

    month: str
    live_views: int
    distinct_cameras: int
    incidents: int
    total_minutes: float
    median_minutes: float | None
    views_without_end: int
    denials: int
    denials_by_rule: dict[str, int] = field(default_factory=dict)
    views_by_end_reason: dict[str, int] = field(default_factory=dict)
    chain_intact: bool = True
    checkpoint: dict | None = None  # the newest signed checkpoint when the report was made (seq, hash, signature, ...)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("measure", "value"))
        for name, value in asdict(self).items():
            if isinstance(value, dict):
                for key, count in sorted(value.items()):
                    writer.writerow((f"{name}.{key}", count))
            else:
                writer.writerow((name, "" if value is None else value))
        return out.getvalue()

    def to_text(self) -> str:
        median = "n/a" if self.median_minutes is None else f"{self.median_minutes:.1f}"
        lines = [
            f"Live camera viewing, transparency report for {self.month}",
            f"  live views:                 {self.live_views}",
            f"  distinct cameras viewed:    {self.distinct_cameras}",
            f"  incidents with live views:  {self.incidents}",
            f"  total minutes viewed:       {self.total_minutes:.1f}",
            f"  median minutes per view:    {median}",
            f"  views with no recorded end: {self.views_without_end}",
            f"  denied view attempts:       {self.denials}",
        ]
        lines += [f"    denied by rule {rule}: {count}" for rule, count in sorted(self.denials_by_rule.items())]
        lines += [f"  views ended by {how}: {count}" for how, count in sorted(self.views_by_end_reason.items())]
        lines.append(f"  audit chain intact:         {'yes' if self.chain_intact else 'NO'}")
        if self.checkpoint:
            # Printed and filed away from the database, this line lets `audit verify --checkpoints` prove later
            # that no event up to it was removed, even if the database's own checkpoints are gone.
            lines += ["  latest signed audit checkpoint (keep this line):", f"  {_checkpoint_line(self.checkpoint)}"]
        return "\n".join(lines) + "\n"


CAMERAS_MATCHED = 200  # a camera filter naming more cameras than this asks for more words


@dataclass(frozen=True)
class PlainNames:
    """What a person reads instead of ids: camera id -> "label, address", incident id -> CAD number."""

    cameras: dict[int, str] = field(default_factory=dict)
    incidents: dict[int, str] = field(default_factory=dict)

    def camera(self, camera_id: int | None) -> str:
        if camera_id is None:
            return ""
        return self.cameras.get(camera_id) or f"camera {camera_id} (not in the registry)"

    def incident(self, record: AuditRecord) -> str:
        """The CAD number: the registry's for the event's incident, else the one the event itself recorded."""
        if record.incident_id is not None and self.incidents.get(record.incident_id):
            return self.incidents[record.incident_id]
        cad = _details(record).get(Detail.CAD_NUMBER)
        if isinstance(cad, str) and cad:
            return cad
        return "" if record.incident_id is None else f"incident {record.incident_id} (no CAD number)"


_WORDS = {  # detail keys as a person says them; keys not listed are shown with underscores as spaces
    Detail.SESSION_ID: "view", Detail.STREAM_ID: "stream", Detail.DURATION_S: "lasted", Detail.END_REASON: "ended",
    Detail.FRAMES_SHOWN: "pictures shown", Detail.PROBLEM: "problem", Detail.RULE: "refused by rule",
    Detail.FIELD: "changed", Detail.OLD: "from", Detail.NEW: "to", "sha256": "SHA-256", "file_sha256": "file SHA-256",
}
_IN_COLUMNS = (Detail.REASON, Detail.CAD_NUMBER)  # shown in their own columns


def _details(record: AuditRecord) -> dict:
    try:
        found = record.details
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def never_played(record: AuditRecord) -> bool:
    """A view whose end says not one picture was shown (a camera that could not be reached, say)."""
    if record.action != Action.VIEW_END:
        return False
    try:
        shown = record.details.get(Detail.FRAMES_SHOWN)
    except (ValueError, AttributeError):
        return False
    return isinstance(shown, int) and not isinstance(shown, bool) and shown == 0


def reason_of(record: AuditRecord) -> str:
    reason = _details(record).get(Detail.REASON)
    return reason if isinstance(reason, str) else ""


def details_in_words(record: AuditRecord) -> str:
    """The event's details as "key: value" phrases (no JSON), the reason and CAD number left to their columns."""
    found = _details(record)
    if not found and record.details_json not in ("{}", ""):
        return record.details_json  # not an object: shown as stored
    phrases = []
    order = list(_WORDS)  # the agreed keys first, in the order a person reads them; the rest as stored
    for key, value in sorted(found.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)):
        if key in _IN_COLUMNS or value is None or value == "" or value == [] or value == {}:
            continue
        if key == Detail.DURATION_S and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = f"{int(value) // 60} min {int(value) % 60} s"
        elif key == Detail.END_REASON and isinstance(value, str):
            value = value.replace("_", " ")
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, dict):
            value = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        phrases.append(f"{_WORDS.get(key, key.replace('_', ' '))}: {value}")
    return "; ".join(phrases)


class AuditService:
    """What the audit viewer and `rtic-console audit` do, on one AuditLog."""

    def __init__(self, log: AuditLog):
        self.log = log

    def events(self, where: AuditFilter = AuditFilter()) -> list[AuditRecord]:
        return self.log.query(where)

    def incident_for_cad(self, cad_number: str) -> int:
        """The registry's incident with this CAD number (the viewer's and exports' CAD filter); UserError if none."""
        from console.store import registry as repo

        text = cad_number.strip()
        with self.log.database.reader.connect() as conn:
            found = repo.find_incident(conn, text)
        if found is None:
            raise UserError(f"there is no incident with CAD number {text[:40]!r} in the registry")
        return found.id

    def cameras_for_text(self, text: str) -> tuple[int, ...]:
        """The ids of the registry's cameras whose label and address hold every word of `text` (the viewer's and
        exports' camera filter); a number is taken as an id. UserError, one sentence, when nothing matches."""
        from console.store import registry as repo

        text = " ".join(text.split())[:100]
        if text.isdigit():
            return (int(text),)
        if not text:
            raise UserError("type a camera's id, or words of its label or address")
        with self.log.database.reader.connect() as conn:
            found = repo.cameras_matching(conn, text, limit=CAMERAS_MATCHED + 1)
        if not found:
            raise UserError(f"no camera in the registry has {text[:40]!r} in its label or address")
        if len(found) > CAMERAS_MATCHED:
            raise UserError(f"more than {CAMERAS_MATCHED} cameras have {text[:40]!r} in their label or address: "
                            "add words of the address (or type the camera's id)")
        return tuple(camera_id for camera_id, _label, _address in found)

    def names(self, records: list[AuditRecord]) -> PlainNames:
        """Camera labels with addresses and incidents' CAD numbers for the ids these events name."""
        from console.store import registry as repo

        camera_ids = {r.camera_id for r in records if r.camera_id is not None}
        incident_ids = {r.incident_id for r in records if r.incident_id is not None}
        cameras: dict[int, str] = {}
        incidents: dict[int, str] = {}
        with self.log.database.reader.connect() as conn:
            for camera_id in sorted(camera_ids):
                camera = repo.get_camera(conn, camera_id)
                if camera is not None:
                    cameras[camera_id] = ", ".join(p for p in (camera.label, camera.address) if p)
            for incident_id in sorted(incident_ids):
                incident = repo.get_incident(conn, incident_id)
                if incident is not None and incident.cad_number:
                    incidents[incident_id] = incident.cad_number
        return PlainNames(cameras, incidents)

    def verify(self, username: str, workstation: str, anchor: tuple[int, str] | None = None) -> VerifyResult:
        """Walk the chain, then record that it was checked and what was found."""
        result = self.log.verify(anchor)
        details = {"ok": result.ok, "checked": result.checked, "first_bad_seq": result.first_bad_seq,
                   "last_seq": result.last_seq, "last_hash": result.last_hash}
        if anchor is not None:
            details["anchor_seq"] = anchor[0]
        self.log.append(AuditEntry(Action.AUDIT_VERIFY, username, workstation,
                                   Outcome.OK if result.ok else Outcome.FAILED, details=details))
        return result

    def export(self, path: str | os.PathLike, fmt: str, where: AuditFilter, username: str,
               workstation: str) -> ExportResult:
        """Write the matching events with the chain's verification to `path`; record the export first."""
        fmt = fmt.lower()
        if fmt not in EXPORT_FORMATS:
            raise UserError(f"unknown export format {fmt!r}: use csv or pdf")
        target = Path(path)
        if not target.parent.is_dir():
            raise UserError(f"cannot write {target}: the folder {target.parent} does not exist")
        verification = self.log.verify()
        records = list(iter_records(self.log, where))
        generated = format_timestamp(datetime.now(timezone.utc))
        meta = {"generated_at": generated, "generated_by": username, "workstation": workstation,
                "filters": describe_filter(where), "verification": verification, "names": self.names(records)}
        if fmt == "csv":
            payload = _csv_bytes(records, meta)
        else:
            from console.services.audit_pdf import pdf_bytes  # fpdf2 loads only when a PDF is asked for

            payload = pdf_bytes(records, meta)
        digest = hashlib.sha256(payload).hexdigest()
        # Written beside the target and renamed into place only after the audit event is stored (fail closed).
        if target.is_dir():
            raise UserError(f"cannot write {target}: it is a folder; give a file name")
        try:
            handle, temp = tempfile.mkstemp(prefix=".audit-export-", dir=target.parent)
        except OSError as exc:
            raise UserError(f"cannot write in {target.parent}: {exc.strerror}") from None
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            self.log.append(AuditEntry(Action.AUDIT_EXPORT, username, workstation, details={
                "format": fmt, "events": len(records), "file_sha256": digest, "file_name": target.name,
                "filters": describe_filter(where), "chain_ok": verification.ok,
                "first_seq": records[0].seq if records else None, "last_seq": records[-1].seq if records else None,
            }))
            os.replace(temp, target)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise UserError(f"cannot write {target}: {exc.strerror}") from None
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return ExportResult(target, fmt, len(records), digest, verification)

    def monthly_report(self, month: str) -> TransparencyReport:
        """The aggregate report for `month` (YYYY-MM, UTC): views started, minutes of views ended, denials."""
        since, until = month_bounds(month)
        where = AuditFilter(since=since, until=until,
                            actions=(Action.VIEW_START, Action.VIEW_END, Action.VIEW_DENIED))
        watched: dict = {}  # session -> (camera id, incident key) of each view started
        ended: set = set()
        minutes: list[float] = []
        denials: dict[str, int] = {}
        end_reasons: dict[str, int] = {}
        never_played: set = set()  # sessions whose end says not one picture was shown: no view watched, no minutes
        for record in iter_records(self.log, where):
            details = record.details
            if record.action == Action.VIEW_START and record.outcome == Outcome.OK:
                incident = (f"id:{record.incident_id}" if record.incident_id is not None
                            else f"cad:{details[Detail.CAD_NUMBER]}" if details.get(Detail.CAD_NUMBER) else None)
                watched[details.get(Detail.SESSION_ID, ("seq", record.seq))] = (record.camera_id, incident)
            elif record.action == Action.VIEW_END:
                ended.add(details.get(Detail.SESSION_ID))
                how = str(details.get(Detail.END_REASON) or "unknown")
                end_reasons[how] = end_reasons.get(how, 0) + 1
                shown = details.get(Detail.FRAMES_SHOWN)
                if type(shown) is int and shown == 0:
                    never_played.add(details.get(Detail.SESSION_ID))
                    continue
                duration = details.get(Detail.DURATION_S)
                if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration >= 0:
                    minutes.append(duration / 60.0)
            elif record.action == Action.VIEW_DENIED:
                rule = str(details.get(Detail.RULE) or "unknown")
                denials[rule] = denials.get(rule, 0) + 1
        views = {session: seen for session, seen in watched.items() if session not in never_played}
        return TransparencyReport(
            month=month, live_views=len(views), distinct_cameras=len({c for c, _ in views.values() if c is not None}),
            incidents=len({i for _, i in views.values() if i is not None}), total_minutes=round(sum(minutes), 1),
            median_minutes=round(statistics.median(minutes), 1) if minutes else None,
            views_without_end=len(set(views) - ended), denials=sum(denials.values()), denials_by_rule=denials,
            views_by_end_reason=end_reasons, chain_intact=self.log.verify().ok, checkpoint=_latest_checkpoint(self.log),
        )


def _latest_checkpoint(log: AuditLog) -> dict | None:
    found = [cp for _id, cp in stored_checkpoints(log) if isinstance(cp, Checkpoint)]
    return found[-1].as_dict() if found else None


def _checkpoint_line(values: dict) -> str:
    return Checkpoint(**values).line()


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month.strip(), "%Y-%m").replace(tzinfo=timezone.utc)
    except ValueError:
        raise UserError(f"month {month!r} is not valid: use YYYY-MM, e.g. 2026-11") from None
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def describe_filter(where: AuditFilter) -> dict:
    """The filter as plain JSON values (for the export's header and its audit event)."""
    shown = {
        "from": format_timestamp(where.since) if where.since else None,
        "to": format_timestamp(where.until) if where.until else None,
        "user": where.username, "camera_id": where.camera_id, "incident_id": where.incident_id,
        "camera_ids": list(where.camera_ids) or None, "actions": list(where.actions) or None,
        "outcome": where.outcome,
    }
    return {key: value for key, value in shown.items() if value is not None}


def _csv_bytes(records: list[AuditRecord], meta: dict) -> bytes:
    """CSV with a commented header: who exported, the filter, and the whole chain's verification."""
    verification: VerifyResult = meta["verification"]
    out = io.StringIO()
    out.write("# Community Connect Console audit log export\n")
    out.write(f"# generated_at: {meta['generated_at']} by {meta['generated_by']} on {meta['workstation']}\n")
    out.write(f"# filters: {json.dumps(meta['filters'], sort_keys=True)}\n")
    out.write(f"# chain verification: {verification.summary()}\n")
    if verification.anchor:
        out.write(f"# anchor for later checks (rtic-console audit verify --anchor): {verification.anchor}\n")
    out.write("# each event's hash is SHA-256 of its canonical form: the compact JSON array "
              "[seq,occurred_at,username,workstation,action,outcome,camera_id,incident_id,details,prev_hash]\n")
    out.write(f"# events: {len(records)}\n")
    out.write("# camera, cad_number, reason and details_in_words are the same events in words (not hashed)\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    names: PlainNames = meta.get("names") or PlainNames()
    for r in records:
        writer.writerow((r.seq, r.occurred_at, r.username, r.workstation, r.action, r.outcome,
                         "" if r.camera_id is None else r.camera_id, "" if r.incident_id is None else r.incident_id,
                         r.details_json, r.prev_hash, r.hash, names.camera(r.camera_id), names.incident(r),
                         reason_of(r), details_in_words(r)))
    return out.getvalue().encode("utf-8")
