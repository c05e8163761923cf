"""`rtic-console audit keygen|checkpoint|verify --pubkey|report` end to end, on both backends."""

from __future__ import annotations

import json
import os
import stat

import pytest
from sqlalchemy import text

from tests.support.cli import main
from console.domain.audit import Action, AuditEntry, Outcome
from console.services.audit_checkpoints import ENV_PASSPHRASE
from console.store.audit import AuditLog
from tests.store.test_audit_checkpoints import rechain_without


def _url(database):
    return database.engine.url.render_as_string(hide_password=False)


def run(capsys, *argv):
    argv = list(argv)
    if argv[:2] in (["audit", "checkpoint"], ["audit", "report"]):  # the auditor signs in (console/cli/signin.py)
        argv += ["--user", "cli-auditor"]
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(autouse=True)
def _auditor(request, sign_in_as):
    """The auditor's console account, for the tests that write to a database."""
    if "database" in request.fixturenames or "trail" in request.fixturenames:
        sign_in_as(request.getfixturevalue("database"), "auditor")


def test_a_checkpoint_needs_the_auditor_signed_in(database, key, capsys, sign_in_as):
    sign_in_as(database, "dispatcher")
    status = main(["audit", "checkpoint", "--db", _url(database), "--key", str(key), "--user", "cli-dispatcher"])
    err = capsys.readouterr().err
    assert status == 2 and "the dispatcher role cannot run `rtic-console audit checkpoint`" in err
    status = main(["audit", "checkpoint", "--db", _url(database), "--key", str(key)])
    assert status == 2 and "needs a signed-in console account" in capsys.readouterr().err
    assert [e for e in AuditLog(database).query(actions=("audit_checkpoint",))] == []


@pytest.fixture
def key(tmp_path, capsys):
    status, out, _ = run(capsys, "audit", "keygen", "--out", str(tmp_path / "auditor.key"))
    assert status == 0 and json.loads(out)["public_key"] == str(tmp_path / "auditor.key.pub")
    return tmp_path / "auditor.key"


@pytest.fixture
def trail(database, key, capsys):
    log = AuditLog(database)
    for i in range(5):
        log.append(AuditEntry(Action.SEARCH_NEAR, "alice", "ws-1", details={"n": i}))
    status, out, _ = run(capsys, "audit", "checkpoint", "--db", _url(database), "--key", str(key))
    # the head it signs: the five events, after the accounts' own and the auditor's sign-in (the event just before)
    events = log.query()
    signed = events[-2]
    assert status == 0 and out.startswith(f"checkpoint seq={signed.seq} hash={signed.hash}")
    assert events[-1].action == "audit_checkpoint" and [e.details.get("n") for e in events[-7:-2]] == [0, 1, 2, 3, 4]
    log.append(AuditEntry(Action.SEARCH_NEAR, "bob", "ws-2"))
    database.signed_seq = signed.seq
    return database


def test_keygen_writes_a_private_file_for_its_owner_only_and_never_overwrites(key, tmp_path, capsys):
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "auditor.key.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = key.read_bytes()
    status, _, err = run(capsys, "audit", "keygen", "--out", str(key))
    assert status == 2 and err.strip() == f"rtic-console: {key} already exists: give a new file name (an old key " \
                                          "is never overwritten)"
    assert key.read_bytes() == before


def test_a_passphrase_protected_key_signs_only_with_its_passphrase(database, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV_PASSPHRASE, "correct horse battery staple")
    target = tmp_path / "protected.key"
    assert run(capsys, "audit", "keygen", "--out", str(target), "--passphrase")[0] == 0
    assert target.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert run(capsys, "audit", "checkpoint", "--db", _url(database), "--key", str(target))[0] == 0
    monkeypatch.setenv(ENV_PASSPHRASE, "wrong horse battery staple")
    status, _, err = run(capsys, "audit", "checkpoint", "--db", _url(database), "--key", str(target))
    assert status == 2 and "cannot be opened: wrong passphrase" in err and "staple" not in err
    monkeypatch.delenv(ENV_PASSPHRASE)
    status, _, err = run(capsys, "audit", "checkpoint", "--db", _url(database), "--key", str(target))
    assert status == 2 and "is protected by a passphrase" in err


@pytest.mark.parametrize("content,words", [
    (b"not a key at all", "is not a private key file"),
    (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "is not a private key file"),
    (b"x" * 20_000, "too large"),
])
def test_a_bad_signing_key_file_is_one_sentence(database, tmp_path, capsys, content, words):
    bad = tmp_path / "bad.key"
    bad.write_bytes(content)
    bad.chmod(0o600)
    status, _, err = run(capsys, "audit", "checkpoint", "--db", _url(database), "--key", str(bad))
    assert status == 2 and words in err and len(err.strip().splitlines()) == 1


def test_a_signing_key_others_can_read_is_refused(database, key, capsys):
    key.chmod(0o644)
    status, _, err = run(capsys, "audit", "checkpoint", "--db", _url(database), "--key", str(key))
    assert status == 2 and "can be read by other users" in err
    assert AuditLog(database).query(actions=("audit_checkpoint",)) == []  # nothing signed, nothing recorded


def test_verify_passes_an_intact_trail_and_records_itself(trail, key, capsys):
    status, out, err = run(capsys, "audit", "verify", "--db", _url(trail), "--pubkey", f"{key}.pub")
    assert status == 0, err
    # the stored checkpoint and the event that recorded it are the same one, counted once
    assert out.splitlines()[1] == "checkpoints: 1 signed by the auditor's key hold; the trail is complete up to " \
                                  f"event {trail.signed_seq}"
    check = AuditLog(trail).query(actions=(Action.AUDIT_VERIFY,))[-1]
    assert check.outcome == Outcome.OK and check.details["proven_to"] == trail.signed_seq


def test_verify_reports_a_rechained_trail_with_the_sequence_number(trail, key, capsys):
    rechain_without(AuditLog(trail), 2)
    status, out, err = run(capsys, "audit", "verify", "--db", _url(trail), "--pubkey", f"{key}.pub")
    assert status == 1
    assert f"audit trail REWRITTEN at or before event {trail.signed_seq}: its hash differs from the checkpoint signed at " in out
    assert "GUARD MISSING: audit_events has no working append-only trigger against DELETE" in out
    assert err.strip() == f"rtic-console: the audit trail cannot be trusted: first at event {trail.signed_seq} (see the lines above)"
    assert AuditLog(trail).query(actions=(Action.AUDIT_VERIFY,))[-1].outcome == Outcome.FAILED


def test_verify_without_a_public_key_says_so(trail, capsys):
    status, out, _ = run(capsys, "audit", "verify", "--db", _url(trail))
    assert status == 0 and "completeness NOT proven: no auditor's public key" in out


def test_verify_refuses_a_private_key_as_the_public_key(trail, key, capsys):
    status, _, err = run(capsys, "audit", "verify", "--db", _url(trail), "--pubkey", str(key))
    assert status == 2 and "is a PRIVATE key" in err


def test_the_monthly_report_prints_the_checkpoint_that_verify_can_hold_the_trail_to(trail, key, tmp_path, capsys):
    report = tmp_path / "report.txt"
    month = AuditLog(trail).head().occurred_at[:7]
    assert run(capsys, "audit", "report", "--db", _url(trail), "--month", month, "--output", str(report))[0] == 0
    assert f"  checkpoint seq={trail.signed_seq} hash=" in report.read_text()
    with trail.engine.begin() as conn:  # the owner empties the trail AND its checkpoints
        for table in ("audit_events", "audit_checkpoints"):
            if trail.dialect == "sqlite":
                conn.execute(text(f"DROP TRIGGER {table}_no_delete"))
            else:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            conn.execute(text(f"DELETE FROM {table}"))
    status, out, _ = run(capsys, "audit", "verify", "--db", _url(trail), "--pubkey", f"{key}.pub",
                         "--checkpoints", str(report))
    assert status == 1 and "audit trail EMPTIED: the checkpoint signed at " in out
    assert f"covers events 1 to {trail.signed_seq}, and no event is left" in out
    forged = tmp_path / "forged.txt"
    forged.write_text(report.read_text().replace(f"seq={trail.signed_seq} ", f"seq={trail.signed_seq - 1} "))
    status, out, _ = run(capsys, "audit", "verify", "--db", _url(trail), "--pubkey", f"{key}.pub",
                         "--checkpoints", str(forged))
    assert status == 1 and "has a BAD SIGNATURE: it was forged or changed" in out
