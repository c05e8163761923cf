"""A real failover: two PostgreSQL clusters of the test's own (tests/support/pg_cluster.py), a primary and a
synchronous streaming standby; consoles write audit events on the multi-host URL while the primary is killed and the
standby promoted. No event may be lost or doubled, and the chain must verify on the promoted server."""

from __future__ import annotations

import threading

import pytest

from console.store.audit import AuditLog
from console.store.db import open_database
from tests.failover.scenario import entry, fail_over, prepare
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


def test_the_fixture_makes_a_streaming_standby_and_removes_everything(replica_set):
    standby = replica_set.add_standby()
    assert not replica_set.primary.in_recovery() and standby.in_recovery()
    replica_set.primary.sql("CREATE DATABASE replicated")
    replica_set.primary.sql("CREATE TABLE t (a int); INSERT INTO t VALUES (42)", "replicated")
    replica_set.wait_replayed(standby)
    assert standby.sql("SELECT a FROM t", "replicated") == [(42,)]
    root = replica_set.root
    replica_set.close()
    assert not root.exists()


def test_a_prefer_standby_url_reads_from_the_standby_and_knows_its_replay_lag(replica_set):
    standby = replica_set.add_standby()
    prepare(replica_set)
    replica_set.wait_replayed(standby)  # synchronous_commit = on: flushed there at once, replayed a moment later
    with open_database(replica_set.multi_host_url("rtic", attrs="prefer-standby")) as reader, \
            open_database(replica_set.primary.url("rtic")) as primary:
        assert reader.server() == standby.host
        lag = reader.replay_lag()
        assert lag is not None and lag >= 0.0
        assert primary.replay_lag() is None


def test_the_console_follows_the_writable_server_of_a_multi_host_url(replica_set, tmp_path):
    standby = replica_set.add_standby()
    # The standby listed FIRST: target_session_attrs=read-write must pass over it to the primary.
    prepare(replica_set)
    url = replica_set.multi_host_url("rtic", [standby, replica_set.primary])
    with open_database(url) as database:
        assert database.server() == replica_set.primary.host
        replica_set.primary.stop("immediate")
        standby.promote()
        # The same Database, no restart: the pool drops the dead connection (pre-ping) and libpq finds the new one.
        assert database.server() == standby.host
        AuditLog(database).append(entry("rtic-ws-9", 1))
        assert AuditLog(database).verify().ok


def test_no_audit_event_is_lost_or_doubled_across_a_failover(replica_set, tmp_path):
    standby = replica_set.add_standby()
    url = prepare(replica_set)
    outcome = fail_over(replica_set, url, standby, tmp_path, consoles=2, before=15, after=15)
    assert [c.errors for c in outcome.consoles] == [[], []]
    assert len(outcome.sent) >= 60 and outcome.journaled > 0  # the outage was seen, and journaled through
    assert outcome.lost == 0 and outcome.doubled == 0
    assert sum(outcome.stored.values()) == len(outcome.sent)  # nothing on the server that no console sent
    assert all(c.sink.journal.pending_count() == 0 for c in outcome.consoles)
    with open_database(standby.url("rtic")) as promoted:  # the promoted server alone, not the multi-host URL
        result = AuditLog(promoted).verify()
        assert result.ok, result
        assert promoted.server() == standby.host


def test_the_change_feed_re_listens_and_catches_up_on_the_new_primary(replica_set):
    from console.domain.changes import ChangeKind
    from console.services.changes import ChangeFollower
    from console.store.changes import record_change

    standby = replica_set.add_standby()
    url = prepare(replica_set)
    seen, arrived = [], threading.Condition()

    def on_changes(batch):
        with arrived:
            seen.extend(c.seq for c in batch)
            arrived.notify_all()

    with open_database(url) as database, open_database(url) as writer:
        states = []

        def on_state(online, _why):
            with arrived:
                states.append(online)
                arrived.notify_all()

        follower = ChangeFollower(database, on_changes=on_changes, on_state=on_state, poll_interval=0.1,
                                  max_backoff=0.2)
        with writer.engine.begin() as conn:
            record_change(conn, ChangeKind.CAMERA, None, "rtic-ws-2")  # before start: the follower starts after it
        follower.start()
        try:
            with arrived:  # the follower has read where the feed stands: a change written from now on is news to it
                assert arrived.wait_for(lambda: True in states, 30)
            with writer.engine.begin() as conn:
                first = record_change(conn, ChangeKind.CAMERA, None, "rtic-ws-2")
            with arrived:
                assert arrived.wait_for(lambda: first in seen, 30)
            replica_set.primary.stop("immediate")
            standby.promote()
            with writer.engine.begin() as conn:  # written while the follower may still be away
                later = [record_change(conn, ChangeKind.CAMERA, None, "rtic-ws-2") for _ in range(3)]
            with arrived:
                assert arrived.wait_for(lambda: set(later) <= set(seen), 30), seen
            assert seen == sorted(seen) and len(seen) == len(set(seen))
            assert follower.server == standby.host  # what the status bar shows: the server it is on now
        finally:
            follower.stop()


def test_a_feed_behind_the_last_change_seen_is_followed_from_its_newest_change(pg_migrated_url):
    """After a failover with asynchronous replication the new primary may lack the last changes the follower saw:
    the follower must not wait for change numbers that will never come back."""
    from console.domain.changes import ChangeKind
    from console.services.changes import ChangeFollower
    from console.store.changes import record_change

    seen, arrived = [], threading.Condition()

    def on_changes(batch):
        with arrived:
            seen.extend(c.seq for c in batch)
            arrived.notify_all()

    def on_state(online, why):
        with arrived:
            arrived.notify_all()

    with open_database(pg_migrated_url) as database:
        follower = ChangeFollower(database, on_changes=on_changes, on_state=on_state, poll_interval=0.1,
                                  max_backoff=0.2)
        follower.last_seq = 1_000_000  # seen on a primary that is gone; this server's feed is empty
        follower.start()
        try:
            with arrived:
                assert arrived.wait_for(lambda: follower.online, 30)
            assert follower.last_seq == 0
            with database.engine.begin() as conn:
                change = record_change(conn, ChangeKind.SITE, None, "rtic-ws-3")
            with arrived:
                assert arrived.wait_for(lambda: change in seen, 30), seen
            assert follower.server.endswith(":5432")
        finally:
            follower.stop()


def test_the_old_primary_rebuilt_as_a_standby_takes_over_in_a_second_failover(replica_set, tmp_path):
    first_standby = replica_set.add_standby()
    url = prepare(replica_set)
    first = fail_over(replica_set, url, first_standby, tmp_path, before=5, after=5)
    assert first.lost == first.doubled == 0
    # The dead primary's place: a new standby copied from the promoted server (as Patroni's reinit does), and the
    # consoles' URL lists it; the second failover goes back to it.
    rebuilt = replica_set.add_standby(source=first_standby, name="rebuilt")
    url = replica_set.multi_host_url("rtic", [first_standby, rebuilt])
    # The same workstations with the same local journals (a console's journal is its own for good: a new, empty one
    # under a name whose events are in the trail would be reported as a deleted journal).
    second = fail_over(replica_set, url, rebuilt, tmp_path, before=5, after=5)
    assert [c.errors for c in first.consoles + second.consoles] == [[]] * 4
    assert second.lost == second.doubled == 0 and second.journaled > 0
    assert sum(second.stored.values()) == len(first.sent) + len(second.sent)
    with open_database(rebuilt.url("rtic")) as promoted:
        assert promoted.server() == rebuilt.host
        assert AuditLog(promoted).verify().ok
