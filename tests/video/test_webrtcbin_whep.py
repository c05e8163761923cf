"""The WebRTC player against GStreamer's webrtcbin as the WHEP peer (a WebRTC stack this project did not write):
H.264 and VP8 play, and stopping deletes the session on the gateway (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

from console.video.aioloop import AsyncLoopThread
from console.video.player import PlayerState
from console.video.source import StreamSource
from console.video.webrtc import WebRTCPlayer
from tests.support.backends import require
from tests.support.stream_waits import Recorder, wait_until


@pytest.fixture(scope="module")
def webrtcbin():
    from tests.support.webrtcbin_whep import WebrtcbinWhep, webrtcbin_missing

    require("gstreamer")
    missing = webrtcbin_missing()
    assert missing is None, missing  # a missing part fails, naming it (installer/dev.sh installs it)
    server = WebrtcbinWhep().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def loop():
    thread = AsyncLoopThread("test-webrtcbin")
    yield thread
    thread.close()


@pytest.mark.parametrize("codec", ["h264", "vp8"])
def test_webrtcbin_plays_and_the_session_is_deleted(webrtcbin, loop, codec):
    rec = Recorder()
    player = WebRTCPlayer(StreamSource(webrtcbin.url(codec)), loop=loop, connect_timeout=8.0, **rec.kw())
    player.start()
    try:
        assert wait_until(lambda: player.stats.frames >= 10 or player.state is PlayerState.ERROR, 30)
        assert player.stats.frames >= 10, player.error
        first = rec.frames[0].image.copy()
        assert wait_until(lambda: not np.array_equal(rec.frames[-1].image, first), 10)  # the ball moves
        info = player.stats.info
        assert (info.codec, info.width, info.height, info.transport) == (codec, 320, 240, "webrtc")
        assert webrtcbin.open_sessions() == 1
    finally:
        player.stop()
        assert player.join(10)
    assert wait_until(lambda: webrtcbin.open_sessions() == 0, 10), "the WHEP session was not deleted"
