"""Backend choice per stream, and `rtic-console stream probe` against real servers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from console.cli import main
from console.video.factory import PlayerFactory, available_backends, choose_backend
from console.video.player import StreamError
from console.video.source import StreamSource
from console.video.vlc_backend import vlc_has_rtsp
from tests.video.conftest import PASSWORD, USER


def test_backend_choice_follows_what_is_installed():
    assert set(available_backends()) == {"vlc", "ffmpeg", "webrtc"}
    expected_rtsp = "vlc" if vlc_has_rtsp() else "ffmpeg"
    assert choose_backend(StreamSource("rtsp://cam/1")) == expected_rtsp
    assert choose_backend(StreamSource("https://gw/cam/whep")) == "webrtc"
    assert choose_backend(StreamSource("http://h/live.m3u8")) == "vlc"
    assert choose_backend(StreamSource("rtsp://cam/1"), "ffmpeg") == "ffmpeg"


def test_settings_override_per_protocol_and_unknown_backend():
    from console.domain.cameras import StreamProtocol

    assert choose_backend(StreamSource("http://h/live.m3u8"), overrides={StreamProtocol.HLS: "ffmpeg"}) == "ffmpeg"
    with pytest.raises(StreamError):
        choose_backend(StreamSource("rtsp://cam/1"), "gstreamer")


def test_factory_builds_the_chosen_player():
    factory = PlayerFactory()
    try:
        assert factory.create(StreamSource("rtsp://cam/1"), "ffmpeg").backend == "ffmpeg"
        assert factory.create(StreamSource("https://gw/whep"), window_handle=5).backend == "webrtc"
    finally:
        factory.close()


def test_probe_json_on_a_good_stream(rtsp_auth_server, capsys):
    status = main(["stream", "probe", rtsp_auth_server.url("cam", USER, PASSWORD), "--seconds", "1", "--json"])
    out = capsys.readouterr().out
    result = json.loads(out)
    assert status == 0 and result["ok"] is True and result["error"] is None
    assert (result["backend"], result["codec"], result["width"], result["height"]) == ("ffmpeg", "h264", 320, 240)
    assert result["frames"] >= 10 and result["first_frame_ms"] > 0  # measured, not held to a wall-clock limit
    assert PASSWORD not in out and "officer:" not in out


def test_probe_wrong_password_exit_1_with_a_sentence(rtsp_auth_server, capsys):
    status = main(["stream", "probe", rtsp_auth_server.url("cam", USER, "nope-nope"), "--seconds", "1"])
    out = capsys.readouterr().out
    assert status == 1
    assert "credentials" in out and "Traceback" not in out and "nope-nope" not in out


def test_probe_whep_human_output(whep_server, capsys):
    status = main(["stream", "probe", whep_server.url("vp8"), "--token", "whep-token-123", "--seconds", "1"])
    out = capsys.readouterr().out
    assert status == 0 and "webrtc" in out and "vp8" in out and "320x240" in out


def test_probe_timeout_on_a_silent_server(silent_server, capsys):
    status = main(["stream", "probe", f"rtsp://127.0.0.1:{silent_server.port}/x", "--seconds", "1", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert status == 1 and result["ok"] is False and result["frames"] == 0 and result["error"]


def test_probe_rejects_a_non_stream_url(capsys):
    assert main(["stream", "probe", "ftp://x/y"]) == 2
    assert "rtsp://" in capsys.readouterr().err


def test_cli_and_video_never_import_qt():
    code = ("import sys, console.cli.stream, console.video.probe, console.video.factory, console.video.ffmpeg, "
            "console.video.webrtc, console.video.vlc_backend; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'console.gui'))]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_probe_process_output_never_holds_the_password(rtsp_auth_server):
    for password in (PASSWORD, "bad-Zq9-pass"):
        run = subprocess.run([sys.executable, "-m", "console", "stream", "probe",
                              rtsp_auth_server.url("cam", USER, password), "--seconds", "0.5"],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == (0 if password == PASSWORD else 1)
        assert password not in run.stdout + run.stderr and "Traceback" not in run.stderr


def test_probe_live_hls_uses_libvlc(hls_stream, capsys):
    status = main(["stream", "probe", hls_stream.url, "--seconds", "1", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert status == 0 and result["backend"] == "vlc" and result["codec"] == "h264" and result["frames"] > 0
