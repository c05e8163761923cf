"""The libVLC player headless (video callbacks) on a real live HLS stream written by ffmpeg; RTSP detection."""

from __future__ import annotations

import glob
import os

import pytest

from console.video.player import ErrorKind, PlayerState
from console.video.source import StreamSource
from console.video.vlc_backend import VlcPlayer, _plugin_dirs, vlc_has_rtsp
from tests.support.backends import require
from tests.support.stream_waits import Recorder, wait_until


@pytest.fixture(autouse=True)
def _vlc():
    require("vlc")


def test_plays_live_hls_through_video_callbacks(hls_stream):
    rec = Recorder()
    player = VlcPlayer(StreamSource(hls_stream.url), **rec.kw(), output_size=(160, 120))
    player.start()
    try:
        assert wait_until(lambda: player.stats.frames >= 10, 20), player.error
        assert player.state is PlayerState.LIVE
        assert player.stats.info.codec == "h264"
        assert rec.frames[-1].image.shape[0] == 120 and rec.frames[-1].image.shape[2] == 3
        assert rec.frames[-1].image.std() > 5  # a real picture, not a blank buffer
    finally:
        player.stop()
        assert player.join(15)


def test_headless_without_callbacks_counts_decoded_frames(hls_stream):
    rec = Recorder()
    player = VlcPlayer(StreamSource(hls_stream.url), on_state=rec.on_state)  # --vout=dummy
    player.start()
    try:
        assert wait_until(lambda: player.stats.frames >= 10, 20), player.error
        assert player.stats.info.width == 320
    finally:
        player.stop()
        assert player.join(15)


def test_missing_playlist_is_not_found(hls_stream):
    player = VlcPlayer(StreamSource(hls_stream.url.replace("live.m3u8", "gone.m3u8")), reconnect=False)
    player.start()
    assert player.join(15)
    assert player.state is PlayerState.ERROR and player.error.kind is ErrorKind.NOT_FOUND


def test_rtsp_support_is_detected_not_assumed():
    has_plugin = any(glob.glob(os.path.join(d, "**", "*live555*"), recursive=True) for d in _plugin_dirs())
    assert _plugin_dirs(), "libVLC's plugin folder was not found"
    assert vlc_has_rtsp() is has_plugin


@pytest.mark.skipif(vlc_has_rtsp(), reason="this libVLC has an RTSP client")
def test_rtsp_without_live555_says_use_ffmpeg():
    player = VlcPlayer(StreamSource("rtsp://127.0.0.1:1/cam"), reconnect=False)
    player.start()
    assert player.join(10)
    assert player.error.kind is ErrorKind.UNSUPPORTED and "FFmpeg" in str(player.error)


def test_camera_cgi_with_query_credentials_through_libvlc(tmp_path):
    """libVLC opens a camera CGI whose credentials go in the query: the placeholders are filled, percent-encoded."""
    from tests.support.mjpeg_http import CgiMjpegServer

    require("ffmpeg")
    cgi = CgiMjpegServer(tmp_path, "admin", "p&ss=w rd", "usr", "pwd").start()
    rec = Recorder()
    try:
        player = VlcPlayer(StreamSource.from_url(cgi.url()), **rec.kw(), output_size=(160, 120))
        player.start()
        try:
            assert wait_until(lambda: player.stats.frames >= 5 or player.state is PlayerState.ERROR, 20)
            assert player.stats.frames >= 5, player.error
        finally:
            player.stop()
            assert player.join(15)
    finally:
        cgi.stop()
    assert all("{password}" not in path for path in cgi.requests)
