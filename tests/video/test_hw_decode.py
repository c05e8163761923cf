"""Hardware decoding in the PyAV player against the real GStreamer RTSP server: auto uses a device that works or
falls back to software once with the reason; off never tries; an unknown setting value is refused."""

from __future__ import annotations

import json
import logging

import pytest

from console.errors import UserError
from console.settings import Settings, load_settings
from console.video import ffmpeg
from console.video.factory import PlayerFactory
from console.video.ffmpeg import FFmpegPlayer, hw_device_problem, hw_devices_to_try
from console.video.player import PlayerState
from console.video.probe import probe
from console.video.source import StreamSource
from tests.support.stream_waits import Recorder, wait_until


def _play(url, rec, **kw):
    player = FFmpegPlayer(StreamSource.from_url(url, transport="tcp"), connect_timeout=3.0, **rec.kw(), **kw)
    return player


def _stop(player):
    player.stop()
    assert player.join(10), "the player thread did not finish"


def test_auto_plays_on_a_working_device_or_in_software_saying_why(rtsp_server, caplog):
    working = [d for d in hw_devices_to_try() if hw_device_problem(d) is None]
    rec = Recorder()
    player = _play(rtsp_server.url("cam"), rec, hw_decode="auto")
    caplog.set_level(logging.INFO, logger="console.video.ffmpeg")
    player.start()
    try:
        assert wait_until(lambda: player.stats.frames >= 10, 10), player.error
        assert player.state is PlayerState.LIVE
        info = player.stats.info
        if working:
            assert info.decoder == working[0]
        else:  # this machine: no GPU; every device the platform offers was tried and named with its reason
            assert info.decoder == "software"
            for device in hw_devices_to_try():
                assert f"{device}: " in info.decoder_note
            lines = [r.getMessage() for r in caplog.records if "hardware decoding" in r.getMessage()]
            assert len(lines) == 1 and "decoding in software" in lines[0]
            assert "secret" not in lines[0]
    finally:
        _stop(player)


def test_probe_reports_the_decoder(rtsp_server):
    working = [d for d in hw_devices_to_try() if hw_device_problem(d) is None]
    result = probe(StreamSource.from_url(rtsp_server.url("cam"), transport="tcp"), backend="ffmpeg", seconds=1.0)
    assert result.ok, result.error
    assert result.decoder == (working[0] if working else "software")
    assert result.to_dict()["decoder"] == result.decoder


def test_device_that_fails_at_open_falls_back_to_software_once(rtsp_server, caplog):
    """drm is in this FFmpeg build but has no H.264 decoder: the stream opens on the software decoder instead."""
    from av.codec.hwaccel import hwdevices_available

    if "drm" not in hwdevices_available():
        pytest.skip("this FFmpeg build has no drm device type to fail with")
    caplog.set_level(logging.INFO, logger="console.video.ffmpeg")
    rec = Recorder()
    player = _play(rtsp_server.url("cam"), rec, hw_decode="auto")
    player._hw_chosen, player.hw_device = True, "drm"  # as if drm had been the platform's first working device
    player.start()
    try:
        assert wait_until(lambda: player.stats.frames >= 10, 10), player.error
        assert player.stats.info.decoder == "software" and player.hw_device is None
        assert player.stats.info.decoder_note == "drm: the device has no h264 decoder"
        assert player.stats.reconnects == 0  # the fallback is not a reconnect: the view never saw an error
        assert not [s for s, _e, _t in rec.states if s is PlayerState.ERROR]
        lines = [r.getMessage() for r in caplog.records if "hardware decoding on drm failed" in r.getMessage()]
        assert len(lines) == 1
    finally:
        _stop(player)


def test_off_never_tries_a_device(rtsp_server, monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("hw_decode=off tried a hardware device")

    monkeypatch.setattr(ffmpeg, "hw_device_problem", refuse)
    rec = Recorder()
    player = PlayerFactory(hw_decode="off").create(StreamSource.from_url(rtsp_server.url("cam"), transport="tcp"),
                                                   "ffmpeg", connect_timeout=3.0, **rec.kw())
    assert player.hw_decode == "off"
    player.start()
    try:
        assert wait_until(lambda: player.stats.frames >= 10, 10), player.error
        assert (player.stats.info.decoder, player.stats.info.decoder_note, player.hw_tried) == ("software", None, [])
    finally:
        _stop(player)


@pytest.mark.parametrize("value", ["nvdec", "cuda; rm -rf /", "", "AUTO", "x" * 5000])
def test_unknown_setting_value_is_refused_with_a_sentence(tmp_path, value):
    user = tmp_path / "user.toml"
    user.write_text(f"hw_decode = {json.dumps(value)}\n", encoding="utf-8")
    with pytest.raises(UserError, match="hw_decode must be one of auto, off"):
        load_settings(tmp_path / "machine.toml", user)
    with pytest.raises(UserError, match="hw_decode must be one of auto, off"):
        Settings({"hw_decode": value})
    with pytest.raises(ValueError, match=r"^The hardware decoding setting must be one of auto, off, not ") as err:
        FFmpegPlayer(StreamSource.from_url("rtsp://127.0.0.1:1/cam"), hw_decode=value)
    assert len(str(err.value)) < 120  # bounded: a hostile value is not echoed whole


def test_platform_order():
    assert hw_devices_to_try("linux") == ("vaapi", "cuda")
    assert hw_devices_to_try("win32") == ("d3d11va", "cuda")
