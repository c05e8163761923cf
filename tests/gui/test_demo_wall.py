"""The demo plays in the real window: on the demo registry, with the demo gateway's resolve hook in the console's
player factory, a WHEP demo camera and an RTSP demo camera (served as HLS to libVLC) paint frames on the wall through
the whole viewing path (decision, reason, VIEW_START), and the training site's broken cameras say why."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from console.domain.access import Purpose
from console.domain.audit import Outcome
from console.domain.users import Role
from tests.gui.conftest import signed_in

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"


@pytest.fixture
def demo(sqlite_url):
    """The demo registry (a first start's, smaller: 600 cameras) with its training site, and its gateway running."""
    from console.services.demo import generate_demo
    from console.services.demo_gateway import DemoGatewayService
    from console.services.demo_training import add_training_site
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key

    database = open_database(sqlite_url, create=True)
    cipher = ContactCipher(load_contact_key())
    generate_demo(database, cipher, cameras=600, seed=3)
    training = add_training_site(database, cipher, datetime.now(timezone.utc))
    service = DemoGatewayService.from_registry(database, cipher).start()
    yield database, service, training
    service.stop()
    database.close()


def _always_camera(database, like: str) -> int:
    with database.engine.connect() as conn:
        return conn.execute(text(
            "SELECT c.id FROM cameras c JOIN streams s ON s.camera_id = c.id WHERE c.sharing_mode = 'always' "
            "AND c.status = 'active' AND s.url LIKE :like ORDER BY c.id LIMIT 1"), {"like": like}).scalar_one()


def test_demo_feeds_play_on_the_wall_and_the_training_cameras_say_why(qtbot, sqlite_url, demo, make_console,
                                                                     tmp_path):
    from console.video.factory import PlayerFactory

    database, service, training = demo
    players = PlayerFactory(resolve=service.resolve)
    console = make_console(sqlite_url, size=(1920, 1080))
    signed = signed_in(console, "disp1", Role.DISPATCHER, tmp_path, players)
    try:
        signed.feeds.ask_purpose = lambda context, count: Purpose("training: what the demo cameras show",
                                                                 cad_number="CHI-2026-000001")
        whep = _always_camera(database, "https://gw-%/whep/%")
        rtsp = _always_camera(database, "rtsp://gw-%/main")
        cameras = [whep, rtsp, training["wrong-password"], training["offline"]]
        signed.feeds.open_feeds(cameras)
        tiles = lambda: {t.view.camera_id: t for t in signed.wall.visible_tiles() if t.view is not None}  # noqa: E731
        qtbot.waitUntil(lambda: {whep, rtsp} <= set(tiles()), timeout=30_000)
        playing = tiles()
        qtbot.waitUntil(lambda: all(playing[c].state == "live" and playing[c].painted >= 10 for c in (whep, rtsp)),
                        timeout=40_000)
        assert playing[whep].player.backend == "webrtc" and playing[rtsp].player.backend == "vlc"
        for camera in (whep, rtsp):  # a street scene, not a blank or single-colour tile
            picture = playing[camera].grab().toImage()
            pixels = np.array([[picture.pixelColor(x, y).value() for x in range(0, picture.width(), 7)]
                               for y in range(0, picture.height(), 7)])
            assert pixels.std() > 20, f"tile of camera {camera} looks blank"
        qtbot.waitUntil(lambda: len([t for t in signed.wall.tiles if t.failed is not None]) == 2, timeout=60_000)
        notices = " ".join(t.overlay()["notice"] for t in signed.wall.tiles if t.failed is not None)
        assert "password" in notices and "cannot be reached" in notices, notices
        OUTPUT.mkdir(exist_ok=True)
        qtbot.wait(300)  # let the newest frames paint before the grab
        assert console.window.grab().save(str(OUTPUT / "demo-wall.png"))
        assert signed.wall.grab().save(str(OUTPUT / "demo-wall-tiles.png"))
    finally:
        signed.close()
        players.close()
    audit = signed.services.audit
    started = {e.details["session_id"]: e for e in audit.query(actions=("view_start",))}
    ended = {e.details["session_id"]: e for e in audit.query(actions=("view_end",))}
    assert set(started) == set(ended), "every view start has its one end"
    never = {e.camera_id for e in ended.values() if e.outcome == Outcome.FAILED}
    assert never == {training["wrong-password"], training["offline"]}
    assert all(e.details["end_reason"] == "no_picture" and e.details["frames_shown"] == 0
               for e in ended.values() if e.camera_id in never)
    assert all(e.outcome == Outcome.OK and e.details["frames_shown"] > 0
               for e in ended.values() if e.camera_id in (whep, rtsp))
