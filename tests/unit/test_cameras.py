"""The camera rules every ingest path goes through, and the one stream-URL classifier (console/domain/cameras.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.cameras import (
    Camera,
    CameraInvalid,
    Capability,
    SharingMode,
    Stream,
    StreamProtocol,
    check_camera,
    check_camera_fields,
    stream_protocol,
)
from console.video.source import protocol_of


@pytest.mark.parametrize("url,protocol", [
    ("rtsp://h/x", StreamProtocol.RTSP), ("RTSP://h:554/x", StreamProtocol.RTSP),
    ("rtsps://h/x", StreamProtocol.RTSPS),
    ("https://gw/whep/cam1", StreamProtocol.WHEP),  # HTTP from the old intake form, WHEP from the portal
    ("https://gw/cam/whep", StreamProtocol.WHEP), ("http://gw/WHEP/cam1?x=1", StreamProtocol.WHEP),
    ("https://gw/whepcam/1", StreamProtocol.HTTP),  # 'whep' must be a whole path segment
    ("https://gw/cam/?whep", StreamProtocol.HTTP),
    ("https://h/live/index.m3u8", StreamProtocol.HLS), ("http://h/live/INDEX.M3U8?token=x", StreamProtocol.HLS),
    ("http://h/mjpeg", StreamProtocol.HTTP), ("https://viewer:pw@h/video.mjpg", StreamProtocol.HTTP),
])
def test_the_classifier_decides_the_protocol_by_these_rules(url, protocol):
    assert stream_protocol(url) is protocol
    assert protocol_of(url) is protocol  # the players ask the same classifier


@pytest.mark.parametrize("url,words", [
    ("", "empty"), ("ftp://cam.example/x", "must start with"), ("whep://gw/cam", "must start with"),
    ("javascript:alert(1)", "it has javascript:"), ("/tmp/clip.mp4", "no scheme"), ("gw/cam1", "no scheme"),
    ("rtsp://", "no host"), ("https:///path", "no host"), ("rtsp://h:99999/x", "not a valid URL"),
    ("rtsp://h/a b", "spaces"), ("rtsp://h/a\tb", "spaces"), ("rtsp://h/a\x00b", "control"),
    ("rtsp://h/\u202ecam", "control"), ("rtsp://h/cam\n", "spaces"), ("rtsp://h/" + "a" * 992, "at most 1,000"),
])
def test_anything_else_is_refused_in_one_sentence(url, words):
    with pytest.raises(ValueError, match=words) as caught:
        stream_protocol(url)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200
    assert protocol_of(url) is None


@given(st.text(max_size=60))
def test_any_text_is_classified_or_refused_with_a_value_error(text):
    try:
        protocol = stream_protocol(text)
    except ValueError:
        return
    assert protocol in set(StreamProtocol) and text.split(":", 1)[0].lower() in ("rtsp", "rtsps", "http", "https")


@pytest.mark.parametrize("capability,mode,urls,field", [
    (Capability.REGISTERED, SharingMode.ALWAYS, [], "sharing_mode"),
    (Capability.REGISTERED, SharingMode.ON_ALERT, [], "sharing_mode"),
    (Capability.REGISTERED, SharingMode.NEVER, ["rtsp://gw/1"], "stream_url"),
    (Capability.LIVE, SharingMode.ALWAYS, [], "stream_url"),
    (Capability.LIVE, SharingMode.NEVER, [], "stream_url"),
    (Capability.LIVE, SharingMode.ALWAYS, ["rtsp://gw/1", "ftp://gw/2"], "stream_url"),
])
def test_the_camera_rules_name_the_field_to_fix(capability, mode, urls, field):
    with pytest.raises(CameraInvalid) as caught:
        check_camera_fields(capability, mode, urls)
    assert caught.value.field == field


def test_good_cameras_pass_and_give_their_protocols():
    assert check_camera_fields(Capability.REGISTERED, SharingMode.NEVER, []) == ()
    assert check_camera_fields(Capability.LIVE, SharingMode.NEVER, ["https://gw/whep/c1", "rtsp://gw/s"]) == (
        StreamProtocol.WHEP, StreamProtocol.RTSP)


def test_a_camera_whose_stream_protocol_is_not_its_urls_is_refused():
    camera = Camera(None, 1, "Door", 42.1, -72.6, "1 Main St", Capability.LIVE, SharingMode.ALWAYS,
                    streams=(Stream(StreamProtocol.HTTP, "https://gw/whep/cam1"),))
    with pytest.raises(CameraInvalid, match="whep, not http"):
        check_camera(camera)
    fixed = Camera(**{**camera.__dict__, "streams": (Stream(StreamProtocol.WHEP, "https://gw/whep/cam1"),)})
    assert check_camera(fixed) is fixed
