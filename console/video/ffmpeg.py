"""FFmpeg (PyAV) player: RTSP/RTSPS over TCP or UDP with Basic/Digest auth, tuned for low latency; HLS/HTTP too."""

from __future__ import annotations

import errno
import logging
import time

import av
import av.error

from console.video.player import (STALL_MESSAGE, ErrorKind, PlayerState, StreamError, StreamInfo, ThreadedPlayer,
                                  fit_size)

log = logging.getLogger(__name__)



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

    def _options(self) -> dict[str, str]:
        timeout_us = str(int(self.connect_timeout * 1_000_000))
        if self.source.url.lower().startswith(("rtsp://", "rtsps://")):
            # analyzeduration=0 means "the 5 s default" to FFmpeg; 1 µs and a tiny probe give ~0.1 s to open.
            # RTSPS is TCP only (FFmpeg refuses UDP with TLS).
            transport = "tcp" if self.source.url.lower().startswith("rtsps://") else self.source.transport
            return {"rtsp_transport": transport, "analyzeduration": "1", "probesize": "32",
                    "fflags": "nobuffer", "flags": "low_delay", "timeout": timeout_us,
                    "allowed_media_types": "video", "max_delay": "300000", "reorder_queue_size": "64"}
        return {"rw_timeout": timeout_us, "fflags": "nobuffer", "flags": "low_delay"}

    def _run(self) -> None:
        self._set_state(PlayerState.CONNECTING)
        attempt = 0
        while not self._stopping.is_set():
            frames_before = self.stats.frames
            try:
                self._play_once()
                error = StreamError(ErrorKind.UNREACHABLE, "The camera ended the stream; reconnecting.")
            except StreamError as exc:
                error = exc
            except Exception as exc:  # anything FFmpeg raises becomes one sentence; details go to the log
                log.debug("ffmpeg failure on %s: %s", self.source.display_url, self.source.redact(repr(exc)))
                error = classify(exc)
            if self._stopping.is_set():
                break
            if error.final or not self.reconnect:
                self._set_state(PlayerState.ERROR, error)
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

    def _play_once(self) -> None:
        self._new_session()
        began = time.monotonic()
        try:
            container = av.open(self.source.url_with_credentials(), options=self._options(),
                                timeout=(self.connect_timeout, self.stall_after / 2))  # PyAV takes ~2x to give up
        except Exception as exc:
            log.debug("open failed: %s", self.source.redact(repr(exc)))
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
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else None
            self.stats.info = StreamInfo(codec=ctx.name, width=ctx.width or None, height=ctx.height or None, fps=fps)
            last_frame_at = time.monotonic()
            for packet in container.demux(stream):
                if self._stopping.is_set():
                    return
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    self.stats.lost += 1  # a damaged picture (lost packets over UDP); the next key frame heals it
                    continue
                for frame in frames:
                    if self._count_frame(frame.time, fps):
                        self._hand_over(self._to_rgb(frame))
                    last_frame_at = time.monotonic()
                if time.monotonic() - last_frame_at > self.stall_after:
                    raise StreamError(ErrorKind.TIMED_OUT, STALL_MESSAGE)
        except av.error.ExitError:
            if self.stats.frames:
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
