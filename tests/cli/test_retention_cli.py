"""`rtic-console retention` through the real command line: holds, hostile arguments (one sentence, exit 2, nothing
changed), a run killed mid-way by a real SIGKILL and run again, and on PostgreSQL the consoles' role refused while
the purge role `db grant --purge-role` makes does the work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from console.cli import main
from console.domain.audit import Action, AuditEntry
from console.domain.incidents import Incident
from console.services.audit_checkpoints import keygen
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.models import OutreachCallRow
from tests.cli.conftest import add_account

OLD = datetime(2020, 3, 1, tzinfo=timezone.utc)


def _scalar(url: str, sql: str):
    with open_database(url) as db, db.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def _aged(url: str, calls: int = 0, events: int = 0) -> None:
    """Old audit events (before any account exists), an old closed incident, and `calls` outreach calls from 2020."""
    with open_database(url, create=True) as db:
        log = AuditLog(db, clock=lambda: OLD)
        for n in range(events):
            log.append(AuditEntry(Action.SEARCH_NEAR, "dispatcher", "ws-old", details={"n": n}))
        with db.engine.begin() as conn:
            repo.add_incident(conn, Incident(None, "CAD-2020-1", "theft", 3, "5 Pine St", 39.9, -75.1,
                                             OLD, OLD + timedelta(days=1)))
            if calls:
                conn.execute(insert(OutreachCallRow.__table__), [
                    dict(business=f"Shop {n}", address="1 Main St", called_at=OLD, staff="outreach",
                         outcome="registered", notes="") for n in range(calls)])


@pytest.fixture
def url(db_url):
    _aged(db_url)
    return db_url


def test_hold_list_release_through_the_command_line(url, sign_in_as, capsys):
    user = sign_in_as(url, "supervisor")
    assert main(["retention", "hold", "--db", url, "--incident", "CAD-2020-1", "--reason", "subpoena 44-B", *user]) == 0
    assert "legal hold 1 placed on incident" in capsys.readouterr().out
    assert main(["retention", "holds", "--db", url, "--json", *user]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["reason"] == "subpoena 44-B" and json.loads(line)["active"]
    assert main(["retention", "release", "--db", url, "1", "--reason", "quashed", *user]) == 0
    assert main(["retention", "holds", "--db", url, *user]) == 0
    assert "no active legal holds" in capsys.readouterr().out
    assert main(["retention", "holds", "--db", url, "--all", *user]) == 0
    assert "released" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["hold", "--camera", "abc", "--reason", "r"], "is not a whole number"),
    (["hold", "--camera", "99999999999999999999999", "--reason", "r"], "out of range"),
    (["hold", "--camera", "0", "--reason", "r"], "out of range"),
    (["hold", "--camera", "1", "--request", "1", "--reason", "r"], "not allowed with"),
    (["hold", "--reason", "r"], "one of the arguments"),
    (["hold", "--camera", "1"], "--reason"),
    (["hold", "--camera", "4242", "--reason", "r"], "there is no camera 4242"),
    (["hold", "--incident", "CAD-NOPE", "--reason", "r"], "no incident with CAD number"),
    (["hold", "--incident", "x" * 5000, "--reason", "r"], "is not a CAD number"),
    (["hold", "--incident", "CAD-2020-1", "--reason", ""], "needs a reason"),
    (["hold", "--incident", "CAD-2020-1", "--reason", "a\u202eb"], "control or invisible"),
    (["hold", "--incident", "CAD-2020-1", "--reason", "y" * 10_000], "at most 500"),
    (["release", "abc", "--reason", "r"], "is not a whole number"),
    (["release", "7", "--reason", "r"], "there is no legal hold 7"),
    (["run", "--batch", "0"], "out of range"),
    (["run", "--batch", "1e9"], "is not a whole number"),
    (["plan", "--snapshots", "/no/such/folder"], "is not a folder"),
])
def test_hostile_arguments_are_one_sentence_exit_2_and_change_nothing(url, sign_in_as, capsys, args, message):
    user = sign_in_as(url, "admin" if args[0] == "run" else "supervisor")
    action, rest = args[0], args[1:]
    try:
        status = main(["retention", action, "--db", url, *rest, *user])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _scalar(url, "SELECT count(*) FROM legal_holds") == 0
    assert _scalar(url, "SELECT count(*) FROM audit_events WHERE action IN ('legal_hold', 'retention_run')") == 0


def test_roles_are_refused_with_a_sentence(url, sign_in_as, capsys):
    dispatcher = sign_in_as(url, "dispatcher")
    assert main(["retention", "hold", "--db", url, "--incident", "CAD-2020-1", "--reason", "r", *dispatcher]) == 2
    assert "only a supervisor or an administrator" in capsys.readouterr().err
    supervisor = sign_in_as(url, "supervisor")
    assert main(["retention", "run", "--db", url, *supervisor]) == 2
    assert "user admin permission" in capsys.readouterr().err


def _cli(*args, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "console", *args], env={**os.environ, **env}, text=True, **kw)


def test_a_run_killed_mid_way_resumes_and_the_trail_still_verifies(db_url, tmp_path):
    _aged(db_url, calls=1500, events=40)
    env = add_account(db_url, "admin", "chief", tmp_path)
    keygen(tmp_path / "auditor.key")
    key = ["--key", str(tmp_path / "auditor.key")]
    child = _cli("retention", "run", "--db", db_url, "--batch", "1", "--progress", *key, "--user", "chief", env=env,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert "outreach_calls: 1 purged" in child.stderr.readline()
        os.kill(child.pid, signal.SIGKILL)  # a real kill, mid-batch or between batches
    finally:
        child.wait(timeout=60)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    left = _scalar(db_url, "SELECT count(*) FROM outreach_calls")
    assert 0 < left < 1500, "the kill came after the run had finished"
    with open_database(db_url) as db, db.engine.connect() as conn:
        status, counts = conn.execute(text("SELECT status, counts FROM retention_runs")).one()
    assert status == "running" and json.loads(counts)["outreach_calls"] == 1500 - left  # counts commit with deletes
    assert _scalar(db_url, "SELECT min(seq) FROM audit_events") == 1  # the trail is cut last

    again = _cli("retention", "run", "--db", db_url, "--json", *key, "--user", "chief", env=env,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    report = json.loads(out)
    assert report["resumed"] and report["counts"]["outreach_calls"] == 1500 and report["counts"]["audit_trail"] == 40
    assert _scalar(db_url, "SELECT count(*) FROM outreach_calls") == 0
    assert _scalar(db_url, "SELECT min(seq) FROM audit_events") == 41
    ops = [json.loads(d)["op"] for (d,) in _rows(db_url, "SELECT details FROM audit_events "
                                                        "WHERE action = 'retention_run' ORDER BY seq")]
    assert ops == ["started", "resumed", "finished"]

    verify = subprocess.run([sys.executable, "-m", "console", "audit", "verify", "--db", db_url, "--pubkey",
                             str(tmp_path / "auditor.key.pub")], env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=120)
    assert verify.returncode == 1 and "completeness NOT proven" in verify.stdout  # no checkpoint yet: said so
    assert "event 1 is missing" not in verify.stdout and "audit chain intact" in verify.stdout
    with open_database(db_url) as db, db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_events SET workstation = 'elsewhere' WHERE seq = 45"))
    verify = subprocess.run([sys.executable, "-m", "console", "audit", "verify", "--db", db_url, "--pubkey",
                             str(tmp_path / "auditor.key.pub")], env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=120)
    assert verify.returncode == 1 and "BROKEN at event 45" in verify.stdout


def _rows(url, sql):
    with open_database(url) as db, db.engine.connect() as conn:
        return conn.execute(text(sql)).all()


@pytest.mark.postgres
def test_the_consoles_role_can_never_purge_and_the_purge_role_can(pg_url, sign_in_as, capsys, tmp_path):
    _aged(pg_url, calls=3, events=5)
    console_role, purge_role = f"rtic_console_{uuid.uuid4().hex[:8]}", f"rtic_purge_{uuid.uuid4().hex[:8]}"
    with open_database(pg_url) as admin, admin.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{console_role}" LOGIN'))
    try:
        assert main(["db", "grant", "--db", pg_url, "--role", console_role, "--purge-role", purge_role]) == 0
        assert json.loads(capsys.readouterr().out)["purge_role"] == purge_role
        user = sign_in_as(pg_url, "admin", "chief")
        keygen(tmp_path / "auditor.key")
        as_console = make_url(pg_url).set(username=console_role).render_as_string(hide_password=False)
        assert main(["retention", "run", "--db", as_console, "--key", str(tmp_path / "auditor.key"), *user]) == 2
        assert "the consoles' own role never can" in capsys.readouterr().err
        assert _scalar(pg_url, "SELECT count(*) FROM outreach_calls") == 3
        engine = create_engine(as_console)
        with pytest.raises(Exception, match="permission denied"):
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO audit_cuts (seq, hash, signed_at, key_fingerprint, signature) "
                                  f"VALUES (5, '{'0' * 64}', '2026-01-01T00:00:00.000Z', '{'0' * 64}', '{'0' * 128}')"))
        with pytest.raises(Exception, match="permission denied"):
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))
        engine.dispose()
        refused = _rows(pg_url, "SELECT outcome FROM audit_events WHERE action = 'retention_run'")
        assert [r for (r,) in refused] == ["denied"]

        as_purge = make_url(pg_url).set(username=purge_role).render_as_string(hide_password=False)
        assert main(["retention", "run", "--db", as_purge, "--key", str(tmp_path / "auditor.key"), "--json",
                     *user]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["counts"]["outreach_calls"] == 3 and report["counts"]["audit_trail"] == 5
    finally:
        with open_database(pg_url) as admin, admin.engine.begin() as conn:
            for role in (console_role, purge_role):
                conn.execute(text(f'DROP OWNED BY "{role}"'))
                conn.execute(text(f'DROP ROLE "{role}"'))


def test_plan_prints_counts_oldest_and_why(db_url, sign_in_as, capsys):
    _aged(db_url, calls=4, events=3)
    user = sign_in_as(db_url, "auditor")
    assert main(["retention", "plan", "--db", db_url, "--json", *user]) == 0
    plan = {d["kind"]: d for d in map(json.loads, capsys.readouterr().out.splitlines())}
    assert plan["outreach_calls"]["count"] == 4 and plan["outreach_calls"]["oldest"].startswith("2020-03-01")
    assert plan["audit_trail"]["count"] == 3 and "signing key" in plan["audit_trail"]["blocked"]
    assert "retention_outreach_days" in plan["outreach_calls"]["why"]
    assert main(["retention", "plan", "--db", db_url, *user]) == 0
    assert "NOT PURGED" in capsys.readouterr().out
    assert _scalar(db_url, "SELECT count(*) FROM outreach_calls") == 4
