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
               "details", "prev_hash", "hash")


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


class AuditService:
    """What the audit viewer and `rtic-console audit` do, on one AuditLog."""

    def __init__(self, log: AuditLog):
        self.log = log

    def events(self, where: AuditFilter = AuditFilter()) -> list[AuditRecord]:
        return self.log.query(where)

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
                "filters": describe_filter(where), "verification": verification}
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
        "actions": list(where.actions) or None, "outcome": where.outcome,
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
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow((r.seq, r.occurred_at, r.username, r.workstation, r.action, r.outcome,
                         "" if r.camera_id is None else r.camera_id, "" if r.incident_id is None else r.incident_id,
                         r.details_json, r.prev_hash, r.hash))
    return out.getvalue().encode("utf-8")
