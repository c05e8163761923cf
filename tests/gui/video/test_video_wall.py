"""The video wall offscreen with real RTSP and WHEP streams: painting, expiry, closing, drops, layouts, snapshots."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from datetime import timedelta

import pytest
from PySide6.QtCore import QByteArray, QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage

from console.gui.video.snapshot import snapshot_tile
from console.gui.video.tile import CAMERA_MIME, EXPIRED_NOTICE, VideoTile
from console.gui.video.wall import VideoWall

pytestmark = pytest.mark.gui
OUTPUT = os.path.join(os.path.dirname(__file__), "..", "..", "output")


@pytest.fixture
def wall(qtbot, factory):
    views = {}
    w = VideoWall(factory, open_camera=views.get)
    w.views = views  # camera id -> LiveView the fake access decision grants
    w.resize(660, 500)
    qtbot.addWidget(w)
    w.show()
    yield w
    assert w.shutdown(15), "players did not stop"


def _grab_tile_pixels(tile):
    return tile.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def test_2x2_wall_paints_live_frames_that_change(qtbot, wall, rtsp_server, whep_server, make_view):
    ended = []
    wall.sig_view_ended.connect(lambda sid, how, summary: ended.append((sid, how)))
    urls = [rtsp_server.url("cam"), whep_server.url("h264"), rtsp_server.url("cam"), whep_server.url("vp8")]
    for i, (tile, url) in enumerate(zip(wall.visible_tiles(), urls)):
        wall.show_view(tile, make_view(i + 1, url))
    tiles = wall.visible_tiles()
    assert len(tiles) == 4
    qtbot.waitUntil(lambda: all(t.painted >= 5 and t.state == "live" for t in tiles), timeout=15000)
    before = [_grab_tile_pixels(t) for t in tiles]
    first_index = [t.last_painted_index for t in tiles]
    qtbot.waitUntil(lambda: all(t.last_painted_index >= i + 10 for t, i in zip(tiles, first_index)), timeout=10000)
    after = [_grab_tile_pixels(t) for t in tiles]
    assert all(a != b for a, b in zip(after, before)), "a tile's picture did not change"
    assert {t.player.backend for t in tiles} == {"ffmpeg", "webrtc"}
    os.makedirs(OUTPUT, exist_ok=True)
    assert wall.grab().save(os.path.join(OUTPUT, "video_wall.png"))
    wall.close_all()
    assert sorted(ended) == [("s1", "closed"), ("s2", "closed"), ("s3", "closed"), ("s4", "closed")]


def test_expiry_stops_the_feed_with_a_notice(qtbot, wall, rtsp_server, make_view):
    ended = []
    tile = wall.visible_tiles()[0]
    tile.open_view(make_view(7, rtsp_server.url("cam"), seconds=2), on_ended=lambda s, h, _summary: ended.append((s, h)))
    qtbot.waitUntil(lambda: tile.painted >= 1, timeout=10000)
    qtbot.waitUntil(lambda: ended == [("s7", "expired")], timeout=5000)
    assert tile.player is None and tile.view is None and tile.notice == EXPIRED_NOTICE


def test_maximise_plays_main_stream_and_hidden_tiles_stop(qtbot, wall, rtsp_server, make_view):
    a, b = wall.visible_tiles()[:2]
    wall.show_view(a, make_view(1, rtsp_server.url("stamp"), sub_url=rtsp_server.url("cam")))
    wall.show_view(b, make_view(2, rtsp_server.url("cam")))
    qtbot.waitUntil(lambda: a.painted >= 1 and b.painted >= 1, timeout=10000)
    assert a.player.source.url.endswith("/cam")  # small tile: the sub-stream
    a.sig_double_clicked.emit()
    assert wall.maximised is a and a.player.source.url.endswith("/stamp")
    assert b.isHidden() and b.player is None  # a hidden tile decodes nothing
    a.sig_double_clicked.emit()
    assert wall.maximised is None and a.player.source.url.endswith("/cam")
    qtbot.waitUntil(lambda: b.player is not None and b.state == "live", timeout=10000)


def test_drop_a_camera_and_recall_a_saved_layout(qtbot, wall, rtsp_server, make_view):
    wall.views[42] = make_view(42, rtsp_server.url("cam"))
    tile = wall.visible_tiles()[3]
    mime = QMimeData()
    mime.setData(CAMERA_MIME, QByteArray(b"42"))
    assert tile.accepts(mime) and not tile.accepts(QMimeData())
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    tile.dropEvent(drop)  # Qt only routes a Drop after a real drag; the handler is what is under test
    assert drop.isAccepted()
    assert tile.view is not None and tile.view.camera_id == 42
    assert wall.save_layout(1) == {"grid": 2, "cameras": [None, None, None, 42]}
    wall.set_grid(3)
    assert tile.view is not None  # still inside the 3x3
    wall.set_grid(1)
    assert tile.view is None
    assert wall.recall_layout(1) and wall.grid_size == 2
    assert wall.visible_tiles()[3].view.camera_id == 42
    assert not wall.recall_layout(9)


def test_refused_access_opens_nothing(wall):
    assert wall.open_in(wall.visible_tiles()[0], 999) is False
    assert wall.visible_tiles()[0].view is None


def test_snapshot_png_with_caption_clipboard_and_sha256(qtbot, wall, rtsp_server, make_view, tmp_path):
    tile = wall.visible_tiles()[0]
    tile.open_view(make_view(5, rtsp_server.url("cam"), label="Elm St 12 driveway"))
    qtbot.waitUntil(lambda: tile.painted >= 2, timeout=10000)
    saved = []
    tile.sig_snapshot_saved.connect(lambda p, h: saved.append((p, h)))
    path, digest = snapshot_tile(tile, tmp_path)
    assert saved == [(str(path), digest)]
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    image = QImage(str(path))
    assert image.width() == 320 and image.height() > 240  # the picture plus the caption band
    band = image.copy(0, 240, 320, image.height() - 240)
    assert len({band.pixel(x, y) for x in range(0, 320, 4) for y in range(band.height())}) > 1  # text is there
    assert not QGuiApplication.clipboard().image().isNull()


def test_detach_tile_to_its_own_window_and_back(qtbot, wall, rtsp_server, make_view):
    tile = wall.visible_tiles()[1]
    wall.show_view(tile, make_view(3, rtsp_server.url("cam")))
    window = wall.detach_tile(tile, screen_index=0)
    assert tile.window() is window and tile.maximised
    qtbot.waitUntil(lambda: tile.painted >= 1, timeout=10000)
    window.close()
    assert tile.window() is wall and tile in wall.visible_tiles() and not tile.isHidden()


def test_tile_alone_shows_drop_hint_without_view(qtbot, factory):
    tile = VideoTile(factory)
    qtbot.addWidget(tile)
    tile.resize(320, 240)
    tile.show()
    assert tile.acceptDrops() and tile.view is None
    image = tile.grab().toImage()
    assert image.width() == 320


def test_tile_menu_snapshot_action_reports_path_and_hash(qtbot, wall, rtsp_server, make_view, tmp_path):
    from console.gui.video.wall import WallActions

    wall.snapshot_folder = tmp_path
    tile = wall.visible_tiles()[2]
    menu = wall.tile_menu(tile)
    assert not menu.findChild(type(menu.actions()[0]), WallActions.SNAPSHOT).isEnabled()  # nothing to take yet
    wall.show_view(tile, make_view(8, rtsp_server.url("cam")))
    qtbot.waitUntil(lambda: tile.painted >= 1, timeout=10000)
    saved = []
    wall.sig_snapshot_saved.connect(lambda session, path, digest: saved.append((session, path, digest)))
    menu = wall.tile_menu(tile)
    action = next(a for a in menu.actions() if a.objectName() == WallActions.SNAPSHOT)
    action.trigger()
    qtbot.waitUntil(lambda: len(saved) == 1, timeout=10_000)
    assert len(saved) == 1 and saved[0][0] == "s8" and os.path.exists(saved[0][1]) and len(saved[0][2]) == 64
    next(a for a in menu.actions() if a.objectName() == WallActions.GRID.format(n=3)).trigger()
    assert wall.grid_size == 3


def test_opening_a_hanging_camera_never_blocks_the_gui(qtbot, wall, make_view):
    """Told by events, not by a stopwatch: the camera accepts and never answers, so its connect attempt can end only
    by the player's 5 s timeout. Had open_view waited for it, the tile would already show the failure."""
    import threading

    from tests.support.rtsp_stream import SilentServer

    silent = SilentServer()
    try:
        tile = wall.visible_tiles()[0]
        tile.open_view(make_view(9, f"rtsp://127.0.0.1:{silent.port}/cam"))
        assert tile.state in ("idle", "connecting")  # returned while the connect is still under way
        assert tile.player is not None and tile.player.state.value in ("idle", "connecting")
        ended = []
        tile.sig_ended.connect(lambda session, how: ended.append(how))
        tile.close_view()
        assert ended == ["closed"] and tile.state == "idle" and tile.view is None  # ended at once, audited
        assert tile.wait_stopped(30)  # the player lets go later, off the GUI thread
        assert not [t for t in threading.enumerate() if t.name == "ffmpeg-player"]
    finally:
        silent.close()


def test_tile_overlay_and_error_sentence_without_secrets(qtbot, wall, rtsp_server, make_view):
    from datetime import datetime, timezone

    from zoneinfo import ZoneInfo

    tile = wall.visible_tiles()[0]
    fixed = datetime(2026, 12, 2, 19, 4, 5, tzinfo=timezone.utc)
    tile.now = lambda: fixed
    wall.set_time_zone(ZoneInfo("America/Chicago"))  # the agency's zone: 13:04:05 CST
    view = make_view(4, rtsp_server.url("cam"), label="Maple Rd 9 garage")
    view = dataclasses.replace(view, expires_at=fixed + timedelta(minutes=10))
    tile.open_view(view)
    qtbot.waitUntil(lambda: tile.state == "live", timeout=10000)
    texts = tile.overlay()
    assert texts["label"] == "Maple Rd 9 garage" and texts["state"] == "live" and texts["time"] == "13:04:05 CST"
    left = int(view.remaining_seconds(fixed))
    assert texts["left"] == f"{left // 60:02d}:{left % 60:02d} left"
    other = wall.visible_tiles()[1]
    other.open_view(make_view(6, rtsp_server.url("missing-mount").replace("rtsp://", "rtsp://cam:pw-42@")))
    qtbot.waitUntil(lambda: other.state == "no picture", timeout=10000)  # a final error before any picture
    assert "stream path" in other.overlay()["notice"] and "pw-42" not in other.overlay()["notice"]


def test_the_whole_wall_moves_to_its_own_window(qtbot, factory):
    from PySide6.QtWidgets import QMainWindow

    host = QMainWindow()
    qtbot.addWidget(host)
    wall = VideoWall(factory)
    host.setCentralWidget(wall)
    host.show()
    assert not wall.isWindow()
    wall.setParent(None)  # the host gives it up, as the main window's "own window" action does
    wall.detach_wall(screen_index=0)
    qtbot.addWidget(wall)
    assert wall.isWindow() and wall.isVisible() and len(wall.visible_tiles()) == 4
    assert wall.shutdown(5)


def test_a_snapshot_is_taken_at_the_streams_own_resolution_with_the_whole_caption(qtbot, wall, make_view, tmp_path):
    """A 1280x720 camera on a 2x2 tile (about 330x250) decodes scaled to the tile; its snapshot is 1280 wide."""
    from PySide6.QtGui import QImage

    from tests.support.rtsp_stream import RtspServer

    server = RtspServer("--size", "1280x720").start()
    try:
        wall.snapshot_folder = tmp_path
        tile = wall.visible_tiles()[1]
        wall.show_view(tile, make_view(11, server.url("cam")))
        qtbot.waitUntil(lambda: tile.painted >= 2, timeout=15_000)
        assert tile.current_image().width() < 400  # the tile is fed frames at its own size
        saved = []
        wall.sig_snapshot_saved.connect(lambda session, path, digest: saved.append(path))
        wall.snapshot(tile)
        qtbot.waitUntil(lambda: len(saved) == 1, timeout=10_000)
        image = QImage(saved[0])
        assert image.width() == 1280 and image.height() > 720 + 20  # the picture, and the caption band under it
        qtbot.waitUntil(lambda: tile.current_image().width() < 400, timeout=10_000)  # back to the tile's size
    finally:
        wall.close_all()
        server.stop()


def test_the_caption_wraps_so_every_part_is_readable_on_a_narrow_picture():
    from PySide6.QtGui import QColor, QImage

    from console.gui.video.snapshot import burn_caption, caption_for
    from datetime import datetime, timezone

    caption = caption_for("Front door of the corner store", "dispatcher.jones", "CHI-26-004512 Burglary in progress",
                          datetime(2026, 12, 2, 14, 30, tzinfo=timezone.utc))
    narrow, wide = QImage(212, 120, QImage.Format.Format_RGB32), QImage(1920, 1080, QImage.Format.Format_RGB32)
    for image in (narrow, wide):
        image.fill(QColor("gray"))
    narrow_out, wide_out = burn_caption(narrow, caption), burn_caption(wide, caption)
    assert narrow_out.width() == 212 and wide_out.width() == 1920
    narrow_band, wide_band = narrow_out.height() - 120, wide_out.height() - 1080
    assert narrow_band > 3 * 14  # four or more lines of at least 14 px text: nothing cut at the edge

    def lit_columns(image, top):  # columns with white caption text in them
        return {x for x in range(image.width()) for y in range(top, image.height(), 2)
                if image.pixelColor(x, y).lightness() > 200}
    assert max(lit_columns(narrow_out, 120)) < 212 - 3  # the text stops before the right edge
    assert max(lit_columns(wide_out, 1080)) < 1920 - 3 and wide_band < narrow_band
