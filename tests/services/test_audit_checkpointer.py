"""Automatic audit checkpoints: signed at the configured interval on a background thread; failures logged, not the key."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from console.domain.audit import Action, AuditEntry
from console.errors import UserError
from console.services.audit_checkpointer import AUTOMATIC_USER, AuditCheckpointer, checkpointer_from_settings
from console.services.audit_checkpoints import CheckpointService, keygen, load_public_key, load_signer
from console.settings import Settings
from console.store.audit import AuditLog
from console.store.checkpoints import stored_checkpoints


class Clock:
    def __init__(self):
        self.now = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def key(tmp_path):
    keygen(tmp_path / "auditor.key")
    return tmp_path / "auditor.key"


def test_a_checkpoint_is_signed_when_due_and_not_before(database, key):
    clock = Clock()
    log = AuditLog(database, clock=clock)
    log.append(AuditEntry(Action.LOGIN, "alice", "ws-1"))
    settings = Settings({"audit_signing_key": str(key), "audit_checkpoint_interval_min": 60})
    checkpointer = checkpointer_from_settings(log, settings, "server-1", clock=clock)
    first = checkpointer.run_once()
    assert first is not None and first.seq == 1 and first.signed_at == "2026-12-02T08:00:00.000Z"
    clock.now += timedelta(minutes=59)
    assert checkpointer.run_once() is None and checkpointer.due_in() == timedelta(minutes=1)
    clock.now += timedelta(minutes=1)
    second = checkpointer.run_once()
    assert second is not None and second.seq == 2  # it covers the first checkpoint's own event
    assert [r.username for r in log.query(actions=(Action.AUDIT_CHECKPOINT,))] == [AUTOMATIC_USER] * 2
    result = CheckpointService(log).completeness(load_public_key(f"{key}.pub"))
    assert result.ok and result.proven_to == 2


def test_the_loop_writes_on_its_own_thread_and_stops(sqlite_url, key):
    from console.store.db import open_database

    database = open_database(sqlite_url, create=True)
    written = threading.Event()
    threads = []

    def on_written(_checkpoint):
        threads.append(threading.current_thread().name)
        written.set()

    checkpointer = AuditCheckpointer(CheckpointService(AuditLog(database)), load_signer(key), "server-1",
                                     timedelta(minutes=60), on_written)
    try:
        checkpointer.start()
        assert written.wait(30)
    finally:
        checkpointer.stop()
        database.close()
    assert threads == ["audit-checkpoint"] and not checkpointer.running


def test_a_failure_is_logged_without_the_key_and_nothing_is_signed(sqlite_url, key, caplog):
    from console.store.db import open_database

    database = open_database(sqlite_url, create=True)
    log = AuditLog(database)
    log.append(AuditEntry(Action.LOGIN, "alice", "ws-1"))
    with database.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET username = 'mallory'"))
    checkpointer = AuditCheckpointer(CheckpointService(log), load_signer(key), "server-1", timedelta(minutes=5))
    with caplog.at_level(logging.WARNING):
        assert checkpointer.run_once() is None
    database.close()
    assert "automatic audit checkpoint failed: no checkpoint was signed: audit chain BROKEN at event 1" in caplog.text
    secret_lines = key.read_text().splitlines()[1:-1]
    assert secret_lines and not any(line in caplog.text for line in secret_lines)
    assert stored_checkpoints(log) == []


def test_settings_without_a_key_start_nothing_and_a_bad_key_is_one_sentence(sqlite_url, tmp_path):
    from console.store.db import open_database

    database = open_database(sqlite_url, create=True)
    try:
        log = AuditLog(database)
        assert Settings().audit_checkpoint_interval_min == 60 and Settings().audit_signing_key == ""
        assert checkpointer_from_settings(log, Settings(), "ws") is None
        with pytest.raises(UserError, match="there is no signing key file"):
            checkpointer_from_settings(log, Settings({"audit_signing_key": str(tmp_path / "nope.key")}), "ws")
        with pytest.raises(UserError, match="audit_checkpoint_interval_min must be at least 1"):
            Settings({"audit_checkpoint_interval_min": 0})
    finally:
        database.close()
