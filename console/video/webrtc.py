"""WebRTC player over WHEP (RFC 9725) with aiortc: POST the offer, play the answer, DELETE the session on close."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from urllib.parse import urljoin

import aiohttp
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from console.video.aioloop import AsyncLoopThread
from console.video.player import (STALL_MESSAGE, ErrorKind, Player, PlayerState, StreamError, StreamInfo,
                                  fit_size)

log = logging.getLogger(__name__)

_RTPMAP = re.compile(r"a=rtpmap:\d+ ([A-Za-z0-9-]+)/")


def _negotiated_codec(answer_sdp: str) -> str | None:
    for name in _RTPMAP.findall(answer_sdp):
        if name.upper() not in ("RTX", "RED", "ULPFEC"):
            return name.lower()
    return None


def _http_error(status: int) -> StreamError:
    if status in (401, 403):
        return StreamError(ErrorKind.UNAUTHORIZED, "The WebRTC gateway refused the stream token or password; "
                                                   "check the credentials stored for this camera.")
    if status == 404:
        return StreamError(ErrorKind.NOT_FOUND, "The WebRTC gateway has no stream at that address; check the path.")
    if status in (406, 415, 488):
        return StreamError(ErrorKind.UNSUPPORTED_CODEC, "The WebRTC gateway offers no video format this console "
                                                        "can decode (H.264 or VP8).")
    return StreamError(ErrorKind.FAILED, f"The WebRTC gateway answered with HTTP status {status}; try again later.")


class WebRTCPlayer(Player):
    backend = "webrtc"

    def __init__(self, source, *, loop: AsyncLoopThread | None = None, **kwargs):
        super().__init__(source, **kwargs)
        self._own_loop = loop is None
        self._loop = loop
        self._future = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._loop is None:
            self._loop = AsyncLoopThread("whep-player")
        self._stopping.clear()
        self._mark_started()
        self._future = self._loop.submit(self._run())

    def stop(self) -> None:
        self._stopping.set()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon(self._task.cancel)

    def join(self, timeout: float | None = None) -> bool:
        if self._future is None:
            return True
        try:
            self._future.result(timeout)
        except Exception:  # cancelled or failed: either way the session is gone
            pass
        done = self._future.done()
        if done and self._own_loop and self._loop is not None:
            self._loop.close()
        return done

    def _headers(self) -> dict[str, str]:
        if self.source.token:
            return {"Authorization": f"Bearer {self.source.token}"}
        if self.source.username:
            return {"Authorization": aiohttp.BasicAuth(self.source.username, self.source.password or "").encode()}
        return {}

    async def _run(self) -> None:
        self._task = asyncio.current_task()
        if self._stopping.is_set():
            return
        self._set_state(PlayerState.CONNECTING)
        attempt = 0
        try:
            while not self._stopping.is_set():
                frames_before = self.stats.frames
                try:
                    await self._session()
                    error = StreamError(ErrorKind.UNREACHABLE, "The camera ended the stream; reconnecting.")
                except StreamError as exc:
                    error = exc
                except (aiohttp.ClientConnectionError, OSError):
                    error = StreamError(ErrorKind.UNREACHABLE, "The WebRTC gateway cannot be reached; check that "
                                                               "it is online and the address is right.")
                except asyncio.TimeoutError:
                    error = StreamError(ErrorKind.TIMED_OUT)
                if error.final or not self.reconnect:
                    self._set_state(PlayerState.ERROR, error)
                    return
                if str(error) == STALL_MESSAGE:
                    self._set_stalled()
                if self.stats.frames > frames_before:
                    attempt = 0
                self.stats.reconnects += 1
                self._set_state(PlayerState.RECONNECTING, error)
                await asyncio.sleep(min(self.max_backoff, 0.5 * 2 ** attempt))
                attempt += 1
        except asyncio.CancelledError:
            pass
        self._set_state(PlayerState.ENDED)

    async def _session(self) -> None:
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in self.source.ice_servers])
        pc = RTCPeerConnection(config)
        session_url = None
        track_ready: asyncio.Future = asyncio.get_running_loop().create_future()

        @pc.on("track")
        def on_track(track):
            if track.kind == "video" and not track_ready.done():
                track_ready.set_result(track)

        timeout = aiohttp.ClientTimeout(total=self.connect_timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                try:
                    pc.addTransceiver("video", direction="recvonly")
                    await pc.setLocalDescription(await pc.createOffer())
                    headers = {"Content-Type": "application/sdp", **self._headers()}
                    async with http.post(self.source.url, data=pc.localDescription.sdp, headers=headers) as resp:
                        if resp.status not in (200, 201):
                            raise _http_error(resp.status)
                        answer = await resp.text()
                        if "Location" in resp.headers:
                            session_url = urljoin(self.source.url, resp.headers["Location"])
                    self.stats.info = StreamInfo(codec=_negotiated_codec(answer))
                    try:
                        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
                    except ValueError:
                        raise StreamError(ErrorKind.UNSUPPORTED_CODEC) from None
                    track = await asyncio.wait_for(track_ready, self.connect_timeout)
                    await self._receive(track)
                finally:
                    if session_url:
                        await self._delete(http, session_url)
        finally:
            await pc.close()

    async def _receive(self, track) -> None:
        self._new_session()
        last_pts = None
        while not self._stopping.is_set():
            try:
                frame = await asyncio.wait_for(track.recv(), self.stall_after if self.stats.frames else
                                               self.connect_timeout)
            except asyncio.TimeoutError:
                raise StreamError(ErrorKind.TIMED_OUT, STALL_MESSAGE if self.stats.frames else None) from None
            except MediaStreamError:
                return  # the remote ended the track
            info = self.stats.info
            if not info.width:
                info.width, info.height = frame.width, frame.height
            pts = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else None
            if pts is not None and last_pts is not None and pts > last_pts and not info.fps:
                info.fps = round(1.0 / (pts - last_pts), 1)
            last_pts = pts
            if not self._count_frame(pts, info.fps):
                continue
            if self.output_size and (frame.width > self.output_size[0] or frame.height > self.output_size[1]):
                w, h = fit_size(frame.width, frame.height, self.output_size)
                self._hand_over(frame.to_ndarray(width=w, height=h, format="rgb24"))
            else:
                self._hand_over(frame.to_ndarray(format="rgb24"))

    async def _delete(self, http: aiohttp.ClientSession, session_url: str) -> None:
        """End the WHEP session (RFC 9725 section 4.2); a gateway that is gone already is not an error."""
        began = time.monotonic()
        try:
            async with http.delete(session_url, headers=self._headers(),
                                   timeout=aiohttp.ClientTimeout(total=2)) as resp:
                log.debug("WHEP DELETE %s -> %s in %.0f ms", self.source.redact(session_url), resp.status,
                          (time.monotonic() - began) * 1000)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            log.debug("WHEP DELETE failed for %s", self.source.redact(session_url))
