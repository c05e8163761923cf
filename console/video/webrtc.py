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

from console.domain.cameras import normalize_fingerprint
from console.video.aioloop import AsyncLoopThread
from console.video.player import (STALL_MESSAGE, ErrorKind, Player, PlayerState, RateFromTimestamps, StreamError,
                                  StreamInfo, fit_size, no_key_frame_error, without_reconnecting)
from console.video.tls import untrusted

log = logging.getLogger(__name__)

_RTPMAP = re.compile(r"a=rtpmap:\d+ ([A-Za-z0-9-]+)/")
DELETE_DEADLINE_S = 2.0  # how long a stop waits for the WHEP DELETE (and for an offer already sent) to go out

TIMED_OUT = "The WebRTC gateway did not answer in time; it may be overloaded, or the address may be wrong."
NO_VIDEO_IN_TIME = ("The WebRTC gateway answered, but no video arrived in time; a firewall may block the media "
                    "(UDP) between here and the gateway.")
UNREACHABLE = "The WebRTC gateway cannot be reached; check that it is online and the address is right."
NO_COMMON_CODEC = ("The WebRTC gateway has no video format in common with this console (it answered without a "
                   "usable video codec); set the camera or gateway to H.264 or VP8.")


def _video_section(sdp: str) -> str | None:
    """The answer's first m=video section, or None when it has none."""
    parts = re.split(r"(?m)^(?=m=)", sdp)
    return next((p for p in parts if p.startswith("m=video")), None)


def _no_common_codec(answer_sdp: str) -> bool:
    """A video line refused (port 0), inactive, or without a codec: what gateways answer when no codec matches."""
    video = _video_section(answer_sdp)
    if video is None:
        return True
    port = video.split()[1] if len(video.split()) > 1 else "0"
    return port == "0" or bool(re.search(r"(?m)^a=inactive\s*$", video)) or _negotiated_codec(video) is None


def _network_error(exc: BaseException) -> StreamError:
    """What went wrong talking to the gateway, named for what happened."""
    # In Python 3.11 asyncio.TimeoutError is TimeoutError, an OSError: it must be asked about before OSError.
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return StreamError(ErrorKind.TIMED_OUT, TIMED_OUT)
    # Certificate errors are connection errors to aiohttp: asked about first, they are UNTRUSTED, not unreachable.
    if isinstance(exc, aiohttp.ServerFingerprintMismatch):
        return untrusted(f"its SHA-256 fingerprint {exc.got.hex()[:16]}… is not the pinned {exc.expected.hex()[:16]}…")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        return untrusted(str(getattr(cert_error, "verify_message", "") or "verification failed").rstrip("."))
    if isinstance(exc, (aiohttp.ClientConnectionError, OSError)):
        return StreamError(ErrorKind.UNREACHABLE, UNREACHABLE)
    return StreamError(ErrorKind.FAILED)


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
    if 400 <= status < 500:
        return StreamError(ErrorKind.REFUSED, f"The WebRTC gateway refused the stream request (HTTP status {status}); "
                                              "check the stream address and the gateway's settings.")
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
                except Exception as exc:  # aiohttp, aiortc and the network: one sentence, details in the log
                    log.debug("WHEP failure on %s: %s", self.source.display_url, self.source.redact(repr(exc)))
                    error = _network_error(exc)
                if error.final or not self.reconnect:
                    self._set_state(PlayerState.ERROR, error if self.reconnect else without_reconnecting(error))
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

        try:
            try:
                pc.addTransceiver("video", direction="recvonly")
                await pc.setLocalDescription(await pc.createOffer())
                # Shielded: a stop while the offer is out still learns the session's address, to DELETE it.
                exchange = asyncio.ensure_future(self._offer(pc.localDescription.sdp))
                try:
                    answer, session_url = await asyncio.shield(exchange)
                except asyncio.CancelledError:
                    await asyncio.wait({exchange}, timeout=DELETE_DEADLINE_S)
                    if exchange.done() and not exchange.cancelled() and exchange.exception() is None:
                        session_url = exchange.result()[1]
                    else:
                        exchange.cancel()
                    raise
                self.stats.info = StreamInfo(codec=_negotiated_codec(answer), transport="webrtc")
                if _no_common_codec(answer):
                    raise StreamError(ErrorKind.UNSUPPORTED_CODEC, NO_COMMON_CODEC)
                try:
                    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
                except ValueError:
                    raise StreamError(ErrorKind.UNSUPPORTED_CODEC, NO_COMMON_CODEC) from None
                try:
                    track = await asyncio.wait_for(track_ready, self.connect_timeout)
                except asyncio.TimeoutError:
                    raise StreamError(ErrorKind.TIMED_OUT, NO_VIDEO_IN_TIME) from None
                await self._receive(track)
            finally:
                if session_url:
                    await self._delete_shielded(session_url)
        finally:
            await pc.close()

    def _tls(self):
        """aiohttp's `ssl=` for the gateway: the pinned fingerprint, else the system's CAs plus the CA file."""
        if not self.source.url.lower().startswith("https://"):
            return True
        if self.source.pin_sha256:
            try:
                return aiohttp.Fingerprint(bytes.fromhex(normalize_fingerprint(self.source.pin_sha256)))
            except ValueError as exc:
                raise StreamError(ErrorKind.UNTRUSTED, f"The pinned certificate fingerprint is not valid: {exc}.") from None
        if self.source.ca_file:
            import ssl

            try:
                return ssl.create_default_context(cafile=self.source.ca_file)
            except (ssl.SSLError, OSError, ValueError):
                raise StreamError(ErrorKind.UNTRUSTED, f"The RTSPS CA file {self.source.ca_file!r} cannot be read; "
                                                       "fix the setting rtsps_ca_file.") from None
        return True

    async def _offer(self, offer_sdp: str) -> tuple[str, str | None]:
        """POST the offer (RFC 9725 section 4.1): the answer and the session's address."""
        headers = {"Content-Type": "application/sdp", **self._headers()}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.connect_timeout)) as http:
            async with http.post(self.source.url, data=offer_sdp, headers=headers, ssl=self._tls()) as resp:
                if resp.status not in (200, 201):
                    raise _http_error(resp.status)
                answer = await resp.text()
                location = resp.headers.get("Location")
        return answer, urljoin(self.source.url, location) if location else None

    async def _delete_shielded(self, session_url: str) -> None:
        """Send the DELETE even when the stop's cancel lands here, waiting for it at most DELETE_DEADLINE_S."""
        deleting = asyncio.ensure_future(self._delete(session_url))
        try:
            await asyncio.shield(deleting)
        except asyncio.CancelledError:
            await asyncio.wait({deleting}, timeout=DELETE_DEADLINE_S)
            raise

    async def _receive(self, track) -> None:
        self._new_session()
        timing = RateFromTimestamps()
        self._set_state(PlayerState.WAITING)
        while not self._stopping.is_set():
            # The stall timer runs once this session showed a picture; before, the first-frame deadline does.
            first = not self._session_frames
            try:
                frame = await asyncio.wait_for(track.recv(), self.first_frame_timeout if first else self.stall_after)
            except asyncio.TimeoutError:
                raise (no_key_frame_error(self.first_frame_timeout) if first
                       else StreamError(ErrorKind.TIMED_OUT, STALL_MESSAGE)) from None
            except MediaStreamError:
                return  # the remote ended the track
            info = self.stats.info
            if not info.width:
                info.width, info.height = frame.width, frame.height
            pts = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else None
            if not info.fps and (found := timing.add(pts)):
                info.fps = found
            if not self._count_frame(pts, info.fps, bool(getattr(frame, "key_frame", False))):
                continue
            if self.output_size and (frame.width > self.output_size[0] or frame.height > self.output_size[1]):
                w, h = fit_size(frame.width, frame.height, self.output_size)
                self._hand_over(frame.to_ndarray(width=w, height=h, format="rgb24"))
            else:
                self._hand_over(frame.to_ndarray(format="rgb24"))

    async def _delete(self, session_url: str) -> None:
        """End the WHEP session (RFC 9725 section 4.2); a gateway that is gone already is not an error."""
        began = time.monotonic()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DELETE_DEADLINE_S)) as http:
                async with http.delete(session_url, headers=self._headers(), ssl=self._tls()) as resp:
                    log.debug("WHEP DELETE %s -> %s in %.0f ms", self.source.redact(session_url), resp.status,
                              (time.monotonic() - began) * 1000)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            log.debug("WHEP DELETE failed for %s", self.source.redact(session_url))
