"""The audit viewer driven offscreen on a real SQLite audit log: filter, verify (intact, then tampered), export."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import text

from console.domain.audit import Action, AuditEntry, Detail, Outcome
from console.gui.audit_viewer import NO_KEY, AuditViewer
from console.services.audit_checkpoints import CheckpointService
from console.services.audit_reports import AuditService
from console.store.audit import AuditLog
from console.store.db import open_database

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"


@pytest.fixture
def service(sqlite_url):
    database = open_database(sqlite_url, create=True)
    moments = iter(datetime(2026, 11, 20, 14, 0, tzinfo=timezone.utc) + timedelta(seconds=37 * i) for i in range(999))
    log = AuditLog(database, clock=lambda: next(moments))
    log.append(AuditEntry(Action.LOGIN, "dispatcher07", "rtic-ws-03"))
    log.append(AuditEntry(Action.SEARCH_NEAR, "dispatcher07", "rtic-ws-03", incident_id=41,
                          details={"radius_m": 300, "found": 12}))
    for session, camera in enumerate((1012, 1015, 1020), start=1):
        log.append(AuditEntry(Action.VIEW_START, "dispatcher07", "rtic-ws-03", camera_id=camera, incident_id=41,
                              details={Detail.SESSION_ID: session, Detail.STREAM_ID: camera * 10,
                                       Detail.REASON: "armed robbery, suspect fled north", Detail.CAD_NUMBER: "C26-004117"}))
    log.append(AuditEntry(Action.VIEW_DENIED, "detective2", "field-laptop-5", Outcome.DENIED, camera_id=1031,
                          incident_id=41, details={Detail.RULE: "sharing_never"}))
    log.append(AuditEntry(Action.CONTACT_REVEAL, "detective2", "field-laptop-5", camera_id=1015, incident_id=41,
                          details={Detail.REASON: "request footage"}))
    log.append(AuditEntry(Action.VIEW_END, "dispatcher07", "rtic-ws-03", camera_id=1012, incident_id=41,
                          details={Detail.SESSION_ID: 1, Detail.DURATION_S: 212.4, Detail.END_REASON: "user_closed"}))
    yield AuditService(log)
    database.close()


def test_filter_verify_tamper_export(qtbot, service, tmp_path):
    viewer = AuditViewer(service, CheckpointService(service.log), "auditor1", "audit-ws")
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000) as loaded:
        viewer.show()
    assert loaded.args == [8] and viewer.model.rowCount() == 8
    assert viewer.model.records[0].seq == 8  # newest first

    viewer.user.setText("detective2")
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000) as loaded:
        viewer.search_button.click()
    assert loaded.args == [2] and {r.username for r in viewer.model.records} == {"detective2"}

    viewer.user.setText("")
    viewer.action.setCurrentText(Action.VIEW_START)
    viewer.camera.setText("1015")
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000) as loaded:
        viewer.search_button.click()
    assert [r.camera_id for r in viewer.model.records] == [1015]

    viewer.camera.setText("ten")
    with qtbot.waitSignal(viewer.sig_failed, timeout=2_000) as failed:
        viewer.search_button.click()
    assert failed.args == ["no camera in the registry has 'ten' in its label or address"]
    viewer.camera.setText("")
    viewer.action.setCurrentText("(any)")

    with qtbot.waitSignal(viewer.sig_verified, timeout=10_000) as verified:
        viewer.verify_button.click()
    assert verified.args[0].ok and "intact: 8 events" in viewer.chain_status.text()
    assert NO_KEY in viewer.chain_status.text()  # no auditor's key set: the viewer says what it could not prove
    qtbot.waitUntil(lambda: viewer.model.rowCount() == 9, timeout=10_000)  # the check is itself audited
    assert viewer.model.records[0].action == Action.AUDIT_VERIFY

    target = tmp_path / "court.pdf"
    with qtbot.waitSignal(viewer.sig_exported, timeout=30_000) as exported:
        viewer.export_to(target, "pdf")
    assert exported.args[0].events == 9 and target.read_bytes().startswith(b"%PDF-")
    qtbot.waitUntil(lambda: viewer.model.rowCount() == 10, timeout=10_000)

    # An attacker with admin rights drops the guard and edits event 5; the viewer says where the chain broke.
    with service.log.database.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET camera_id = 9999 WHERE seq = 5"))
    with qtbot.waitSignal(viewer.sig_verified, timeout=10_000) as verified:
        viewer.verify_button.click()
    assert verified.args[0].chain.first_bad_seq == 5 and "BROKEN at event 5" in viewer.chain_status.text()
    assert "GUARD MISSING: audit_events has no working append-only trigger against UPDATE" in viewer.chain_status.text()
    qtbot.waitUntil(lambda: viewer.model.rowCount() == 11, timeout=10_000)
    bad_row = next(i for i, r in enumerate(viewer.model.records) if r.seq == 5)
    colour = viewer.model.data(viewer.model.index(bad_row, 0), role=Qt.ItemDataRole.ForegroundRole)
    assert colour is not None and colour.name() == "#c62828"

    qtbot.wait(50)  # let the table lay out before grabbing
    OUTPUT.mkdir(exist_ok=True)
    assert viewer.grab().save(str(OUTPUT / "audit_viewer.png"))
    viewer.close()


def test_a_view_that_never_showed_a_picture_reads_never_played(qtbot, sqlite_url):
    from console.gui.audit_viewer import NEVER_PLAYED

    database = open_database(sqlite_url, create=True)
    log = AuditLog(database)
    why = "The camera cannot be reached; check that it is online and the address and port are right."
    log.append(AuditEntry(Action.VIEW_END, "dispatcher07", "rtic-ws-03", camera_id=1012, details={
        Detail.SESSION_ID: 1, Detail.DURATION_S: 4.1, Detail.END_REASON: "no_picture", Detail.FRAMES_SHOWN: 0,
        Detail.PROBLEM: why}))
    log.append(AuditEntry(Action.VIEW_END, "dispatcher07", "rtic-ws-03", camera_id=1015, details={
        Detail.SESSION_ID: 2, Detail.DURATION_S: 60.0, Detail.END_REASON: "user_closed", Detail.FRAMES_SHOWN: 1500}))
    log.append(AuditEntry(Action.VIEW_END, "dispatcher07", "rtic-ws-03", camera_id=1020, details={
        Detail.SESSION_ID: 3, Detail.DURATION_S: 60.0, Detail.END_REASON: "user_closed"}))  # before frames were kept
    viewer = AuditViewer(AuditService(log), CheckpointService(log), "auditor1", "audit-ws")
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000):
        viewer.show()
    outcome = {viewer.model.records[row].camera_id: viewer.model.index(row, 5) for row in range(3)}
    assert outcome[1012].data() == NEVER_PLAYED and why in outcome[1012].data(Qt.ItemDataRole.ToolTipRole)
    assert outcome[1015].data() == Outcome.OK and outcome[1020].data() == Outcome.OK
    viewer.close()
    database.close()


def test_verify_holds_the_trail_to_the_auditors_signed_checkpoints(qtbot, service, tmp_path):
    """With the auditor's public key set, Verify finds events cut off the end of the trail: the chain alone still
    reads intact (what the viewer used to check), the signed checkpoint says which events are missing."""
    from console.services.audit_checkpoints import keygen, load_signer

    log = service.log
    keygen(tmp_path / "auditor.key")
    checkpoints = CheckpointService(log)
    signed = checkpoints.checkpoint(load_signer(tmp_path / "auditor.key"), "auditor1", "audit-ws")
    assert signed.seq == 8  # the head when it was signed; its own audit_checkpoint event is event 9
    viewer = AuditViewer(service, checkpoints, "auditor1", "audit-ws", public_key_file=str(tmp_path / "auditor.key.pub"))
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000):
        viewer.show()

    with qtbot.waitSignal(viewer.sig_verified, timeout=10_000) as verified:
        viewer.verify_button.click()
    assert verified.args[0].ok
    assert "the trail is complete up to event 8" in viewer.chain_status.text()
    assert NO_KEY not in viewer.chain_status.text()

    # Someone with the tables' owner rights drops the guard and deletes the newest events, checkpoint event and all.
    with log.database.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_events_no_delete"))
        conn.execute(text("DELETE FROM audit_events WHERE seq >= 6"))
    assert log.verify().ok  # the chain-only check cannot see it
    with qtbot.waitSignal(viewer.sig_verified, timeout=10_000) as verified:
        viewer.verify_button.click()
    result, shown = verified.args[0], viewer.chain_status.text()
    assert not result.ok and result.chain.ok
    assert "audit trail CUT OFF after event 5" in shown and "events 6 to 8 were removed" in shown
    assert "GUARD MISSING: audit_events has no working append-only trigger against DELETE" in shown
    assert "color: #c62828" in viewer.chain_status.styleSheet()
    with log.database.engine.connect() as conn:  # the check is audited as the auditor, with what it found
        details = conn.execute(text("SELECT details FROM audit_events WHERE action = 'audit_verify' "
                                    "ORDER BY seq DESC LIMIT 1")).scalar_one()
    recorded = json.loads(details)
    assert recorded["ok"] is False and recorded["checkpoints"] == 1 and recorded["findings"] == [6]
    viewer.close()


def test_a_public_key_file_that_is_not_one_is_said_in_a_sentence(qtbot, service, tmp_path):
    not_a_key = tmp_path / "auditor.pub"
    not_a_key.write_text("<b>not a key</b>\n")
    viewer = AuditViewer(service, CheckpointService(service.log), "auditor1", "audit-ws",
                         public_key_file=str(not_a_key))
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000):
        viewer.show()
    with qtbot.waitSignal(viewer.sig_failed, timeout=10_000) as failed:
        viewer.verify_button.click()
    assert failed.args == [f"{not_a_key} is not a public key file (PEM) made by `rtic-console audit keygen`"]
    assert viewer.chain_status.text() == "Trail not checked" and viewer.verify_button.isEnabled()
    assert viewer.status.textFormat() == Qt.TextFormat.PlainText
    viewer.close()
