"""Retention: legal holds, what is due under the agency's limits (`plan`), and the purge that keeps the proof (`run`).

The promises: nothing under an active legal hold is purged; each batch of deletes commits together with the run's
counts, so a run killed at any point resumes where it stopped (with the same "now", so it purges the same things);
a file on disk goes with its row, and a file that is not there is reported, never passed over in silence; the audit
trail loses events only from its oldest end, only after the chain verified, and only up to a cut the auditor's key
signed (console/services/retention_chain.py), so `audit verify` still checks everything kept and finds any change.
Every hold, release and run is itself in the audit trail, as the person who did it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from console.domain.audit import Action, AuditEntry, Outcome, format_timestamp, parse_timestamp
from console.domain.retention import Cut, Due, Held, Hold, HoldTarget, Kind, checked_reason, hold_refusal
from console.domain.users import Role, User
from console.errors import UserError, first_line
from console.services.retention_chain import trail_start
from console.store import retention as store
from console.store.audit import AuditLog
from console.store.db import Database
from console.store.transactions import StoreError, audited_transaction, transaction

MAX_ID = 2**63 - 1
SNAPSHOT_CURSOR = "retention-snapshots:"
MAX_HELD_REMEMBERED = 10_000


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RunReport:
    run_id: int
    resumed: bool
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"run": self.run_id, "resumed": self.resumed, "counts": dict(self.counts), "problems": self.problems}


@dataclass(frozen=True)
class Places:
    """Where this workstation keeps files that retention deletes."""

    snapshot_folder: Path | None = None
    evidence_dir: Path | None = None
    field_copy: Path | None = None


class RetentionService:
    def __init__(self, database: Database, audit: AuditLog, settings, workstation: str, places: Places = Places(),
                 clock: Callable[[], datetime] | None = None, batch: int = 500):
        if not 1 <= batch <= 100_000:
            raise UserError(f"the batch size must be from 1 to 100000, not {batch}")
        self.database, self.audit, self.settings, self.workstation = database, audit, settings, workstation
        self.places, self.clock, self.batch = places, clock or _utcnow, batch

    # --- legal holds ------------------------------------------------------------------------------------

    def place_hold(self, user: User, target: HoldTarget, target_id: int, reason: str) -> Hold:
        self._may_hold(user)
        reason = checked_reason(reason)
        _check_id(target_id, target.value)
        now = self.clock()
        with audited_transaction(self.database) as conn:
            if not store.target_exists(conn, target, target_id):
                raise UserError(f"there is no {target.value.replace('_', ' ')} {target_id}: nothing was held")
            hold_id = store.add_hold(conn, target, target_id, reason, user.username, now)
            self.audit.append(AuditEntry(Action.LEGAL_HOLD, user.username, self.workstation,
                                         camera_id=target_id if target is HoldTarget.CAMERA else None,
                                         incident_id=target_id if target is HoldTarget.INCIDENT else None,
                                         details={"op": "hold", "hold": hold_id, "target": target.value,
                                                  "target_id": target_id, "reason": reason}), conn=conn)
            return store.get_hold(conn, hold_id)

    def holds(self, user: User, include_released: bool = False) -> list[Hold]:
        self._may_hold(user)
        with transaction(self.database) as conn:
            return store.list_holds(conn, include_released)

    def release_hold(self, user: User, hold_id: int, reason: str) -> Hold:
        self._may_hold(user)
        reason = checked_reason(reason, "release reason")
        _check_id(hold_id, "hold")
        now = self.clock()
        with audited_transaction(self.database) as conn:
            hold = store.get_hold(conn, hold_id)
            if hold is None:
                raise UserError(f"there is no legal hold {hold_id} (see `rtic-console retention holds`)")
            if not hold.active or not store.release_hold(conn, hold_id, user.username, now, reason):
                raise UserError(f"legal hold {hold_id} was already released: nothing was changed")
            self.audit.append(AuditEntry(Action.LEGAL_HOLD, user.username, self.workstation,
                                         camera_id=hold.target_id if hold.target is HoldTarget.CAMERA else None,
                                         incident_id=hold.target_id if hold.target is HoldTarget.INCIDENT else None,
                                         details={"op": "release", "hold": hold_id, "target": hold.target.value,
                                                  "target_id": hold.target_id, "reason": reason}), conn=conn)
            return store.get_hold(conn, hold_id)

    @staticmethod
    def _may_hold(user: User) -> None:
        why = hold_refusal(user.role)
        if why:
            raise UserError(why)

    # --- what is due ------------------------------------------------------------------------------------

    def _cutoff(self, now: datetime, days: float) -> datetime:
        return now - timedelta(days=days)

    def plan(self, now: datetime | None = None, signer=None) -> list[Due]:
        """What a run at `now` would purge, by kind (nothing is changed)."""
        now = now or self.clock()
        s = self.settings
        with transaction(self.database) as conn:
            hold = store.held(conn)
            count, oldest, kept = store.sessions_due(conn, self._cutoff(now, s.retention_view_sessions_days), hold)
            out = [Due(Kind.VIEW_SESSIONS, count, oldest, f"ended more than {s.retention_view_sessions_days} days "
                       "ago (retention_view_sessions_days)", kept)]
            out.append(self._snapshots_due(conn, now))
            count, oldest, kept = store.footage_due(conn, self._cutoff(now, s.retention_footage_days), hold)
            out.append(Due(Kind.FOOTAGE, count, oldest, f"its incident closed more than {s.retention_footage_days} "
                           "days ago (retention_footage_days); open incidents keep theirs", kept))
            count, oldest = store.calls_due(conn, self._cutoff(now, s.retention_outreach_days), declined=False)
            out.append(Due(Kind.OUTREACH, count, oldest,
                           f"called more than {s.retention_outreach_days} days ago (retention_outreach_days)"))
            count, oldest = store.calls_due(conn, self._cutoff(now, s.retention_declined_days), declined=True)
            out.append(Due(Kind.DECLINED, count, oldest, f"declined more than {s.retention_declined_days} days ago "
                           "(retention_declined_days)"))
            out.append(self._field_copy_due(now))
            out.append(self._audit_due(conn, now, hold, signer))
        return out

    def _snapshots_due(self, conn, now: datetime) -> Due:
        days = self.settings.retention_snapshots_days
        why = f"taken on this workstation more than {days} days ago (retention_snapshots_days)"
        if self.places.snapshot_folder is None:
            return Due(Kind.SNAPSHOTS, 0, None, why, blocked="no snapshot folder given")
        seq, _held = self._snapshot_cursor(conn)
        rows = store.snapshot_events(conn, self.workstation, seq, self._cutoff(now, days), MAX_HELD_REMEMBERED)
        oldest = parse_timestamp(rows[0].occurred_at) if rows else None
        return Due(Kind.SNAPSHOTS, len(rows), oldest, why)

    def _field_copy_due(self, now: datetime) -> Due:
        days = self.settings.field_copy_max_age_days
        why = f"older than {days} days (field_copy_max_age_days): it would be refused anyway"
        made = self._field_copy_made()
        if made is None or made >= self._cutoff(now, days):
            return Due(Kind.FIELD_COPY, 0, None, why)
        return Due(Kind.FIELD_COPY, 1, made, why)

    def _field_copy_made(self) -> datetime | None:
        path = self.places.field_copy
        if path is None or not path.is_file():
            return None
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)  # each sync rewrites the copy

    def _audit_due(self, conn, now: datetime, hold: Held, signer) -> Due:
        days = self.settings.retention_audit_days
        why = (f"older than {days} days (retention_audit_days), from the trail's oldest end up to the first event that "
               "is newer or of a held camera or incident")
        first = store.trail_start(conn)
        if first is None:
            return Due(Kind.AUDIT, 0, None, why)
        through = self._audit_through(conn, now, hold)
        pending = self._pending_cut(conn, first[0])
        if pending is not None:
            through = max(through, pending.seq)
        if through < first[0]:
            return Due(Kind.AUDIT, 0, None, why)
        count, oldest = store.audit_range(conn, through)
        blocked = "" if signer is not None or pending is not None else (
            "needs the auditor's signing key to sign the cut (audit_signing_key or --key FILE)")
        return Due(Kind.AUDIT, count, parse_timestamp(oldest) if oldest else None, why, blocked=blocked)

    def _audit_through(self, conn, now: datetime, hold: Held) -> int:
        stop = store.audit_stop(conn, self._cutoff(now, self.settings.retention_audit_days), hold)
        # A snapshot a hold kept is found again only through its event: the trail stops before the first of them.
        kept = [seq for text in store.cursors_named(conn, SNAPSHOT_CURSOR) for seq in _held_seqs(text)]
        stop = min([s for s in (stop, *kept) if s is not None], default=None)
        if stop is None:
            head = self.audit.head()
            return head.seq if head else 0
        return stop - 1

    @staticmethod
    def _pending_cut(conn, oldest: int) -> Cut | None:
        """A cut stored by a run that was stopped before it deleted everything up to it."""
        found = [c for c in store.stored_cuts(conn) if isinstance(c, Cut) and c.seq >= oldest]
        return min(found, key=lambda c: c.seq) if found else None

    # --- the purge --------------------------------------------------------------------------------------

    def due_by_schedule(self) -> bool:
        """With retention_run_every_hours set: whether the last finished run is at least that old (or none ran)."""
        hours = self.settings.retention_run_every_hours
        if not hours:
            return False
        with transaction(self.database) as conn:
            if store.unfinished_run(conn) is not None:
                return True
            last = store.last_finished_run(conn)
        return last is None or last["finished_at"] <= self.clock() - timedelta(hours=hours)

    def run(self, user: User, signer=None, on_batch: Callable[[str, int], None] | None = None) -> RunReport:
        """Purge what is due (resuming a run that was stopped), audited as `user` (an administrator)."""
        if user.role is not Role.ADMIN:
            raise UserError(f"the {user.role.value} role cannot run a retention purge: only an administrator can")
        with transaction(self.database) as conn:
            refusal = store.may_purge(conn)
            unfinished = store.unfinished_run(conn)
        if refusal:
            self.audit.append(AuditEntry(Action.RETENTION_RUN, user.username, self.workstation, Outcome.DENIED,
                                         details={"op": "refused", "why": "database role"}))
            raise UserError(refusal)
        started = self.clock()
        if unfinished is not None:
            now, report = unfinished["now"], RunReport(unfinished["id"], True, unfinished["counts"],
                                                       unfinished["problems"])
        else:
            now = started
            with transaction(self.database) as conn:
                run_id = store.start_run(conn, now, started, user.username, self.workstation)
            report = RunReport(run_id, False)
        due = {d.kind.value: d.count for d in self.plan(now, signer)}
        self.audit.append(AuditEntry(Action.RETENTION_RUN, user.username, self.workstation, details={
            "op": "resumed" if report.resumed else "started", "run": report.run_id, "as_of": format_timestamp(now),
            "due": due}))
        progress = on_batch or (lambda kind, n: None)
        try:
            self._purge_snapshots(report, now, progress)  # first: a snapshot's hold is found through its session
            self._purge_sessions(report, now, progress)
            self._purge_footage(report, now, progress)
            for declined in (False, True):
                self._purge_calls(report, now, declined, progress)
            self._purge_field_copy(report, now)
            self._purge_audit(report, now, signer, user, progress)
            with transaction(self.database) as conn:
                store.save_progress(conn, report.run_id, report.counts, report.problems)
                store.finish_run(conn, report.run_id, self.clock())
        except StoreError as exc:
            raise UserError(f"retention run {report.run_id} stopped: the database refused or did not answer "
                            f"({first_line(exc)}); what it purged so far is recorded: run it again to finish") from None
        self.audit.append(AuditEntry(Action.RETENTION_RUN, user.username, self.workstation,
                                     Outcome.OK if not report.problems else Outcome.FAILED, details={
                                         "op": "finished", "run": report.run_id, "counts": dict(report.counts),
                                         "problems": len(report.problems)}))
        return report

    def _add(self, report: RunReport, key: str, n: int) -> None:
        if n:
            report.counts[key] = report.counts.get(key, 0) + n

    def _batched(self, report: RunReport, kind: Kind, step: Callable, progress) -> None:
        """Run `step(conn) -> rows deleted` in its own transaction (with the run's counts) until nothing is left."""
        while True:
            with transaction(self.database) as conn:
                n = step(conn)
                self._add(report, kind.value, n)
                store.save_progress(conn, report.run_id, report.counts, report.problems)
            if not n:
                return
            progress(kind.value, n)

    def _purge_sessions(self, report: RunReport, now: datetime, progress) -> None:
        cutoff = self._cutoff(now, self.settings.retention_view_sessions_days)
        self._batched(report, Kind.VIEW_SESSIONS,
                      lambda conn: store.delete_sessions(conn, cutoff, store.held(conn), self.batch), progress)

    def _purge_calls(self, report: RunReport, now: datetime, declined: bool, progress) -> None:
        days = self.settings.retention_declined_days if declined else self.settings.retention_outreach_days
        cutoff = self._cutoff(now, days)
        self._batched(report, Kind.DECLINED if declined else Kind.OUTREACH,
                      lambda conn: store.delete_calls(conn, cutoff, declined, self.batch), progress)

    def _purge_footage(self, report: RunReport, now: datetime, progress) -> None:
        cutoff = self._cutoff(now, self.settings.retention_footage_days)
        skip: set[int] = set()
        folder = self.places.evidence_dir.resolve() if self.places.evidence_dir else None

        def step(conn) -> int:
            batch = store.footage_batch(conn, cutoff, store.held(conn), self.batch, skip)
            gone = []
            for request_id, received in batch.items():
                outside = [p for _id, p, _sha in received if folder is None or not _inside(Path(p), folder)]
                if outside:
                    skip.add(request_id)
                    report.problems.append(f"footage request {request_id}: an evidence file is outside the evidence "
                                           f"folder ({outside[0][:200]}): not deleted, the request is kept")
                    continue
                for _id, path, _sha in received:
                    self._delete_file(report, Path(path), f"evidence file of footage request {request_id}")
                gone.append(request_id)
            store.delete_requests(conn, gone)
            return len(gone)

        while True:
            with transaction(self.database) as conn:
                n = step(conn)
                self._add(report, Kind.FOOTAGE.value, n)
                store.save_progress(conn, report.run_id, report.counts, report.problems)
                more = bool(store.footage_batch(conn, cutoff, store.held(conn), 1, skip))
            if n:
                progress(Kind.FOOTAGE.value, n)
            if not more:
                return

    def _delete_file(self, report: RunReport, path: Path, what: str) -> None:
        try:
            path.unlink()
            self._add(report, "files_deleted", 1)
        except FileNotFoundError:
            self._add(report, "files_missing", 1)
            report.problems.append(f"{what} {path.name[:200]!r} was MISSING from {str(path.parent)[:300]}: "
                                   "its record was purged, the file was not there to delete")
        except OSError as exc:
            raise UserError(f"cannot delete the {what} {path}: {exc.strerror or exc} (the run stopped here; run it "
                            "again once the file can be deleted)") from None

    def _snapshot_cursor(self, conn) -> tuple[int, list[int]]:
        text = store.read_cursor(conn, SNAPSHOT_CURSOR + self.workstation)
        try:
            value = json.loads(text) if text else {}
            return int(value.get("seq", 0)), _held_seqs(text)
        except (ValueError, TypeError, AttributeError):
            return 0, []

    def _purge_snapshots(self, report: RunReport, now: datetime, progress) -> None:
        folder = self.places.snapshot_folder
        if folder is None:
            return
        cutoff = self._cutoff(now, self.settings.retention_snapshots_days)

        first = [True]

        def step(conn) -> int:
            seq, held_before = self._snapshot_cursor(conn)
            was_first = first[0]
            if was_first:  # once per run: the ones a hold kept last time, in case it was released since
                first[0] = False
                rows = store.snapshot_events_at(conn, held_before)
                held_before = []
            else:
                rows = store.snapshot_events(conn, self.workstation, seq, cutoff, self.batch)
            hold = store.held(conn)
            parsed = []
            for row in rows:
                try:
                    details = json.loads(row.details)
                except ValueError:
                    details = {}
                parsed.append((row.seq, details if isinstance(details, dict) else {}))
            places = store.session_places(conn, [d.get("session_id") for _s, d in parsed
                                                 if isinstance(d.get("session_id"), int)])
            still_held, done = [], 0
            for event_seq, details in parsed:
                camera, incident = places.get(details.get("session_id"), (None, None))
                if camera in hold.cameras or incident in hold.incidents:
                    still_held.append(event_seq)
                    continue
                done += self._delete_snapshot(report, folder, event_seq, details)
            if rows or still_held != held_before:
                newest = max([seq] + [r.seq for r in rows])
                store.write_cursor(conn, SNAPSHOT_CURSOR + self.workstation,
                                   json.dumps({"seq": newest, "held": (held_before + still_held)[-10_000:]}),
                                   self.clock())
            if was_first:
                return done or -1
            return done if done or not rows else -1  # -1: a batch of held ones only, keep going

        while True:
            with transaction(self.database) as conn:
                n = step(conn)
                self._add(report, Kind.SNAPSHOTS.value, max(n, 0))
                store.save_progress(conn, report.run_id, report.counts, report.problems)
            if n == 0:
                return
            if n > 0:
                progress(Kind.SNAPSHOTS.value, n)

    def _delete_snapshot(self, report: RunReport, folder: Path, event_seq: int, details: dict) -> int:
        name, digest = details.get("file"), details.get("sha256")
        if not isinstance(name, str) or not name or Path(name).name != name or name.startswith(".") or len(name) > 255:
            report.problems.append(f"snapshot event {event_seq} names no plain file: nothing deleted")
            return 0
        path = folder / name
        if path.is_file() and isinstance(digest, str) and _sha256(path) != digest.lower():
            report.problems.append(f"snapshot {name[:200]!r} (event {event_seq}) is not the picture recorded (its "
                                   "SHA-256 differs): kept")
            return 0
        self._delete_file(report, path, f"snapshot of event {event_seq}")
        return 1

    def _purge_field_copy(self, report: RunReport, now: datetime) -> None:
        made = self._field_copy_made()
        if made is None or made >= self._cutoff(now, self.settings.field_copy_max_age_days):
            return
        self._delete_file(report, self.places.field_copy, "field copy")
        self._add(report, Kind.FIELD_COPY.value, 1)
        with transaction(self.database) as conn:
            store.save_progress(conn, report.run_id, report.counts, report.problems)

    def _purge_audit(self, report: RunReport, now: datetime, signer, user: User, progress) -> None:
        with transaction(self.database) as conn:
            first = store.trail_start(conn)
            pending = self._pending_cut(conn, first[0]) if first else None
            through = self._audit_through(conn, now, store.held(conn)) if first else 0
        if first is None:
            return
        if pending is None:
            if through < first[0]:
                return
            if signer is None:
                report.problems.append(f"audit trail: {through - first[0] + 1} events are due but were kept: the cut "
                                       "must be signed with the auditor's key (set audit_signing_key or give --key)")
                return
            pending = self._sign_cut(report, signer, through)
            if pending is None:
                return
        cut = pending
        self._batched(report, Kind.AUDIT, lambda conn: store.delete_events_through(conn, cut.seq, self.batch),
                      progress)

    def _sign_cut(self, report: RunReport, signer, through: int) -> Cut | None:
        """Walk the chain from its start; sign and store a cut at `through` only if it holds together."""
        begins = trail_start(self.audit, signer.public_key, signer.fingerprint)
        walker = self.audit.walk(marks={through} | begins.marks, start=begins.start)
        result = walker.result()
        findings = list(begins.findings) + begins.reached(walker.hashes_at, result.first_bad_seq)
        if not result.ok or findings or through not in walker.hashes_at:
            why = result.summary() if not result.ok else findings[0].sentence if findings else "event missing"
            report.problems.append(f"audit trail NOT cut: it does not verify ({why[:300]}); nothing of it was purged")
            return None
        cut = signer.sign_cut(through, walker.hashes_at[through], format_timestamp(self.clock()))
        try:
            with transaction(self.database) as conn:
                store.store_cut(conn, cut, report.run_id)
        except StoreError as exc:
            raise UserError(f"the audit cut could not be stored, so nothing of the trail was purged: "
                            f"{first_line(exc)}") from None
        return cut


def _held_seqs(text: str | None) -> list[int]:
    """The snapshot events a hold kept, from a cursor's stored JSON (nothing when it is not readable)."""
    try:
        value = json.loads(text) if text else {}
        return [int(s) for s in value.get("held", [])][:MAX_HELD_REMEMBERED]
    except (ValueError, TypeError, AttributeError):
        return []


def _check_id(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise UserError(f"the {what} id must be a whole number from 1, not {value!r}")


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder) and not path.is_symlink()
    except (OSError, ValueError):
        return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot_folder_default() -> Path:
    import platformdirs

    return Path(platformdirs.user_pictures_dir()) / "RTIC snapshots"


def environment_places(settings) -> Places:
    """This workstation's folders: the user's snapshot folder, the evidence folder, the field copy."""
    from console.services.field_copy_file import default_field_copy_path
    from console.services.footage import evidence_folder

    return Places(snapshot_folder_default(), evidence_folder(settings.evidence_dir), default_field_copy_path())


