"""The rough edges of a shift, driven by the keyboard: the reason prompt, quitting with live views, lock, log out."""

from __future__ import annotations

import re

from datetime import datetime, timezone

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from console.domain.access import Purpose
from console.domain.users import Role
from console.gui.live_feeds import IncidentContext, PurposeDialog
from console.gui.main_window import ActionId

pytestmark = pytest.mark.gui
NOW = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)


def _prompt(qtbot, **kwargs) -> PurposeDialog:
    dialog = PurposeDialog(IncidentContext("CHI-2026-555001"), 2, clock=lambda: NOW, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    return dialog


def test_the_reason_prompt_refuses_an_empty_or_short_reason_in_place(qtbot):
    dialog = _prompt(qtbot)
    qtbot.waitUntil(dialog.cad.hasFocus, timeout=5_000)  # the first missing answer
    qtbot.keyClicks(dialog.cad, "CHI-2026-555001")
    qtbot.keyClick(dialog.cad, Qt.Key.Key_Tab)
    assert dialog.reason.hasFocus()
    assert not dialog.ok.isEnabled() and "give a reason" in dialog.rule.text().lower()
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)  # Enter on an empty reason: nothing happens
    assert dialog.isVisible() and dialog.result() == 0
    qtbot.keyClicks(dialog.reason, "shot")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert dialog.isVisible() and not dialog.ok.isEnabled()
    qtbot.keyClicks(dialog.reason, "s fired, suspect fled north")
    assert dialog.ok.isEnabled() and dialog.rule.text() == ""
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert dialog.result() == PurposeDialog.DialogCode.Accepted
    assert dialog.purpose() == Purpose("shots fired, suspect fled north", cad_number="CHI-2026-555001")


def test_the_prompt_needs_the_cad_number_too(qtbot):
    dialog = _prompt(qtbot)
    qtbot.keyClick(dialog.cad, Qt.Key.Key_Tab)
    qtbot.waitUntil(dialog.reason.hasFocus, timeout=5_000)
    qtbot.keyClicks(dialog.reason, "checking the street for the vehicle")
    assert not dialog.ok.isEnabled() and "cad number" in dialog.rule.text().lower()
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Escape)
    assert dialog.result() == PurposeDialog.DialogCode.Rejected


def _when_message_box(act) -> None:
    """Call act(box) with the next message box once it is on screen (it runs its own event loop)."""

    def look():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            act(box)
        else:
            QTimer.singleShot(20, look)

    QTimer.singleShot(0, look)


def _answer_next_box(qtbot, key) -> list[str]:
    """Answer the next message box with a key, as a user would; returns its text."""
    seen = []
    _when_message_box(lambda box: (seen.append(box.text()), qtbot.keyClick(box, key)))
    return seen


def _on_incident(qtbot, signed, incident, reason="shots fired, looking for the shooter"):
    """The incident on the signed-in window's map, with `reason` as the answer to the reason prompt."""
    window = signed.window
    signed.feeds.ask_purpose = lambda context, count: Purpose(reason, incident=context.incident)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        window.controller.set_incident(incident.lat, incident.lon, "CHI-2026-555001 Shots fired", incident)
    return window


def _open_two_feeds(qtbot, signed, incident):
    window = _on_incident(qtbot, signed, incident)
    window.actions_by_id[ActionId.OPEN_NEAREST_LIVE].trigger()
    qtbot.waitUntil(lambda: signed.live_view_count() == 2, timeout=20_000)


def test_an_empty_reason_is_never_remembered_for_the_incident(qtbot, registry, sign_in):
    """Issue 15: Enter on an empty reason once locked the incident until the console restarted."""
    _, _, incident = registry
    signed = sign_in("disp8", Role.DISPATCHER)
    window, audit = signed.window, signed.services.audit
    answers = [Purpose("", incident=incident), Purpose("shots fired, looking for the shooter", incident=incident)]
    signed.feeds.ask_purpose = lambda context, count: answers.pop(0)
    with qtbot.waitSignal(window.controller.sig_nearby_shown, timeout=20_000):
        window.controller.set_incident(incident.lat, incident.lon, "CHI-2026-555001 Shots fired", incident)
    window.actions_by_id[ActionId.OPEN_NEAREST_LIVE].trigger()
    assert "no valid reason" in window.statusBar().currentMessage()
    assert signed.live_view_count() == 0 and audit.query(actions=("view_start",)) == []
    window.actions_by_id[ActionId.OPEN_NEAREST_LIVE].trigger()  # asked again, and this time it opens
    qtbot.waitUntil(lambda: signed.live_view_count() == 2, timeout=20_000)
    assert not answers
    # ... and the reason can be changed from the Incident menu for the next opens
    signed.feeds.ask_purpose = lambda context, count: Purpose("vehicle description update", incident=incident)
    window.actions_by_id[ActionId.CHANGE_REASON].trigger()
    assert signed.feeds.purpose(1).reason == "vehicle description update"
    signed.close()


def test_quitting_with_live_views_open_asks_first(qtbot, registry, sign_in):
    _, _, incident = registry
    signed = sign_in("disp9", Role.DISPATCHER)
    window, audit = signed.window, signed.services.audit
    _open_two_feeds(qtbot, signed, incident)

    for key in (Qt.Key.Key_Escape, Qt.Key.Key_Return):  # Escape and Enter both keep the views
        seen = _answer_next_box(qtbot, key)
        window.activateWindow()  # back from the last message box
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
        qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
        assert seen == ["2 live views are open. Quit and end them? Each end is recorded in the audit trail."]
        assert window.isVisible() and signed.live_view_count() == 2
    assert audit.query(actions=("view_end",)) == []

    _when_message_box(lambda box: next(b for b in box.buttons() if b.text() == "Quit and end views").click())
    window.actions_by_id[ActionId.QUIT].trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    signed.close()
    assert len(audit.query(actions=("view_end",))) == 2


def test_lock_now_is_one_keystroke_and_one_audit_event(qtbot, registry, sign_in):
    signed = sign_in("disp10", Role.DISPATCHER)
    window, audit = signed.window, signed.services.audit
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: signed.lock_screen is not None and signed.lock_screen.isVisible(), timeout=10_000)
    assert not window.isVisible()
    qtbot.waitUntil(lambda: len(audit.query(actions=("idle_lock",))) >= 1, timeout=10_000)
    signed.lock_screen.close()
    signed.close()


def test_enter_or_a_double_click_in_the_nearby_list_opens_the_feed(qtbot, registry, sign_in):
    _, ids, incident = registry
    signed = sign_in("disp11", Role.DISPATCHER)
    window = _on_incident(qtbot, signed, incident)
    table, model = window.nearby_panel.table, window.nearby_panel.model
    row_of = {model.rows[r].camera.id: r for r in range(model.rowCount())}

    window.activateWindow()
    table.setFocus()
    window.nearby_panel.select_camera(ids["door"])
    qtbot.waitUntil(lambda: window.controller.live_now_selected() == ids["door"], timeout=10_000)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: signed.live_view_count() == 1, timeout=20_000)

    def double_click(camera_id):  # press, release, then the second press a double-click is
        centre = table.visualRect(model.index(row_of[camera_id], 0)).center()
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=centre)

    double_click(ids["yard"])  # at once, before the camera panel has loaded the row: the yard opens, not the door
    qtbot.waitUntil(lambda: signed.live_view_count() == 2, timeout=20_000)
    assert sorted(t.view.camera_id for t in signed.wall.tiles if t.view) == sorted([ids["door"], ids["yard"]])

    double_click(ids["porch"])  # registered only: nothing opens, and it says why
    qtbot.waitUntil(lambda: "live now" in window.statusBar().currentMessage(), timeout=10_000)
    assert signed.live_view_count() == 2
    signed.close()


def test_an_owner_alert_names_the_place_and_opens_from_the_bar(qtbot, registry, sign_in):
    from datetime import timedelta

    from console.domain.changes import ChangeKind
    from console.domain.grants import GrantSource, ShareGrant
    from console.store import changes as feed
    from console.store import registry as repo

    _, ids, incident = registry
    signed = sign_in("disp12", Role.DISPATCHER)
    window = _on_incident(qtbot, signed, incident, "owner pressed the panic button")
    now = datetime.now(timezone.utc)
    with signed.services.registry.database.engine.begin() as conn:
        grant = repo.add_grant(conn, ShareGrant(None, ids["yard"], None, now, now + timedelta(minutes=30),
                                                GrantSource.PANIC_BUTTON), created_by="owner")
        feed.record_change(conn, ChangeKind.GRANT, grant, "portal")
    qtbot.waitUntil(lambda: "OWNER ALERT" in window.notice_label.text(), timeout=15_000)
    text = window.notice_label.text()
    assert "yard" in text and "90 Test St" in text and "90 m E of the incident" in text, text
    assert re.search(r"until \d\d:\d\d [A-Z+\-0-9]{2,6}$", text), text  # in the agency's zone, with its name
    assert (window.notice_button.text(), window.notice_button2.text()) == ("Show on map", "Open live")
    qtbot.mouseClick(window.notice_button2, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: signed.live_view_count() == 1, timeout=20_000)
    assert [t.view.camera_id for t in signed.wall.tiles if t.view] == [ids["yard"]]
    assert not window.notice_bar.isVisible()
    signed.close()
