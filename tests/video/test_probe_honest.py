"""`stream probe` tells what it saw (issue 17, fault 6): ok only with pictures until the end, --reconnect really
reconnects and counts it, and transport, frame rate, key-frame interval and first-frame time are reported."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from tests.support.rtsp_stream import RtspServer


@pytest.fixture
def short_stream(_gstreamer):
    """Every session of /cam ends after 25 pictures (one second): a camera that keeps dropping the stream."""
    server = RtspServer("--frames", "25").start()
    yield server
    server.stop()


def _probe_json(capsys, *args):
    status = main(["stream", "probe", *args, "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_stream_that_dies_early_is_not_ok_and_does_not_promise_a_reconnect(short_stream, capsys):
    status, result = _probe_json(capsys, short_stream.url("cam"), "--seconds", "4", "--backend", "ffmpeg")
    assert status == 1 and result["ok"] is False
    assert 0 < result["frames"] <= 25 and result["reconnects"] == 0
    assert "ended" in result["error"] and "reconnecting" not in result["error"]
    assert result["state"] == "error"


def test_reconnect_option_reconnects_and_counts(short_stream, capsys):
    status, result = _probe_json(capsys, short_stream.url("cam"), "--seconds", "4", "--backend", "ffmpeg",
                                 "--reconnect")
    assert result["reconnects"] >= 1
    assert result["frames"] > 25  # more pictures than one session of this server sends: it came back
    assert status == (0 if result["ok"] else 1)


def test_probe_reports_transport_fps_key_frames_and_first_frame(vlc_rtsp_server, capsys):
    """VLC's server: TCP refused, UDP used; no a=framerate, 25 fps measured; key frame every 25 pictures."""
    status, result = _probe_json(capsys, vlc_rtsp_server.url, "--seconds", "2.5", "--backend", "ffmpeg")
    assert status == 0 and result["ok"] is True, result["error"]
    assert result["transport"] == "udp" and result["fps"] == 25.0
    assert result["key_frame_interval_s"] == pytest.approx(1.0, abs=0.05)
    assert result["first_frame_ms"] > 0 and result["reconnects"] == 0 and result["state"] == "live"


def test_probe_human_output_names_what_it_saw(rtsp_server, capsys):
    assert main(["stream", "probe", rtsp_server.url("cam"), "--seconds", "2.5", "--backend", "ffmpeg"]) == 0
    out = capsys.readouterr().out
    for line in ("transport:    tcp", "frame rate:   25.0", "key frames:   every 1.0 s", "reconnects:   0",
                 "result:       ok"):
        assert line in out, out
    assert "decoder:      " in out, out  # software here, with the devices tried; or the device in use
