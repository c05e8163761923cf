"""FFmpeg (PyAV) player: RTSP/RTSPS over TCP or UDP with Basic/Digest auth, tuned for low latency; HLS/HTTP too."""

from __future__ import annotations

import errno
import logging
import sys
import time

import av
import av.error

from console.video.player import (STALL_MESSAGE, WAITING_MESSAGE, ErrorKind, PlayerState, RateFromTimestamps,
                                  StreamError, StreamInfo, ThreadedPlayer, fit_size, no_key_frame_error,
                                  without_reconnecting)
from console.video.tls import check_certificate, needs_tls_check

log = logging.getLogger(__name__)

# RTSP "461 Unsupported transport" reaches PyAV as EPROTONOSUPPORT: the server wants the other lower transport.
TRANSPORT_REFUSED = errno.EPROTONOSUPPORT
BOTH_TRANSPORTS_REFUSED = ("The camera refused RTSP over both TCP and UDP; check the camera's RTSP settings "
                           "(or a firewall between here and the camera).")


HW_DECODE_CHOICES = ("auto", "off")
SOFTWARE = "software"


def hw_devices_to_try(platform: str | None = None) -> tuple[str, ...]:
    """FFmpeg's hardware decoding device types worth trying on this platform, best first."""
    platform = platform or sys.platform
    if platform.startswith("win"):
        return ("d3d11va", "cuda")
    if platform.startswith("linux"):
        return ("vaapi", "cuda")
    return ()


def hw_device_problem(device: str, codec: str = "h264") -> str | None:
    """Why FFmpeg cannot decode `codec` on a `device` here (the device is created to find out), or None."""
    try:
        from av.codec.hwaccel import HWAccel, hwdevices_available

        if device not in hwdevices_available():
            return "not in this FFmpeg build"
        HWAccel(device, allow_software_fallback=False).create(av.Codec(codec, "r"))
    except Exception as exc:  # no driver, no device node, not permitted, no config for the codec
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


def check_hw_decode(value: str) -> str:
    if value not in HW_DECODE_CHOICES:
        raise ValueError(f"The hardware decoding setting must be one of {', '.join(HW_DECODE_CHOICES)}, "
                         f"not {str(value)[:40]!r}.")
    return value


class _HardwareFailed(Exception):
    """Opening or the first decode on the hardware device failed: this stream goes to software, at once."""


class _TransportRefused(Exception):
    """The RTSP server refused the lower transport asked for (461); the other one may work."""


def classify(exc: BaseException) -> StreamError:
    """The user-facing error for an FFmpeg failure (its own text holds the URL, so it is never reused)."""
    if isinstance(exc, StreamError):
        return exc
    if isinstance(exc, (av.error.HTTPUnauthorizedError, av.error.HTTPForbiddenError)):
        return StreamError(ErrorKind.UNAUTHORIZED)
    if isinstance(exc, av.error.HTTPNotFoundError):
        return StreamError(ErrorKind.NOT_FOUND)
    if isinstance(exc, (av.error.DecoderNotFoundError,)):
        return StreamError(ErrorKind.UNSUPPORTED_CODEC)
    if isinstance(exc, av.error.ProtocolNotFoundError):
        return StreamError(ErrorKind.UNSUPPORTED)
    if isinstance(exc, (av.error.ExitError, TimeoutError)):
        return StreamError(ErrorKind.TIMED_OUT)
    code = getattr(exc, "errno", None)
    if isinstance(exc, _TransportRefused) or code == TRANSPORT_REFUSED:
        return StreamError(ErrorKind.UNSUPPORTED, BOTH_TRANSPORTS_REFUSED)
    if code == errno.ETIMEDOUT:
        return StreamError(ErrorKind.TIMED_OUT)
    if isinstance(exc, (ConnectionError, EOFError)) or code in (
            errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ECONNRESET, errno.EPIPE, errno.EIO):
        return StreamError(ErrorKind.UNREACHABLE)
    if "resolve" in str(exc).lower() or "name or service" in str(exc).lower():
        return StreamError(ErrorKind.UNREACHABLE)
    if isinstance(exc, av.error.InvalidDataError):
        return StreamError(ErrorKind.UNSUPPORTED_CODEC, "The stream's data could not be read as video; "
                                                        "check that the address is a video stream.")
    return StreamError(ErrorKind.FAILED)


class FFmpegPlayer(ThreadedPlayer):
    backend = "ffmpeg"
    clip_buffer = None  # a console.video.clip_buffer.ClipBuffer: keeps the last seconds of packets for a clip

    def __init__(self, source, hw_decode: str = "auto", **kwargs):
        super().__init__(source, **kwargs)
        # "auto": the platform's hardware decoder when one works, once per stream, else software; "off": software.
        self.hw_decode = check_hw_decode(hw_decode)
        self.hw_device: str | None = None  # the device this stream decodes on; None: software
        self.hw_tried: list[str] = []  # "device: why not", for each device tried and given up
        self._hw_chosen = hw_decode == "off"
        url = source.url.lower()
        # RTSPS is TCP only (FFmpeg refuses UDP with TLS); plain RTSP starts with the camera's stored transport
        # and falls back to the other one when the server refuses it (VLC's server answers 461 to TCP).
        self._rtsp = url.startswith(("rtsp://", "rtsps://"))
        self._fallback = url.startswith("rtsp://")
        self.transport = (("tcp" if url.startswith("rtsps://") else source.transport) if self._rtsp
                          else "http" if url.startswith(("http://", "https://")) else None)

    def _options(self) -> dict[str, str]:
        timeout_us = str(int(self.connect_timeout * 1_000_000))
        if self._rtsp:
            # analyzeduration=0 means "the 5 s default" to FFmpeg; 1 µs and a tiny probe give ~0.1 s to open.
            # No fflags=nobuffer: it throws away the packets read while probing, and with them the key frame a
            # camera sends at PLAY, so the first picture waited a whole key-frame interval (4 s on a 4 s camera).
            return {"rtsp_transport": self.transport, "analyzeduration": "1", "probesize": "32",
                    "flags": "low_delay", "timeout": timeout_us,
                    "allowed_media_types": "video", "max_delay": "300000", "reorder_queue_size": "64"}
        return {"rw_timeout": timeout_us, "fflags": "nobuffer", "flags": "low_delay"}

    def _run(self) -> None:
        self._set_state(PlayerState.CONNECTING)
        attempt = 0
        while not self._stopping.is_set():
            frames_before = self.stats.frames
            try:
                self._play_once_any_transport()
                error = StreamError(ErrorKind.UNREACHABLE, "The camera ended the stream; reconnecting.")
            except StreamError as exc:
                error = exc
            except Exception as exc:  # anything FFmpeg raises becomes one sentence; details go to the log
                log.debug("ffmpeg failure on %s: %s", self.source.display_url, self.source.redact(repr(exc)))
                error = classify(exc)
            if self._stopping.is_set():
                break
            if error.final or not self.reconnect:
                self._set_state(PlayerState.ERROR, error if self.reconnect else without_reconnecting(error))
                return
            if str(error) == STALL_MESSAGE:
                self._set_stalled()
            if self.stats.frames > frames_before:
                attempt = 0  # it played for a while: start the backoff again from the shortest delay
            self.stats.reconnects += 1
            self._set_state(PlayerState.RECONNECTING, error)
            if not self._backoff_wait(attempt):
                break
            attempt += 1
        self._set_state(PlayerState.ENDED)

    def _choose_decoder(self, codec: str = "h264") -> None:
        """Before the first open: the first of the platform's devices that FFmpeg can create, else software."""
        self._hw_chosen = True
        for device in hw_devices_to_try():
            problem = hw_device_problem(device, codec)
            if problem is None:
                self.hw_device = device
                return
            self.hw_tried.append(f"{device}: {problem}")
        if self.hw_tried:
            log.info("ffmpeg %s: hardware decoding unavailable (%s); decoding in software",
                     self.source.display_url, "; ".join(self.hw_tried))

    def _software_from_now(self, why: str) -> None:
        self.hw_tried.append(f"{self.hw_device}: {why[:200]}")
        log.info("ffmpeg %s: hardware decoding on %s failed (%s); decoding in software",
                 self.source.display_url, self.hw_device, why[:200])
        self.hw_device = None

    @property
    def decoder(self) -> str:
        return self.hw_device or SOFTWARE

    def _play_once_any_transport(self) -> None:
        """One session; when the server refuses this RTSP transport, at once again with the other one."""
        if not self._hw_chosen:
            self._choose_decoder()
        try:
            self._play_once_any_decoder()
        except _TransportRefused:
            if not self._fallback:
                raise StreamError(ErrorKind.UNSUPPORTED, BOTH_TRANSPORTS_REFUSED) from None
            refused, self.transport = self.transport, "udp" if self.transport == "tcp" else "tcp"
            log.info("ffmpeg %s refused RTSP over %s; trying %s", self.source.display_url, refused, self.transport)
            try:
                self._play_once_any_decoder()
            except _TransportRefused:
                self.transport = refused
                raise StreamError(ErrorKind.UNSUPPORTED, BOTH_TRANSPORTS_REFUSED) from None

    def _play_once_any_decoder(self) -> None:
        try:
            self._play_once()
        except _HardwareFailed as exc:
            self._software_from_now(str(exc))
            self._play_once()

    def _play_once(self) -> None:
        self._new_session()
        if needs_tls_check(self.source.url):  # FFmpeg's RTSPS client cannot verify: our handshake first
            check_certificate(self.source.url, self.source.ca_file, self.source.pin_sha256, self.connect_timeout)
        began = time.monotonic()
        hwaccel = None
        if self.hw_device:
            from av.codec.hwaccel import HWAccel

            hwaccel = HWAccel(self.hw_device, allow_software_fallback=True)
        try:
            container = av.open(self.source.url_with_credentials(), options=self._options(),
                                timeout=(self.connect_timeout, self.stall_after / 2),  # PyAV takes ~2x to give up
                                hwaccel=hwaccel)
        except Exception as exc:
            log.debug("open failed: %s", self.source.redact(repr(exc)))
            if self._rtsp and getattr(exc, "errno", None) == TRANSPORT_REFUSED:
                raise _TransportRefused() from None
            # PyAV's own refusal of the device (no hardware config for this codec), not FFmpeg's of the camera
            if hwaccel is not None and isinstance(exc, (RuntimeError, NotImplementedError)):
                raise _HardwareFailed(f"opening failed: {str(exc)[:120]}") from None
            # A server that accepts and stays silent surfaces as "invalid data" once the socket times out.
            if isinstance(exc, av.error.InvalidDataError) and time.monotonic() - began >= self.connect_timeout * 0.9:
                raise StreamError(ErrorKind.TIMED_OUT) from None
            raise classify(exc) from None
        try:
            if not container.streams.video:
                raise StreamError(ErrorKind.UNSUPPORTED_CODEC, "The stream carries no video.")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            ctx.thread_type = "SLICE"  # frame threading would add a frame of latency per thread
            if self.hw_device and not ctx.is_hwaccel:  # PyAV opened the software decoder in its place
                self._software_from_now(f"the device has no {ctx.name} decoder")
            # Only a rate the stream declares (SDP a=framerate, container): with probing off FFmpeg's guessed_rate
            # is a default (50), not the camera's. Without one, the first frames' timestamps tell.
            rate = stream.average_rate
            fps = float(rate) if rate else None
            # Multipart JPEG over HTTP (a camera's MJPEG CGI) has no timestamps: FFmpeg numbers the pictures at a
            # nominal 25/s whatever the camera sends, so the rate comes from when they arrive, and no gap counts.
            by_arrival = not self._rtsp and ctx.name == "mjpeg"
            if by_arrival:
                fps = None
            timing = None if fps else RateFromTimestamps()
            self.stats.info = StreamInfo(codec=ctx.name, width=ctx.width or None, height=ctx.height or None, fps=fps,
                                         transport=self.transport, decoder=self.decoder,
                                         decoder_note="; ".join(self.hw_tried) or None)
            opened_at = last_frame_at = time.monotonic()
            if self.clip_buffer is not None:
                self.clip_buffer.start_session(stream)
            if not self._session_frames:
                self._set_state(PlayerState.WAITING)
                log.debug("%s: %s", self.source.display_url, WAITING_MESSAGE)
            for packet in container.demux(stream):
                if self._stopping.is_set():
                    return
                if self.clip_buffer is not None:
                    self.clip_buffer.add(packet)
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    if self._session_frames:  # before the first key frame nothing can decode: nothing is lost
                        self.stats.lost += 1  # a damaged picture (lost packets over UDP); the next key frame heals it
                    continue
                except Exception as exc:
                    if self.hw_device and not self._session_frames:  # the device, not the stream
                        raise _HardwareFailed(f"the first decode failed: {type(exc).__name__}: {exc}") from None
                    raise
                for frame in frames:
                    pts = None if by_arrival else frame.time
                    if timing is not None and (found := timing.add(time.monotonic() if by_arrival else pts)):
                        fps = self.stats.info.fps = float(round(found)) if by_arrival else found
                        timing = None
                    if self._count_frame(pts, fps, frame.key_frame):
                        self._hand_over(self._to_rgb(frame))
                    last_frame_at = time.monotonic()
                # The stall timer runs only once this session has shown a picture: until then a camera may take
                # its whole key-frame interval, up to the first-frame deadline of its own.
                if not self._session_frames:
                    if time.monotonic() - opened_at > self.first_frame_timeout:
                        raise no_key_frame_error(self.first_frame_timeout)
                elif time.monotonic() - last_frame_at > self.stall_after:
                    raise StreamError(ErrorKind.TIMED_OUT, STALL_MESSAGE)
        except av.error.ExitError:
            if self._session_frames:
                raise StreamError(ErrorKind.TIMED_OUT, STALL_MESSAGE) from None
            raise StreamError(ErrorKind.TIMED_OUT) from None
        finally:
            container.close()

    def _to_rgb(self, frame):
        if not self.stats.info.width:
            self.stats.info.width, self.stats.info.height = frame.width, frame.height
        if self.output_size and (frame.width > self.output_size[0] or frame.height > self.output_size[1]):
            w, h = fit_size(frame.width, frame.height, self.output_size)
            return frame.to_ndarray(width=w, height=h, format="rgb24")
        return frame.to_ndarray(format="rgb24")
