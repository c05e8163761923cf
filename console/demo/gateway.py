"""The demo gateway: an HTTP server on loopback, on an asyncio loop thread of its own, serving each demo camera
as WebRTC over WHEP (RFC 9725, aiortc) and as HLS (written by PyAV), with credentials as a real gateway asks for.

Every viewer of a camera shares its one feed (console/demo/feed.py). The training site's cameras fail on purpose:
`offline` is a loopback port that refuses connections, `frozen` stops sending pictures after `freeze_after_s` in
every session, `wrong-password` does not take the password the registry holds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
from fractions import Fraction
from typing import Iterable

import av
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from console.demo.cameras import FROZEN, OFFLINE, DemoCamera
from console.demo.feed import FPS, CameraFeed, hls_root

log = logging.getLogger(__name__)

MAX_OFFER_BYTES = 64 * 1024
MAX_SESSIONS = 32
MAX_FEEDS = 16  # cameras encoding at once: about 4 % of a core each (tests/bench/demo_gateway.py)
FREEZE_AFTER_S = 6.0
FIRST_SEGMENT_WAIT_S = 6.0
_SEGMENT = re.compile(r"^seg[0-9]{5}\.ts$")


class PacketTrack(MediaStreamTrack):
    """One WHEP viewer's video: the camera feed's encoded packets, from the next key frame on."""

    kind = "video"

    def __init__(self, feed: CameraFeed, loop: asyncio.AbstractEventLoop, freeze_after_s: float | None = None):
        super().__init__()
        self.feed, self._loop = feed, loop
        self._queue: asyncio.Queue = asyncio.Queue(maxsize=FPS * 3)
        self._keyed = False
        self._freeze_at = None if freeze_after_s is None else time.monotonic() + freeze_after_s
        feed.subscribe(self._sink)

    def _sink(self, data: bytes, pts: int, key: bool) -> None:  # on the feed's thread
        self._loop.call_soon_threadsafe(self._put, data, pts, key)

    def _put(self, data: bytes, pts: int, key: bool) -> None:
        if not self._keyed and not key:
            return
        self._keyed = True
        if self._queue.full():  # a viewer that cannot keep up loses its oldest pictures, not the others' time
            self._queue.get_nowait()
        self._queue.put_nowait((data, pts, key))

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._freeze_at is not None and time.monotonic() >= self._freeze_at:
            self.feed.unsubscribe(self._sink)
            while self.readyState == "live":  # a frozen camera: connected, and nothing comes
                await asyncio.sleep(0.5)
            raise MediaStreamError
        data, pts, key = await self._queue.get()
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.time_base = Fraction(1, FPS)
        packet.is_keyframe = key
        return packet

    def stop(self) -> None:
        self.feed.unsubscribe(self._sink)
        super().stop()


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, sep, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return (user, password) if sep else None


def _same(given: str, expected: str | None) -> bool:
    """Constant-time equality of two texts (as UTF-8: compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), (expected or "").encode("utf-8", "surrogatepass"))


class DemoGateway:
    """Serves `cameras` on 127.0.0.1; `start()` returns once it listens, `stop()` lets everything go."""

    def __init__(self, cameras: Iterable[DemoCamera], port: int = 0, freeze_after_s: float = FREEZE_AFTER_S,
                 idle_stop_s: float | None = None):
        self.cameras = {c.key: c for c in cameras}
        self.port = port
        self.freeze_after_s = freeze_after_s
        self.idle_stop_s = idle_stop_s
        self.feeds: dict[str, CameraFeed] = {}
        self.sessions: dict[str, tuple[RTCPeerConnection, PacketTrack]] = {}
        self.whep_offers = 0
        self._tokens: dict[str, str] = {}  # camera -> the HLS segment token handed out with its playlist
        self._hls_root = hls_root()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        # The offline camera's address: a loopback port held bound and never listening, so it refuses.
        self._refusing = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._refusing.bind(("127.0.0.1", 0))
        self.refusing_port = self._refusing.getsockname()[1]

    # -- addresses
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, camera: str, protocol: str) -> str | None:
        """Where the console plays `camera` (site/cam) by `protocol` (whep, hls); None when it is not served."""
        found = self.cameras.get(camera)
        if found is None:
            return None
        base = f"http://127.0.0.1:{self.refusing_port}" if found.fault == OFFLINE else self.base_url
        return f"{base}/whep/{camera}" if protocol == "whep" else f"{base}/hls/{camera}/index.m3u8"

    # -- lifecycle
    def start(self) -> "DemoGateway":
        ready = threading.Event()
        failed: list[BaseException] = []

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._start_async())
            except BaseException as exc:  # noqa: BLE001 - reported to start()'s caller
                failed.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._stop_async())
            self._loop.close()

        self._thread = threading.Thread(target=main, name="demo-gateway", daemon=True)
        self._thread.start()
        if not ready.wait(10) or failed:
            raise RuntimeError(f"the demo gateway did not start: {failed[0] if failed else 'timed out'}")
        log.info("demo gateway on %s serving %d cameras", self.base_url, len(self.cameras))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close every session, stop every feed, stop listening and remove the HLS files."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        for feed in list(self.feeds.values()):
            feed.stop()
        self._refusing.close()
        shutil.rmtree(self._hls_root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def _start_async(self) -> None:
        app = web.Application(client_max_size=MAX_OFFER_BYTES)
        app.router.add_post("/whep/{site}/{cam}", self._offer)
        app.router.add_delete("/session/{session}", self._delete)
        app.router.add_get("/hls/{site}/{cam}/index.m3u8", self._playlist)
        app.router.add_get("/hls/{site}/{cam}/{segment}", self._segment)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def _stop_async(self) -> None:
        for pc, track in list(self.sessions.values()):
            track.stop()
            await pc.close()
        self.sessions.clear()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- who may watch
    def _camera(self, request: web.Request) -> DemoCamera:
        camera = self.cameras.get(f"{request.match_info['site']}/{request.match_info['cam']}")
        if camera is None:
            raise web.HTTPNotFound(text="no such camera")
        return camera

    def _check(self, request: web.Request, camera: DemoCamera, token_ok: bool = False) -> None:
        if camera.username is None and camera.password is None:
            return
        if token_ok:
            token = self._tokens.get(camera.key)
            if token and _same(request.query.get("s", ""), token):
                return
        given = _basic(request.headers.get("Authorization"))
        if given is None or not (_same(given[0], camera.username) & _same(given[1], camera.password)):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="demo gateway"'},
                                       text="wrong user name or password")

    def _feed(self, camera: DemoCamera) -> CameraFeed:
        feed = self.feeds.get(camera.key)
        if (feed is None or not feed.running) and sum(f.running for f in self.feeds.values()) >= MAX_FEEDS:
            raise web.HTTPServiceUnavailable(text="the demo gateway is busy: close a feed")
        if feed is None:
            options = {} if self.idle_stop_s is None else {"idle_stop_s": self.idle_stop_s}
            feed = self.feeds[camera.key] = CameraFeed(camera.key, camera.label, self._hls_root, **options)
        return feed

    # -- WHEP
    async def _offer(self, request: web.Request) -> web.Response:
        self.whep_offers += 1
        camera = self._camera(request)
        self._check(request, camera)
        if request.content_type != "application/sdp":
            raise web.HTTPUnsupportedMediaType(text="the offer must be application/sdp")
        if len(self.sessions) >= MAX_SESSIONS:
            raise web.HTTPServiceUnavailable(text="too many viewers")
        try:
            offer = await request.text()
        except UnicodeDecodeError:  # (too large: aiohttp answers 413 itself)
            raise web.HTTPBadRequest(text="the offer is not a readable SDP") from None
        if "m=video" not in offer:
            raise web.HTTPBadRequest(text="the offer asks for no video")
        feed = self._feed(camera)
        track = PacketTrack(feed, asyncio.get_running_loop(),
                            self.freeze_after_s if camera.fault == FROZEN else None)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(  # the feed is H.264 already: nothing is encoded per viewer
                [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() == "video/h264"])
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # noqa: BLE001 - a malformed or codec-less offer: say so, keep serving
            track.stop()
            await pc.close()
            log.debug("demo WHEP offer refused: %r", exc)
            raise web.HTTPNotAcceptable(text="no H.264 video in common with the offer") from None
        session = secrets.token_hex(16)
        self.sessions[session] = (pc, track)

        @pc.on("connectionstatechange")
        async def _changed() -> None:
            if pc.connectionState in ("failed", "closed") and session in self.sessions:
                self.sessions.pop(session)
                track.stop()
                await pc.close()

        return web.Response(status=201, text=pc.localDescription.sdp, content_type="application/sdp",
                            headers={"Location": f"/session/{session}"})

    async def _delete(self, request: web.Request) -> web.Response:
        found = self.sessions.pop(request.match_info["session"], None)
        if found is None:
            raise web.HTTPNotFound(text="no such session")
        pc, track = found
        track.stop()
        await pc.close()
        return web.Response(status=200)

    # -- HLS
    async def _playlist(self, request: web.Request) -> web.Response:
        camera = self._camera(request)
        self._check(request, camera)
        feed = self._feed(camera)
        feed.want()
        began = time.monotonic()
        while not feed.segments_ready.is_set():  # a cold camera: its first segment takes about a second
            if time.monotonic() - began > FIRST_SEGMENT_WAIT_S:
                raise web.HTTPServiceUnavailable(text="the camera is starting")
            await asyncio.sleep(0.05)
        try:
            with open(os.path.join(feed.hls_dir, "index.m3u8"), encoding="utf-8") as playlist:
                text = playlist.read()
        except OSError:
            raise web.HTTPServiceUnavailable(text="the camera is starting") from None
        token = self._tokens.setdefault(camera.key, secrets.token_urlsafe(16))
        lines = [f"{line}?s={token}" if _SEGMENT.match(line) else line for line in text.splitlines()]
        return web.Response(text="\n".join(lines) + "\n", content_type="application/vnd.apple.mpegurl",
                            headers={"Cache-Control": "no-cache"})

    async def _segment(self, request: web.Request) -> web.StreamResponse:
        camera = self._camera(request)
        name = request.match_info["segment"]
        if not _SEGMENT.match(name):
            raise web.HTTPNotFound(text="no such segment")
        self._check(request, camera, token_ok=True)
        feed = self._feed(camera)
        feed.want()
        path = os.path.join(feed.hls_dir, name)
        if not os.path.isfile(path):
            raise web.HTTPNotFound(text="no such segment")
        return web.FileResponse(path, headers={"Content-Type": "video/mp2t"})
