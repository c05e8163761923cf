"""The intake dialog, the conflict dialog and the outreach panel driven offscreen on a real SQLite registry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from console.domain.cameras import Capability, SharingMode
from console.domain.intake import CallOutcome, Placement
from console.domain.users import Role, User
from console.geo.geocoder import Geocoder
from console.gui.conflict_dialog import ConflictDialog
from console.gui.intake_dialog import CAPABILITY, SHARING, IntakeDialog
from console.gui.panels.outreach import OutreachPanel
from console.services.intake import IntakeService
from console.services.outreach import CallLog, OutreachService
from console.services.registry_edits import ConcurrentEdit, RegistryEditService
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.models import CameraRow, OwnerRow
from console.store.secrets import ContactCipher, load_contact_key
from tests.geo.nominatim_server import NominatimServer, place

pytestmark = pytest.mark.gui
NOW = datetime.now(timezone.utc)
STAFF = User(None, "jlee", "J. Lee", Role.OUTREACH, NOW - timedelta(days=3))
SHOP_POINT = (42.148700, -72.607900)


@pytest.fixture
def services(sqlite_url):
    database = open_database(sqlite_url, create=True)
    audit, cipher = AuditLog(database), ContactCipher(load_contact_key())
    yield {"database": database, "intake": IntakeService(database, audit, cipher, "outreach-desk"),
           "outreach": OutreachService(database, audit, cipher, "outreach-desk"),
           "edits": RegistryEditService(database, audit, cipher, "outreach-desk")}
    database.close()


def count(database, model) -> int:
    with database.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()


def fill(dialog: IntakeDialog, qtbot, *, phone="413-555-0182", agreed=True) -> None:
    dialog.organisation.setText("Patel Grocery")
    dialog.owner_name.setText("Dev Patel")
    qtbot.keyClicks(dialog.phone, phone)
    dialog.site_name.setText("Patel Grocery")
    dialog.address.setText("77 Center St, Chicopee")
    dialog.lat.setValue(SHOP_POINT[0])
    dialog.lon.setValue(SHOP_POINT[1])
    dialog.camera_table.add_camera("Front door", "180", "90", "25")
    dialog.camera_table.add_camera("Parking lot", "270", "100", "40", Placement.OUTSIDE, Capability.LIVE,
                                   SharingMode.ON_ALERT, "rtsp://shop:pw@192.0.2.10:554/stream1")
    dialog.camera_table.add_camera("Till", "", "", "", Placement.INSIDE)
    dialog.agreed.setChecked(agreed)


def make_dialog(qtbot, services, geocoder=None) -> IntakeDialog:
    dialog = IntakeDialog(services["intake"], STAFF, geocoder)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_a_call_registered_then_the_same_shop_is_offered_for_merge(qtbot, services):
    dialog = make_dialog(qtbot, services)
    fill(dialog, qtbot)
    with qtbot.waitSignal(dialog.sig_registered, timeout=20_000, raising=False) as saved:
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved.signal_triggered, dialog.message.text()
    first = saved.args[0]
    assert len(first.camera_ids) == 3 and count(services["database"], OwnerRow) == 1

    again = make_dialog(qtbot, services)
    fill(again, qtbot, phone="+1 (413) 555 0182")
    qtbot.mouseClick(again.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: again.dup_box.isVisible(), timeout=20_000)
    texts = [again.dup_list.item(i).text() for i in range(again.dup_list.count())]
    assert any(f"Owner #{first.owner_id}" in t and "same phone" in t for t in texts)
    assert any(f"Site #{first.site_id}" in t and "same address" in t for t in texts)
    assert count(services["database"], OwnerRow) == 1  # nothing saved while the staffer decides
    again.dup_list.setCurrentRow(texts.index(next(t for t in texts if t.startswith("Site"))))
    again.camera_table.setRowCount(0)
    again.camera_table.add_camera("Loading dock", "0")
    with qtbot.waitSignal(again.sig_registered, timeout=20_000) as merged:
        qtbot.mouseClick(again.merge_button, Qt.MouseButton.LeftButton)
    assert (merged.args[0].owner_id, merged.args[0].site_id) == (first.owner_id, first.site_id)
    assert count(services["database"], OwnerRow) == 1 and count(services["database"], CameraRow) == 4


def test_bad_input_is_one_line_and_nothing_is_saved(qtbot, services):
    dialog = make_dialog(qtbot, services)
    fill(dialog, qtbot, agreed=False)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "has not agreed" in dialog.message.text()
    dialog.agreed.setChecked(True)
    dialog.camera_table.item(0, 1).setText("north")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "camera 1: Direction ° must be a number" in dialog.message.text()
    assert count(services["database"], OwnerRow) == 0 and dialog.isVisible()


def test_registered_only_rows_cannot_share(qtbot, services):
    dialog = make_dialog(qtbot, services)
    row = dialog.camera_table.add_camera("Porch", capability=Capability.LIVE, sharing=SharingMode.ALWAYS)
    capability = dialog.camera_table.cellWidget(row, CAPABILITY)
    sharing = dialog.camera_table.cellWidget(row, SHARING)
    capability.select(Capability.REGISTERED)
    assert sharing.choice() is SharingMode.NEVER and not sharing.isEnabled()


def test_look_up_places_the_site(qtbot, services):
    places = {"77 Center St, Chicopee": [place("77, Center Street, Chicopee, MA", *SHOP_POINT)]}
    with NominatimServer(places) as server:
        geocoder = Geocoder("nominatim", server.url, "rtic-console tests", min_interval_s=0.0)
        dialog = make_dialog(qtbot, services, geocoder)
        dialog.address.setText("77 Center St, Chicopee")
        qtbot.mouseClick(dialog.lookup_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.place_note.text().startswith("Found"), timeout=20_000)
    assert (round(dialog.lat.value(), 6), round(dialog.lon.value(), 6)) == SHOP_POINT


def test_conflict_dialog_shows_both_and_overwrites(qtbot, services):
    intake, edits = services["intake"], services["edits"]
    dialog = make_dialog(qtbot, services)
    fill(dialog, qtbot)
    with qtbot.waitSignal(dialog.sig_registered, timeout=20_000) as saved:
        dialog.check_and_save()
    camera_id = saved.args[0].camera_ids[1]
    seen = edits.camera_for_edit(camera_id).version
    edits.edit_camera(STAFF, camera_id, seen, {"sharing_mode": "always"})  # another console saves first
    with pytest.raises(ConcurrentEdit) as refused:
        edits.edit_camera(STAFF, camera_id, seen, {"sharing_mode": "never", "label": "Lot"})
    conflict = ConflictDialog(refused.value, lambda version, values: edits.edit_camera(STAFF, camera_id, version, values))
    qtbot.addWidget(conflict)
    conflict.show()
    rows = {conflict.table.item(r, 0).text(): (conflict.table.item(r, 1).text(), conflict.table.item(r, 2).text())
            for r in range(conflict.table.rowCount())}
    assert rows["Sharing"] == ("never", "always") and rows["Label"] == ("Lot", "Parking lot")
    with qtbot.waitSignal(conflict.sig_overwritten, timeout=20_000):
        qtbot.mouseClick(conflict.overwrite_button, Qt.MouseButton.LeftButton)
    stored = edits.camera_for_edit(camera_id)
    assert (stored.values["sharing_mode"], stored.values["label"], stored.version) == ("never", "Lot", seen + 2)
    assert intake  # the service the dialog was built with is the one that saved


def test_outreach_panel_lists_who_to_call_and_logs_a_call(qtbot, services):
    outreach = services["outreach"]
    outreach.log_call(STAFF, CallLog("Silent Bar", "5 Main St", "413-555-0103", NOW - timedelta(days=9),
                                     CallOutcome.NO_ANSWER))
    panel = OutreachPanel(outreach, STAFF)
    qtbot.addWidget(panel)
    panel.show()
    panel.refresh()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=20_000)
    assert panel.table.item(0, 1).text() == "Silent Bar"
    panel.table.selectRow(0)
    assert panel.business.text() == "Silent Bar"
    qtbot.mouseClick(panel.show_number, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.phone.text() == "413-555-0103", timeout=20_000)
    panel.outcome.setCurrentIndex(panel.outcomes.index(CallOutcome.DECLINED))
    with qtbot.waitSignal(panel.sig_logged, timeout=20_000):
        qtbot.mouseClick(panel.log_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 0, timeout=20_000)
    assert panel.message.text() in ("Nobody is due a call.", "Call logged.")
