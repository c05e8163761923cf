"""A real WHEP server (aiortc + aiohttp) sending H.264 or VP8 test patterns, for tests and the benchmark.

Endpoints: POST /whep/<codec> (h264 | vp8 | stamp-h264 | stamp-vp8) with an SDP offer -> 201 + answer + Location;
variants as gateways behave: slow-<codec> answers after `slow_answer_s` (the session exists from the start),
inactive-<codec> answers the video line `a=inactive` (what GStreamer's webrtcbin does with no common codec),
refuse answers 400;
DELETE /whep/session/<id> ends it. An optional bearer token is required when given. In-process use:
`WhepServer(...).start()` on its own loop thread; standalone: `python whep_stream_server.py` prints READY <port>.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import os
import sys
import threading
import time
import uuid

import av
import numpy as np
from aiohttp import web
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stream_stamp import stamp_frame_i420  # noqa: E402


class PatternTrack(VideoStreamTrack):
    """A moving bar (or a wall-clock barcode) at a steady frame rate."""

    def __init__(self, width: int, height: int, fps: int, stamp: bool):
        super().__init__()
        self.width, self.height, self.fps, self.stamp = width, height, fps, stamp
        self._index = 0
        self._t0 = None

    async def recv(self):
        if self._t0 is None:
            self._t0 = time.monotonic()
        due = self._t0 + self._index / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self.stamp:
            data = np.frombuffer(stamp_frame_i420(self.width, self.height, int(time.time() * 1000)), np.uint8)
            frame = av.VideoFrame.from_ndarray(data.reshape(self.height * 3 // 2, self.width), format="yuv420p")
        else:
            rgb = np.full((self.height, self.width, 3), 60, np.uint8)
            x = (self._index * 8) % self.width
            rgb[:, x:x + 16] = (255, 200, 0)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = int(self._index * 90000 / self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self._index += 1
        return frame


class WhepServer:
    def __init__(self, width=320, height=240, fps=25, token: str | None = None, port: int = 0, tls=None):
        self.width, self.height, self.fps, self.token, self.port = width, height, fps, token, port
        self.tls = tls  # (cert PEM path, key PEM path): serve HTTPS
        self.sessions: dict[str, RTCPeerConnection] = {}
        self.deleted: list[str] = []
        self.posts = 0
        self.created = 0  # sessions this server made: each must be DELETEd by the client that asked for it
        self.slow_answer_s = 0.5
        self.offered = threading.Event()  # set when a session is made, before a slow answer is sent
        self.loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def url(self, name: str = "h264") -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/whep/{name}"

    async def _offer(self, request: web.Request) -> web.Response:
        self.posts += 1
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=401, text="unauthorized")
        name = request.match_info["name"]
        if name == "refuse":
            return web.Response(status=400, text="bad request")
        slow, inactive = name.startswith("slow-"), name.startswith("inactive-")
        name = name.removeprefix("slow-").removeprefix("inactive-")
        stamp = name.startswith("stamp-")
        codec = name.removeprefix("stamp-")
        if codec not in ("h264", "vp8"):
            return web.Response(status=404, text="no such stream")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        # aiortc applies codec preferences while it reads the offer, so the transceiver must exist first.
        transceiver = pc.addTransceiver(PatternTrack(self.width, self.height, self.fps, stamp), direction="sendonly")
        transceiver.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() == f"video/{codec}"])
        await pc.setRemoteDescription(RTCSessionDescription(sdp=await request.text(), type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        session = uuid.uuid4().hex
        self.sessions[session] = pc
        self.created += 1
        self.offered.set()
        if slow:
            await asyncio.sleep(self.slow_answer_s)
        answer = pc.localDescription.sdp
        if inactive:
            answer = answer.replace("a=sendonly", "a=inactive")
        return web.Response(status=201, text=answer, content_type="application/sdp",
                            headers={"Location": f"/whep/session/{session}"})

    async def _delete(self, request: web.Request) -> web.Response:
        pc = self.sessions.pop(request.match_info["session"], None)
        if pc is None:
            return web.Response(status=404)
        self.deleted.append(request.match_info["session"])
        await pc.close()
        return web.Response(status=200)

    async def start_async(self) -> None:
        app = web.Application()
        app.router.add_post("/whep/{name}", self._offer)
        app.router.add_delete("/whep/session/{session}", self._delete)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        ssl_context = None
        if self.tls:
            import ssl

            ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_context.load_cert_chain(*self.tls)
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=ssl_context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop_async(self) -> None:
        for pc in list(self.sessions.values()):
            await pc.close()
        self.sessions.clear()
        if self._runner is not None:
            await self._runner.cleanup()

    def start(self) -> "WhepServer":
        """Serve from a loop thread of its own; returns once it listens."""
        ready = threading.Event()

        def main():
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(self.start_async())
            ready.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.stop_async())
            self.loop.close()

        self._thread = threading.Thread(target=main, name="whep-test-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the WHEP test server did not start")
        return self

    def kill_sessions(self) -> None:
        """Close every peer connection abruptly, as a gateway that crashes would."""
        async def close_all():
            for pc in list(self.sessions.values()):
                await pc.close()
            self.sessions.clear()
        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(5)

    def stop(self) -> None:
        if self.loop is not None and self._thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--token")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    server = WhepServer(w, h, args.fps, args.token, args.port).start()
    print(f"READY {server.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
