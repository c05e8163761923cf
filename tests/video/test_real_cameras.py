"""The PyAV player against servers that behave as real cameras do: VLC's own RTSP server (refuses TCP, no
a=framerate), a TCP-only server, and a GStreamer camera whose encoder is already running with long key-frame
intervals (issue 17, faults 1-3)."""

from __future__ import annotations

import pytest

from console.video.ffmpeg import FFmpegPlayer
from console.video.player import WAITING_MESSAGE, ErrorKind, PlayerState
from console.video.source import StreamSource
from tests.support.rtsp_stream import RtspServer
from tests.support.stream_waits import Recorder, wait_until


def _play(url, rec, transport="tcp", **kw):
    kw.setdefault("connect_timeout", 3.0)
    player = FFmpegPlayer(StreamSource.from_url(url, transport=transport), **rec.kw(), **kw)
    player.start()
    return player


def _stop(player):
    player.stop()
    assert player.join(10), "the player thread did not finish"


def _settled(player, rec, frames):
    """The player showed `frames` pictures, or gave up, or went back to connecting: whichever happens first."""
    return lambda: (player.stats.frames >= frames or player.state is PlayerState.ERROR
                    or rec.seen(PlayerState.RECONNECTING) or rec.seen(PlayerState.STALLED))


def test_vlc_server_refuses_tcp_player_falls_back_to_udp(vlc_rtsp_server):
    """Fault 1: VLC answers 461 to RTP over TCP; the player plays over UDP and says so."""
    rec = Recorder()
    player = _play(vlc_rtsp_server.url, rec, transport="tcp")
    try:
        assert wait_until(_settled(player, rec, 10), 20)
        assert player.stats.frames >= 10, player.error
        assert player.stats.info.transport == "udp" and player.transport == "udp"
        assert not rec.seen(PlayerState.ERROR) and player.stats.reconnects == 0
    finally:
        _stop(player)


def test_tcp_only_server_player_falls_back_from_udp(_gstreamer):
    """Fault 1, the other way: a server that only does TCP refuses UDP; the player plays over TCP."""
    server = RtspServer("--transport", "tcp").start()
    rec = Recorder()
    try:
        player = _play(server.url("cam"), rec, transport="udp")
        assert wait_until(_settled(player, rec, 5), 20)
        assert player.stats.frames >= 5, player.error
        assert player.stats.info.transport == "tcp"
        _stop(player)
    finally:
        server.stop()


def test_frame_rate_from_timestamps_when_the_sdp_has_none(vlc_rtsp_server):
    """Fault 2: no a=framerate in VLC's SDP; the rate comes from the pictures' timestamps (25), none counted lost."""
    rec = Recorder()
    player = _play(vlc_rtsp_server.url, rec, transport="udp")
    try:
        assert wait_until(_settled(player, rec, 40), 20)
        assert player.stats.frames >= 40, player.error
        assert player.stats.info.fps == 25.0
        assert player.stats.lost <= 2  # over loopback UDP; FFmpeg's default guess (50) counted one in two
    finally:
        _stop(player)


def test_long_key_frame_interval_is_not_a_dead_camera(camera_4s):
    """Fault 3: joining a running camera with 4 s key frames and a 1 s stall timer, right after a key frame
    went out: it waits for the next one (the state says so), then plays, and nothing is called stalled."""
    rec = Recorder()
    camera_4s.viewer.key_frame.clear()
    assert camera_4s.viewer.key_frame.wait(15)
    player = _play(camera_4s.url("cam"), rec, stall_after=1.0)
    try:
        assert wait_until(_settled(player, rec, 3), 30)
        assert player.stats.frames >= 3, player.error
        assert rec.seen(PlayerState.WAITING)
        assert not rec.seen(PlayerState.STALLED) and not rec.seen(PlayerState.RECONNECTING)
        assert player.stats.reconnects == 0
        waiting, live = rec.when(PlayerState.WAITING), rec.when(PlayerState.LIVE)
        assert waiting < live
    finally:
        _stop(player)


def test_first_frame_deadline_of_its_own(camera_without_key_frames):
    """Fault 3: no key frame within the first-frame deadline is its own sentence, not a stall."""
    rec = Recorder()
    player = _play(camera_without_key_frames.url("cam"), rec, stall_after=0.5, first_frame_timeout=1.0,
                   reconnect=False)
    try:
        assert wait_until(lambda: player.state is PlayerState.ERROR or player.stats.frames, 30)
        assert player.stats.frames == 0 and rec.seen(PlayerState.WAITING)
        assert not rec.seen(PlayerState.STALLED)
        assert player.error.kind is ErrorKind.TIMED_OUT
        assert "key frame" in str(player.error) and "reconnecting" not in str(player.error)
    finally:
        _stop(player)
    assert "key frame" in WAITING_MESSAGE


def test_key_frame_interval_reported(rtsp_server):
    """The key-frame interval comes from the stream's own timestamps (1 s on the test server)."""
    rec = Recorder()
    player = _play(rtsp_server.url("cam"), rec)
    try:
        assert wait_until(lambda: player.stats.info.key_frame_interval_s or player.state is PlayerState.ERROR, 20)
        assert player.stats.info.key_frame_interval_s == pytest.approx(1.0, abs=0.05), player.error
        assert player.stats.info.transport == "tcp"
    finally:
        _stop(player)


def test_the_key_frame_sent_at_play_is_shown(_gstreamer):
    """A camera that starts each session with a key frame and sends the next one 10 minutes later: the player must
    decode that first one (fflags=nobuffer threw away the packets read while opening, and with them this frame)."""
    server = RtspServer("--gop-seconds", "600", "--no-forced-key").start()
    rec = Recorder()
    try:
        player = _play(server.url("cam"), rec, first_frame_timeout=3.0, reconnect=False)
        assert wait_until(lambda: player.stats.frames >= 3 or player.state is PlayerState.ERROR, 20)
        assert player.stats.frames >= 3, player.error
        _stop(player)
    finally:
        server.stop()


def test_first_frame_deadline_comes_from_the_factory():
    """The setting first_frame_timeout_s reaches every player a PlayerFactory builds."""
    from console.settings import Settings
    from console.video.factory import PlayerFactory

    assert Settings().first_frame_timeout_s == 12.0
    factory = PlayerFactory(first_frame_timeout=7.5)
    try:
        assert factory.create(StreamSource("rtsp://cam/1"), "ffmpeg").first_frame_timeout == 7.5
        assert factory.create(StreamSource("https://gw/whep"), "webrtc").first_frame_timeout == 7.5
        assert PlayerFactory().create(StreamSource("rtsp://cam/1"), "ffmpeg").first_frame_timeout == 12.0
    finally:
        factory.close()
