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


# -- issue 17: errors named for what happened, and the WHEP session always deleted


def _error_of(player):
    assert wait_until(lambda: player.state is PlayerState.ERROR, 20)
    _stop(player)
    return player.error


def test_silent_gateway_is_timed_out_not_unreachable(loop, silent_server):
    """Fault 4: a gateway that accepts and never answers; asyncio.TimeoutError is an OSError in 3.11."""
    player = _play(f"http://127.0.0.1:{silent_server.port}/whep/h264", Recorder(), loop, reconnect=False,
                   connect_timeout=1.0)
    error = _error_of(player)
    assert error.kind is ErrorKind.TIMED_OUT
    assert "did not answer in time" in str(error) and "cannot be reached" not in str(error)


def test_inactive_answer_is_no_common_codec(whep_server, loop):
    """Fault 4: an answer whose video line is a=inactive (webrtcbin without a matching codec)."""
    error = _error_of(_play(whep_server.url("inactive-h264"), Recorder(), loop, connect_timeout=2.0))
    assert error.kind is ErrorKind.UNSUPPORTED_CODEC
    assert "no video format in common" in str(error) and "cannot be reached" not in str(error)


def test_refused_request_is_refused(whep_server, loop):
    """Fault 4: a 4xx that is neither auth nor not-found is a refusal, final (no retry loop)."""
    rec = Recorder()
    error = _error_of(_play(whep_server.url("refuse"), rec, loop))
    assert error.kind is ErrorKind.REFUSED and "refused" in str(error) and "400" in str(error)
    assert not rec.seen(PlayerState.RECONNECTING)


def test_nothing_listening_says_cannot_be_reached(loop, silent_server):
    port = silent_server.port
    silent_server.close()
    error = _error_of(_play(f"http://127.0.0.1:{port}/whep/h264", Recorder(), loop, reconnect=False))
    assert error.kind is ErrorKind.UNREACHABLE and "cannot be reached" in str(error)


def test_every_session_is_deleted_whenever_the_stop_lands(whep_server, loop):
    """Fault 5: start/stop cycles stopping at the first picture (the cancel lands in the DELETE) and while the
    offer is out (a slow gateway): the server has made N sessions and every one of them was deleted."""
    created_before, deleted_before = whep_server.created, len(whep_server.deleted)
    cycles = 0
    for _ in range(4):  # stop from the frame callback: the receive loop ends, then the cancel hits _delete()
        holder = {}
        rec = Recorder()

        def on_frame(frame, holder=holder, rec=rec):
            rec.on_frame(frame)
            holder["player"].stop()

        player = WebRTCPlayer(StreamSource(whep_server.url("vp8"), token=TOKEN), loop=loop, on_state=rec.on_state,
                              on_frame=on_frame, connect_timeout=5.0)
        holder["player"] = player
        player.start()
        assert player.join(15) and rec.frames, player.error
        cycles += 1
    for _ in range(3):  # stop while the gateway is still answering the offer
        whep_server.offered.clear()
        player = _play(whep_server.url("slow-h264"), Recorder(), loop)
        assert whep_server.offered.wait(10)
        _stop(player)
        cycles += 1
    assert whep_server.created - created_before == cycles
    assert wait_until(lambda: len(whep_server.deleted) - deleted_before == cycles, 10), \
        f"{cycles - (len(whep_server.deleted) - deleted_before)} of {cycles} sessions never deleted"
