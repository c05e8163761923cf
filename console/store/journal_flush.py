"""Flushing the offline journal into the audit trail: check each workstation's chain, report what the check found
as one journal_tampered event, then append the surviving entries oldest first, each exactly once.

Which entries the trail already holds is decided by the server's journal_sequences row when the journal's chain is
consistent with it, and by each entry's journal id otherwise (and for every entry the journal marks as flushed
beyond that row: a forged mark is found, and the entry is still appended). See console/store/journal.py.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from console.domain.audit import AuditEntry, AuditRecord, parse_timestamp
from console.store import journal_chain as chain
from console.store import journal_received
from console.store.audit import AuditLog, AuditUnavailable, connection_lost, not_recorded
from console.store.journal import (
    ALTERED,
    ENTRY_COLUMNS,
    FROM_TAMPERED,
    JOURNAL_SEQ,
    AuditJournal,
    FlushResult,
    JournalEntry,
    JournalUnavailable,
    entry_from_row,
    reason_of,
    stored_seq,
    tamper_entry,
)


@dataclass
class _Plan:
    """One workstation's state for this flush."""

    received: chain.Received | None
    reported: set[str]
    found: list[chain.Finding] = field(default_factory=list)
    trusted: bool = True  # the server's row may say which entries it holds

    @property
    def through(self) -> int:
        return self.received.last_seq if self.received is not None and self.trusted else 0

    @property
    def altered(self) -> set[int]:
        return {s for f in self.found if f.kind == "edited" for s in f.seqs}


def flush(journal: AuditJournal, audit: AuditLog, on_appended) -> FlushResult:
    entries = journal.entries()
    heads = journal.heads()
    by_ws: dict[str, list[JournalEntry]] = defaultdict(list)
    for item in entries:
        by_ws[item.entry.workstation].append(item)
    plans: dict[str, _Plan] = {}
    forged: set[int] = set()
    for ws in sorted(set(by_ws) | set(heads)):
        items = by_ws.get(ws, [])
        plan = plans[ws] = _Plan(*_received(audit, ws))
        plan.found = chain.findings(ws, [i.link() for i in items], heads.get(ws), plan.received)
        plan.trusted = chain.consistent_with_server(plan.found)
        marked = [i for i in items if i.flushed_at is not None and (i.jseq or 0) > plan.through
                  and stored_seq(audit, i) is None]
        plan.found += _marked_flushed(marked)
        forged |= {i.n for i in marked}
    tampered: list[chain.Finding] = []
    for ws, plan in plans.items():
        new = [f for f in plan.found if f.key not in plan.reported]
        if new:
            plan.reported |= {f.key for f in new}
            _report(audit, tamper_entry(ws, new, journal.path.name), ws, plan.reported, journal.clock())
            tampered += new

    appended = already = 0
    todo = [i for i in entries if i.flushed_at is None or i.n in forged]
    last_n = entries[-1].n if entries else 0
    with closing(journal.connect()) as conn:
        while True:
            if not todo:  # entries recorded while this flush ran: appended now, checked at the next flush
                todo = [entry_from_row(r) for r in conn.execute(
                    f"SELECT {ENTRY_COLUMNS} FROM entries WHERE flushed_at IS NULL AND n > ? ORDER BY n", (last_n,))]
                if not todo:
                    return FlushResult(appended, already, 0, tuple(tampered))
                last_n = todo[-1].n
            item = todo.pop(0)
            try:
                conn.execute("BEGIN IMMEDIATE")
            except Exception as exc:
                raise JournalUnavailable(f"the local audit journal {journal.path} is busy: {reason_of(exc)}") from None
            try:
                row = conn.execute("SELECT flushed_at FROM entries WHERE n = ?", (item.n,)).fetchone()
                if row is None or (row[0] is not None and item.n not in forged):
                    conn.execute("COMMIT")  # another flusher on this machine got there first
                    continue
                ws = item.entry.workstation
                plan = plans.get(ws) or plans.setdefault(ws, _Plan(*_received(audit, ws)))
                last = (item.jseq, item.hash) if item.jseq is not None and item.hash else None
                if plan.trusted and last is not None and last[0] <= plan.through:
                    seq, new = None, False  # the server's row says the trail holds it
                else:
                    seq = stored_seq(audit, item)
                    new = seq is None
                if new:
                    record = _append(audit, _marked(item, plan), item.occurred_at, ws, last, journal.clock())
                    seq = record.seq
                    appended += 1
                    if on_appended is not None:
                        on_appended(item, record)
                else:
                    already += 1
                    if last is not None and (not plan.trusted or last[0] > plan.through):
                        _move(audit, ws, last, journal.clock())
                if last is not None:
                    plan.received = chain.Received(*last)
                journal.mark(conn, item, seq)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise


def _marked(item: JournalEntry, plan: _Plan) -> AuditEntry:
    """The event as it goes into the trail: its journal sequence, and whether the journal it came from was found
    tampered with (and this very entry changed)."""
    details = dict(item.entry.details)
    if item.jseq is not None:
        details[JOURNAL_SEQ] = item.jseq
    if plan.found:
        details[FROM_TAMPERED] = True
    if item.jseq in plan.altered:
        details[ALTERED] = True
    e = item.entry
    return AuditEntry(e.action, e.username, e.workstation, e.outcome, e.camera_id, e.incident_id, details)


def _marked_flushed(items: list[JournalEntry]) -> list[chain.Finding]:
    """Consecutive runs of entries the journal marks as flushed although the trail never received them."""
    runs: list[list[int]] = []
    for seq in sorted(i.jseq or 0 for i in items):
        if runs and seq == runs[-1][-1] + 1:
            runs[-1].append(seq)
        else:
            runs.append([seq])
    return [chain.Finding("marked_flushed", r[0], r[-1],
                          f"journal {'entry ' + str(r[0]) if len(r) == 1 else f'entries {r[0]}-{r[-1]}'} "
                          f"{'is' if len(r) == 1 else 'are'} marked as flushed but never reached the audit trail")
            for r in runs]


def _received(audit: AuditLog, ws: str):
    try:
        with audit.database.engine.connect() as conn:
            return journal_received.received(conn, ws)
    except SQLAlchemyError as exc:
        raise AuditUnavailable(not_recorded(exc), connection_lost(exc)) from None


def _append(audit: AuditLog, entry: AuditEntry, occurred_at: str, ws: str, last, now: datetime) -> AuditRecord:
    """The event and the server's row for its workstation, in one transaction."""
    try:
        with audit.database.engine.connect() as conn:
            record = audit.append(entry, conn=conn, occurred_at=parse_timestamp(occurred_at))
            journal_received.set_received(conn, ws, now, last=last)
            conn.commit()
    except SQLAlchemyError as exc:
        raise AuditUnavailable(not_recorded(exc), connection_lost(exc)) from None
    return record


def _report(audit: AuditLog, entry: AuditEntry, ws: str, reported: set[str], now: datetime) -> None:
    try:
        with audit.database.engine.connect() as conn:
            audit.append(entry, conn=conn)
            journal_received.set_received(conn, ws, now, reported=reported)
            conn.commit()
    except SQLAlchemyError as exc:
        raise AuditUnavailable(not_recorded(exc), connection_lost(exc)) from None


def _move(audit: AuditLog, ws: str, last, now: datetime) -> None:
    try:
        with audit.database.engine.begin() as conn:
            journal_received.set_received(conn, ws, now, last=last)
    except SQLAlchemyError as exc:
        raise AuditUnavailable(not_recorded(exc), connection_lost(exc)) from None
