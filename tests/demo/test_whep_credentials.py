"""A gateway that asks WHEP viewers for a password, as real ones do: the console's WebRTC player sends its Basic
Authorization header (built by hand: aiohttp 3.14 deprecates BasicAuth.encode, and warnings are errors here)."""

from __future__ import annotations

import pytest

from console.demo.cameras import DemoCamera
from console.demo.gateway import DemoGateway
from console.domain.cameras import StreamProtocol
from console.video.factory import PlayerFactory
from console.video.player import ErrorKind
from console.video.source import StreamSource
from console.video.webrtc import basic_authorization
from tests.demo.streams import Watch


@pytest.fixture
def served():
    gateway = DemoGateway([DemoCamera.of("gw-5/cam2", "Loading dock · 5 Front St", "viewer", "pä:ss wörd")]).start()
    players = PlayerFactory()
    yield gateway, players
    players.close()
    gateway.stop()


def test_the_basic_header_is_the_rfc_7617_form():
    assert basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    assert basic_authorization("viewer", None) == "Basic dmlld2VyOg=="


def test_whep_with_the_right_password_plays_and_with_a_wrong_one_says_so(served):
    gateway, players = served
    url = gateway.url_for("gw-5/cam2", "whep")
    good = StreamSource(url, username="viewer", password="pä:ss wörd", protocol=StreamProtocol.WHEP)
    with Watch(players, good) as watch:
        assert watch.enough.wait(30), watch.states
    bad = StreamSource(url, username="viewer", password="guess", protocol=StreamProtocol.WHEP)
    with Watch(players, bad, reconnect=False) as watch:
        assert watch.failed.wait(30), watch.states
    assert watch.errors[-1].kind is ErrorKind.UNAUTHORIZED and not watch.frames
    assert "guess" not in str(watch.errors[-1])
