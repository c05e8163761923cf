"""Signed checkpoints hold against a database owner: a re-chained trail, a cut-off tail, an emptied trail, a forged or
foreign checkpoint, removed checkpoint rows; on both backends, as the owner who switched the triggers off first."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from console.domain.audit import Action, AuditEntry, GENESIS_HASH, event_hash
from console.services.audit_checkpoints import (
    CheckpointService,
    keygen,
    load_public_key,
    load_signer,
    read_kept_checkpoints,
)
from console.store.audit import AuditLog
from console.store.audit_guards import guard_problems
from console.store.checkpoints import ChainNotSigned, stored_checkpoints

EVENTS = 6


@pytest.fixture
def keys(tmp_path):
    keygen(tmp_path / "auditor.key")
    return load_signer(tmp_path / "auditor.key"), load_public_key(tmp_path / "auditor.key.pub")


@pytest.fixture
def trail(database, keys):
    """Six events, a checkpoint over event 6 (its own event is 7), then three more events (8 to 10)."""
    log = AuditLog(database)
    for i in range(EVENTS):
        log.append(AuditEntry(Action.VIEW_START, "alice", "ws-1", camera_id=i + 1, details={"reason": f"call {i}"}))
    checkpoint = CheckpointService(log).checkpoint(keys[0], "auditor", "ws-9")
    assert (checkpoint.seq, checkpoint.count) == (EVENTS, EVENTS)
    for i in range(3):
        log.append(AuditEntry(Action.SEARCH_NEAR, "bob", "ws-2", details={"n": i}))
    return log


def unguard(database, table="audit_events"):
    """What an owner does first: drop the append-only triggers."""
    with database.engine.begin() as conn:
        if database.dialect == "sqlite":
            for verb in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER {table}_no_{verb}"))
        else:
            conn.execute(text(f"DROP TRIGGER {table}_no_update_delete ON {table}"))
            conn.execute(text(f"DROP TRIGGER {table}_no_truncate ON {table}"))


def rechain_without(log, removed_seq):
    """Remove one event and re-chain the rest with the console's own event_hash: a self-consistent trail."""
    rows = [r for r in log.query() if r.seq != removed_seq]
    unguard(log.database)
    prev = GENESIS_HASH
    with log.database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
        for seq, r in enumerate(rows, start=1):
            digest = event_hash(seq, r.occurred_at, r.username, r.workstation, r.action, r.outcome, r.camera_id,
                                r.incident_id, r.details_json, prev)
            conn.execute(text("INSERT INTO audit_events (seq, occurred_at, username, workstation, action, outcome, "
                              "camera_id, incident_id, details, prev_hash, hash) VALUES (:s, :o, :u, :w, :a, :out, "
                              ":c, :i, :d, :p, :h)"),
                         dict(s=seq, o=r.occurred_at, u=r.username, w=r.workstation, a=r.action, out=r.outcome,
                              c=r.camera_id, i=r.incident_id, d=r.details_json, p=prev, h=digest))
            prev = digest


def check(log, keys, **options):
    return CheckpointService(log).completeness(keys[1], **options)


def test_an_intact_trail_passes_and_is_proven_up_to_the_checkpoint(trail, keys):
    result = check(trail, keys)
    assert result.ok and result.chain.checked == 10
    assert (result.checkpoints_checked, result.proven_to, result.findings, result.guards) == (1, EVENTS, (), ())
    # the stored checkpoint and the one recorded in event 7 are the same one
    assert trail.query(actions=(Action.AUDIT_CHECKPOINT,))[0].seq == EVENTS + 1


def test_a_rechained_trail_is_reported_with_the_checkpoints_sequence_number(trail, keys):
    rechain_without(trail, 3)
    assert trail.verify().ok  # the chain alone cannot tell
    result = check(trail, keys)
    assert not result.ok
    assert [f.seq for f in result.findings] == [EVENTS]
    assert result.findings[0].sentence.startswith(f"audit trail REWRITTEN at or before event {EVENTS}: ")
    assert "events 1 to 6 were changed, removed or re-chained" in result.findings[0].sentence
    assert any("GUARD MISSING: audit_events" in g for g in result.guards)


def test_a_cut_off_tail_is_reported(trail, keys):
    unguard(trail.database)
    with trail.database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > 4"))
    assert trail.verify().ok
    result = check(trail, keys)
    assert [f.seq for f in result.findings] == [5] and not result.ok
    assert result.findings[0].sentence.startswith("audit trail CUT OFF after event 4: ")
    assert "events 5 to 6 were removed" in result.findings[0].sentence


def test_an_emptied_trail_is_reported(trail, keys):
    unguard(trail.database)
    with trail.database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
    assert trail.verify().summary() == "audit chain intact: 0 events checked"
    result = check(trail, keys)
    assert not result.ok and [f.seq for f in result.findings] == [EVENTS]
    assert result.findings[0].sentence.startswith("audit trail EMPTIED: ")


def test_a_changed_checkpoint_has_a_bad_signature(trail, keys):
    unguard(trail.database, "audit_checkpoints")
    with trail.database.engine.begin() as conn:  # the owner "moves" the checkpoint back to event 2
        conn.execute(text("UPDATE audit_checkpoints SET seq = 2, count = 2"))
    result = check(trail, keys)
    assert not result.ok
    bad = [f for f in result.findings if "BAD SIGNATURE" in f.sentence]
    assert [f.seq for f in bad] == [2] and bad[0].sentence.startswith("checkpoint 1 (event 2, signed at ")
    assert any("GUARD MISSING: audit_checkpoints" in g for g in result.guards)


def test_a_checkpoint_from_an_unknown_key_is_reported(trail, keys, tmp_path):
    keygen(tmp_path / "mallory.key")
    CheckpointService(trail).checkpoint(load_signer(tmp_path / "mallory.key"), "mallory", "ws-6")
    result = check(trail, keys)
    unknown = [f for f in result.findings if "UNKNOWN KEY" in f.sentence]
    assert len(unknown) == 2 and not result.ok  # the stored row and the event that recorded it
    assert unknown[0].sentence.endswith(f"not the auditor's key {keys[0].fingerprint[:16]}")


def test_removed_checkpoint_rows_are_found_from_the_trail(trail, keys):
    unguard(trail.database, "audit_checkpoints")
    with trail.database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints"))
    result = check(trail, keys)
    assert not result.ok and result.checkpoints_checked == 1
    assert [f.sentence for f in result.findings] == [
        f"the checkpoint recorded in event {EVENTS + 1} (covering event {EVENTS}) is MISSING from the checkpoints "
        "table: it was removed"]


def test_a_wiped_database_is_caught_by_checkpoints_kept_apart(trail, keys, tmp_path):
    kept = tmp_path / "report-2026-12.txt"
    kept.write_text("monthly report\n  " + stored_checkpoints(trail)[0][1].line() + "\n", encoding="utf-8")
    unguard(trail.database)
    unguard(trail.database, "audit_checkpoints")
    with trail.database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))
        conn.execute(text("DELETE FROM audit_checkpoints"))
    alone = check(trail, keys)
    assert not alone.ok and alone.not_proven.startswith("completeness NOT proven: no checkpoint signed by")
    result = check(trail, keys, extra=read_kept_checkpoints(kept))
    assert [f.seq for f in result.findings] == [EVENTS] and "EMPTIED" in result.findings[0].sentence


def test_without_a_public_key_verify_says_it_cannot_prove_completeness(trail):
    result = CheckpointService(trail).completeness(None)
    assert result.ok and result.chain.checked == 10
    assert result.not_proven.startswith("completeness NOT proven: no auditor's public key")


def test_a_checkpoint_is_never_signed_over_a_broken_chain(trail, keys):
    service = CheckpointService(trail)
    rechain_without(trail, 2)
    with pytest.raises(ChainNotSigned, match=f"event {EVENTS} no longer matches the checkpoint"):
        service.checkpoint(keys[0], "auditor", "ws-9")
    assert len(stored_checkpoints(trail)) == 1 and trail.head().seq == 9  # nothing was written


def test_a_changed_event_after_the_last_checkpoint_is_not_signed_over(trail, keys):
    unguard(trail.database)
    with trail.database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET camera_id = 42 WHERE seq = 8"))
    with pytest.raises(ChainNotSigned, match="no checkpoint was signed: audit chain BROKEN at event 8"):
        CheckpointService(trail).checkpoint(keys[0], "auditor", "ws-9")
    assert len(stored_checkpoints(trail)) == 1 and trail.head().seq == 10


def test_each_checkpoint_covers_the_previous_checkpoints_event(trail, keys):
    second = CheckpointService(trail).checkpoint(keys[0], "auditor", "ws-9")
    head = trail.head()
    assert (second.seq, head.seq, head.action) == (10, 11, Action.AUDIT_CHECKPOINT)
    assert head.details == second.as_dict() and check(trail, keys).proven_to == 10


def test_the_private_key_never_reaches_the_database(trail, keys, tmp_path):
    secret = (tmp_path / "auditor.key").read_bytes()
    raw = keys[0]._key.private_bytes_raw().hex()
    dumped = []
    with trail.database.engine.connect() as conn:
        for table in ("audit_events", "audit_checkpoints"):
            dumped += [str(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}"))]
    blob = "\n".join(dumped)
    assert raw not in blob and secret.decode().splitlines()[1] not in blob
    assert keys[0].fingerprint in blob  # what is stored is the public key's fingerprint
    assert raw not in repr(keys[0])


def test_guards_are_reported_when_disabled_rather_than_dropped(trail, keys):
    assert guard_problems(trail.database) == []
    with trail.database.engine.begin() as conn:
        if trail.database.dialect == "sqlite":  # a look-alike trigger that never fires
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
            conn.execute(text("CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events WHEN 0 "
                              "BEGIN SELECT RAISE(ABORT, 'no'); END"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    problems = guard_problems(trail.database)
    assert "GUARD MISSING: audit_events has no working append-only trigger against DELETE: someone with the " \
           "tables' owner rights dropped or disabled it" in problems
    assert not any("audit_checkpoints" in p for p in problems)
