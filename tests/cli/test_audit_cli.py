"""`rtic-console audit verify|export|report|list` end to end, on a real database."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from console.cli import main
from console.domain.audit import Action, AuditEntry, Detail, Outcome
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


def test_export_csv_filters_and_records_itself(filled, tmp_path, capsys):
    target = tmp_path / "out.csv"
    status = main(["audit", "export", "--db", _url(filled), "--from", "2026-11-01", "--to", "2026-11-01",
                   "--user", "alice", "--camera", "2", "--format", "csv", "--output", str(target)])
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("# chain verification: audit chain intact: 30 events checked") for line in lines)
    head = AuditLog(filled).query(limit=1, newest_first=True, actions=(Action.VIEW_START,))[0]
    assert f"# anchor for later checks (rtic-console audit verify --anchor): {head.seq}:{head.hash}" in lines
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    log = AuditLog(filled)
    expected = [r for r in log.query(username="alice", camera_id=2) if r.occurred_at >= "2026-11-01"]
    assert [int(row["seq"]) for row in rows] == [r.seq for r in expected] and len(rows) == summary["events"] > 0
    assert [row["hash"] for row in rows] == [r.hash for r in expected]
    event = log.query(actions=(Action.AUDIT_EXPORT,))[0]
    assert event.details["file_sha256"] == summary["sha256"] and event.details["events"] == len(rows)
    assert event.details["filters"]["user"] == "alice"


def test_export_pdf(filled, tmp_path, capsys):
    target = tmp_path / "out.pdf"
    assert main(["audit", "export", "--db", _url(filled), "--format", "pdf", "-o", str(target)]) == 0
    assert target.read_bytes().startswith(b"%PDF-")
    assert json.loads(capsys.readouterr().out)["events"] == 30


@pytest.mark.parametrize("argv, message", [
    (["--from", "2026-13-01"], "is not a date or time"),
    (["--camera", "zero"], "is not a whole number"),
])
def test_export_unreadable_arguments_are_refused_by_the_parser(sqlite_url, capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(["audit", "export", "--db", sqlite_url, *argv])
    assert exited.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--from", "2026-11-02", "--to", "2026-11-01"], "--from must be before --to"),
    (["--output", "/no/such/folder/x.csv"], "does not exist"),
])
def test_export_bad_input_is_one_sentence_and_writes_nothing(filled, capsys, argv, message):
    assert main(["audit", "export", "--db", _url(filled), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert AuditLog(filled).query(actions=(Action.AUDIT_EXPORT,)) == []


def test_report_month(filled, capsys):
    log = AuditLog(filled, clock=lambda: datetime(2026, 11, 15, tzinfo=timezone.utc))
    for session, seconds in ((11, 120.0), (13, 300.0), (15, 60.0)):
        log.append(AuditEntry(Action.VIEW_END, "alice", "ws-1", camera_id=1,
                              details={Detail.SESSION_ID: session, Detail.DURATION_S: seconds,
                                       Detail.END_REASON: "user_closed"}))
    log.append(AuditEntry(Action.VIEW_DENIED, "bob", "ws-1", Outcome.DENIED, camera_id=3,
                          details={Detail.RULE: "sharing_never"}))
    assert main(["audit", "report", "--db", _url(filled), "--month", "2026-11", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["live_views"] == 20 and report["distinct_cameras"] == 4 and report["incidents"] == 1
    assert report["total_minutes"] == 8.0 and report["median_minutes"] == 2.0
    assert report["denials"] == 1 and report["denials_by_rule"] == {"sharing_never": 1}
    assert report["views_without_end"] == 17 and report["chain_intact"] is True
    assert "alice" not in json.dumps(report) and "shots" not in json.dumps(report)
    assert main(["audit", "report", "--db", _url(filled), "--month", "2026-10"]) == 0
    assert "live views:                 10" in capsys.readouterr().out
    assert main(["audit", "report", "--db", _url(filled), "--month", "November"]) == 2
    assert "use YYYY-MM" in capsys.readouterr().err


def test_list(filled, capsys):
    assert main(["audit", "list", "--db", _url(filled), "--user", "bob", "--limit", "3", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["seq"] for r in rows] == [1, 3, 5] and {r["username"] for r in rows} == {"bob"}
