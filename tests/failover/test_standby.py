"""Reading from a standby where it is safe, and audit writes that never hang on a missing synchronous standby: two
PostgreSQL clusters of the test's own (tests/support/pg_cluster.py), a primary and a synchronous streaming standby."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from console.services.registry import RegistryService
from console.services.resilience import ResilientAudit
from console.store.audit import AuditLog
from console.store.db import open_database, use_standby
from console.store.journal import JOURNAL_ID, AuditJournal
from tests.failover.scenario import entry, prepare
from tests.support.backends import require
from tests.support.pg_cluster import ReplicaSet, missing_binaries


@pytest.fixture
def replica_set():
    require("postgresql")
    why = missing_binaries()
    if why:
        pytest.fail(why)  # a missing part fails, never skips
    with ReplicaSet() as rs:
        yield rs


def port_of(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT inet_server_port()")).scalar_one()


def audit_count(cluster) -> int:
    return cluster.sql("SELECT count(*) FROM audit_events", "rtic")[0][0]


def test_searches_go_to_a_fresh_standby_and_writes_and_the_audit_trail_to_the_primary(replica_set):
    standby = replica_set.add_standby()
    prepare(replica_set)
    replica_set.wait_replayed(standby)
    with open_database(replica_set.primary.url("rtic")) as database:
        use_standby(database, replica_set.multi_host_url("rtic", attrs="prefer-standby"), max_lag_s=5.0)
        database.lag_check_s = 0.0  # read the lag before every read, so the test sees each change at once
        assert database.standby.server() == standby.host
        assert port_of(database.search_reader) == standby.port
        assert database.reads_from() == "reads: standby"
        assert RegistryService(database).open_incidents() == []  # a search, answered by the standby
        # Writes and the audit trail: the primary. With the standby's replay paused, the event is on the primary
        # (and flushed to the standby, synchronous_commit = on) but not yet visible there.
        standby.sql("SELECT pg_wal_replay_pause()")
        AuditLog(database).append(entry("rtic-ws-1", 1))
        assert port_of(database.engine) == port_of(database.reader) == replica_set.primary.port
        assert audit_count(replica_set.primary) == 1 and audit_count(standby) == 0
        assert len(AuditLog(database).query()) == 1


def test_a_lagging_standby_is_not_read_from_until_it_catches_up(replica_set, caplog):
    standby = replica_set.add_standby()
    prepare(replica_set)
    replica_set.wait_replayed(standby)
    with open_database(replica_set.primary.url("rtic")) as database:
        use_standby(database, standby.url("rtic"), max_lag_s=0.0)  # any lag at all is too much
        database.lag_check_s = 0.0
        assert port_of(database.search_reader) == standby.port
        standby.sql("SELECT pg_wal_replay_pause()")
        AuditLog(database).append(entry("rtic-ws-1", 1))  # the standby has received it and not replayed it
        with caplog.at_level("WARNING", logger="console.store.db"):
            assert port_of(database.search_reader) == replica_set.primary.port
            assert database.reads_from().startswith("reads: primary (standby lagging ")
            assert port_of(database.search_reader) == replica_set.primary.port
        assert [r.getMessage() for r in caplog.records].count(
            next(r.getMessage() for r in caplog.records if "reads go to the primary" in r.getMessage())) == 1
        assert len(RegistryService(database).open_incidents()) == 0  # answered by the primary
        standby.sql("SELECT pg_wal_replay_resume()")
        replica_set.wait_replayed(standby)
        assert port_of(database.search_reader) == standby.port
        assert database.reads_from() == "reads: standby"


def test_a_standby_that_does_not_answer_leaves_reads_on_the_primary(replica_set):
    standby = replica_set.add_standby()
    prepare(replica_set)
    with open_database(replica_set.primary.url("rtic")) as database:
        use_standby(database, standby.url("rtic"))
        standby.stop("immediate")
        assert port_of(database.search_reader) == replica_set.primary.port
        assert database.reads_from().startswith("reads: primary (standby not answering")


def test_an_audit_write_waiting_for_a_missing_synchronous_standby_is_journaled_once(replica_set, tmp_path):
    standby = replica_set.add_standby()  # synchronous_standby_names = '*' on the primary
    prepare(replica_set)
    with open_database(replica_set.primary.url("rtic")) as database:
        database.write_timeout_s = 1.0
        sink = ResilientAudit(AuditLog(database), AuditJournal(tmp_path / "journal.db"))
        sink.append(entry("rtic-ws-1", 0))  # the standby is there: stored at once
        standby.stop("fast")
        results = []
        writer = threading.Thread(target=lambda: results.append(sink.append(entry("rtic-ws-1", 1))), daemon=True)
        writer.start()
        writer.join(60)  # a guard against a hang (the bug), not a time limit: it returns after write_timeout_s
        assert not writer.is_alive(), "the audit write hung on the missing synchronous standby"
        [first] = results
        assert first.outcome == "journaled" and not sink.connectivity.online
        second = sink.append(entry("rtic-ws-1", 2))  # while it counts as away: straight to the journal
        assert second.outcome == "journaled"
        standby.start()
        replica_set.wait_streaming(replica_set.primary, standby, state="sync")
        flushed = sink.flush()
        assert flushed is not None and flushed.pending == 0
        # The first was committed on the primary when its wait was cancelled: found by its journal id, not doubled.
        assert flushed.already_stored == 1 and flushed.appended == 1
        assert sink.connectivity.online
        records = AuditLog(database).query()
        ids = [r.details[JOURNAL_ID] for r in records]
        assert len(ids) == 3 and len(set(ids)) == 3
        assert {first.journaled.journal_id, second.journaled.journal_id} <= set(ids)
        assert AuditLog(database).verify().ok


def test_an_unusable_read_database_url_is_refused_with_a_sentence():
    from console.errors import UserError
    from console.store.db import connect_database

    primary = connect_database("postgresql+psycopg://rtic@127.0.0.1:1/rtic")  # never connected here
    try:
        for bad in ("not a url", "mysql://x@h/db", "sqlite:///:memory:"):
            with pytest.raises(UserError) as refused:
                use_standby(primary, bad)
            assert "Traceback" not in str(refused.value) and primary.standby is None
        assert use_standby(primary, "").standby is None  # no setting: everything on the primary
        assert primary.search_reader is primary.reader and primary.reads_from() == ""
    finally:
        primary.close()
    with connect_database("sqlite:///:memory:") as sqlite:  # a SQLite registry has no standby: the setting is moot
        assert use_standby(sqlite, "postgresql+psycopg://rtic@127.0.0.1:1/rtic").standby is None
