"""The footage request dialog on a real SQLite registry: create per owner, record a call, reveal, attach, export."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import Qt

from console.domain.footage import ContactOutcome, FootageStatus
from console.gui.footage_dialog import FootageRequestDialog
from console.services.evidence import verify_package
from tests.gui.footage_data import footage_world

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)


@pytest.fixture
def world(sqlite_url, tmp_path):
    w = footage_world(sqlite_url, tmp_path / "evidence", NOW)
    yield w
    w.database.close()


@pytest.fixture
def dialog(qtbot, world, tmp_path):
    chosen = {"files": [], "export": None, "reason": "robbery suspect fled past the porch camera"}
    dlg = FootageRequestDialog(world.footage, world.contacts, world.user, world.incident, world.cameras,
                               clock=lambda: NOW, ask_reason=lambda: chosen["reason"],
                               choose_files=lambda: chosen["files"], choose_export=lambda: chosen["export"])
    qtbot.addWidget(dlg)
    dlg.chosen = chosen
    dlg.show()
    qtbot.waitUntil(lambda: "·" in dlg.owner_items[world.cameras[0].owner_id].text(0))  # masked owners loaded
    yield dlg
    dlg.done(0)


def test_cameras_are_grouped_by_masked_owner(dialog, world):
    assert len(dialog.owner_items) == 3
    texts = [item.text(0) for item in dialog.owner_items.values()]
    assert any("Patel Liquors" in t for t in texts)  # a business name is public
    assert not any("Maria" in t or "0142" in t for t in texts)  # the person's name and number stay masked
    assert sorted(item.childCount() for item in dialog.owner_items.values()) == [1, 2, 3]
    start, end = dialog._window()
    assert end - start <= timedelta(hours=2) and end <= NOW
    assert "6 camera(s) of 3 owner(s)" in dialog.selection_label.text()


def test_create_record_reveal_attach_export(qtbot, dialog, world, tmp_path):
    garage_owner = next(o for o in dialog.owner_items.values() if o.childCount() == 1)
    garage_owner.setCheckState(0, Qt.CheckState.Unchecked)
    assert "5 camera(s) of 2 owner(s)" in dialog.selection_label.text()
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.request_list.count() == 2)
    assert "2 footage request(s) created" in dialog.status.text()
    request = dialog.current
    assert request is not None and request.status is FootageStatus.OPEN

    dialog.outcome.setCurrentIndex(dialog.outcome.findData(ContactOutcome.AGREED))
    dialog.note.setText("will export tonight")
    dialog.record_button.click()
    qtbot.waitUntil(lambda: dialog.attempts.rowCount() == 1)
    assert dialog.attempts.item(0, 3).text() == "Agreed"
    assert "Agreed" in dialog.detail_title.text()

    dialog.reveal_button.click()
    qtbot.waitUntil(lambda: "555" in dialog.contact_label.text())

    clip = tmp_path / "storefront.mp4"
    clip.write_bytes(b"frames" * 100_000)
    dialog.chosen["files"] = [str(clip)]
    dialog.attach_button.click()
    qtbot.waitUntil(lambda: dialog.files.rowCount() == 1)
    assert dialog.files.item(0, 2).text() == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert "Files received" in dialog.detail_title.text()

    dialog.chosen["export"] = str(tmp_path / "package.zip")
    assert dialog.export_button.isEnabled()
    dialog.export_button.click()
    qtbot.waitUntil(lambda: "Evidence package written" in dialog.status.text())
    assert verify_package(tmp_path / "package.zip").intact


def test_a_request_changed_elsewhere_is_reloaded_with_a_message(qtbot, dialog, world):
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.request_list.count() == 3)
    shown = dialog.current
    world.footage.record_attempt("os:other-desk", shown.id, shown.version, "phone", "declined", "", NOW)
    dialog.record_button.click()
    qtbot.waitUntil(lambda: "changed by os:other-desk" in dialog.status.text())
    qtbot.waitUntil(lambda: dialog.current is not None and dialog.current.status is FootageStatus.DECLINED)


def test_no_reason_no_contact_and_a_window_too_long_is_refused(qtbot, dialog):
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.request_list.count() == 3)
    dialog.chosen["reason"] = None
    dialog.reveal_button.click()
    assert "no reason given" in dialog.status.text()
    assert "555" not in dialog.contact_label.text()
    end = dialog.window_end.dateTime()
    dialog.window_start.setDateTime(end.addSecs(-3 * 3600))
    dialog.create_button.click()
    qtbot.waitUntil(lambda: "at most 2 h" in dialog.status.text())
    assert dialog.request_list.count() == 3


def test_a_role_without_the_permission_sees_but_cannot_act(qtbot, world):
    from dataclasses import replace

    from console.domain.users import Role

    auditor = replace(world.user, role=Role.AUDITOR)
    world.footage.create(world.user, world.incident.id, NOW - timedelta(hours=1), NOW, NOW,
                         [c.id for c in world.cameras])
    dlg = FootageRequestDialog(world.footage, world.contacts, auditor, world.incident, world.cameras, clock=lambda: NOW)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.request_list.count() == 3)
    assert not dlg.create_button.isEnabled() and not dlg.record_button.isEnabled()
    assert not dlg.attach_button.isEnabled() and "auditor role" in dlg.status.text()
    dlg.done(0)


def test_from_and_to_say_the_agency_zone_and_are_read_back_as_instants(qtbot, world):
    from zoneinfo import ZoneInfo

    from PySide6.QtWidgets import QLabel

    zone = ZoneInfo("America/Los_Angeles")  # not this workstation's zone
    dlg = FootageRequestDialog(world.footage, world.contacts, world.user, world.incident, world.cameras,
                               clock=lambda: NOW, time_zone=zone)
    qtbot.addWidget(dlg)
    dlg.show()
    abbreviation = NOW.astimezone(zone).strftime("%Z")  # PST or PDT
    labels = {w.text() for w in dlg.findChildren(QLabel)}
    assert f"From ({abbreviation})" in labels and f"To ({abbreviation})" in labels
    assert f"times in {abbreviation}" in dlg.window_hint.text()
    start, end = dlg._window()
    assert dlg.window_end.text() == f"{end.astimezone(zone):%Y-%m-%d %H:%M} {abbreviation}"
    assert end.tzinfo is not None and abs(end - NOW) < timedelta(minutes=1)  # the same instant, whatever is shown
    assert start < end
    dlg.done(0)
