"""The gateway's pure parts: which registered URLs are demo streams (hostile ones are not), the training faults,
and the street scene (each camera its own, the clock burnt in)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from console.demo.cameras import DemoCamera, DemoKey, demo_key
from console.demo.scene import HEIGHT, WIDTH, StreetScene


@pytest.mark.parametrize("url, key", [
    ("rtsp://gw-12.demo.invalid:554/cam1/main", DemoKey("gw-12/cam1", "hls")),
    ("rtsp://gw-12.demo.invalid/cam3/sub", DemoKey("gw-12/cam3", "hls")),
    ("https://gw-7.demo.invalid/whep/cam2", DemoKey("gw-7/cam2", "whep")),
    ("https://training.demo.invalid/whep/frozen", DemoKey("training/frozen", "whep")),
    ("rtsp://TRAINING.demo.invalid:554/wrong-password/main", DemoKey("training/wrong-password", "hls")),
])
def test_demo_stream_urls(url, key):
    assert demo_key(url) == key


@pytest.mark.parametrize("url", [
    "rtsp://10.0.0.5:554/cam1/main", "https://gw-7.demo.invalid.example.com/whep/cam2",
    "https://gw-0.demo.invalid/whep/cam2", "https://gw-7.demo.invalid:8443/whep/cam2",
    "http://gw-7.demo.invalid/whep/cam2", "https://user:pw@gw-7.demo.invalid/whep/cam2",
    "https://gw-7.demo.invalid/whep/../cam2", "https://gw-7.demo.invalid/whep/cam2/extra",
    "https://gw-7.demo.invalid/whep/CAM%2F..", "rtsp://gw-7.demo.invalid:99999/cam1/main",
    "rtsp://gw-7.demo.invalid/cam1/other", "https://[::1]/whep/cam1", "https://gw-7.demo.invalid/whep/" + "a" * 40,
    "https://gw-\u0667.demo.invalid/whep/cam1", "", "not a url", "https://gw-7.demo.invalid/whep/cam\x00",
    "file:///etc/passwd", "https://gw-1234567890.demo.invalid/whep/cam1",
])
def test_everything_else_is_no_demo_stream(url):
    assert demo_key(url) is None


def test_only_the_training_site_fails_on_purpose():
    wrong = DemoCamera.of("training/wrong-password", "x", "viewer", "training")
    assert wrong.fault == "wrong-password" and wrong.password != "training"
    assert DemoCamera.of("training/offline", "x", None, None).fault == "offline"
    same_name = DemoCamera.of("gw-3/wrong-password", "x", "viewer", "pw")
    assert same_name.fault is None and same_name.password == "pw"
    assert "pw" not in repr(same_name)


def test_each_camera_shows_its_own_street_and_the_time():
    now = datetime(2026, 12, 2, 14, 5, 3, tzinfo=timezone.utc)
    door, yard = StreetScene("Front door · 12 Maple St"), StreetScene("Back yard · 3 Elm St")
    first = door.frame(0, now)
    assert first.shape == (HEIGHT, WIDTH, 3) and first.dtype == np.uint8
    assert np.array_equal(first, StreetScene("Front door · 12 Maple St").frame(0, now)), "the same label, the same street"
    assert np.abs(first.astype(int) - yard.frame(0, now).astype(int)).mean() > 5
    later = door.frame(0, now + timedelta(seconds=1))
    clock = (slice(HEIGHT - 30, HEIGHT), slice(WIDTH - 260, WIDTH))
    assert not np.array_equal(first[clock], later[clock]), "the clock is burnt in"
    assert not np.array_equal(first[HEIGHT // 2:], door.frame(20, now)[HEIGHT // 2:]), "cars and people move"
