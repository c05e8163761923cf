"""A picture of the phone intake form as an outreach staffer sees it mid-call (dark theme): the consent wording to
read, three cameras, and the duplicate warning for a shop that is already registered."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from console.domain.cameras import Capability, SharingMode
from console.domain.intake import PHONE_CONSENT_WORDING, IntakeCamera, IntakeForm, Placement
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role, User
from console.gui.intake_dialog import IntakeDialog
from console.gui.theme import apply_theme
from console.paths import resources_dir
from console.services.intake import IntakeService
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.secrets import ContactCipher, load_contact_key

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output"
STAFF = User(None, "jlee", "Jordan Lee", Role.OUTREACH, datetime.now(timezone.utc) - timedelta(days=3))


@pytest.fixture
def dark(qapp):
    before = qapp.styleSheet()
    apply_theme(qapp, resources_dir(), "dark")
    yield
    qapp.setStyleSheet(before)


def test_intake_form_picture(qtbot, sqlite_url, dark):
    database = open_database(sqlite_url, create=True)
    try:
        intake = IntakeService(database, AuditLog(database), ContactCipher(load_contact_key()), "outreach-desk")
        existing = IntakeForm(OwnerKind.BUSINESS, OwnerContact("Dev Patel", "Patel Grocery", "413-555-0182"),
                              "Patel Grocery", "77 Center St, Chicopee", 42.1487, -72.6079,
                              (IntakeCamera("Front door", 42.1487, -72.6079),), True)
        intake.register(STAFF, existing)
        dialog = IntakeDialog(intake, STAFF, started_at=datetime(2026, 11, 24, 14, 5, tzinfo=timezone.utc))
        qtbot.addWidget(dialog)
        dialog.organisation.setText("Patel Grocery & Deli")
        dialog.owner_name.setText("Devinder Patel")
        dialog.phone.setText("(413) 555-0182")
        dialog.email.setText("orders@pateldeli.example")
        dialog.site_name.setText("Patel Grocery & Deli")
        dialog.address.setText("77 Center Street, Chicopee, MA 01013")
        dialog.lat.setValue(42.148730)
        dialog.lon.setValue(-72.607950)
        dialog.place_note.setText("Found: 77, Center Street, Chicopee, MA 01013")
        dialog.camera_table.add_camera("Front door", "180", "90", "25")
        dialog.camera_table.add_camera("Parking lot", "270", "100", "40", Placement.OUTSIDE, Capability.LIVE,
                                       SharingMode.ON_ALERT, "rtsp://192.0.2.10:554/stream1")
        dialog.camera_table.add_camera("Till", "", "60", "8", Placement.INSIDE)
        dialog.agreed.setChecked(True)
        dialog.resize(1100, 860)
        dialog.show()
        qtbot.waitExposed(dialog)
        dialog.show_duplicates(intake.duplicates(dialog.form()))
        QApplication.processEvents()

        assert dialog.dup_box.isVisible() and "already be registered" in dialog.dup_warning.text()
        assert dialog.dup_list.count() == 2  # the owner (same phone) and the site (same address)
        assert dialog.wording.toPlainText() == PHONE_CONSENT_WORDING and dialog.wording.isReadOnly()
        assert "Jordan Lee" in dialog.taken.text() and "2026-11-24" in dialog.taken.text()

        OUTPUT.mkdir(exist_ok=True)
        out = OUTPUT / "intake-form.png"
        assert dialog.grab().save(str(out))
        image = QImage(str(out))
        assert (image.width(), image.height()) == (1100, 860)
        assert image.pixelColor(4, 430).lightness() < 80  # dark theme: a dark window edge
        shutil.copyfile(out, ROOT / "resources" / "screenshots" / "intake-form.png")
    finally:
        database.close()
