"""The phone intake form as an outreach staffer leaves it mid-call (dark theme), driven through real input by the
README pictures' driver (tests/support/pictures.py): typed owner and site, the address looked up, three cameras
typed into the table, consent ticked, and saving stopped by the shop that is already registered. The picture goes to
tests/output/ only: `installer/dev.sh pictures` writes the README's copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.domain.cameras import Capability, SharingMode
from console.domain.intake import PHONE_CONSENT_WORDING, Placement
from tests.support.pictures import intake_picture

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"


def test_intake_form_picture(qtbot, sqlite_url, console_settings):
    OUTPUT.mkdir(exist_ok=True)
    out = OUTPUT / "intake-form.png"
    image, dialog = intake_picture(out, sqlite_url)

    assert dialog.place_note.text().startswith("Found: 77, Center Street, Chicopee")  # the geocoder's answer
    assert "already be registered" in dialog.dup_warning.text()
    assert dialog.dup_list.count() == 2  # the owner (same phone) and the site (same address)
    assert "same phone" in dialog.dup_list.item(0).text()
    form = dialog.form()  # what was typed is what the form holds
    assert (form.contact.name, form.contact.phone, form.address) == (
        "Devinder Patel", "(413) 555-0182", "77 Center Street, Chicopee, MA 01013")
    assert [c.label for c in form.cameras] == ["Front door", "Parking lot", "Till"]
    assert form.cameras[1].stream_url == "rtsp://192.0.2.10:554/stream1" and form.owner_agreed
    assert form.cameras[1].capability is Capability.LIVE and form.cameras[1].sharing_mode is SharingMode.ON_ALERT
    assert form.cameras[2].placement is Placement.INSIDE
    assert dialog.wording.toPlainText() == PHONE_CONSENT_WORDING and dialog.wording.isReadOnly()
    assert "Jordan Lee" in dialog.taken.text() and "2026-11-24" in dialog.taken.text()
    assert (image.width(), image.height()) == (1100, 860)
    assert image.pixelColor(4, 430).lightness() < 80  # dark theme: a dark window edge
    assert out.stat().st_size > 20_000
