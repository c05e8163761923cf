"""The purge that keeps the proof (`retention run`): deletes what is due in batches, each committed with the run's
counts so a run killed at any point resumes where it stopped (with the same "now"); files go with their rows and a
missing one is reported; the audit trail is cut last, only behind the auditor's signed cut; every run is audited."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from console.domain.audit import Action, AuditEntry, Outcome, format_timestamp
from console.domain.retention import Cut, Kind
from console.domain.users import Role, User
from console.errors import UserError, first_line
from console.services.retention_chain import trail_start
from console.services.retention_plan import SNAPSHOT_CURSOR
from console.store import retention as store
from console.store.transactions import StoreError, transaction


@dataclass
class RunReport:
    run_id: int
    resumed: bool
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"run": self.run_id, "resumed": self.resumed, "counts": dict(self.counts), "problems": self.problems}


class RetentionRun:
    """The purge half of RetentionService: needs what RetentionPlan needs, plus batch; uses its plan and helpers."""

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
            self._purge_bulletins(report, now, progress)
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

    def _purge_bulletins(self, report: RunReport, now: datetime, progress) -> None:
        cutoff = self._cutoff(now, self.settings.retention_bulletins_days)

        def step(conn) -> int:
            n, unsent = store.delete_bulletins(conn, cutoff, store.held(conn), self.batch)
            self._add(report, "bulletin_copies_unsent", unsent)  # e-mail that never left goes too: counted
            return n

        self._batched(report, Kind.BULLETINS, step, progress)

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
