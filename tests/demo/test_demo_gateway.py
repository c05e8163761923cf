"""The demo gateway with the console's real players: demo cameras play as registered, the training site fails as
it should, the resolve hook touches nothing else, hostile requests get a clear refusal, and stop lets go."""

from __future__ import annotations

import base64
import os
import socket
from datetime import datetime, timezone

import pytest
import requests
from sqlalchemy import text

from console.domain.cameras import StreamProtocol
from console.services.demo_gateway import DEMO_OWNER, start_demo_gateway
from console.video.factory import PlayerFactory
from console.video.player import ErrorKind, PlayerState
from console.video.source import StreamSource
from tests.demo.streams import Watch, credentials, registered_urls

WAIT_S = 30  # generous: a slow CI machine only makes a passing test slower


@pytest.fixture
def factory(gateway):
    players = PlayerFactory(resolve=gateway.resolve)
    yield players
    players.close()


def _source(database, cipher, url: str) -> StreamSource:
    user, password = credentials(database, cipher, url)
    return StreamSource(url, username=user, password=password)


def test_auto_starts_only_on_the_demo_registry(database, cipher, demo_registry):
    assert start_demo_gateway("off", database, cipher) is None
    service = start_demo_gateway("auto", database, cipher)
    try:
        assert service is not None and service.gateway.running
    finally:
        service.stop()
    with database.engine.begin() as conn:  # one real camera in it: not the demo registry any more
        conn.execute(text("UPDATE cameras SET is_demo = :f WHERE id = 1"), {"f": False})
    assert start_demo_gateway("auto", database, cipher) is None


def test_resolve_redirects_only_the_registry_own_demo_streams(database, cipher, gateway):
    [(_, whep)] = registered_urls(database, "https://gw-%/whep/%")[:1]
    rtsp_main = registered_urls(database, "rtsp://gw-%/main")[0][1]
    resolved = gateway.resolve(StreamSource(whep))
    assert resolved.url.startswith(f"http://127.0.0.1:{gateway.gateway.port}/whep/gw-")
    assert resolved.protocol is StreamProtocol.WHEP
    main = gateway.resolve(_source(database, cipher, rtsp_main))
    sub = gateway.resolve(_source(database, cipher, rtsp_main.replace("/main", "/sub")))
    assert main.url == sub.url and main.url.endswith("/index.m3u8") and main.protocol is StreamProtocol.HLS
    assert main.username == "viewer" and main.password  # the stored credentials travel on, as to a real gateway
    for untouched in ("rtsp://10.0.0.5:554/main", "https://gw-999999.demo.invalid/whep/cam1",
                      whep.replace(".demo.invalid", ".demo.invalid.example.com"), whep.replace("https://", "http://"),
                      whep.replace("https://", "https://user:pw@"), whep + "/../../etc", rtsp_main.replace(":554", ":8554")):
        source = StreamSource(untouched)
        assert gateway.resolve(source) is source, untouched
    gateway.stop()
    assert gateway.resolve(StreamSource(whep)).url == whep  # no gateway: the demo cameras stay as registered


def test_whep_demo_cameras_play_and_share_one_encoder(database, cipher, gateway, factory):
    urls = [u for _, u in registered_urls(database, "https://gw-%/whep/%")][:2]
    with Watch(factory, StreamSource(urls[0])) as first, Watch(factory, StreamSource(urls[0])) as second, \
            Watch(factory, StreamSource(urls[1])) as other:
        for watch in (first, second, other):
            assert watch.enough.wait(WAIT_S), watch.states
        assert first.player.backend == "webrtc"
        assert (first.frames[-1].width, first.frames[-1].height) == (640, 360)
        running = [f for f in gateway.gateway.feeds.values() if f.running]
        assert len(running) == 2, "two viewers of one camera share its one feed"
        a, b = first.frames[-1].image[:40].astype(int), other.frames[-1].image[:40].astype(int)
        assert abs(a - b).mean() > 5, "each camera shows its own scene and label"


def test_an_rtsp_demo_camera_plays_as_hls_in_libvlc_with_its_stored_credentials(database, cipher, factory):
    url = registered_urls(database, "rtsp://gw-%/main")[0][1]
    with Watch(factory, _source(database, cipher, url), reconnect=False) as watch:
        assert watch.enough.wait(WAIT_S), watch.states
    assert watch.player.backend == "vlc" and watch.frames[-1].width == 640


def test_hls_asks_for_the_credentials(database, cipher, gateway):
    url = registered_urls(database, "rtsp://gw-%/main")[0][1]
    target = gateway.resolve(StreamSource(url)).url
    assert requests.get(target, timeout=10).status_code == 401
    user, password = credentials(database, cipher, url)
    answer = requests.get(target, auth=(user, "wrong"), timeout=10)
    assert answer.status_code == 401 and password not in answer.text
    answer = requests.get(target, auth=(user, password), timeout=10)
    assert answer.status_code == 200 and "#EXTM3U" in answer.text
    segment = next(line for line in answer.text.splitlines() if line.startswith("seg"))
    base = target.rsplit("/", 1)[0]
    assert requests.get(f"{base}/{segment}", timeout=10).status_code == 200  # the playlist's token admits it
    assert requests.get(f"{base}/{segment.split('?')[0]}?s=guess", timeout=10).status_code == 401


def test_the_training_site_fails_as_each_camera_should(database, cipher, factory):
    def play(name: str, **options) -> Watch:
        [url] = [u for _, u in registered_urls(database, f"%training.demo.invalid%/{name}%")]
        watch = Watch(factory, _source(database, cipher, url), **options)
        with watch:
            assert watch.failed.wait(WAIT_S), watch.states
        return watch

    offline = play("offline", reconnect=False)
    assert offline.errors[-1].kind is ErrorKind.UNREACHABLE and not offline.frames
    wrong = play("wrong-password", reconnect=False)
    assert wrong.errors[-1].kind is ErrorKind.UNAUTHORIZED and not wrong.frames
    frozen = play("frozen")  # it plays, then stops sending pictures: stalled, then reconnecting
    assert frozen.frames and any(s is PlayerState.STALLED for s, _ in frozen.states)


def test_the_demo_owner_raises_the_drill_alert_once_while_it_is_in_force(database, gateway, demo_registry):
    gateway.raise_drill_alert()  # the schedule may have raised it already, as it does when the gateway starts
    assert not gateway.raise_drill_alert(), "one alert at a time"
    drill = [a for a in gateway.alerts.active_alerts(datetime.now(timezone.utc))
             if a.camera_id == demo_registry["alert-drill"]]
    assert len(drill) == 1 and gateway.alerts_raised == 1
    with database.engine.connect() as conn:
        actor = conn.execute(text("SELECT username FROM audit_events ORDER BY seq DESC LIMIT 1")).scalar_one()
    assert actor == DEMO_OWNER


@pytest.mark.parametrize("body, headers, status", [
    (b"v=0 garbage", {"Content-Type": "application/sdp"}, 400),
    (b"m=video 9 UDP\r\nnonsense", {"Content-Type": "application/sdp"}, 406),
    (b"m=video", {"Content-Type": "text/html"}, 415),
    (b"x" * (65 * 1024), {"Content-Type": "application/sdp"}, 413),
    ("m=video \u202e\ufffd".encode("utf-8"), {"Content-Type": "application/sdp"}, 406),
])
def test_hostile_offers_get_a_refusal_and_the_gateway_goes_on(database, gateway, body, headers, status):
    url = gateway.resolve(StreamSource(registered_urls(database, "https://gw-%/whep/%")[0][1])).url
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == status
    assert gateway.gateway.sessions == {}
    assert requests.post(url, data=b"v=0", headers={"Content-Type": "application/sdp"}, timeout=10).status_code == 400


@pytest.mark.parametrize("authorization", ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                                           "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Bearer x" * 500])
def test_hostile_credentials_are_refused(database, cipher, gateway, authorization):
    url = registered_urls(database, "rtsp://gw-%/main")[0][1]
    target = gateway.resolve(StreamSource(url)).url
    assert requests.get(target, headers={"Authorization": authorization}, timeout=10).status_code == 401


@pytest.mark.parametrize("path", ["/hls/gw-1/cam1/../../../etc/passwd", "/hls/training/frozen/%2e%2e%2fx.ts",
                                  "/hls/nosuch/cam/index.m3u8", "/whep/../session/x", "/session/nosuch"])
def test_unknown_paths_are_not_found(gateway, path):
    answer = requests.get(f"{gateway.gateway.base_url}{path}", timeout=10)
    assert answer.status_code in (404, 405)


def test_stop_lets_everything_go(database, gateway, factory):
    url = registered_urls(database, "https://gw-%/whep/%")[0][1]
    with Watch(factory, StreamSource(url)) as watch:
        assert watch.enough.wait(WAIT_S)
    service = gateway.gateway
    folder = service._hls_root
    gateway.stop()
    assert not service.running and not any(f.running for f in service.feeds.values())
    assert not os.path.exists(folder)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", service.port), timeout=2).close()
