"""The public year report on both backends: the figures from a registry made through the year, small counts as "<5",
the PDF rendered to page images (pdftoppm) with its charts there, and no owner name, address, user name or reason from
the registry in any output (PDF text read back with pdftotext, HTML, CSV, JSON)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy
import pytest
from PIL import Image
from sqlalchemy import insert

from console.cli import main
from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.cameras import Capability, SharingMode
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.errors import UserError
from console.services.transparency_render import write
from console.services.transparency_report import shown, year_report
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.models import CameraRow, FootageRequestRow
from tests.services.conftest import _camera

SECRETS = ("Zebulon", "Quarrington", "Xylophone", "ofc_kowalczyk", "suspect in a red hoodie", "555-0188",
           "quarrington@example.org")
OUTPUT = Path(__file__).resolve().parents[1] / "output"


def _at(month: int, day: int = 10) -> datetime:
    return datetime(2025, month, day, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def year(database, cipher):
    """A registry through 2025: cameras registered over the year, views, denials, reveals, holds, footage."""
    moment = [_at(1)]
    log = AuditLog(database, clock=lambda: moment[0])
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.RESIDENT, OwnerContact(
            name="Zebulon Quarrington", phone="215-555-0188", email="quarrington@example.org",
            address="77 Xylophone Court"))
        site = repo.add_site(conn, owner, "Quarrington residence", "77 Xylophone Court", 39.95, -75.16)
        cams = []
        for n, (month, live) in enumerate([(1, True), (2, False), (2, False), (4, True), (4, True), (6, False),
                                           (6, False), (6, True), (9, False), (11, True), (11, False)]):
            cam = repo.add_camera(conn, cipher, _camera(site, f"Quarrington cam {n}",
                                                        Capability.LIVE if live else Capability.REGISTERED,
                                                        SharingMode.ALWAYS if live else SharingMode.NEVER), owner)
            conn.execute(CameraRow.__table__.update().where(CameraRow.__table__.c.id == cam)
                         .values(created_at=_at(month)))
            cams.append(cam)
        burglary = repo.add_incident(conn, Incident(None, "CAD-25-1", "Burglary", 2, "77 Xylophone Court", 39.95,
                                                    -75.16, _at(3)))
        arson = repo.add_incident(conn, Incident(None, "CAD-25-2", "Arson", 1, "77 Xylophone Court", 39.95, -75.16,
                                                 _at(5)))
        for status in ("received", "received", "declined", "received", "no_answer", "received", "received"):
            conn.execute(insert(FootageRequestRow.__table__).values(
                incident_id=burglary, owner_id=owner, window_start=_at(3), window_end=_at(3) + timedelta(hours=1),
                status=status, created_by="ofc_kowalczyk", created_at=_at(3), updated_at=_at(3), version=1))
    for month, incident, count in ((3, burglary, 7), (5, arson, 2)):
        for n in range(count):
            moment[0] = _at(month, 1 + n)
            log.append(AuditEntry(Action.VIEW_START, "ofc_kowalczyk", "rtic-ws-1", camera_id=cams[0],
                                  incident_id=incident, details={"reason": "suspect in a red hoodie", "session_id": n}))
            log.append(AuditEntry(Action.VIEW_END, "ofc_kowalczyk", "rtic-ws-1", camera_id=cams[0],
                                  details={"session_id": n, "duration_s": 60 * (n + 1), "end_reason": "user_closed"}))
    for n in range(3):
        log.append(AuditEntry(Action.VIEW_DENIED, "ofc_kowalczyk", "rtic-ws-1", Outcome.DENIED, camera_id=cams[1],
                              details={"rule": "consent_never", "reason": "suspect in a red hoodie"}))
    for n in range(6):
        log.append(AuditEntry(Action.CONTACT_REVEAL, "ofc_kowalczyk", "rtic-ws-1", camera_id=cams[0]))
    moment[0] = _at(8)
    log.append(AuditEntry(Action.LEGAL_HOLD, "sgt_quarrington", "rtic-ws-1", incident_id=burglary,
                          details={"op": "hold", "reason": "suspect in a red hoodie"}))
    log.append(AuditEntry(Action.RETENTION_RUN, "ofc_kowalczyk", "rtic-ws-1", details={
        "op": "finished", "counts": {"view_sessions": 12, "outreach_calls": 3, "files_missing": 1}}))
    moment[0] = _at(12, 31)
    log.append(AuditEntry(Action.VIEW_START, "ofc_kowalczyk", "rtic-ws-1", camera_id=cams[0]))
    moment[0] = datetime(2026, 1, 1, tzinfo=timezone.utc)  # next year: not in the report
    log.append(AuditEntry(Action.VIEW_START, "ofc_kowalczyk", "rtic-ws-1", camera_id=cams[0]))
    return log


def test_the_figures_and_small_counts(year):
    report = year_report(year, 2025)
    assert report.live_views == 10 and report.views_by_month[2] == 7 and report.views_by_month[11] == 1
    assert report.cameras_registered == (1, 3, 3, 5, 5, 8, 8, 8, 9, 9, 11, 11)
    assert report.cameras_live == (1, 1, 1, 3, 3, 4, 4, 4, 4, 4, 5, 5)
    assert report.views_by_purpose == {"burglary": 7, "other": 3}  # arson (2) and "no incident" (1): other
    assert report.median_view_minutes == 3.0 and report.longest_view_minutes == 7.0
    figures = report.published()
    assert figures["live_views_by_purpose"] == {"burglary": 7, "other": "<5"}
    assert figures["denied_views_by_rule"] == {"consent_never": "<5"}
    assert figures["contact_reveals"] == 6 and figures["legal_holds_placed"] == "<5"
    assert figures["footage_requests_by_outcome"] == {"declined": "<5", "no_answer": "<5", "received": 5}
    assert figures["retention_purged_by_kind"] == {"outreach_calls": "<5", "view_sessions": 12}
    assert figures["live_views_by_month"]["2025-05"] == "<5" and figures["live_views_by_month"]["2025-07"] == 0
    assert figures["audit_chain_intact"] is True
    assert [shown(n) for n in (0, 1, 4, 5)] == [0, "<5", "<5", 5]


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_every_format_carries_no_personal_data_and_the_pdf_has_its_charts(year, tmp_path):
    assert shutil.which("pdftoppm"), "poppler-utils (pdftoppm, pdftotext) is needed: installer/dev.sh installs it"
    report = year_report(year, 2025)
    outputs = {}
    for fmt in ("pdf", "html", "csv", "json"):
        outputs[fmt] = tmp_path / f"report-2025.{fmt}"
        write(report, fmt, outputs[fmt])
    texts = {"pdf": _pdf_text(outputs["pdf"]),
             **{fmt: outputs[fmt].read_text(encoding="utf-8") for fmt in ("html", "csv", "json")}}
    for fmt, body in texts.items():
        for secret in SECRETS:
            assert secret.lower() not in body.lower(), (fmt, secret)
    assert "public report for 2025" in texts["pdf"] and "<5" in texts["pdf"]
    assert texts["html"].count("<img") >= 4 and "&lt;5" in texts["html"]
    assert json.loads(texts["json"])["contact_reveals"] == 6
    assert "consent_never,<5" in texts["csv"]

    images = subprocess.run(["pdfimages", "-list", str(outputs["pdf"])], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert len(images) >= 4  # cameras, views by month, purposes, denials, footage
    subprocess.run(["pdftoppm", "-png", "-r", "70", str(outputs["pdf"]), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages
    coloured = 0
    for page in pages:
        with Image.open(page) as picture:
            rgb = numpy.asarray(picture.convert("RGB")).astype(int)
            coloured += int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum())
    assert coloured > 2000  # the charts' bars and lines (the text is black on white)
    OUTPUT.mkdir(exist_ok=True)
    for page in pages:
        shutil.copy(page, OUTPUT / f"year-report-{page.name}")


def test_the_command_line_writes_the_year_report_and_refuses_bad_input(year, database, tmp_path, monkeypatch):
    from tests.cli.conftest import CHEAP, add_account
    from console.cli import signin

    monkeypatch.setattr(signin, "password_hasher", lambda: CHEAP)
    env = add_account(database.url, "auditor", "auditor_a", tmp_path)
    monkeypatch.setenv(signin.PASSWORD_FILE_ENV, env[signin.PASSWORD_FILE_ENV])
    out = tmp_path / "r.pdf"
    base = ["audit", "report", "--db", database.url, "--user", "auditor_a"]
    assert main([*base, "--year", "2025", "--format", "pdf", "--output", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    events = AuditLog(database).query(actions=(Action.AUDIT_EXPORT,))
    assert events[-1].details["report"] == "year" and events[-1].details["format"] == "pdf"
    for args, message in ((["--year", "2025", "--format", "text", "--output", str(out)], "is written as"),
                          (["--year", "2025", "--format", "pdf"], "give --output FILE"),
                          (["--year", "2025", "--format", "pdf", "--output", str(tmp_path)], "is a folder"),
                          (["--year", "2025", "--format", "pdf", "--output", str(tmp_path / "no" / "r.pdf")],
                           "does not exist"),
                          (["--format", "pdf", "--month", "2025-03"], "is for the year report"),
                          ([], "give --month")):
        with pytest.raises(UserError, match=message):
            main_raising([*base, *args])
    for bad in ("1999", "abc", "20251", "2101"):
        with pytest.raises(SystemExit) as caught:
            main([*base, "--year", bad, "--format", "pdf", "--output", str(out)])
        assert caught.value.code == 2


def main_raising(argv):
    """The command's own function, so the UserError (exit 2 at the top) can be matched."""
    from console.cli import build_parser

    args = build_parser().parse_args(argv)
    return args.func(args)
