"""The audit viewer and exports in plain words: camera label and address, CAD number, the reason and details as text
(no JSON), a CAD-number filter driven by the keyboard, exports that say where they were saved (issue 15, item 7)."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QStandardPaths, Qt

from console.domain.audit import Action, AuditEntry, Detail
from console.domain.cameras import Camera, Capability, SharingMode
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.gui.audit_viewer import AuditViewer
from console.services.audit_checkpoints import CheckpointService
from console.services.audit_reports import AuditService, details_in_words
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"
REASON = "armed robbery, suspect fled north"


@pytest.fixture
def trail(sqlite_url):
    database = open_database(sqlite_url, create=True)
    cipher = ContactCipher(load_contact_key())
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Shop Owner", phone="413-555-0100"))
        site = repo.add_site(conn, owner, "Corner Market", "12 Front St, Chicopee", 42.15, -72.6)
        camera = repo.add_camera(conn, cipher, Camera(None, site, "Front door", 42.15, -72.6, "", Capability.LIVE,
                                                      SharingMode.ALWAYS), owner)
        opened = datetime(2026, 11, 20, 13, 55, tzinfo=timezone.utc)
        robbery = repo.add_incident(conn, Incident(None, "C26-004117", "Armed robbery", 1, "12 Front St", 42.15,
                                                   -72.6, opened))
        other = repo.add_incident(conn, Incident(None, "C26-004200", "Vandalism", 3, "3 Main St", 42.15, -72.6,
                                                 opened))
    moments = iter(datetime(2026, 11, 20, 14, 0, tzinfo=timezone.utc) + timedelta(seconds=37 * i) for i in range(99))
    log = AuditLog(database, clock=lambda: next(moments))
    log.append(AuditEntry(Action.VIEW_START, "dispatcher07", "rtic-ws-03", camera_id=camera, incident_id=robbery,
                          details={Detail.SESSION_ID: 1, Detail.REASON: REASON, Detail.CAD_NUMBER: "C26-004117"}))
    log.append(AuditEntry(Action.VIEW_END, "dispatcher07", "rtic-ws-03", camera_id=camera, incident_id=robbery,
                          details={Detail.SESSION_ID: 1, Detail.DURATION_S: 212.4, Detail.END_REASON: "user_closed",
                                   Detail.FRAMES_SHOWN: 5300}))
    log.append(AuditEntry(Action.VIEW_START, "dispatcher07", "rtic-ws-03", camera_id=camera, incident_id=other,
                          details={Detail.SESSION_ID: 2, Detail.REASON: "tagging in progress"}))
    log.append(AuditEntry(Action.VIEW_START, "dispatcher07", "rtic-ws-03", camera_id=999,
                          details={Detail.SESSION_ID: 3, Detail.REASON: "<b>not markup</b>"}))
    yield AuditService(log)
    database.close()


def _viewer(qtbot, trail, zone=None) -> AuditViewer:
    viewer = AuditViewer(trail, CheckpointService(trail.log), "auditor1", "audit-ws", time_zone=zone)
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000):
        viewer.show()
    return viewer


def _column(viewer, name):
    from console.gui.audit_viewer import _COLUMNS

    column = _COLUMNS.index(name)
    return [viewer.model.index(row, column).data() for row in range(viewer.model.rowCount())]


def test_rows_name_the_camera_and_incident_and_give_the_reason_in_words(qtbot, trail):
    viewer = _viewer(qtbot, trail, ZoneInfo("America/New_York"))
    assert _column(viewer, "Camera")[-1] == "Front door, 12 Front St, Chicopee"  # oldest last
    assert _column(viewer, "Camera")[0] == "camera 999 (not in the registry)"
    assert _column(viewer, "CAD number") == ["", "C26-004200", "C26-004117", "C26-004117"]
    assert _column(viewer, "Reason") == ["<b>not markup</b>", "tagging in progress", "", REASON]
    assert _column(viewer, "Details")[2] == "view: 1; lasted: 3 min 32 s; ended: user closed; pictures shown: 5300"
    assert not any("{" in text for text in _column(viewer, "Details"))
    assert _column(viewer, "Time")[-1] == "2026-11-20 09:00:00 EST"  # the agency's zone, with its name
    assert _column(viewer, "Action")[0] == "view start"


def test_the_cad_number_filter_by_keyboard(qtbot, trail):
    viewer = _viewer(qtbot, trail)
    viewer.cad.setFocus()
    qtbot.keyClicks(viewer.cad, "C26-004117")
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000) as loaded:
        qtbot.keyClick(viewer.cad, Qt.Key.Key_Return)
    assert loaded.args == [2] and set(_column(viewer, "CAD number")) == {"C26-004117"}
    viewer.cad.clear()
    qtbot.keyClicks(viewer.cad, "C26-999999")
    with qtbot.waitSignal(viewer.sig_failed, timeout=10_000) as failed:
        qtbot.keyClick(viewer.cad, Qt.Key.Key_Return)
    assert failed.args == ["there is no incident with CAD number 'C26-999999' in the registry"]
    assert viewer.model.rowCount() == 2  # the last answer stays


def test_exports_say_where_they_were_saved_and_start_in_the_documents_folder(qtbot, trail, tmp_path):
    viewer = _viewer(qtbot, trail)
    documents = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation))
    suggested = viewer.suggested_export_path("pdf")
    assert suggested.parent == documents and suggested.suffix == ".pdf"
    assert Path(__file__).resolve().parents[2] not in suggested.parents  # never the source tree

    viewer.cad.setText("C26-004117")
    target = tmp_path / "robbery.csv"
    with qtbot.waitSignal(viewer.sig_exported, timeout=10_000):
        viewer.export_to(target, "csv")
    qtbot.waitUntil(lambda: "Saved:" in viewer.status.text(), timeout=10_000)
    assert f"2 events written to {target}" in viewer.status.text()
    rows = list(csv.DictReader(line for line in target.read_text().splitlines() if not line.startswith("#")))
    assert [(r["camera"], r["cad_number"], r["reason"]) for r in rows] == [
        ("Front door, 12 Front St, Chicopee", "C26-004117", REASON), ("Front door, 12 Front St, Chicopee", "C26-004117", "")]
    assert rows[1]["details_in_words"].startswith("view: 1; lasted: 3 min 32 s")

    pdf = tmp_path / "robbery.pdf"
    with qtbot.waitSignal(viewer.sig_exported, timeout=20_000):
        viewer.export_to(pdf, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    OUTPUT.mkdir(exist_ok=True)
    viewer.resize(1600, 500)
    viewer.grab().save(str(OUTPUT / "audit-plain-words.png"))


def test_details_that_are_not_an_object_are_shown_as_stored():
    from console.domain.audit import AuditRecord

    record = AuditRecord(1, "2026-11-20T14:00:00.000Z", "u", "w", "login", "ok", None, None, "[1, 2]", "0", "1")
    assert details_in_words(record) == "[1, 2]"
    broken = AuditRecord(1, "2026-11-20T14:00:00.000Z", "u", "w", "login", "ok", None, None, "{nope", "0", "1")
    assert details_in_words(broken) == "{nope"
