"""The footage request dialog with a worked request (dark theme), driven through real input by the README pictures'
driver (tests/support/pictures.py): the detective picks the shop's request and records the call that got the files.
The picture goes to tests/output/ only: `installer/dev.sh pictures` writes the README's copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pictures import footage_picture

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"


def test_footage_request_screenshot(qtbot, sqlite_url, tmp_path):
    OUTPUT.mkdir(exist_ok=True)
    out = OUTPUT / "footage-request.png"
    image, dialog = footage_picture(out, sqlite_url, tmp_path)

    # What a reviewer checks: the worked request is on screen with its calls and hashed files, on a dark page.
    assert dialog.attempts.rowCount() == 2 and dialog.files.rowCount() == 2
    assert {dialog.attempts.item(r, 3).text() for r in range(2)} == {"Agreed", "No answer"}
    assert "Manager will export the DVR" in " ".join(dialog.attempts.item(r, 4).text() for r in range(2))
    assert dialog.note.text() == ""  # recorded, so the note field is free for the next call
    assert dialog.status.text().startswith("Attempt recorded: request #")
    assert "Files received" in dialog.detail_title.text()
    assert len(dialog.files.item(0, 2).text()) == 64
    assert image.pixelColor(image.width() - 8, image.height() // 2).lightness() < 80
    assert image.width() >= 1200 and out.stat().st_size > 20_000
