"""The offline journal is evidence: each edit an insider tried on audit-journal.db (issue 14) is reported at the flush
as ONE journal_tampered event naming the workstation and the sequence numbers, written before the surviving events,
which still reach the trail marked as coming from a tampered journal; nothing is lost or doubled. Both backends."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from console.domain.audit import Action, AuditEntry, Outcome
from console.services.resilience import ResilientAudit
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.journal import FROM_TAMPERED, JOURNAL_SEQ, AuditJournal

T0 = datetime(2026, 11, 24, 10, 42, tzinfo=timezone.utc)
WS = "field-laptop-7"


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


def offline_shift(journal: AuditJournal) -> None:
    """What a detective's laptop journals in an outage: jseq 1 search, 2 view_start, 3 contact_reveal, 4 view_end
    (840 s), 5 search."""
    journal.record(AuditEntry(Action.SEARCH_NEAR, "detective", WS, details={"n": 1, "radius_m": 300}))
    journal.record(AuditEntry(Action.VIEW_START, "detective", WS, camera_id=7, details={"n": 2, "reason": "burglary"}))
    journal.record(AuditEntry(Action.CONTACT_REVEAL, "detective", WS, details={"n": 3, "owner_id": 12}))
    journal.record(AuditEntry(Action.VIEW_END, "detective", WS, camera_id=7, details={"n": 4, "duration_s": 840}))
    journal.record(AuditEntry(Action.SEARCH_NEAR, "detective", WS, details={"n": 5, "radius_m": 300}))


def edit(journal: AuditJournal, *statements: str) -> None:
    """The insider with the sqlite3 command-line tool."""
    conn = sqlite3.connect(journal.path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def trail(database) -> list[dict]:
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, action, username, details FROM audit_events ORDER BY seq")).all()
    return [dict(seq=r.seq, action=r.action, username=r.username, **json.loads(r.details)) for r in rows]


@pytest.fixture
def setup(db_url, tmp_path):
    database = open_database(db_url, create=True)
    journal = AuditJournal(tmp_path / "audit-journal.db", clock=Clock())
    offline_shift(journal)
    yield database, journal
    database.close()


def flushed(database, journal) -> tuple[list[dict], list[dict]]:
    """Flush, and again (which must add nothing); (the tamper events, the other events)."""
    audit = AuditLog(database)
    journal.flush(audit)
    first = trail(database)
    again = journal.flush(audit)
    assert (again.appended, again.tampered) == (0, ())
    assert trail(database) == first  # nothing doubled, the finding not reported twice
    assert audit.verify().ok
    reports = [e for e in first if e["action"] == Action.JOURNAL_TAMPERED]
    return reports, [e for e in first if e["action"] != Action.JOURNAL_TAMPERED]


def the_report(reports, events) -> dict:
    [report] = reports
    assert report["workstation"] == WS and report["journal"] == "audit-journal.db"
    assert all(report["seq"] < e["seq"] for e in events)  # reported BEFORE the surviving events
    assert all(e[FROM_TAMPERED] is True for e in events)  # and those say where they came from
    return report


def test_an_untouched_journal_flushes_without_a_report(setup):
    database, journal = setup
    reports, events = flushed(database, journal)
    assert reports == []
    assert [e["n"] for e in events] == [1, 2, 3, 4, 5] and [e[JOURNAL_SEQ] for e in events] == [1, 2, 3, 4, 5]
    assert not any(FROM_TAMPERED in e for e in events)


def test_deleting_a_pending_view_start_is_reported_as_a_gap(setup):
    database, journal = setup
    edit(journal, "DELETE FROM entries WHERE action = 'view_start'")
    reports, events = flushed(database, journal)
    report = the_report(reports, events)
    assert report["sequences"] == [2] and [f["kind"] for f in report["findings"]] == ["gap"]
    assert [e["n"] for e in events] == [1, 3, 4, 5]


def test_marking_a_contact_reveal_as_flushed_is_reported_and_the_reveal_still_reaches_the_trail(setup):
    database, journal = setup
    edit(journal, "UPDATE entries SET flushed_at = '2026-11-24T10:50:00.000Z' WHERE action = 'contact_reveal'")
    reports, events = flushed(database, journal)
    report = the_report(reports, events)
    assert report["sequences"] == [3] and [f["kind"] for f in report["findings"]] == ["marked_flushed"]
    assert [e["n"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["action"] for e in events if e["n"] == 3] == [Action.CONTACT_REVEAL]


def test_shortening_a_view_end_from_840_to_3_seconds_is_reported_as_an_edit(setup):
    database, journal = setup
    edit(journal, "UPDATE entries SET details = replace(details, '\"duration_s\":840', '\"duration_s\":3') "
                  "WHERE action = 'view_end'")
    assert [e.entry.details["duration_s"] for e in journal.entries() if e.entry.action == "view_end"] == [3]
    reports, events = flushed(database, journal)
    report = the_report(reports, events)
    assert report["sequences"] == [4] and [f["kind"] for f in report["findings"]] == ["edited"]
    [view_end] = [e for e in events if e["action"] == Action.VIEW_END]
    assert view_end["duration_s"] == 3 and view_end["journal_entry_altered"] is True  # kept, and flagged


def test_changing_a_searchs_user_name_is_reported_as_an_edit(setup):
    database, journal = setup
    edit(journal, "UPDATE entries SET username = 'someone-else' WHERE jseq = 5")
    reports, events = flushed(database, journal)
    report = the_report(reports, events)
    assert report["sequences"] == [5] and [f["kind"] for f in report["findings"]] == ["edited"]
    assert [e["username"] for e in events] == ["detective"] * 4 + ["someone-else"]


def test_deleting_the_tail_is_reported(setup):
    database, journal = setup
    edit(journal, "DELETE FROM entries WHERE jseq >= 4")
    reports, events = flushed(database, journal)
    report = the_report(reports, events)
    assert report["sequences"] == [4, 5] and [f["kind"] for f in report["findings"]] == ["tail_deleted"]
    assert [e["n"] for e in events] == [1, 2, 3]


def test_a_tail_deleted_after_it_was_flushed_is_told_by_the_server(setup):
    """Entries 4 and 5 reached the trail; then they and the journal's own head are rewound, as a careful insider
    would: only the server's last received sequence tells."""
    database, journal = setup
    audit = AuditLog(database)
    assert journal.flush(audit).appended == 5
    [third] = [e for e in journal.entries() if e.jseq == 3]
    edit(journal, "DELETE FROM entries WHERE jseq >= 4",
         f"UPDATE heads SET last_seq = 3, last_hash = '{third.hash}'")
    result = journal.flush(audit)
    assert [(f.kind, f.seqs) for f in result.tampered] == [("received_missing", [4, 5])]
    report = [e for e in trail(database) if e["action"] == Action.JOURNAL_TAMPERED]
    assert [r["sequences"] for r in report] == [[4, 5]] and report[0]["workstation"] == WS
    assert journal.flush(audit).tampered == ()  # reported once


def test_reordering_two_entries_is_reported(setup):
    database, journal = setup
    edit(journal, "UPDATE entries SET n = 100 WHERE jseq = 2", "UPDATE entries SET n = 2 WHERE jseq = 3",
         "UPDATE entries SET n = 3 WHERE jseq = 2")
    reports, events = flushed(database, journal)
    report = the_report(reports, events)
    assert 2 in report["sequences"] or 3 in report["sequences"]
    assert {f["kind"] for f in report["findings"]} & {"reordered", "gap"}
    assert sorted(e["n"] for e in events) == [1, 2, 3, 4, 5]  # none lost


def test_a_replaced_journal_is_reported_and_nothing_is_skipped(setup, tmp_path):
    """The journal file deleted after a flush and a fresh one started: its sequence 1.. is not what the server
    received, so no entry is taken for already stored on the strength of its number alone."""
    database, journal = setup
    audit = AuditLog(database)
    journal.flush(audit)
    for suffix in ("", "-wal", "-shm"):
        journal.path.with_name(journal.path.name + suffix).unlink(missing_ok=True)
    fresh = AuditJournal(journal.path, clock=Clock())
    fresh.record(AuditEntry(Action.VIEW_START, "detective", WS, camera_id=9, details={"n": 6}))
    result = fresh.flush(audit)
    # The fresh file holds sequence 1 only: 2-5, which the trail received, are gone from the journal.
    assert result.appended == 1 and [(f.kind, f.seqs) for f in result.tampered] == [("received_missing", [2, 3, 4, 5])]
    assert [e["n"] for e in trail(database) if "n" in e] == [1, 2, 3, 4, 5, 6]


def test_the_journal_file_is_private_and_an_existing_one_is_tightened(tmp_path):
    journal = AuditJournal(tmp_path / "audit-journal.db")
    journal.record(AuditEntry(Action.SEARCH_NEAR, "detective", WS))
    assert stat.S_IMODE(os.stat(journal.path).st_mode) == 0o600
    os.chmod(journal.path, 0o644)
    journal.pending_count()
    assert stat.S_IMODE(os.stat(journal.path).st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        side = journal.path.with_name(journal.path.name + suffix)
        if side.exists():
            assert stat.S_IMODE(os.stat(side).st_mode) & 0o077 == 0


def test_the_sink_checks_a_journal_with_nothing_pending_at_its_first_contact(sqlite_url, tmp_path):
    """Every entry forged as flushed leaves nothing pending: the sink still checks the journal when it connects."""
    database = open_database(sqlite_url, create=True)
    try:
        journal = AuditJournal(tmp_path / "audit-journal.db", clock=Clock())
        offline_shift(journal)
        edit(journal, "UPDATE entries SET flushed_at = '2026-11-24T10:50:00.000Z'")
        sink = ResilientAudit(AuditLog(database), AuditJournal(journal.path, clock=Clock()))
        assert sink.journal.pending_count() == 0
        sink.append(AuditEntry(Action.LOGIN, "detective", WS, Outcome.OK))
        events = trail(database)
        assert [e["action"] for e in events][0] == Action.JOURNAL_TAMPERED
        assert events[0]["sequences"] == [1, 2, 3, 4, 5]
        assert [e.get("n") for e in events[1:]] == [1, 2, 3, 4, 5, None]  # the forged entries, then the login
    finally:
        database.close()
