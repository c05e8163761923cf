"""The gateway encodes only what is watched, within a bound: a camera nobody watches stops, and past MAX_FEEDS
cameras at once a new one is refused with a sentence instead of overloading the workstation."""

from __future__ import annotations

import requests

from console.demo import gateway as gateway_module
from console.demo.cameras import DemoCamera
from console.demo.gateway import DemoGateway


def test_past_the_bound_a_new_camera_is_refused_and_an_unwatched_one_stops(monkeypatch):
    monkeypatch.setattr(gateway_module, "MAX_FEEDS", 1)
    cameras = [DemoCamera.of(f"gw-{n}/cam1", f"Camera {n}", None, None) for n in (1, 2)]
    gateway = DemoGateway(cameras, idle_stop_s=0.5).start()
    try:
        first = requests.get(gateway.url_for("gw-1/cam1", "hls"), timeout=10)
        assert first.status_code == 200 and "#EXTM3U" in first.text
        busy = requests.get(gateway.url_for("gw-2/cam1", "hls"), timeout=10)
        assert busy.status_code == 503 and "busy" in busy.text
        feed = gateway.feeds["gw-1/cam1"]
        feed._thread.join(10)  # nobody asks for it any more: it stops by itself
        assert not feed.running
        assert requests.get(gateway.url_for("gw-2/cam1", "hls"), timeout=10).status_code == 200
    finally:
        gateway.stop()
