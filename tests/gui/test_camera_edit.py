"""Registry → Edit camera…, Remove camera…, Erase owner…: versioned saves, the conflict dialog between two consoles
on the real PostgreSQL server, and removal/erasure from the menu with their audit events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from console.domain.cameras import ConsentChannel, SharingMode
from console.domain.intake import Placement
from console.domain.users import Role
from console.gui.registry_tools import ActionIds
from console.gui.theme import apply_theme
from console.paths import resources_dir
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.registry import cameras, owners
from tests.gui.conftest import signed_in

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"


def select_camera(qtbot, window, incident, camera_id: int) -> None:
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        window.controller.set_incident(incident.lat, incident.lon, incident.cad_number or "", incident)
    with qtbot.waitSignal(window.controller.sig_camera_shown, timeout=10_000):
        window.controller.select(camera_id)


def open_editor(qtbot, signed):
    signed.window.actions_by_id[ActionIds.EDIT_CAMERA].trigger()
    dialog = signed.tools.edit_dialog
    qtbot.waitUntil(lambda: dialog.loaded is not None and dialog.save_button.isEnabled(), timeout=10_000)
    return dialog


def stored_camera(url: str, camera_id: int):
    with open_database(url) as database, database.engine.connect() as conn:
        return conn.execute(select(cameras).where(cameras.c.id == camera_id)).one()


def table_rows(conflict) -> dict[str, tuple[str, str]]:
    table = conflict.table
    return {table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())
            for r in range(table.rowCount())}


@pytest.mark.postgres
def test_two_consoles_edit_one_camera_and_the_second_sees_both_versions(qtbot, make_console, shared_registry, tmp_path,
                                                                         players):
    url, camera_id, incident = shared_registry
    before = stored_camera(url, camera_id).version
    apply_theme(QApplication.instance(), resources_dir(), "dark")  # before the windows, as run_console does
    try:
        first = signed_in(make_console(url), "outreach1", Role.OUTREACH, tmp_path, players)
        second = signed_in(make_console(url), "outreach2", Role.OUTREACH, tmp_path, players)
        for signed in (first, second):
            select_camera(qtbot, signed.window, incident, camera_id)
        mine, theirs = open_editor(qtbot, second), open_editor(qtbot, first)
        assert mine.loaded.version == theirs.loaded.version == before
        assert mine.label.text() == "deli door"

        # The first console saves a new label.
        theirs.label.setText("deli door (front)")
        with qtbot.waitSignal(theirs.sig_saved, timeout=10_000) as saved:
            theirs.save_button.click()
        assert saved.args == [before + 1]
        qtbot.waitUntil(lambda: f"saved (version {before + 1})" in first.window.statusBar().currentMessage(),
                        timeout=5000)

        # The second console hears of it through the change feed (LISTEN/NOTIFY) while its form is open ...
        qtbot.waitUntil(lambda: "just saved on another console" in mine.message.text(), timeout=10_000)
        # ... and, still on the version it opened, changes the label and the sharing choice.
        mine.label.setText("deli door, north side")
        mine.sharing.select(SharingMode.ALWAYS)
        assert mine.consent_box.isVisible()
        mine.save_button.click()
        assert "consent change" in mine.message.text()  # no note yet: not sent
        mine.note.setText("owner called: share always")
        OUTPUT.mkdir(exist_ok=True)
        assert mine.grab().save(str(OUTPUT / "camera-edit.png"))
        mine.save_button.click()
        qtbot.waitUntil(lambda: mine.conflict_dialog is not None and mine.conflict_dialog.isVisible(), timeout=10_000)
        conflict = mine.conflict_dialog
        rows = table_rows(conflict)
        assert rows["Label"] == ("deli door, north side", "deli door (front)")
        assert rows["Sharing"] == ("always", "only during an owner alert")
        assert rows["Status"] == ("(unchanged)", "active")
        assert rows["Capability"] == ("(unchanged)", "live-capable")
        assert f"you started from version {before}; it is now version {before + 1}" in conflict.summary.text()
        assert "deli door (front)" in conflict.summary.text()
        qtbot.wait(200)  # only for the picture: let the table paint
        OUTPUT.mkdir(exist_ok=True)
        assert conflict.grab().save(str(OUTPUT / "camera-edit-conflict.png"))

        # "Keep theirs": nothing written, the form keeps the user's values.
        conflict.keep_button.click()
        qtbot.waitUntil(lambda: "Kept what is stored" in mine.message.text(), timeout=5000)
        row = stored_camera(url, camera_id)
        assert (row.version, row.label, row.sharing_mode) == (before + 1, "deli door (front)", "on_alert")
        assert mine.isVisible() and mine.label.text() == "deli door, north side"

        # A second attempt: the conflict again, and this time "Overwrite with mine".
        mine.save_button.click()
        qtbot.waitUntil(lambda: mine.conflict_dialog is not conflict and mine.conflict_dialog.isVisible(),
                        timeout=10_000)
        with qtbot.waitSignal(mine.sig_saved, timeout=10_000) as saved:
            mine.conflict_dialog.overwrite_button.click()
        assert saved.args == [before + 2]
        qtbot.waitUntil(lambda: f"saved (version {before + 2})" in second.window.statusBar().currentMessage(),
                        timeout=5000)
        row = stored_camera(url, camera_id)
        assert (row.version, row.label, row.sharing_mode) == (before + 2, "deli door, north side", "always")
        assert (row.consent_channel, row.consent_wording) == ("phone", "owner called: share always")

        with open_database(url) as database:
            audit = AuditLog(database)
            assert audit.verify().ok
            events = [e for e in audit.query() if e.camera_id == camera_id]
        actions = [(e.username, e.action) for e in events]
        assert ("outreach1", "registry_change") in actions and ("outreach2", "consent_change") in actions
        consent = next(json.loads(e.details_json) for e in events if e.action == "consent_change")
        assert consent["consent"]["channel"] == "phone" and consent["version"] == before + 2
        first.close()
        second.close()
    finally:
        QApplication.instance().setStyleSheet("")


def test_a_removed_camera_and_an_erased_owner_from_the_registry_menu(qtbot, make_console, known_registry, tmp_path,
                                                                      players, monkeypatch):
    signed = signed_in(make_console(known_registry.url), "outreach3", Role.OUTREACH, tmp_path, players)
    window = signed.window
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        incident = repo.get_incident(conn, known_registry.incident_id)
    asked = []

    def answer(yes: bool):
        def confirm(parent, title, heading, body, action_text, reason_label=None):
            asked.append((title, heading, body, action_text))
            return yes, "owner asked by phone" if reason_label else ""
        return confirm

    # Nothing selected: told what to do.
    window.actions_by_id[ActionIds.REMOVE_CAMERA].trigger()
    assert "Select a camera" in window.statusBar().currentMessage()

    removed = known_registry.ids["never_80m"]
    select_camera(qtbot, window, incident, removed)
    monkeypatch.setattr("console.gui.registry_tools.confirm", answer(False))  # cancelled: nothing happens
    window.actions_by_id[ActionIds.REMOVE_CAMERA].trigger()
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=10_000)
    assert stored_camera(known_registry.url, removed).status == "active"
    monkeypatch.setattr("console.gui.registry_tools.confirm", answer(True))
    window.actions_by_id[ActionIds.REMOVE_CAMERA].trigger()
    qtbot.waitUntil(lambda: "removed from the registry" in window.statusBar().currentMessage(), timeout=10_000)
    assert "never_80m" in asked[-1][1] and "Kept" in asked[-1][2]
    row = stored_camera(known_registry.url, removed)
    assert (row.status, row.sharing_mode) == ("removed", "never")
    qtbot.waitUntil(lambda: all(r.camera.id != removed for r in window.nearby_panel.model.rows), timeout=10_000)

    erased_camera = known_registry.ids["always_50m"]
    owner_id = stored_camera(known_registry.url, erased_camera).owner_id
    with qtbot.waitSignal(window.controller.sig_camera_shown, timeout=10_000):
        window.controller.select(erased_camera)
    window.actions_by_id[ActionIds.ERASE_OWNER].trigger()
    qtbot.waitUntil(lambda: f"Owner #{owner_id} erased" in window.statusBar().currentMessage(), timeout=10_000)
    _title, _heading, body, action = asked[-1]
    assert action == "Erase owner for good" and "cannot be undone" in body and "phone" in body and "Kept" in body
    with open_database(known_registry.url) as database:
        with database.engine.connect() as conn:
            owner = conn.execute(select(owners).where(owners.c.id == owner_id)).one()
        audit = AuditLog(database)
        assert audit.verify().ok
        details = [json.loads(e.details_json) for e in audit.query() if e.username == "outreach3"]
    assert owner.erased_at is not None
    assert not owner.contact_ciphertext and owner.phone_digest is None and owner.email_digest is None
    assert stored_camera(known_registry.url, erased_camera).status == "removed"
    assert {"change": "camera_removed", "reason": "owner asked by phone"} in details
    assert any(d.get("change") == "owner_erased" and d["owner_id"] == owner_id for d in details)
    signed.close()
    QApplication.instance().setStyleSheet("")


def test_the_edit_form_sends_only_what_changed_and_asks_for_consent(qtbot, make_console, known_registry, tmp_path,
                                                                    players):
    signed = signed_in(make_console(known_registry.url), "outreach4", Role.OUTREACH, tmp_path, players)
    window = signed.window
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        incident = repo.get_incident(conn, known_registry.incident_id)

    registered = known_registry.ids["registered_120m"]
    select_camera(qtbot, window, incident, registered)
    dialog = open_editor(qtbot, signed)
    assert not dialog.sharing.isEnabled() and "registered only" in dialog.capability.text()
    assert dialog.numbers["fov_bearing_deg"].text() == "0" and dialog.numbers["fov_range_m"].text() == "25"
    dialog.save_button.click()
    assert "Nothing changed" in dialog.message.text()
    dialog.numbers["fov_range_m"].setText("abc")
    dialog.save_button.click()
    assert "Range m must be a number" in dialog.message.text()
    dialog.numbers["fov_range_m"].setText("35")
    dialog.placement.select(Placement.INSIDE)
    assert dialog.changes() == {"fov_range_m": 35.0, "placement": "inside"}
    before = stored_camera(known_registry.url, registered).version
    with qtbot.waitSignal(dialog.sig_saved, timeout=10_000):
        dialog.save_button.click()
    row = stored_camera(known_registry.url, registered)
    assert (row.version, row.fov_range_m, row.placement, row.consent_channel) == (before + 1, 35.0, "inside", None)

    live = known_registry.ids["never_80m"]
    with qtbot.waitSignal(window.controller.sig_camera_shown, timeout=10_000):
        window.controller.select(live)
    dialog = open_editor(qtbot, signed)
    assert dialog.sharing.isEnabled() and not dialog.consent_box.isVisible()
    dialog.sharing.select(SharingMode.ON_ALERT)
    assert dialog.consent_box.isVisible()
    dialog.save_button.click()
    assert "consent change" in dialog.message.text()
    dialog.channel.select(ConsentChannel.IN_PERSON)
    dialog.note.setText("owner came to the front desk")
    with qtbot.waitSignal(dialog.sig_saved, timeout=10_000):
        dialog.save_button.click()
    row = stored_camera(known_registry.url, live)
    assert (row.sharing_mode, row.consent_channel, row.consent_taken_by) == ("on_alert", "in_person", "outreach4")
    signed.close()
    QApplication.instance().setStyleSheet("")


PIN = "5E:3B:" + ":".join(["A7"] * 30)  # as `openssl x509 -noout -fingerprint -sha256` prints one


def test_the_certificate_pin_is_typed_tabbed_to_and_saved_from_the_keyboard(qtbot, make_console, known_registry,
                                                                            tmp_path, players):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    signed = signed_in(make_console(known_registry.url), "outreach5", Role.OUTREACH, tmp_path, players)
    window = signed.window
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        incident = repo.get_incident(conn, known_registry.incident_id)
    live = known_registry.ids["never_80m"]
    select_camera(qtbot, window, incident, live)
    dialog = open_editor(qtbot, signed)
    assert dialog.pin.text() == "" and stored_camera(known_registry.url, live).tls_pin_sha256 is None
    dialog.numbers["fov_range_m"].setFocus()
    QTest.keyClick(dialog.numbers["fov_range_m"], Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.pin  # the pin comes right after the last number, in reading order
    QTest.keyClicks(dialog.pin, "sha256 Fingerprint=" + PIN)
    assert dialog.changes() == {"tls_pin_sha256": PIN.replace(":", "").lower()}
    for _ in range(6):  # Tab on to Save and press it with the space bar
        if dialog.focusWidget() is dialog.save_button:
            break
        QTest.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.save_button
    before = stored_camera(known_registry.url, live).version
    with qtbot.waitSignal(dialog.sig_saved, timeout=10_000):
        QTest.keyClick(dialog.save_button, Qt.Key.Key_Space)
    row = stored_camera(known_registry.url, live)
    assert (row.version, row.tls_pin_sha256) == (before + 1, PIN.replace(":", "").lower())
    with open_database(known_registry.url) as database:
        events = [e for e in AuditLog(database).query() if e.camera_id == live]
    changes = json.loads(events[-1].details_json)["changes"]
    assert (events[-1].username, changes) == (
        "outreach5", [{"field": "tls_pin_sha256", "old": None, "new": PIN.replace(":", "").lower()}])

    # Opened again, the pin shows as openssl prints it; clearing the field removes the pin.
    dialog = open_editor(qtbot, signed)
    assert dialog.pin.text() == PIN
    dialog.pin.setFocus()
    QTest.keyClick(dialog.pin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(dialog.pin, Qt.Key.Key_Delete)
    with qtbot.waitSignal(dialog.sig_saved, timeout=10_000):
        dialog.save_button.click()
    assert stored_camera(known_registry.url, live).tls_pin_sha256 is None
    signed.close()
    QApplication.instance().setStyleSheet("")


@pytest.mark.parametrize("typed", [
    "5E:3B:A7",                                  # cut short
    PIN[:-1] + "G",                              # not hex
    "'; DROP TABLE cameras; --",                 # not a fingerprint at all
    "<b>" + "a" * 64 + "</b>",                   # mark-up around the right length
    "\u202e" + "a" * 63,                         # a direction override
    "f" * 500,                                   # far too long (the field keeps 200)
])
def test_a_bad_certificate_pin_is_refused_in_one_sentence_and_nothing_changes(qtbot, make_console, known_registry,
                                                                              tmp_path, players, typed):
    signed = signed_in(make_console(known_registry.url), "outreach6", Role.OUTREACH, tmp_path, players)
    with open_database(known_registry.url) as database, database.engine.connect() as conn:
        incident = repo.get_incident(conn, known_registry.incident_id)
    live = known_registry.ids["never_80m"]
    select_camera(qtbot, signed.window, incident, live)
    dialog = open_editor(qtbot, signed)
    before = stored_camera(known_registry.url, live)
    with open_database(known_registry.url) as database:
        events_before = len(AuditLog(database).query())
    dialog.pin.setFocus()
    dialog.pin.insert(typed)  # pasted, as a fingerprint copied from a gateway's page is (and keeps maxLength)
    dialog.save_button.click()
    message = dialog.message.text()
    assert message.startswith("Certificate pin: the certificate fingerprint must be a SHA-256 fingerprint")
    assert message.endswith("Nothing was saved.") and "\n" not in message and "Traceback" not in message
    assert dialog.isVisible() and dialog.save_button.isEnabled()
    after = stored_camera(known_registry.url, live)
    assert (after.version, after.tls_pin_sha256) == (before.version, None)
    with open_database(known_registry.url) as database:
        assert len(AuditLog(database).query()) == events_before
    signed.close()
    QApplication.instance().setStyleSheet("")
