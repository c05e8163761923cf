"""A picture of the footage request dialog with a worked request, in the dark theme, for the README and reviews."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PySide6.QtWidgets import QApplication

from console.domain.footage import ContactChannel, ContactOutcome
from console.gui.footage_dialog import FootageRequestDialog
from console.gui.theme import apply_theme
from console.paths import resources_dir
from tests.gui.footage_data import footage_world

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output"
NOW = datetime(2026, 11, 23, 22, 10, tzinfo=timezone.utc)  # fixed, so the shipped picture changes only when the dialog does


def test_footage_request_screenshot(qtbot, sqlite_url, tmp_path):
    world = footage_world(sqlite_url, tmp_path / "evidence", NOW)
    user, footage = world.user, world.footage
    created = footage.create(user, world.incident.id, NOW - timedelta(minutes=110), NOW - timedelta(minutes=10),
                             NOW, [c.id for c in world.cameras])
    business = max(created.request_ids, key=lambda i: len(footage.get(i).camera_ids))
    steps = [(ContactChannel.PHONE, ContactOutcome.NO_ANSWER, "Store closed, no voicemail", 40),
             (ContactChannel.IN_PERSON, ContactOutcome.AGREED, "Manager will export the DVR, 3 cameras", 25)]
    for channel, outcome, note, minutes_ago in steps:
        version = footage.get(business).version
        footage.record_attempt(user, business, version, channel, outcome, note, NOW - timedelta(minutes=minutes_ago))
    clips = []
    for name in ("storefront 2140-2200.mp4", "register 2140-2200.mp4"):
        clips.append(tmp_path / name)
        clips[-1].write_bytes(name.encode() * 40_000)
    footage.attach_files(user, business, footage.get(business).version, clips, NOW - timedelta(minutes=5))
    other = next(i for i in created.request_ids if i != business)
    footage.record_attempt(user, other, 1, ContactChannel.PHONE, ContactOutcome.LEFT_MESSAGE, "", NOW)

    app = QApplication.instance()
    old_sheet, old_style = app.styleSheet(), app.style().name()
    apply_theme(app, resources_dir(), "dark")
    try:
        dialog = FootageRequestDialog(footage, world.contacts, user, world.incident, world.cameras,
                                      clock=lambda: NOW)
        qtbot.addWidget(dialog)
        dialog.resize(1280, 760)
        dialog.show()
        qtbot.waitUntil(lambda: dialog.request_list.count() == 3 and "Patel" in " ".join(
            o.text(0) for o in dialog.owner_items.values()))
        row = next(i for i, r in enumerate(dialog.requests) if r.id == business)
        dialog.request_list.setCurrentRow(row)
        dialog.status.setText("2 file(s) attached to request, SHA-256 recorded")
        qtbot.wait(50)
        image = dialog.grab().toImage()
        OUTPUT.mkdir(exist_ok=True)
        out = OUTPUT / "footage-request.png"
        assert image.save(str(out))
        shipped = ROOT / "resources" / "screenshots" / "footage-request.png"
        shutil.copyfile(out, shipped)
        # What a reviewer checks: the worked request is on screen with its calls and hashed files, on a dark page.
        assert dialog.attempts.rowCount() == 2 and dialog.files.rowCount() == 2
        assert "Files received" in dialog.detail_title.text()
        assert len(dialog.files.item(0, 2).text()) == 64
        background = image.pixelColor(image.width() - 8, image.height() // 2)
        assert background.lightness() < 80
        assert image.width() >= 1200 and out.stat().st_size > 20_000
        dialog.done(0)
    finally:
        app.setStyleSheet(old_sheet)
        app.setStyle(old_style)
        world.database.close()
