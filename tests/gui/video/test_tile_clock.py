"""Tile clocks tick, also on a tile with no feed, and read the agency's time zone with its abbreviation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from console.gui.video.wall import VideoWall

pytestmark = pytest.mark.gui
WINTER = datetime(2026, 12, 2, 19, 4, 5, tzinfo=timezone.utc)


def test_an_idle_tile_clock_ticks_in_the_agency_zone(qtbot, factory):
    wall = VideoWall(factory, time_zone=ZoneInfo("America/New_York"))
    qtbot.addWidget(wall)
    wall.resize(400, 300)
    wall.show()
    tile = wall.visible_tiles()[0]
    moments = [WINTER]
    tile.now = lambda: moments[-1]
    painted = lambda text: tile._overlay_key is not None and text in tile._overlay_key[0]  # noqa: E731
    qtbot.waitUntil(lambda: painted("14:04:05 EST"), timeout=5_000)
    assert tile.view is None and tile.overlay()["label"] == "Drop a camera here"
    moments.append(WINTER + timedelta(seconds=1))  # nothing else repaints an idle tile: only its clock can
    qtbot.waitUntil(lambda: painted("14:04:06 EST"), timeout=5_000)
    wall.set_time_zone(ZoneInfo("America/Los_Angeles"))
    qtbot.waitUntil(lambda: painted("11:04:06 PST"), timeout=5_000)
    tile.hide()
    assert not tile._clock.isActive(), "a hidden tile keeps no clock"
    assert wall.shutdown(5)
