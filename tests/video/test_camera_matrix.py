"""The camera matrix (issue 17): each a real server on loopback, each must play or fail with its sentence.

H.265 and MJPEG over RTSP (GStreamer's RTSP server), MJPEG over HTTP from ffmpeg's own HTTP server and from a
camera CGI that takes its credentials in the query string, a UDP-only server, and cameras whose one encoder is
already running when the player joins, at 1, 4 and 10 s key-frame intervals.
"""

from __future__ import annotations

import logging

import pytest

from console.video.ffmpeg import FFmpegPlayer
from console.video.player import ErrorKind, PlayerState
from console.video.source import StreamSource
from tests.support.backends import require
from tests.support.rtsp_stream import AttachedViewer, RtspServer
from tests.support.stream_waits import Recorder, wait_until


def _play(source, rec, **kw):
    kw.setdefault("connect_timeout", 3.0)
    if isinstance(source, str):
        source = StreamSource.from_url(source)
    player = FFmpegPlayer(source, **rec.kw(), **kw)
    player.start()
    return player


def _stop(player):
    player.stop()
    assert player.join(10), "the player thread did not finish"


def _frames_or_error(player, n, timeout=20):
    assert wait_until(lambda: player.stats.frames >= n or player.state is PlayerState.ERROR, timeout)
    assert player.stats.frames >= n, player.error


@pytest.fixture
def server(_gstreamer, request):
    """An RTSP server started with the test's own arguments (indirect parametrization)."""
    srv = RtspServer(*request.param).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("server,codec", [(("--codec", "h265"), "hevc"), (("--codec", "mjpeg"), "mjpeg")],
                         indirect=["server"], ids=["h265", "mjpeg"])
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_codecs_play(server, codec, transport):
    rec = Recorder()
    player = _play(StreamSource.from_url(server.url("cam"), transport=transport), rec)
    try:
        _frames_or_error(player, 10)
        info = player.stats.info
        assert (info.codec, info.width, info.height, info.fps, info.transport) == (codec, 320, 240, 25.0, transport)
        assert rec.frames[-1].image.shape == (240, 320, 3)
        assert player.stats.lost <= 2
    finally:
        _stop(player)


@pytest.mark.parametrize("server", [("--transport", "udp")], indirect=True, ids=["udp-only"])
def test_udp_only_server_player_falls_back_from_tcp(server):
    rec = Recorder()
    player = _play(StreamSource.from_url(server.url("cam"), transport="tcp"), rec)
    try:
        _frames_or_error(player, 5)
        assert player.stats.info.transport == "udp" and player.stats.reconnects == 0
    finally:
        _stop(player)


def _running_camera(*args):
    server = RtspServer("--camera-keys", *args).start()
    try:
        viewer = AttachedViewer(server.url("cam")).start()
    except RuntimeError:
        server.stop()
        raise
    return server, viewer


@pytest.mark.parametrize("gop", [1, 4, 10])
def test_joining_a_running_camera_shows_the_first_key_frame_after_joining(_gstreamer, gop):
    """A player joining a camera's running encoder right after a key frame went out (the longest wait) shows the
    next key frame: never a later one. It says it is waiting meanwhile and is never called stalled."""
    server, viewer = _running_camera("--gop-seconds", str(gop))
    rec = Recorder()
    try:
        viewer.key_frame.clear()
        assert viewer.key_frame.wait(gop + 10)
        keys_at_join = viewer.key_frames
        player = _play(server.url("cam"), rec, stall_after=1.0)
        try:
            assert wait_until(lambda: player.stats.frames or player.state is PlayerState.ERROR, gop + 15)
            keys_at_first_frame = viewer.key_frames
            assert player.stats.frames, player.error
            # The watcher saw at most the one key frame the player started on: the player did not skip it and
            # wait out another interval (what fflags=nobuffer or a stall-and-reconnect did).
            assert keys_at_first_frame - keys_at_join <= 1
            if gop > 1:
                assert rec.seen(PlayerState.WAITING) and rec.when(PlayerState.WAITING) < rec.when(PlayerState.LIVE)
            assert not rec.seen(PlayerState.STALLED) and not rec.seen(PlayerState.RECONNECTING)
            assert wait_until(lambda: player.stats.info.key_frame_interval_s or player.state is PlayerState.ERROR,
                              2 * gop + 10) or gop == 10
            if player.stats.info.key_frame_interval_s:
                assert player.stats.info.key_frame_interval_s == pytest.approx(gop, abs=0.1)
        finally:
            _stop(player)
    finally:
        viewer.stop()
        server.stop()


def test_joining_a_running_h265_camera(_gstreamer):
    server, viewer = _running_camera("--codec", "h265", "--gop-seconds", "2")
    rec = Recorder()
    try:
        viewer.key_frame.clear()
        assert viewer.key_frame.wait(15)
        keys_at_join = viewer.key_frames
        player = _play(server.url("cam"), rec, stall_after=1.0)
        try:
            _frames_or_error(player, 3)
            assert player.stats.info.codec == "hevc"
            assert viewer.key_frames - keys_at_join <= 2  # its first picture came within the interval it joined
            assert not rec.seen(PlayerState.RECONNECTING)
        finally:
            _stop(player)
    finally:
        viewer.stop()
        server.stop()


def test_mjpeg_over_http_from_ffmpegs_server_reports_its_real_rate():
    """ffmpeg's HTTP server sends 10 pictures a second without timestamps; FFmpeg's demuxer numbers them at 25/s.
    The rate must be the camera's (from arrival), and nothing counted lost."""
    from tests.support.mjpeg_http import FfmpegMjpegServer

    require("ffmpeg")
    srv = FfmpegMjpegServer(fps=10).start()
    rec = Recorder()
    try:
        player = _play(srv.url, rec)
        try:
            _frames_or_error(player, 15)
            info = player.stats.info
            assert (info.codec, info.width, info.height, info.transport) == ("mjpeg", 320, 240, "http")
            assert info.fps == pytest.approx(10, abs=1)
            assert player.stats.lost == 0
        finally:
            _stop(player)
    finally:
        srv.stop()


AWKWARD = "p&ss=w rd+%/é"


@pytest.mark.parametrize("user_name,password_name", [("user", "pwd"), ("usr", "psw"), ("user", "password"),
                                                     ("loginuse", "loginpas")])
def test_camera_cgi_with_query_credentials(tmp_path, caplog, user_name, password_name):
    """Credentials in the query are split off, filled in percent-encoded when the stream opens (the camera
    receives exactly what was typed), and never logged; a wrong one is a final 'credentials' sentence."""
    from tests.support.mjpeg_http import CgiMjpegServer

    require("ffmpeg")
    caplog.set_level(logging.DEBUG)
    cgi = CgiMjpegServer(tmp_path, "admin", AWKWARD, user_name, password_name).start()
    try:
        source = StreamSource.from_url(cgi.url())
        assert AWKWARD not in source.url and "{password}" in source.url
        rec = Recorder()
        player = _play(source, rec)
        try:
            _frames_or_error(player, 5)
            assert player.stats.info.codec == "mjpeg"
        finally:
            _stop(player)
        wrong = _play(cgi.url(password="nope-nope"), Recorder(), reconnect=False)
        try:
            assert wait_until(lambda: wrong.state is PlayerState.ERROR, 15)
            assert wrong.error.kind is ErrorKind.UNAUTHORIZED
        finally:
            _stop(wrong)
    finally:
        cgi.stop()
    for text in (caplog.text, repr(player), player.source.display_url):
        assert AWKWARD not in text and "nope-nope" not in text and "p%26ss" not in text


def test_a_camera_restarted_with_other_settings_shows_them(_gstreamer):
    """Killed and restarted as another stream (H.264 320x240 -> H.265 640x360 at 2 s key frames, as after a
    camera's firmware or settings change): the player reconnects and reports the new stream, nothing of the old."""
    server = RtspServer().start()
    rec = Recorder()
    try:
        player = _play(server.url("cam"), rec, max_backoff=1.0)
        try:
            _frames_or_error(player, 5)
            assert wait_until(lambda: player.stats.info.key_frame_interval_s, 10)
            assert (player.stats.info.codec, player.stats.info.width) == ("h264", 320)
            server.stop()
            assert wait_until(lambda: rec.seen(PlayerState.RECONNECTING), 15)
            before = player.stats.frames
            server.args = ["--codec", "h265", "--size", "640x360", "--gop-seconds", "2"]
            server.start()
            assert wait_until(lambda: player.stats.frames > before + 5 or player.state is PlayerState.ERROR, 30)
            info = player.stats.info
            assert (info.codec, info.width, info.height) == ("hevc", 640, 360), player.error
            assert info.key_frame_interval_s in (None, pytest.approx(2.0, abs=0.1))  # not the old 1 s
            assert rec.frames[-1].image.shape == (360, 640, 3) and player.state is PlayerState.LIVE
        finally:
            _stop(player)
    finally:
        server.stop()
