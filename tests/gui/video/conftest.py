"""The WHEP server and views for the video wall tests (the RTSP server and player factory: tests/gui/conftest.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest


@pytest.fixture(scope="module")
def whep_server():
    from tests.support.whep_stream_server import WhepServer

    server = WhepServer().start()
    yield server
    server.stop()


@pytest.fixture
def make_view():
    from console.video.source import StreamSource
    from console.video.view import LiveView

    def make(camera_id, url, seconds=600, sub_url=None, label=None):
        return LiveView(camera_id=camera_id, camera_label=label or f"Camera {camera_id}",
                        main=StreamSource.from_url(url), sub=StreamSource.from_url(sub_url) if sub_url else None,
                        expires_at=datetime.now(timezone.utc) + timedelta(seconds=seconds),
                        session_id=f"s{camera_id}", user="dispatcher7", incident="CAD-2026-0412")

    return make


@pytest.fixture(autouse=True)
def _no_player_left_running():
    """Every test stops the players it starts: none may outlive it."""
    from tests.support.stream_waits import leftover_player_threads

    yield
    assert not leftover_player_threads(), "a player was left running"
