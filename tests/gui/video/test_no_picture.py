"""A tile whose camera never shows a picture stops after its first tries, says why, offers Retry, counts nothing down."""

from __future__ import annotations

import os
import socket

import pytest

from console.gui.video.tile import GIVE_UP_AFTER_TRIES, NO_PICTURE
from console.gui.video.wall import VideoWall

pytestmark = pytest.mark.gui
OUTPUT = os.path.join(os.path.dirname(__file__), "..", "..", "output")


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused, as with a camera that is off."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def wall(qtbot, factory):
    views = {}
    w = VideoWall(factory, open_camera=views.get)
    w.views = views  # camera id -> LiveView the stand-in access decision grants (Retry asks it again)
    w.resize(660, 500)
    qtbot.addWidget(w)
    w.show()
    yield w
    assert w.shutdown(15), "players did not stop"


def test_unreachable_camera_stops_says_why_offers_retry_and_counts_nothing_down(qtbot, wall, rtsp_server, make_view):
    ended, states = [], []
    wall.sig_view_ended.connect(lambda session, how, summary: ended.append((session, how, summary)))
    tile = wall.visible_tiles()[0]
    tile._bridge.sig_state.connect(lambda state, message: states.append(state))
    wall.views[3] = make_view(3, f"rtsp://127.0.0.1:{closed_port()}/cam", label="Elm St 14 porch")
    assert wall.open_in(tile, 3)
    qtbot.waitUntil(lambda: len(ended) == 1, timeout=60_000)
    [(session, how, summary)] = ended
    assert (session, how) == ("s3", NO_PICTURE)
    assert summary["frames_shown"] == 0 and "cannot be reached" in summary["problem"]
    assert states.count("reconnecting") == GIVE_UP_AFTER_TRIES, "it stops after its first tries, not later"
    assert tile.view is None and tile.player is None and tile.state == "no picture"
    texts = tile.overlay()
    assert texts["label"] == "Elm St 14 porch" and texts["left"] == "", "nothing counts down"
    assert "No picture" in texts["notice"] and "cannot be reached" in texts["notice"] and "Retry" in texts["notice"]
    assert tile.retry.isVisible()
    os.makedirs(OUTPUT, exist_ok=True)
    assert tile.grab().save(os.path.join(OUTPUT, "tile_never_played.png"))

    # Retry asks for a new view (the access decision again); this time the camera answers and plays.
    wall.views[3] = make_view(3, rtsp_server.url("cam"), label="Elm St 14 porch")
    tile.retry.click()
    qtbot.waitUntil(lambda: tile.state == "live" and tile.frames_shown >= 3, timeout=15_000)
    assert not tile.retry.isVisible() and tile.failed is None and tile.overlay()["left"].endswith("left")
    tile.close_view()
    assert ended[-1][1] == "closed" and ended[-1][2]["frames_shown"] >= 3 and ended[-1][2]["problem"] is None


def test_a_final_error_stops_at_once_with_its_reason(qtbot, wall, rtsp_server, make_view):
    ended = []
    tile = wall.visible_tiles()[1]
    tile.open_view(make_view(5, rtsp_server.url("missing-mount")), on_ended=lambda *args: ended.append(args))
    qtbot.waitUntil(lambda: len(ended) == 1, timeout=20_000)
    session, how, summary = ended[0]
    assert how == NO_PICTURE and summary["frames_shown"] == 0 and "stream path" in summary["problem"]
    assert "stream path" in tile.overlay()["notice"] and tile.retry.isVisible()
    tile.close_view()  # "Close feed" on such a tile clears the notice
    assert tile.failed is None and not tile.retry.isVisible() and tile.state == "idle"


def test_a_camera_that_played_and_then_drops_keeps_reconnecting(qtbot, wall, make_view):
    """Only a view that never showed a picture gives up; one that played reconnects as before."""
    from tests.support.rtsp_stream import RtspServer

    server = RtspServer().start()
    try:
        tile = wall.visible_tiles()[2]
        ended = []
        tile.open_view(make_view(6, server.url("cam")), on_ended=lambda *args: ended.append(args))
        qtbot.waitUntil(lambda: tile.state == "live" and tile.frames_shown >= 1, timeout=15_000)
        states = []
        tile._bridge.sig_state.connect(lambda state, message: states.append(state))
    finally:
        server.stop()
    qtbot.waitUntil(lambda: states.count("reconnecting") >= GIVE_UP_AFTER_TRIES, timeout=60_000)
    assert ended == [] and tile.view is not None and tile.failed is None
    tile.close_view()
    assert ended[0][1] == "closed" and ended[0][2]["frames_shown"] >= 1
