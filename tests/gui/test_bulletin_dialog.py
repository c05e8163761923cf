"""The send dialog and the bulletins panel with a real BulletinService on SQLite: a refused send is one sentence
and nothing is sent; hostile text from the database shows as text, never mark-up; marks map to picture pixels."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage

from console.domain.incidents import Incident
from console.domain.users import Role
from console.gui.bulletin_dialog import SendBulletinDialog
from console.gui.bulletin_markup import Mark, MarkupCanvas, burn_marks
from console.gui.panels.bulletins_panel import BulletinsPanel
from console.gui.workers import Tasks
from console.services.accounts import AccountService
from console.services.bulletins import BulletinService
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import open_database
from tests.cli.conftest import CHEAP

pytestmark = pytest.mark.gui
NOW = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)
HOSTILE = '<b>bold</b><img src="http://evil.example/x.png"> <a href="javascript:alert(1)">tap</a>'


@pytest.fixture
def world(sqlite_url):
    database = open_database(sqlite_url, create=True)
    audit = AuditLog(database)
    user = AccountService(database, audit, hasher=CHEAP).add_user("os:test", "disp", Role.DISPATCHER,
                                                                   "a long enough password", NOW - timedelta(days=1))
    with database.engine.begin() as conn:
        incident = repo.get_incident(conn, repo.add_incident(conn, Incident(None, "CAD-7", "robbery", 1, "1 Main St",
                                                                            42.1, -72.6, NOW)))
    yield BulletinService(database, audit, "ws-gui"), user, incident, database
    database.close()


def picture() -> QImage:
    image = QImage(640, 360, QImage.Format.Format_RGB32)
    image.fill(QColor("#202020"))
    return image


def test_a_refused_send_is_one_sentence_and_nothing_is_sent(qtbot, world):
    service, user, incident, _ = world
    tasks = Tasks()
    dialog = SendBulletinDialog(service, lambda: user, incident, tasks, image=picture(), caption="cam | t | u | CAD-7")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.send()
    assert dialog.error.text() == "Give at least one address or group to send to."
    qtbot.keyClicks(dialog.to, "unit12@@pd")
    qtbot.keyClicks(dialog.text, "x")
    qtbot.keyClick(dialog.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Enter sends
    qtbot.waitUntil(lambda: dialog.error.text().startswith("Not sent: "), timeout=10_000)
    assert "not an e-mail address" in dialog.error.text() and dialog.isVisible()
    assert service.list() == []
    tasks.close()


def test_hostile_text_shows_as_text_in_the_panel(qtbot, world):
    service, user, incident, _ = world
    service.send(user, incident.id, HOSTILE, ["a@pd.example.gov"], NOW)
    tasks = Tasks()
    panel = BulletinsPanel(service.list, tasks)
    qtbot.addWidget(panel)
    panel.show_incident(incident.id, "CAD-7")
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=10_000)
    assert panel.detail.textFormat() == Qt.TextFormat.PlainText and panel.detail.text().startswith(HOSTILE)
    assert HOSTILE[:40] in panel.list.item(0).text()
    tasks.close()


def test_marks_land_on_the_same_picture_pixels_and_survive_a_sharper_picture(qtbot):
    canvas = MarkupCanvas(picture())
    qtbot.addWidget(canvas)
    canvas.resize(320, 180)  # shown at half size
    canvas.add(Mark("circle", QPointF(100, 100), QPointF(130, 100)))
    burned = burn_marks(canvas.image, canvas.marks)
    assert burned.pixelColor(130, 100).red() > 200  # on the circle's edge, in picture pixels
    assert burned.pixelColor(100, 100).red() < 60  # not filled
    sharp = QImage(1280, 720, QImage.Format.Format_RGB32)
    sharp.fill(QColor("#202020"))
    canvas.set_image(sharp)
    assert canvas.marks[0].start == QPointF(200, 200)
    assert not canvas.add(Mark("text", QPointF(1, 1), QPointF(1, 1), "   "))  # an empty text mark is no mark
    for _ in range(30):
        canvas.add(Mark("arrow", QPointF(0, 0), QPointF(10, 10)))
    assert len(canvas.marks) == 20  # bounded


def test_addresses_saved_as_a_group_from_the_dialog(qtbot, world, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    service, user, incident, database = world
    tasks = Tasks()
    dialog = SendBulletinDialog(service, lambda: user, incident, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.to, "p21@pd.example.gov, p22@pd.example.gov")
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Patrol sector 2", True))
    dialog.save_group_button.click()
    qtbot.waitUntil(lambda: dialog.group_list.count() == 1, timeout=10_000)
    assert dialog.group_list.item(0).text() == "Patrol sector 2" and dialog.group_list.isVisibleTo(dialog)
    assert service.groups() == {"Patrol sector 2": ["p21@pd.example.gov", "p22@pd.example.gov"]}
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("bad@name", True))  # hostile: refused, said
    dialog.save_group_button.click()
    qtbot.waitUntil(lambda: dialog.error.text().startswith("Group not saved: "), timeout=10_000)
    assert "not a group name" in dialog.error.text()
    tasks.close()


def test_to_is_prefilled_with_the_incidents_cad_units_and_edited_by_keyboard(qtbot, world):
    import json

    from console.domain.eido import parse_eido
    from console.services.cad import CadService
    from tests.services.test_bulletin_units import SAMPLES

    service, user, _, database = world
    eido = parse_eido(json.loads((SAMPLES / "units_burglary.json").read_text(encoding="utf-8")))
    incident_id = CadService(database, service.audit, workstation="ws-gui", clock=lambda: NOW).apply(eido).incident_id
    service.save_group(user, "Unit 2A21", ["lee@pd.example.gov", "diaz@pd.example.gov"], NOW)
    with database.engine.connect() as conn:
        incident = repo.get_incident(conn, incident_id)
    tasks = Tasks()
    dialog = SendBulletinDialog(service, lambda: user, incident, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.load_units()
    qtbot.waitUntil(lambda: dialog.to.text() == "Unit 2A21", timeout=10_000)
    assert dialog.units_hint.isVisible() and dialog.units_hint.textFormat() == Qt.TextFormat.PlainText
    assert "without a recipient group" in dialog.units_hint.text()
    assert "Unit 2A22, K9-4" in dialog.units_hint.text()
    dialog.to.setFocus()
    qtbot.keyClick(dialog.to, Qt.Key.Key_End)
    qtbot.keyClicks(dialog.to, ", k9@pd.example.gov")  # the dispatcher adds the unit without a group by hand
    qtbot.keyClick(dialog.to, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.text, "Suspect north on Elm")
    with qtbot.waitSignal(dialog.sig_sent, timeout=10_000) as sent:
        qtbot.keyClick(dialog.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    stored = service.get(sent.args[0].bulletin_id)
    assert {(r.address, r.group_name) for r in stored.recipients} == {
        ("lee@pd.example.gov", "Unit 2A21"), ("diaz@pd.example.gov", "Unit 2A21"), ("k9@pd.example.gov", None)}
    tasks.close()


def test_typed_to_is_not_overwritten_by_units_loaded_later(qtbot, world):
    service, user, incident, _ = world
    tasks = Tasks()
    dialog = SendBulletinDialog(service, lambda: user, incident, tasks)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.to, "sgt@pd.example.gov")
    dialog.set_units(["Unit 2A21"], ["<b>K9</b>"])
    assert dialog.to.text() == "sgt@pd.example.gov"
    assert "not added" in dialog.units_hint.text() and "<b>K9</b>" in dialog.units_hint.text()
    tasks.close()
