"""Real stream servers for the player tests: GStreamer RTSP, aiortc WHEP, ffmpeg live HLS, a silent socket."""

from __future__ import annotations

import pytest

from tests.support.backends import require
from tests.support.rtsp_stream import RtspServer, SilentServer

USER, PASSWORD = "officer", "s3cr:t/pw"  # awkward characters on purpose: they must be quoted and scrubbed


@pytest.fixture(scope="session")
def _gstreamer():
    require("gstreamer")


@pytest.fixture(scope="module")
def rtsp_server(_gstreamer):
    """H.264 over TCP and UDP without auth."""
    server = RtspServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rtsp_auth_server(_gstreamer):
    """H.264 with Basic auth."""
    server = RtspServer(user=USER, password=PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def rtsp_own_server(_gstreamer):
    """A server of the test's own, which it may kill and restart."""
    server = RtspServer().start()
    yield server
    server.stop()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def whep_server():
    from tests.support.whep_stream_server import WhepServer

    server = WhepServer(token="whep-token-123").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hls_stream(tmp_path_factory):
    from tests.support.hls_stream import HlsStream

    require("ffmpeg")
    stream = HlsStream(tmp_path_factory.mktemp("hls")).start()
    yield stream
    stream.stop()


@pytest.fixture(autouse=True)
def _no_player_left_running():
    """Every test stops the players it starts: none may outlive it."""
    from tests.support.stream_waits import leftover_player_threads

    yield
    assert not leftover_player_threads(), "a player was left running"


@pytest.fixture(scope="module")
def vlc_rtsp_server(tmp_path_factory):
    """VLC's own RTSP server: refuses TCP (461), SDP without a=framerate."""
    from tests.support.vlc_rtsp_server import VlcRtspServer

    require("vlc")
    require("ffmpeg")
    server = VlcRtspServer(tmp_path_factory.mktemp("vlc-rtsp")).start()
    yield server
    server.stop()


def _camera(gop_seconds: float):
    """A GStreamer RTSP camera: one encoder running from the start (no re-key for a new viewer), and a plain
    client watching it, which tells when a key frame goes out."""
    from tests.support.rtsp_stream import AttachedViewer

    server = RtspServer("--camera-keys", "--gop-seconds", str(gop_seconds)).start()
    viewer = AttachedViewer(server.url("cam")).start()
    server.viewer = viewer
    return server, viewer


@pytest.fixture(scope="module")
def camera_4s(_gstreamer):
    """A camera with a key frame every 4 s."""
    server, viewer = _camera(4.0)
    yield server
    viewer.stop()
    server.stop()


@pytest.fixture(scope="module")
def camera_without_key_frames(_gstreamer):
    """A camera whose only key frame went out when it started (a 10-minute interval): a joiner gets none."""
    server = RtspServer("--camera-keys", "--gop-seconds", "600").start()
    yield server
    server.stop()
