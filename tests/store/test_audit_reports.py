"""The auditors' service on a real database: exports are recorded before they appear, reports hold no personal data."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from console.domain.audit import Action, AuditEntry, AuditFilter, Detail, Outcome
from console.errors import UserError
from console.services.audit_reports import AuditService, month_bounds
from console.store.audit import AuditLog, AuditUnavailable


@pytest.fixture
def service(database):
    log = AuditLog(database, clock=lambda: datetime(2026, 12, 31, 23, 59, 59, 999000, tzinfo=timezone.utc))
    log.append(AuditEntry(Action.VIEW_START, "alice", "ws-1", camera_id=5,
                          details={Detail.SESSION_ID: 1, Detail.REASON: "Zoë — robbery", Detail.CAD_NUMBER: "C-1"}))
    log.append(AuditEntry(Action.VIEW_END, "alice", "ws-1", camera_id=5,
                          details={Detail.SESSION_ID: 1, Detail.DURATION_S: 90, Detail.END_REASON: "expired"}))
    return AuditService(log)


def test_export_appears_only_after_its_event_is_stored(service, database, tmp_path):
    # Make the audit log refuse inserts: the export must fail closed and leave no file behind.
    with database.engine.begin() as conn:
        if database.dialect == "sqlite":
            conn.execute(text("CREATE TRIGGER no_insert BEFORE INSERT ON audit_events "
                              "BEGIN SELECT RAISE(ABORT, 'read-only audit log'); END"))
        else:
            conn.execute(text("CREATE FUNCTION no_insert() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN RAISE EXCEPTION 'read-only audit log'; END $$"))
            conn.execute(text("CREATE TRIGGER no_insert BEFORE INSERT ON audit_events "
                              "FOR EACH ROW EXECUTE FUNCTION no_insert()"))
    out = tmp_path / "exports"
    out.mkdir()
    with pytest.raises(AuditUnavailable, match="read-only audit log"):
        service.export(out / "x.pdf", "pdf", AuditFilter(), "auditor", "ws-9")
    assert list(out.iterdir()) == []


def test_pdf_export_with_unicode_and_hashes(service, tmp_path):
    result = service.export(tmp_path / "court.pdf", "pdf", AuditFilter(camera_id=5), "auditor", "ws-9")
    data = result.path.read_bytes()
    assert data.startswith(b"%PDF-") and result.events == 2 and result.verification.ok
    assert hashlib.sha256(data).hexdigest() == result.sha256


def test_export_refuses_unknown_format_and_folders(service, tmp_path):
    with pytest.raises(UserError, match="use csv or pdf"):
        service.export(tmp_path / "x.doc", "doc", AuditFilter(), "auditor", "ws-9")
    with pytest.raises(UserError, match="is a folder"):
        service.export(tmp_path, "csv", AuditFilter(), "auditor", "ws-9")
    assert service.events(AuditFilter(actions=(Action.AUDIT_EXPORT,))) == []


def test_verify_is_recorded(service):
    result = service.verify("auditor", "ws-9")
    assert result.ok and result.checked == 2
    event = service.events(AuditFilter(actions=(Action.AUDIT_VERIFY,)))[0]
    assert event.outcome == Outcome.OK and event.details["last_seq"] == 2


def test_report_counts_the_last_millisecond_of_the_month(service):
    report = service.monthly_report("2026-12")
    assert (report.live_views, report.distinct_cameras, report.incidents) == (1, 1, 1)
    assert report.total_minutes == 1.5 and report.median_minutes == 1.5 and report.views_by_end_reason == {"expired": 1}
    text_form = report.to_text() + report.to_csv() + report.to_json()
    assert "alice" not in text_form and "robbery" not in text_form and "C-1" not in text_form
    assert service.monthly_report("2027-01").live_views == 0


def test_month_bounds():
    assert month_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=timezone.utc),
                                       datetime(2027, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(UserError, match="YYYY-MM"):
        month_bounds("2026-13")


def test_a_view_that_never_showed_a_picture_is_no_view_watched_in_the_report(service):
    log = service.log
    log.append(AuditEntry(Action.VIEW_START, "bob", "ws-2", camera_id=7,
                          details={Detail.SESSION_ID: 2, Detail.REASON: "shots fired", Detail.CAD_NUMBER: "C-2"}))
    log.append(AuditEntry(Action.VIEW_END, "bob", "ws-2", Outcome.FAILED, camera_id=7,
                          details={Detail.SESSION_ID: 2, Detail.DURATION_S: 900, Detail.END_REASON: "no_picture",
                                   Detail.FRAMES_SHOWN: 0, Detail.PROBLEM: "The camera cannot be reached."}))
    report = service.monthly_report("2026-12")
    assert (report.live_views, report.distinct_cameras, report.incidents) == (1, 1, 1)
    assert report.total_minutes == 1.5, "the quarter hour of a view that showed nothing is no viewing time"
    assert report.views_by_end_reason == {"expired": 1, "no_picture": 1} and report.views_without_end == 0
