"""`rtic-console audit verify|export|report|list` end to end, on a real database."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tests.support.cli import main
from console.domain.audit import Action, AuditEntry, Detail, Outcome
from console.domain.users import Role
from console.store.audit import AuditLog


def _clock(start):
    state = {"now": start}

    def tick():
        state["now"] += timedelta(minutes=1)
        return state["now"]
    return tick


@pytest.fixture
def filled(database):
    log = AuditLog(database, clock=_clock(datetime(2026, 10, 31, 23, 49, tzinfo=timezone.utc)))
    for i in range(30):  # 10 in October, 20 in November
        user = "alice" if i % 2 else "bob"
        log.append(AuditEntry(Action.VIEW_START, user, "ws-1", camera_id=i % 4 + 1, incident_id=7,
                              details={Detail.SESSION_ID: i, Detail.REASON: "shots fired"}))
    return database


def _url(database):
    return database.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def auditor(filled, sign_in_as):
    """The auditor account (made after the 30 events, so their numbers stay 1..30), signed in by its password file."""
    return sign_in_as(filled, Role.AUDITOR)


def _before(log, action) -> int:
    """How many events precede the (only) event of `action`: what a check made just before it saw."""
    return log.query(actions=(action,))[0].seq - 1


def test_verify_intact_then_tampered(filled, capsys):
    url = _url(filled)
    assert main(["audit", "verify", "--db", url, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["ok"] and first["checked"] == 30
    with filled.engine.begin() as conn:
        if filled.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_events SET username = 'carol' WHERE seq = 12"))
    assert main(["audit", "verify", "--db", url]) == 1
    captured = capsys.readouterr()
    assert "BROKEN at event 12" in captured.out and "first broken event 12" in captured.err
    # both runs were themselves recorded, with their outcome
    checks = AuditLog(filled).query(actions=(Action.AUDIT_VERIFY,))
    assert [c.outcome for c in checks] == [Outcome.OK, Outcome.FAILED]
    assert checks[1].details["first_bad_seq"] == 12


def test_verify_with_anchor(filled, capsys):
    url = _url(filled)
    head = AuditLog(filled).head()
    assert main(["audit", "verify", "--db", url, "--anchor", f"{head.seq}:{head.hash}"]) == 0
    assert main(["audit", "verify", "--db", url, "--anchor", f"{head.seq}:{'0' * 64}"]) == 1
    assert main(["audit", "verify", "--db", url, "--anchor", "12:nothex"]) == 2
    assert "is not SEQ:HASH" in capsys.readouterr().err


def test_export_csv_filters_and_records_itself(filled, auditor, tmp_path, capsys):
    target = tmp_path / "out.csv"
    status = main(["audit", "export", "--db", _url(filled), "--from", "2026-11-01", "--to", "2026-11-01",
                   "--by", "alice", "--camera", "2", "--format", "csv", "--output", str(target), *auditor])
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    lines = target.read_text(encoding="utf-8").splitlines()
    checked = _before(AuditLog(filled), Action.AUDIT_EXPORT)  # the 30, the auditor's account and sign-in
    assert checked == 32
    assert any(line.startswith(f"# chain verification: audit chain intact: {checked} events checked") for line in lines)
    head = AuditLog(filled).query(actions=(Action.LOGIN,))[0]  # the auditor's sign-in: the last event before
    assert head.seq == checked
    assert f"# anchor for later checks (rtic-console audit verify --anchor): {head.seq}:{head.hash}" in lines
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    log = AuditLog(filled)
    expected = [r for r in log.query(username="alice", camera_id=2) if r.occurred_at >= "2026-11-01"]
    assert [int(row["seq"]) for row in rows] == [r.seq for r in expected] and len(rows) == summary["events"] > 0
    assert [row["hash"] for row in rows] == [r.hash for r in expected]
    event = log.query(actions=(Action.AUDIT_EXPORT,))[0]
    assert event.details["file_sha256"] == summary["sha256"] and event.details["events"] == len(rows)
    assert event.details["filters"]["user"] == "alice"
    assert (event.username, event.details["command"]) == ("cli-auditor", "audit export") and event.details["os_user"]


def test_export_pdf(filled, auditor, tmp_path, capsys):
    target = tmp_path / "out.pdf"
    assert main(["audit", "export", "--db", _url(filled), "--format", "pdf", "-o", str(target), *auditor]) == 0
    assert target.read_bytes().startswith(b"%PDF-")
    assert json.loads(capsys.readouterr().out)["events"] == _before(AuditLog(filled), Action.AUDIT_EXPORT) == 32


@pytest.mark.parametrize("argv, message", [
    (["--from", "2026-13-01"], "is not a date or time"),
    (["--camera", "zero"], "is not a whole number"),
    (["--camera", "9" * 40], "is out of range"),
])
def test_export_unreadable_arguments_are_refused_by_the_parser(sqlite_url, capsys, argv, message):
    assert main(["audit", "export", "--db", sqlite_url, *argv]) == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--from", "2026-11-02", "--to", "2026-11-01"], "--from must be before --to"),
    (["--output", "/no/such/folder/x.csv"], "does not exist"),
])
def test_export_bad_input_is_one_sentence_and_writes_nothing(filled, auditor, capsys, argv, message):
    assert main(["audit", "export", "--db", _url(filled), *argv, *auditor]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert AuditLog(filled).query(actions=(Action.AUDIT_EXPORT,)) == []


def test_report_month(filled, auditor, capsys):
    log = AuditLog(filled, clock=lambda: datetime(2026, 11, 15, tzinfo=timezone.utc))
    for session, seconds in ((11, 120.0), (13, 300.0), (15, 60.0)):
        log.append(AuditEntry(Action.VIEW_END, "alice", "ws-1", camera_id=1,
                              details={Detail.SESSION_ID: session, Detail.DURATION_S: seconds,
                                       Detail.END_REASON: "user_closed"}))
    log.append(AuditEntry(Action.VIEW_DENIED, "bob", "ws-1", Outcome.DENIED, camera_id=3,
                          details={Detail.RULE: "sharing_never"}))
    assert main(["audit", "report", "--db", _url(filled), "--month", "2026-11", "--format", "json", *auditor]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["live_views"] == 20 and report["distinct_cameras"] == 4 and report["incidents"] == 1
    assert report["total_minutes"] == 8.0 and report["median_minutes"] == 2.0
    assert report["denials"] == 1 and report["denials_by_rule"] == {"sharing_never": 1}
    assert report["views_without_end"] == 17 and report["chain_intact"] is True
    assert "alice" not in json.dumps(report) and "shots" not in json.dumps(report)
    assert main(["audit", "report", "--db", _url(filled), "--month", "2026-10", *auditor]) == 0
    assert "live views:                 10" in capsys.readouterr().out
    assert main(["audit", "report", "--db", _url(filled), "--month", "November", *auditor]) == 2
    assert "use YYYY-MM" in capsys.readouterr().err


def test_list(filled, auditor, capsys):
    assert main(["audit", "list", "--db", _url(filled), "--by", "bob", "--limit", "3", "--json", *auditor]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["seq"] for r in rows] == [1, 3, 5] and {r["username"] for r in rows} == {"bob"}


def test_the_trail_is_for_auditor_roles(filled, sign_in_as, capsys):
    dispatcher = sign_in_as(filled, Role.DISPATCHER)
    assert main(["audit", "list", "--db", _url(filled), *dispatcher]) == 2
    assert capsys.readouterr().err == ("rtic-console: the dispatcher role cannot run `rtic-console audit list`: it "
                                       "needs the audit view permission\n")
    supervisor = sign_in_as(filled, Role.SUPERVISOR)  # audit view, but not export (as in the window)
    assert main(["audit", "export", "--db", _url(filled), "-o", "x.csv", *supervisor]) == 2
    assert "needs the audit export permission" in capsys.readouterr().err


def test_a_huge_limit_is_one_line(filled, capsys):
    status = main(["audit", "list", "--db", _url(filled), "--limit", "9" * 40])
    err = capsys.readouterr().err
    assert status == 2 and "--limit " + "9" * 40 + " is out of range: give a whole number from 1 to" in err
    assert err.count("\n") == 1 and "OverflowError" not in err
