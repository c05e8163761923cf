"""The local audit journal: events journaled while the database is away reach the chain in order, exactly once,
on the real PostgreSQL server (cut through a TCP proxy) and on SQLite."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from console.domain.audit import Action, AuditEntry
from console.errors import UserError
from console.services.resilience import ResilientAudit
from console.store.audit import AuditLog, AuditUnavailable
from console.store.db import open_database
from console.store.journal import JOURNAL_ID, AuditJournal, JournalUnavailable
from tests.support.tcp_proxy import TcpProxy

T0 = datetime(2026, 11, 24, 10, 42, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves: every reading is one second after the last."""

    def __init__(self, start: datetime = T0):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def entry(n: int, action: str = Action.SEARCH_NEAR) -> AuditEntry:
    return AuditEntry(action, "detective", "field-laptop-7", details={"n": n})


def stored(database) -> list[dict]:
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, occurred_at, details FROM audit_events ORDER BY seq")).all()
    return [dict(seq=r.seq, occurred_at=r.occurred_at, **json.loads(r.details)) for r in rows]


@pytest.fixture
def proxied(pg_url):
    """(database through the proxy, the proxy): the registry is made on the real port, the console goes through."""
    open_database(pg_url, create=True).close()
    proxy = TcpProxy()
    database = open_database(proxy.url(pg_url))
    yield database, proxy
    database.close()
    proxy.close()


@pytest.mark.postgres
def test_cut_mid_session_journals_then_flushes_in_order_with_the_chain_intact(proxied, tmp_path):
    database, proxy = proxied
    clock = Clock()
    sink = ResilientAudit(AuditLog(database), AuditJournal(tmp_path / "journal.db"), clock=clock)
    states = []
    sink.connectivity.subscribe(states.append)

    assert sink.append(entry(1)).outcome == "stored"
    proxy.cut()
    outcomes = [sink.append(entry(n)) for n in range(2, 7)]
    assert [o.outcome for o in outcomes] == ["journaled"] * 5
    assert not sink.connectivity.online and T0 + timedelta(seconds=2) < states[-1].since <= clock.now
    assert "audit log could not record" in states[-1].last_error and not any(s.online for s in states)
    assert len({s.since for s in states}) == 1 and states[-1].pending == 5  # one outage; the backlog counted
    assert sink.journal.pending_count() == 5

    proxy.restore()
    result = sink.flush()
    assert (result.appended, result.already_stored, result.pending) == (5, 0, 0)
    assert sink.connectivity.online and states[-1].online

    events = stored(database)
    assert [e["n"] for e in events] == [1, 2, 3, 4, 5, 6]  # in order, none lost, none doubled
    assert len({e[JOURNAL_ID] for e in events}) == 6
    # The stored time is when it happened, not when it was flushed.
    journaled = {j.journal_id: j.occurred_at for j in sink.journal.entries()}
    assert [e["occurred_at"] for e in events[1:]] == [journaled[e[JOURNAL_ID]] for e in events[1:]]
    assert AuditLog(database).verify().ok and AuditLog(database).verify().checked == 6
    assert sink.flush().appended == 0  # flushing again writes nothing
    assert len(stored(database)) == 6


@pytest.mark.postgres
def test_new_events_wait_behind_journaled_ones(proxied, tmp_path):
    database, proxy = proxied
    sink = ResilientAudit(AuditLog(database), AuditJournal(tmp_path / "journal.db"), clock=Clock())
    proxy.cut()
    sink.append(entry(1))
    sink.append(entry(2))
    proxy.restore()
    sink.connectivity.came_online()  # e.g. the flusher's ping answered, but it has not flushed yet
    assert sink.append(entry(3)).outcome == "stored"
    assert [e["n"] for e in stored(database)] == [1, 2, 3]
    assert AuditLog(database).verify().ok


@pytest.mark.postgres
def test_the_background_flusher_finds_the_database_again(proxied, tmp_path):
    database, proxy = proxied
    sink = ResilientAudit(AuditLog(database), AuditJournal(tmp_path / "journal.db"), ping_interval_s=0.05,
                          max_backoff_s=0.2, heartbeat_s=0.05)
    back = threading.Event()
    sink.connectivity.subscribe(lambda state: state.online and state.pending == 0 and back.set())
    proxy.cut()
    for n in range(1, 4):
        assert sink.append(entry(n)).outcome == "journaled"
    sink.start()
    try:
        proxy.restore()
        assert back.wait(60), "the flusher did not write the journal back"
    finally:
        sink.stop()
    assert [e["n"] for e in stored(database)] == [1, 2, 3]
    assert AuditLog(database).verify().ok


class Died(BaseException):
    """The process dying: not an Exception, so nothing on the way catches it."""


@pytest.mark.postgres
def test_death_between_the_database_commit_and_the_journal_mark_doubles_nothing(proxied, tmp_path):
    database, proxy = proxied
    journal = AuditJournal(tmp_path / "journal.db", clock=Clock())
    for n in range(1, 5):
        journal.record(entry(n))
    audit = AuditLog(database)

    def die_after_second(item, record):
        if item.entry.details["n"] == 2:
            raise Died()

    with pytest.raises(Died):
        journal.flush(audit, on_appended=die_after_second)
    assert [e["n"] for e in stored(database)] == [1, 2]
    assert [j.entry.details["n"] for j in journal.pending()] == [2, 3, 4]  # 2 is in the database but not marked

    result = journal.flush(audit)
    assert (result.appended, result.already_stored, result.pending) == (2, 1, 0)
    assert [e["n"] for e in stored(database)] == [1, 2, 3, 4]
    assert audit.verify().ok


@pytest.mark.postgres
def test_a_commit_whose_answer_was_lost_is_not_written_twice(proxied, tmp_path):
    """The connection broke after the server committed: the event was journaled with the id it already carried."""
    database, proxy = proxied
    journal = AuditJournal(tmp_path / "journal.db", clock=Clock())
    item = journal.record(entry(1))
    AuditLog(database).append(item.entry, occurred_at=datetime.fromisoformat(item.occurred_at.replace("Z", "+00:00")))
    assert journal.flush(AuditLog(database)).already_stored == 1
    assert [e["n"] for e in stored(database)] == [1]


def test_flush_on_sqlite_keeps_order_and_time(sqlite_url, tmp_path):
    database = open_database(sqlite_url, create=True)
    try:
        journal = AuditJournal(tmp_path / "journal.db", clock=Clock())
        items = [journal.record(entry(n)) for n in range(1, 4)]
        audit = AuditLog(database)
        audit.append(entry(0))  # an event written now, before the older journaled ones arrive
        assert journal.flush(audit).appended == 3
        events = stored(database)
        assert [e["n"] for e in events] == [0, 1, 2, 3]
        assert [e["occurred_at"] for e in events[1:]] == [i.occurred_at for i in items]
        assert audit.verify().ok  # the chain does not need times in order
    finally:
        database.close()


def test_bad_input_is_refused_before_it_reaches_the_journal(tmp_path):
    journal = AuditJournal(tmp_path / "journal.db")
    with pytest.raises(UserError, match="contact details"):
        journal.record(AuditEntry(Action.SEARCH_NEAR, "det", "ws", details={"owner_phone": "215-555-0143"}))
    with pytest.raises(UserError, match="journal id"):
        journal.record(AuditEntry(Action.SEARCH_NEAR, "det", "ws", details={JOURNAL_ID: "not-a-uuid"}))
    assert journal.entries() == []


def test_a_journal_that_cannot_be_written_says_so(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the journal's folder should be")
    journal = AuditJournal(blocker / "journal.db")
    with pytest.raises(JournalUnavailable, match="journal"):
        journal.record(entry(1))


def test_a_refusing_store_is_not_mistaken_for_a_lost_connection(sqlite_url, tmp_path):
    database = open_database(sqlite_url, create=True)
    try:
        with database.engine.begin() as conn:
            conn.execute(text("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                              "BEGIN SELECT RAISE(ABORT, 'audit store refuses writes'); END"))
        sink = ResilientAudit(AuditLog(database), AuditJournal(tmp_path / "journal.db"))
        with pytest.raises(AuditUnavailable) as refused:
            sink.append(entry(1))
        assert not refused.value.connection_lost
        assert sink.connectivity.online and sink.journal.pending_count() == 0
    finally:
        database.close()
