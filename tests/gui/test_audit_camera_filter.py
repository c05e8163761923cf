"""The audit viewer's camera filter takes what an auditor knows: words of the camera's label and address, matched to
ids through the AuditService on the worker thread (issue 15), as well as an id; typed with the keyboard."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from console.domain.audit import Action, AuditEntry, Detail
from console.domain.cameras import Camera, CameraStatus, Capability, SharingMode
from console.domain.owners import OwnerContact, OwnerKind
from console.gui.audit_viewer import AuditViewer
from console.services.audit_checkpoints import CheckpointService
from console.services.audit_reports import AuditService
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key

pytestmark = pytest.mark.gui


@pytest.fixture
def trail(sqlite_url):
    database = open_database(sqlite_url, create=True)
    cipher = ContactCipher(load_contact_key())
    ids = {}
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Shop Owner", phone="413-555-0100"))
        for key, label, address in (("market", "Front door", "12 Front St, Chicopee"),
                                    ("bakery", "Front door", "40 Elm St, Chicopee"),
                                    ("street", "Street view", "7 Main St, Chicopee"),
                                    ("percent", "Till 100%_A", "1 Exchange St, Chicopee")):
            site = repo.add_site(conn, owner, key, address, 42.15, -72.6)
            ids[key] = repo.add_camera(conn, cipher, Camera(None, site, label, 42.15, -72.6, "", Capability.LIVE,
                                                            SharingMode.ALWAYS, CameraStatus.ACTIVE), owner)
    moments = iter(datetime(2026, 11, 20, 14, 0, tzinfo=timezone.utc) + timedelta(seconds=37 * i) for i in range(99))
    log = AuditLog(database, clock=lambda: next(moments))
    for session, key in enumerate(("market", "bakery", "street", "percent", "market"), start=1):
        log.append(AuditEntry(Action.VIEW_START, "dispatcher07", "rtic-ws-03", camera_id=ids[key],
                              details={Detail.SESSION_ID: session, Detail.REASON: "armed robbery"}))
    log.append(AuditEntry(Action.LOGIN, "dispatcher07", "rtic-ws-03"))
    yield AuditService(log), ids
    database.close()


def _search(qtbot, viewer, typed: str) -> list[int]:
    """Clear the camera field, type `typed`, press Enter; the camera ids of the events listed."""
    viewer.camera.setFocus()
    QTest.keyClick(viewer.camera, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(viewer.camera, Qt.Key.Key_Delete)
    QTest.keyClicks(viewer.camera, typed)
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000):
        QTest.keyClick(viewer.camera, Qt.Key.Key_Return)
    return sorted((r.camera_id for r in viewer.model.records), key=lambda i: -1 if i is None else i)


def _refused(qtbot, viewer, typed: str) -> str:
    viewer.camera.setText(typed)
    shown = list(viewer.model.records)
    with qtbot.waitSignal(viewer.sig_failed, timeout=10_000) as failed:
        QTest.keyClick(viewer.camera, Qt.Key.Key_Return)
    assert viewer.model.records == shown  # the table is left as it was
    return failed.args[0]


def test_the_camera_filter_takes_label_and_address_words_or_an_id(qtbot, trail, tmp_path):
    service, ids = trail
    viewer = AuditViewer(service, CheckpointService(service.log), "auditor1", "audit-ws")
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000) as loaded:
        viewer.show()
    assert loaded.args == [6]

    # Two cameras share the label: the label alone gives both; a word of the address picks one.
    assert _search(qtbot, viewer, "front door") == sorted([ids["market"], ids["market"], ids["bakery"]])
    assert _search(qtbot, viewer, "FRONT door  elm") == [ids["bakery"]]
    assert _search(qtbot, viewer, "main st") == [ids["street"]]
    assert _search(qtbot, viewer, str(ids["street"])) == [ids["street"]]  # an id still works
    assert _search(qtbot, viewer, "") == [None, *sorted(ids[k] for k in ("market", "bakery", "street", "percent",
                                                                          "market"))]

    # The same filter goes into an export, with the ids it matched in its header.
    _search(qtbot, viewer, "front door elm")
    target = tmp_path / "elm.csv"
    with qtbot.waitSignal(viewer.sig_exported, timeout=20_000) as exported:
        viewer.export_to(target, "csv")
    assert exported.args[0].events == 1
    assert f'"camera_ids": [{ids["bakery"]}]' in target.read_text()
    rows = [r for r in csv.reader(line for line in target.read_text().splitlines() if not line.startswith("#"))]
    assert len(rows) == 2  # the header and the one event
    viewer.done(0)


@pytest.mark.parametrize("typed, said", [
    ("%x%", "no camera in the registry has '%x%' in its label or address"),      # not a wildcard ("Exchange")
    ("d_or", "no camera in the registry has 'd_or' in its label or address"),    # nor is _ ("door")
    ("door' OR '1'='1", "no camera in the registry has \"door' OR '1'='1\" in its label or address"),
    ("<b>front</b>", "no camera in the registry has '<b>front</b>' in its label or address"),
    ("x" * 300, f"no camera in the registry has {'x' * 40!r} in its label or address"),  # the field keeps 100
])
def test_a_camera_filter_that_matches_nothing_is_said_in_a_sentence(qtbot, trail, typed, said):
    service, _ids = trail
    viewer = AuditViewer(service, CheckpointService(service.log), "auditor1", "audit-ws")
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.sig_loaded, timeout=10_000):
        viewer.show()
    assert _refused(qtbot, viewer, typed) == said
    assert viewer.status.text() == said and viewer.model.rowCount() == 6
    viewer.done(0)


def test_percent_and_underscore_in_a_label_match_themselves(qtbot, trail):
    service, ids = trail
    assert service.cameras_for_text("100%_a") == (ids["percent"],)
    assert service.cameras_for_text("100%") == (ids["percent"],)
