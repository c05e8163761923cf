"""The audit log on both backends: durable append, fail closed, serialised appends, query, guards."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from console.domain.audit import GENESIS_HASH, Action, AuditEntry, AuditFilter, Outcome, UnsafeAuditDetails, record_hash
from console.errors import UserError
from console.store.audit import AuditLog, AuditUnavailable, iter_records
from console.store.db import Database, open_database


class StepClock:
    """A clock that advances one second per reading, from a fixed start."""

    def __init__(self, start=datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)):
        self.now = start

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


def entry(i=0, **fields):
    base = dict(action=Action.SEARCH_NEAR, username="alice", workstation="rtic-ws-1", details={"i": i})
    base.update(fields)
    return AuditEntry(**base)


def test_append_chains_events_and_reads_them_back(database):
    log = AuditLog(database, clock=StepClock())
    first = log.append(entry(0, camera_id=7, incident_id=3, details={"radius_m": 250, "note": "Zoë"}))
    second = log.append(entry(1))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert first.occurred_at == "2026-11-01T08:00:01.000Z"
    stored = log.query()
    assert stored == [first, second]
    assert stored[0].details == {"radius_m": 250, "note": "Zoë"}
    assert record_hash(stored[0]) == stored[0].hash
    assert log.verify().ok and log.verify().checked == 2 and log.verify().last_hash == second.hash


def test_timestamps_keep_milliseconds_in_utc(database):
    moment = datetime(2026, 11, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-5)))
    log = AuditLog(database, clock=lambda: moment)
    record = log.append(entry())
    assert record.occurred_at == "2026-11-02T08:04:05.678Z"
    assert record.occurred == datetime(2026, 11, 2, 8, 4, 5, 678000, tzinfo=timezone.utc)


def test_query_filters(database):
    log = AuditLog(database, clock=StepClock())
    log.append(entry(0, username="alice", camera_id=1, action=Action.VIEW_START))
    log.append(entry(1, username="bob", camera_id=2, action=Action.VIEW_DENIED, outcome=Outcome.DENIED))
    log.append(entry(2, username="alice", camera_id=2, incident_id=9, action=Action.VIEW_START))
    assert [r.seq for r in log.query(username="alice")] == [1, 3]
    assert [r.seq for r in log.query(camera_id=2)] == [2, 3]
    assert [r.seq for r in log.query(incident_id=9)] == [3]
    assert [r.seq for r in log.query(outcome=Outcome.DENIED)] == [2]
    assert [r.seq for r in log.query(actions=(Action.VIEW_START,))] == [1, 3]
    since = datetime(2026, 11, 1, 8, 0, 2, tzinfo=timezone.utc)
    until = datetime(2026, 11, 1, 8, 0, 3, tzinfo=timezone.utc)
    assert [r.seq for r in log.query(since=since, until=until)] == [2]  # since inclusive, until exclusive
    assert [r.seq for r in log.query(limit=2, newest_first=True)] == [3, 2]
    assert [r.seq for r in iter_records(log, AuditFilter(username="alice"), page=1)] == [1, 3]
    assert log.head().seq == 3


def test_append_inside_callers_transaction_commits_or_rolls_back_with_it(database):
    log = AuditLog(database)
    with database.engine.connect() as conn:
        log.append(entry(0), conn=conn)
        conn.rollback()
    assert log.query() == []
    with database.engine.begin() as conn:
        record = log.append(entry(1), conn=conn)
    assert log.query() == [record]


def test_unsafe_details_are_refused_and_nothing_is_written(database):
    log = AuditLog(database)
    for details in ({"phone": "555-0100"}, {"owner_email": "x"}, {"old": {"Password": "x"}},
                    {"url": "rtsp://admin:hunter2@10.0.0.5/live"}, {"new": "jane@example.org"}):
        with pytest.raises(UnsafeAuditDetails) as caught:
            log.append(entry(details=details))
        assert "hunter2" not in str(caught.value) and "555-0100" not in str(caught.value)
    with pytest.raises(UserError):
        log.append(entry(details={"when": datetime.now(timezone.utc)}))  # not JSON
    with pytest.raises(UserError):
        log.append(entry(username=""))
    with pytest.raises(UserError):
        log.append(entry(workstation="w" * 101))
    assert log.query() == []


def _triggers_refuse(database, statement):
    with pytest.raises(DBAPIError) as caught:
        with database.engine.begin() as conn:
            conn.execute(text(statement))
    assert "append-only" in str(caught.value.orig)


def test_triggers_refuse_update_and_delete(database):
    log = AuditLog(database)
    log.append(entry(0))
    before = log.query()
    _triggers_refuse(database, "UPDATE audit_events SET username = 'mallory'")
    _triggers_refuse(database, "DELETE FROM audit_events")
    if database.dialect == "postgresql":
        _triggers_refuse(database, "TRUNCATE audit_events")
    assert log.query() == before and log.verify().ok


def test_appends_from_many_consoles_at_once_form_one_chain(database):
    threads, per_thread = 4, 25
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def console(n):
        db = open_database(database.url)  # its own engine and connections, like another workstation
        try:
            log = AuditLog(db)
            start.wait()
            for i in range(per_thread):
                log.append(entry(i, workstation=f"ws-{n}"))
        except BaseException as exc:  # collected and re-raised on the test thread
            failures.append(exc)
        finally:
            db.close()

    workers = [threading.Thread(target=console, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    result = AuditLog(database).verify()
    assert result.ok, result.reason
    assert result.checked == threads * per_thread == result.last_seq
    workstations = {r.workstation for r in AuditLog(database).query()}
    assert workstations == {f"ws-{n}" for n in range(threads)}


def test_append_fails_closed_when_the_database_is_gone(database, tmp_path):
    if database.dialect == "sqlite":
        path = Path(database.engine.url.database)
        database.engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{path}{suffix}").exists():
                os.remove(f"{path}{suffix}")
        broken = database
    else:
        url = database.engine.url.set(port=1)  # nothing listens there
        broken = Database(engine=create_engine(url, connect_args={"connect_timeout": 2}), url=str(url))
    with pytest.raises(AuditUnavailable) as caught:
        AuditLog(broken).append(entry(details={"reason": "burglary in progress"}))
    message = str(caught.value)
    assert message.startswith("the audit log could not record this event, so it was not done")
    assert "burglary" not in message and "\n" not in message
    broken.engine.dispose()


def test_append_fails_closed_when_the_insert_is_refused(database):
    # A failure at the moment of writing (here: a trigger refusing inserts) must surface, not vanish.
    if database.dialect == "sqlite":
        ddl = ["CREATE TRIGGER refuse_insert BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END"]
    else:
        ddl = ["CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
               "CREATE TRIGGER refuse_insert BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_insert()"]
    with database.engine.begin() as conn:
        for statement in ddl:
            conn.execute(text(statement))
    with pytest.raises(AuditUnavailable, match="disk full"):
        AuditLog(database).append(entry())
    assert AuditLog(database).query() == []


def test_unstorable_text_is_refused(database):
    log = AuditLog(database)
    with pytest.raises(UserError, match="unpaired surrogate"):
        log.append(entry(details={"note": "bad \ud800"}))
    with pytest.raises(UserError, match="NUL"):
        log.append(entry(details={"note": "a\x00b"}))
    assert log.query() == []


def test_verify_on_an_unreadable_database_says_why(sqlite_url):
    db = open_database(sqlite_url, create=True)
    log = AuditLog(db)
    log.append(entry())
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_events"))
    with pytest.raises(UserError, match="cannot read the audit log to verify it: no such table"):
        log.verify()
    db.close()


def test_changes_with_their_events_from_many_consoles_at_once(database):
    # The registry/identity pattern: write something, then append its event in the same transaction.
    threads, per_thread = 3, 15
    failures: list[BaseException] = []
    start = threading.Barrier(threads)
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe_changes (id INTEGER PRIMARY KEY, n INTEGER)"))

    def console(n):
        db = open_database(database.url)
        try:
            log = AuditLog(db)
            start.wait()
            for i in range(per_thread):
                with db.engine.begin() as conn:
                    conn.execute(text("INSERT INTO probe_changes (id, n) VALUES (:id, :n)"),
                                 {"id": n * 1000 + i, "n": n})
                    log.append(entry(i, action=Action.REGISTRY_CHANGE, workstation=f"ws-{n}"), conn=conn)
        except BaseException as exc:  # collected and re-raised on the test thread
            failures.append(exc)
        finally:
            db.close()

    workers = [threading.Thread(target=console, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    result = AuditLog(database).verify()
    assert result.ok and result.checked == threads * per_thread
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM probe_changes")).scalar_one() == threads * per_thread
