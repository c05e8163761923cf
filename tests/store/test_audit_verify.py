"""`verify` catches an attacker with database admin rights: events changed, removed, inserted, reordered."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from console.domain.audit import Action, AuditEntry, event_hash
from console.store.audit import AuditLog

EVENTS = 6


@pytest.fixture
def log(database):
    audit = AuditLog(database)
    for i in range(EVENTS):
        audit.append(AuditEntry(Action.VIEW_START, "alice", "ws-1", camera_id=i + 1, details={"reason": f"call {i}"}))
    assert audit.verify().ok
    return audit


def tamper(log, *statements, **params):
    """Run SQL as an attacker who first switched the append-only triggers off."""
    database = log.database
    with database.engine.begin() as conn:
        if database.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        for statement in statements:
            conn.execute(text(statement), params)


def forged_row(seq, prev_hash):
    fields = dict(seq=seq, occurred_at="2026-11-01T00:00:00.000Z", username="mallory", workstation="ws-9",
                  action=Action.VIEW_START, outcome="ok", camera_id=99, incident_id=None, details="{}",
                  prev_hash=prev_hash)
    fields["hash"] = event_hash(**{k: fields[k] for k in ("seq", "occurred_at", "username", "workstation", "action",
                                                         "outcome", "camera_id", "incident_id")},
                                details_json=fields["details"], prev_hash=prev_hash)
    return fields


INSERT = ("INSERT INTO audit_events (seq, occurred_at, username, workstation, action, outcome, camera_id, "
          "incident_id, details, prev_hash, hash) VALUES (:seq, :occurred_at, :username, :workstation, :action, "
          ":outcome, :camera_id, :incident_id, :details, :prev_hash, :hash)")


def test_changed_event_is_found(log):
    tamper(log, "UPDATE audit_events SET camera_id = 42 WHERE seq = 3")
    result = log.verify()
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 3, 2)
    assert "changed" in result.reason


def test_changed_details_text_is_found(log):
    tamper(log, "UPDATE audit_events SET details = '{\"reason\":\"call 9\"}' WHERE seq = 5")
    assert log.verify().first_bad_seq == 5


def test_removed_event_is_found(log):
    tamper(log, "DELETE FROM audit_events WHERE seq = 4")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "event 4 is missing" in result.reason


def test_removed_first_event_is_found(log):
    tamper(log, "DELETE FROM audit_events WHERE seq = 1")
    assert log.verify().first_bad_seq == 2


def test_inserted_event_with_renumbering_is_found(log):
    # The forger shifts events 3.. up by one and slips a well-formed event in at 3, chained to event 2.
    hash2 = log.query(after_seq=1, limit=1)[0].hash
    tamper(log, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 3",
           "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    tamper_insert = forged_row(3, hash2)
    with log.database.engine.begin() as conn:
        conn.execute(text(INSERT), tamper_insert)
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 4)


def test_appended_forgery_with_a_made_up_chain_is_found(log):
    tamper(log)
    with log.database.engine.begin() as conn:
        conn.execute(text(INSERT), forged_row(EVENTS + 1, "f" * 64))
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, EVENTS + 1)


def test_reordered_events_are_found(log):
    tamper(log, "UPDATE audit_events SET seq = 100 WHERE seq = 3",
           "UPDATE audit_events SET seq = 3 WHERE seq = 4",
           "UPDATE audit_events SET seq = 4 WHERE seq = 100")
    result = log.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_cut_off_tail_is_found_with_an_anchor(log):
    head = log.head()
    tamper(log, f"DELETE FROM audit_events WHERE seq > {EVENTS - 2}")
    assert log.verify().ok  # without an anchor a clean cut is indistinguishable from fewer events
    result = log.verify(anchor=(head.seq, head.hash))
    assert (result.ok, result.first_bad_seq) == (False, EVENTS - 1)


def test_rewritten_chain_is_found_with_an_anchor(log):
    # The attacker changes event 2 and recomputes every later hash: self-consistent, but not the one recorded.
    anchor = log.head()
    rows = log.query()
    tamper(log, "DELETE FROM audit_events")
    prev = rows[0].prev_hash
    with log.database.engine.begin() as conn:
        for row in rows:
            cam = 77 if row.seq == 2 else row.camera_id
            digest = event_hash(row.seq, row.occurred_at, row.username, row.workstation, row.action, row.outcome,
                                cam, row.incident_id, row.details_json, prev)
            conn.execute(text(INSERT), dict(seq=row.seq, occurred_at=row.occurred_at, username=row.username,
                                            workstation=row.workstation, action=row.action, outcome=row.outcome,
                                            camera_id=cam, incident_id=row.incident_id, details=row.details_json,
                                            prev_hash=prev, hash=digest))
            prev = digest
    assert log.verify().ok
    result = log.verify(anchor=(anchor.seq, anchor.hash))
    assert (result.ok, result.first_bad_seq) == (False, anchor.seq)


def test_intact_chain_with_its_own_anchor_passes(log):
    head = log.head()
    result = log.verify(anchor=(head.seq, head.hash))
    assert result.ok and result.checked == EVENTS and result.last_hash == head.hash


def test_verify_reads_in_batches(log):
    result = log.verify(batch=4)
    assert result.ok and result.checked == EVENTS
    tamper(log, "UPDATE audit_events SET username = 'bob' WHERE seq = 6")
    assert log.verify(batch=4).first_bad_seq == 6
