"""The PyAV player against a real GStreamer RTSP server: play, auth, errors, reconnect, frozen-stream watchdog."""

from __future__ import annotations

import logging
import os
import signal
import time
from urllib.parse import quote

import numpy as np
import pytest

from console.video.ffmpeg import FFmpegPlayer
from console.video.player import ErrorKind, PlayerState
from console.video.source import StreamSource
from tests.support.backends import require
from tests.support.rtsp_stream import RtspServer
from tests.support.stream_waits import Recorder, wait_until
from tests.video.conftest import PASSWORD, USER


def _play(url, rec, **kw):
    kw.setdefault("connect_timeout", 3.0)
    transport = kw.pop("transport", "tcp")
    player = FFmpegPlayer(StreamSource.from_url(url, transport=transport), **rec.kw(), **kw)
    player.start()
    return player


def _stop(player):
    player.stop()
    assert player.join(10), "the player thread did not finish"


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_plays_h264_and_pictures_change(rtsp_server, transport):
    rec = Recorder()
    player = _play(rtsp_server.url("cam"), rec, transport=transport)
    try:
        assert wait_until(lambda: player.stats.frames >= 15, 10), player.error
        first = rec.frames[0].image.copy()
        assert wait_until(lambda: not np.array_equal(rec.frames[-1].image, first), 5)
        assert player.state is PlayerState.LIVE
        info = player.stats.info
        assert (info.codec, info.width, info.height, info.fps) == ("h264", 320, 240, 25.0)
        assert rec.frames[-1].image.shape == (240, 320, 3)
        assert player.stats.first_frame_ms > 0  # measured (its size is a figure for tests/bench/video.py)
    finally:
        _stop(player)
    assert player.state is PlayerState.ENDED


def test_output_size_scales_in_the_decode_thread(rtsp_server):
    rec = Recorder()
    player = _play(rtsp_server.url("cam"), rec, output_size=(160, 160))
    try:
        assert wait_until(lambda: rec.frames, 10), player.error
        assert rec.frames[-1].image.shape == (120, 160, 3)
    finally:
        _stop(player)


def test_basic_auth_plays_with_the_right_password(rtsp_auth_server):
    rec = Recorder()
    player = _play(rtsp_auth_server.url("cam", USER, PASSWORD), rec)
    try:
        assert wait_until(lambda: player.stats.frames >= 3, 10), player.error
    finally:
        _stop(player)


def test_digest_auth_plays(_gstreamer):
    server = RtspServer("--auth", "digest", user=USER, password=PASSWORD).start()
    rec = Recorder()
    try:
        player = _play(server.url("cam", USER, PASSWORD), rec)
        assert wait_until(lambda: player.stats.frames >= 3, 10), player.error
        _stop(player)
    finally:
        server.stop()


def test_wrong_password_is_a_final_error_without_secrets(rtsp_auth_server, caplog):
    caplog.set_level(logging.DEBUG)
    rec = Recorder()
    player = _play(rtsp_auth_server.url("cam", USER, "wrong-Pa55"), rec)
    assert wait_until(lambda: player.state is PlayerState.ERROR, 10)
    _stop(player)
    assert player.error.kind is ErrorKind.UNAUTHORIZED
    assert "credentials" in str(player.error)
    assert not rec.seen(PlayerState.RECONNECTING)  # retrying a wrong password only locks accounts
    for text in (caplog.text, repr(player), str(player.error)):
        assert "wrong-Pa55" not in text and PASSWORD not in text and quote(PASSWORD, safe="") not in text


def test_right_password_never_logged(rtsp_auth_server, caplog):
    caplog.set_level(logging.DEBUG)
    rec = Recorder()
    player = _play(rtsp_auth_server.url("cam", USER, PASSWORD), rec)
    assert wait_until(lambda: player.stats.frames >= 1, 10)
    _stop(player)
    assert caplog.text and PASSWORD not in caplog.text and quote(PASSWORD, safe="") not in caplog.text


def test_wrong_path_is_not_found(rtsp_server):
    rec = Recorder()
    player = _play(rtsp_server.url("no-such-mount"), rec)
    assert wait_until(lambda: player.state is PlayerState.ERROR, 10)
    _stop(player)
    assert player.error.kind is ErrorKind.NOT_FOUND


def test_closed_port_is_unreachable(silent_server):
    port = silent_server.port
    silent_server.close()  # nothing listens there any more
    rec = Recorder()
    player = _play(f"rtsp://127.0.0.1:{port}/cam", rec, reconnect=False)
    assert wait_until(lambda: player.state is PlayerState.ERROR, 10)
    _stop(player)
    assert player.error.kind is ErrorKind.UNREACHABLE


def test_server_that_never_answers_times_out(silent_server):
    rec = Recorder()
    player = _play(f"rtsp://127.0.0.1:{silent_server.port}/cam", rec, reconnect=False, connect_timeout=1.5)
    assert wait_until(lambda: player.state is PlayerState.ERROR, 60)  # the socket timeout ends it, not a hang
    _stop(player)
    assert player.error.kind is ErrorKind.TIMED_OUT


def test_server_killed_and_restarted_player_reconnects(rtsp_own_server):
    rec = Recorder()
    player = _play(rtsp_own_server.url("cam"), rec, max_backoff=1.0)
    try:
        assert wait_until(lambda: player.stats.frames >= 5, 10), player.error
        rtsp_own_server.stop()
        assert wait_until(lambda: rec.seen(PlayerState.RECONNECTING), 10)
        before = player.stats.frames
        rtsp_own_server.start()
        assert wait_until(lambda: player.stats.frames > before + 5, 20), player.error
        assert player.state is PlayerState.LIVE and player.stats.reconnects >= 1
        assert player.stats.lost < 25  # the new session's timestamps are not counted as a huge gap
    finally:
        _stop(player)


def test_frozen_stream_is_detected_as_stalled(rtsp_own_server):
    """The stall is told by the watchdog's event after the freeze; how fast it comes is a figure for
    tests/bench/video.py, not a threshold here."""
    rec = Recorder()
    player = _play(rtsp_own_server.url("cam"), rec, stall_after=3.0)
    proc = rtsp_own_server.proc
    try:
        assert wait_until(lambda: player.stats.frames >= 5, 10), player.error
        assert not rec.seen(PlayerState.STALLED)  # a live stream is not called stalled
        os.kill(proc.pid, signal.SIGSTOP)  # the connection stays open, the pictures stop
        frozen_at = time.monotonic()
        assert wait_until(lambda: rec.seen(PlayerState.STALLED), 60)
        assert rec.when(PlayerState.STALLED) > frozen_at
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        _stop(player)


def test_rtsps_with_basic_auth_plays(_gstreamer, tmp_path):
    import subprocess

    require("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    server = RtspServer("--tls-cert", str(cert), "--tls-key", str(key), user=USER, password=PASSWORD).start()
    rec = Recorder()
    try:
        import hashlib
        import ssl

        # openssl's self-signed certificate verifies against nothing: it plays pinned (tests/video/test_rtsps_trust.py)
        pin = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest()
        url = server.url("cam", USER, PASSWORD).replace("rtsp://", "rtsps://")
        player = FFmpegPlayer(StreamSource.from_url(url, transport="udp", pin_sha256=pin), connect_timeout=3.0,
                              **rec.kw())
        player.start()
        assert wait_until(lambda: player.stats.frames >= 3, 10), player.error
        assert player.stats.info.codec == "h264"
        _stop(player)
    finally:
        server.stop()
