"""The wall fits the work: at 1920x1080 opening feeds gives the wall half the window, the layout follows the number of
open feeds, one key switches the emphasis, and a snapshot carries its whole caption (pictures in tests/output/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from console.domain.users import Role
from console.gui.main_window import ActionId
from tests.gui.test_shift import _on_incident
from tests.support.pictures import settle

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"


def _signed_in_at_full_hd(qtbot, sign_in, username):
    signed = sign_in(username, Role.DISPATCHER)
    signed.window.resize(1920, 1080)
    qtbot.waitUntil(lambda: signed.window.width() == 1920, timeout=5_000)
    return signed


def test_feeds_get_half_the_window_and_the_layout_follows_them(qtbot, registry, sign_in, tmp_path):
    _, ids, incident = registry
    signed = _signed_in_at_full_hd(qtbot, sign_in, "disp20")
    window, wall = signed.window, signed.wall
    assert wall.shape == (1, 1) and signed.video_dock.height() < 1080 // 3  # nothing open: the map comes first
    window = _on_incident(qtbot, signed, incident)

    window.sig_open_feed.emit(ids["door"])  # one feed: it fills the wall
    qtbot.waitUntil(lambda: signed.live_view_count() == 1, timeout=20_000)
    assert wall.shape == (1, 1) and wall.visible_tiles()[0].maximised
    qtbot.waitUntil(lambda: signed.video_dock.height() >= 1080 // 2, timeout=5_000)
    tile = wall.visible_tiles()[0]
    assert window.nearby_panel.table.viewport().height() > 400  # the lists keep their height
    assert tile.width() > 1300 and tile.height() > 500

    window.sig_open_feed.emit(ids["yard"])  # two: side by side
    qtbot.waitUntil(lambda: signed.live_view_count() == 2, timeout=20_000)
    assert wall.shape == (1, 2)
    left, right = wall.visible_tiles()
    qtbot.waitUntil(lambda: left.painted > 0 and right.painted > 0, timeout=20_000)
    assert left.width() > 640 and abs(left.width() - right.width()) < 10 and left.y() == right.y()
    settle(400)
    OUTPUT.mkdir(exist_ok=True)
    assert window.grab().toImage().save(str(OUTPUT / "wall-two-feeds-dark.png"))

    # F9 puts the map first again, and back.
    qtbot.keyClick(window, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: signed.video_dock.height() < 1080 // 3, timeout=5_000)
    window.actions_by_id[ActionId.WALL_EMPHASIS].trigger()
    qtbot.waitUntil(lambda: signed.video_dock.height() >= 1080 // 2, timeout=5_000)

    # A snapshot from a tile: the whole caption (camera, time, user, incident) under the picture.
    signed.wall.snapshot_folder = tmp_path
    saved = []
    signed.wall.sig_snapshot_saved.connect(lambda session, path, digest: saved.append(path))
    signed.wall.snapshot(left)
    qtbot.waitUntil(lambda: len(saved) == 1, timeout=10_000)
    image = QImage(saved[0])
    assert image.width() >= 320 and image.height() > 240
    image.save(str(OUTPUT / "wall-snapshot.png"))

    wall.close_all()  # the last feed ends: the wall is one tile again for the next ones
    qtbot.waitUntil(lambda: wall.shape == (1, 1), timeout=5_000)
    signed.close()


def test_the_wall_goes_to_a_monitor_of_its_own_and_back(qtbot, registry, sign_in):
    from PySide6.QtGui import QGuiApplication

    signed = sign_in("disp21", Role.DISPATCHER)
    window = signed.window
    screen = QGuiApplication.screens()[0].availableGeometry()
    window.actions_by_id[ActionId.WALL_TO_MONITOR.format(n=1)].trigger()
    assert signed.video_dock.isFloating() and signed.video_dock.geometry().size() == screen.size()
    assert signed.video_dock.isVisible()
    window.actions_by_id[ActionId.WALL_IN_WINDOW].trigger()
    assert not signed.video_dock.isFloating()
    signed.close()
