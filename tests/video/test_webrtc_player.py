"""The aiortc WHEP player against a real aiortc + aiohttp WHEP server sending H.264 and VP8 test patterns."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from console.video.aioloop import AsyncLoopThread
from console.video.player import ErrorKind, PlayerState
from console.video.source import StreamSource
from console.video.webrtc import WebRTCPlayer
from tests.support.stream_waits import Recorder, wait_until

TOKEN = "whep-token-123"


@pytest.fixture(scope="module")
def loop():
    thread = AsyncLoopThread("test-webrtc")
    yield thread
    thread.close()


def _play(url, rec, loop, token=TOKEN, **kw):
    kw.setdefault("connect_timeout", 5.0)
    player = WebRTCPlayer(StreamSource(url, token=token), loop=loop, **rec.kw(), **kw)
    player.start()
    return player


def _stop(player):
    player.stop()
    assert player.join(10)


@pytest.mark.parametrize("codec", ["h264", "vp8"])
def test_plays_and_deletes_the_session(whep_server, loop, codec):
    rec = Recorder()
    deleted_before = len(whep_server.deleted)
    player = _play(whep_server.url(codec), rec, loop)
    try:
        assert wait_until(lambda: player.stats.frames >= 10, 10), player.error
        first = rec.frames[0].image.copy()
        assert wait_until(lambda: not np.array_equal(rec.frames[-1].image, first), 5)
        info = player.stats.info
        assert (info.codec, info.width, info.height) == (codec, 320, 240)
        assert player.state is PlayerState.LIVE
    finally:
        _stop(player)
    assert player.state is PlayerState.ENDED
    assert wait_until(lambda: len(whep_server.deleted) == deleted_before + 1, 5)  # RFC 9725: DELETE on close


def test_wrong_token_is_unauthorized_and_not_logged(whep_server, loop, caplog):
    caplog.set_level(logging.DEBUG)
    rec = Recorder()
    player = _play(whep_server.url("h264"), rec, loop, token="bad-token-777")
    assert wait_until(lambda: player.state is PlayerState.ERROR, 10)
    _stop(player)
    assert player.error.kind is ErrorKind.UNAUTHORIZED
    assert "bad-token-777" not in caplog.text and "bad-token-777" not in repr(player)


def test_unknown_stream_is_not_found(whep_server, loop):
    rec = Recorder()
    player = _play(whep_server.url("mjpeg"), rec, loop)
    assert wait_until(lambda: player.state is PlayerState.ERROR, 10)
    _stop(player)
    assert player.error.kind is ErrorKind.NOT_FOUND


def test_nothing_listening_is_unreachable(loop, silent_server):
    port = silent_server.port
    silent_server.close()
    rec = Recorder()
    player = _play(f"http://127.0.0.1:{port}/whep/h264", rec, loop, reconnect=False)
    assert wait_until(lambda: player.state is PlayerState.ERROR, 10)
    _stop(player)
    assert player.error.kind is ErrorKind.UNREACHABLE


def test_gateway_drops_the_session_player_reconnects(whep_server, loop):
    rec = Recorder()
    player = _play(whep_server.url("vp8"), rec, loop, max_backoff=1.0)
    try:
        assert wait_until(lambda: player.stats.frames >= 5, 10), player.error
        posts = whep_server.posts
        whep_server.kill_sessions()
        assert wait_until(lambda: rec.seen(PlayerState.RECONNECTING), 8)
        assert wait_until(lambda: whep_server.posts > posts and player.state is PlayerState.LIVE, 10)
    finally:
        _stop(player)
