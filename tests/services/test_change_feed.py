"""Two consoles on one database see each other's changes: LISTEN/NOTIFY on PostgreSQL, a change poll on SQLite."""

from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from console.domain.changes import ChangeKind
from console.domain.incidents import Incident
from console.services.changes import ChangeFollower
from console.store import changes as feed
from console.store import registry as repo
from console.store.db import open_database


def _add_incident(database, cad: str) -> int:
    with database.engine.begin() as conn:
        incident_id = repo.add_incident(conn, Incident(None, cad, "Burglary", 2, "1 Main St", 42.15, -72.6,
                                                       datetime.now(timezone.utc)))
        feed.record_change(conn, ChangeKind.INCIDENT, incident_id, "ws-a")
    return incident_id


def _follow(database, poll_interval=0.5):
    seen: queue.Queue = queue.Queue()
    states: queue.Queue = queue.Queue()
    follower = ChangeFollower(database, lambda batch: [seen.put(c) for c in batch],
                              lambda online, why: states.put(online), poll_interval=poll_interval).start()
    assert states.get(timeout=10) is True  # following from the newest change
    return follower, seen


def test_a_second_console_sees_a_new_incident_within_two_seconds(db_url, database):
    other = open_database(db_url)  # the second console: its own engine and pool
    follower, seen = _follow(other)
    try:
        incident_id = _add_incident(database, "C-1")
        change = seen.get(timeout=2.0)
        assert (change.kind, change.record_id, change.workstation) == (ChangeKind.INCIDENT, incident_id, "ws-a")
        with other.reader.connect() as conn:  # and it can read what changed
            assert repo.get_incident(conn, incident_id).cad_number == "C-1"
    finally:
        follower.stop()
        other.close()


def test_a_rolled_back_change_is_never_seen(db_url, database):
    other = open_database(db_url)
    follower, seen = _follow(other)
    try:
        with pytest.raises(RuntimeError):
            with database.engine.begin() as conn:
                feed.record_change(conn, ChangeKind.CAMERA, 7, "ws-a")
                raise RuntimeError("the edit failed")
        kept = _add_incident(database, "C-2")
        change = seen.get(timeout=2.0)
        assert change.record_id == kept and change.kind is ChangeKind.INCIDENT
        assert seen.empty()
    finally:
        follower.stop()
        other.close()


def test_concurrent_writers_every_change_seen_once_in_commit_order(db_url, database):
    other = open_database(db_url)
    follower, seen = _follow(other, poll_interval=0.2)
    writers, each = 4, 15

    def write(n: int) -> None:
        for i in range(each):
            with database.engine.begin() as conn:
                feed.record_change(conn, ChangeKind.CAMERA, n * 1000 + i, f"ws-{n}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        got = [seen.get(timeout=5.0) for _ in range(writers * each)]
        assert [c.seq for c in got] == sorted(c.seq for c in got)
        assert sorted(c.record_id for c in got) == sorted(n * 1000 + i for n in range(writers) for i in range(each))
        with database.reader.connect() as conn:
            assert conn.execute(select(func.count()).select_from(feed.changes)).scalar_one() == writers * each
    finally:
        follower.stop()
        other.close()


@pytest.mark.postgres
def test_announcing_before_or_after_the_audit_event_never_deadlocks(pg_url):
    """Writers that announce a change then append an audit event run beside writers that do it the other way."""
    from console.domain.audit import Action, AuditEntry
    from console.store.audit import AuditLog

    database = open_database(pg_url, create=True)
    audit = AuditLog(database)
    errors: list[Exception] = []

    def write(announce_first: bool) -> None:
        for i in range(25):
            try:
                with database.engine.begin() as conn:
                    if announce_first:
                        feed.record_change(conn, ChangeKind.REGISTRY, None, "feed")
                    audit.append(AuditEntry(Action.REGISTRY_CHANGE, "u", "ws"), conn=conn)
                    if not announce_first:
                        feed.record_change(conn, ChangeKind.CAMERA, i, "edit")
            except Exception as exc:  # noqa: BLE001 - collected: the test fails on any
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(n % 2 == 0,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert audit.verify().checked == 100
        with database.reader.connect() as conn:
            assert feed.latest_seq(conn) == 100
    finally:
        database.close()
