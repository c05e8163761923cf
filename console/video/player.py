"""The one Player interface every backend implements: states, errors a person can act on, frames, stats."""

from __future__ import annotations

import enum
import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from console.errors import UserError
from console.video.source import StreamSource

log = logging.getLogger(__name__)


class PlayerState(str, enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    WAITING = "waiting"  # connected, no picture yet: the camera's first key frame may take its whole interval
    LIVE = "live"
    STALLED = "stalled"  # connected, but no frame for `stall_after` seconds
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    ERROR = "error"


class ErrorKind(str, enum.Enum):
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    UNREACHABLE = "unreachable"
    UNSUPPORTED_CODEC = "unsupported_codec"
    TIMED_OUT = "timed_out"
    UNSUPPORTED = "unsupported"  # this backend cannot play this kind of URL here
    REFUSED = "refused"  # the server understood the request and said no (an HTTP 4xx other than auth/404)
    UNTRUSTED = "untrusted"  # TLS: the certificate does not verify (CA, host name, pinned fingerprint)
    FAILED = "failed"


# Errors a retry cannot fix: the player stops and says why instead of reconnecting forever.
FINAL_ERRORS = {ErrorKind.UNAUTHORIZED, ErrorKind.NOT_FOUND, ErrorKind.UNSUPPORTED_CODEC, ErrorKind.UNSUPPORTED,
                ErrorKind.REFUSED, ErrorKind.UNTRUSTED}

MESSAGES = {
    ErrorKind.UNAUTHORIZED: "The camera refused the stream user name or password; check the credentials stored for it.",
    ErrorKind.NOT_FOUND: "The camera has no stream at that address; check the stream path.",
    ErrorKind.UNREACHABLE: "The camera cannot be reached; check that it is online and the address and port are right.",
    ErrorKind.UNSUPPORTED_CODEC: "The camera sends video in a format this console cannot decode; set it to H.264.",
    ErrorKind.TIMED_OUT: "The camera accepted the connection but did not answer in time; it may be overloaded.",
    ErrorKind.UNSUPPORTED: "This player cannot open that kind of stream here; choose another backend.",
    ErrorKind.REFUSED: "The camera refused the stream request; check the stream address and the camera's settings.",
    ErrorKind.UNTRUSTED: ("The camera's certificate could not be verified, so the stream was not opened; give its CA "
                          "in the setting rtsps_ca_file or pin its SHA-256 fingerprint for this camera."),
    ErrorKind.FAILED: "The stream could not be played.",
}


STALL_MESSAGE = "The camera stopped sending pictures; reconnecting."
WAITING_MESSAGE = "Waiting for the camera's first key frame."
# Longest key-frame interval a camera may use ("smart" codecs: up to 10 s): the first-frame deadline's default.
FIRST_FRAME_TIMEOUT_S = 12.0


def no_key_frame_error(seconds: float) -> "StreamError":
    return StreamError(ErrorKind.TIMED_OUT, f"The camera is connected but sent no key frame within {seconds:g} s; "
                                            "check its key-frame (I-frame) interval.")


def without_reconnecting(error: "StreamError") -> "StreamError":
    """The same error for a player that will not reconnect: it must not promise to."""
    text = str(error)
    if text.endswith("; reconnecting."):
        return StreamError(error.kind, text[: -len("; reconnecting.")] + ".")
    return error


class StreamError(UserError):
    """Why a stream cannot play, in one sentence without credentials."""

    def __init__(self, kind: ErrorKind, message: str | None = None):
        self.kind = kind
        super().__init__(message or MESSAGES[kind])

    @property
    def final(self) -> bool:
        return self.kind in FINAL_ERRORS


def fit_size(w: int, h: int, box: tuple[int, int]) -> tuple[int, int]:
    """(w, h) scaled down to fit `box`, keeping the aspect ratio, in even numbers (what the scalers like)."""
    scale = min(box[0] / w, box[1] / h, 1.0)
    return max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)


@dataclass(frozen=True)
class VideoFrame:
    """A decoded picture as RGB (height x width x 3, uint8), with when it arrived (time.monotonic())."""

    image: Any  # numpy.ndarray
    index: int
    received_at: float

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass
class StreamInfo:
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None  # from the SDP, else from the timestamps of the first frames
    transport: str | None = None  # RTSP lower transport actually used (tcp/udp); "webrtc"/"http" otherwise
    key_frame_interval_s: float | None = None  # between the last two key frames seen
    decoder: str | None = None  # FFmpeg: "software" or the hardware device (vaapi, cuda, d3d11va)
    decoder_note: str | None = None  # FFmpeg: the hardware devices tried and why each was given up


@dataclass
class PlayerStats:
    frames: int = 0  # decoded
    lost: int = 0  # gaps in the timestamps of a constant-rate stream, plus undecodable pictures
    first_frame_ms: float | None = None  # from start() to the first decoded frame
    reconnects: int = 0
    info: StreamInfo = field(default_factory=StreamInfo)


StateCallback = Callable[[PlayerState, "StreamError | None"], None]
FrameCallback = Callable[[VideoFrame], None]


class Player(ABC):
    """Plays one stream. Callbacks come from the player's own threads: a GUI must hop to its own thread."""

    backend: str = "?"

    def __init__(self, source: StreamSource, *, on_state: StateCallback | None = None,
                 on_frame: FrameCallback | None = None, reconnect: bool = True, stall_after: float = 3.0,
                 connect_timeout: float = 5.0, max_backoff: float = 8.0, output_size: tuple[int, int] | None = None,
                 frame_wanted: Callable[[], bool] | None = None, first_frame_timeout: float = FIRST_FRAME_TIMEOUT_S):
        self.source = source
        self.on_state = on_state
        self.on_frame = on_frame
        self.reconnect = reconnect
        self.stall_after = stall_after  # counts only once a session has shown its first picture
        self.first_frame_timeout = max(first_frame_timeout, stall_after)
        self.connect_timeout = connect_timeout
        self.max_backoff = max_backoff
        self.output_size = output_size  # scale frames down to this (w, h) in the decode thread
        # Asked before converting a decoded picture to RGB: a GUI still busy with the last one says no, and the
        # conversion (the dearest part after decoding) is skipped. Every picture is still decoded and counted.
        self.frame_wanted = frame_wanted
        self.skipped = 0
        self._last_frame_at = 0.0
        self._last_pts: float | None = None
        self._last_key_pts: float | None = None
        self._session_frames = 0
        self.stats = PlayerStats()
        self.state = PlayerState.IDLE
        self.error: StreamError | None = None
        self._stopping = threading.Event()
        self._started_at: float | None = None
        self._lock = threading.Lock()
        self._latest: VideoFrame | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.source.display_url} {self.state.value}>"

    # -- what callers use
    @abstractmethod
    def start(self) -> None:
        """Begin connecting; returns at once."""

    @abstractmethod
    def stop(self) -> None:
        """Stop playing and release the stream; returns at once (the work finishes on a player thread)."""

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the player has let go of the stream; True when it has."""
        return True

    def latest_frame(self) -> VideoFrame | None:
        with self._lock:
            return self._latest

    # -- what backends use
    def _set_state(self, state: PlayerState, error: StreamError | None = None) -> None:
        if self._stopping.is_set() and state not in (PlayerState.ENDED, PlayerState.ERROR):
            return
        self.state, self.error = state, error
        log.info("%s %s%s", self.backend, self.source.display_url,
                 f" {state.value}: {error}" if error else f" {state.value}")
        if self.on_state:
            self.on_state(state, error)

    def _count_frame(self, pts_seconds: float | None = None, fps: float | None = None,
                     key_frame: bool = False) -> bool:
        """Account for one decoded picture; True when someone wants it converted and delivered."""
        now = time.monotonic()
        stats = self.stats
        self._session_frames += 1
        if key_frame and pts_seconds is not None:
            if self._last_key_pts is not None and pts_seconds > self._last_key_pts:
                stats.info.key_frame_interval_s = round(pts_seconds - self._last_key_pts, 3)
            self._last_key_pts = pts_seconds
        if stats.frames == 0 and self._started_at is not None:
            stats.first_frame_ms = (now - self._started_at) * 1000.0
        if pts_seconds is not None and fps and self._last_pts is not None:
            gap = (pts_seconds - self._last_pts) * fps
            if 1.5 < gap < 10 * fps:  # longer jumps are timestamp discontinuities, not lost pictures
                stats.lost += int(round(gap)) - 1
        self._last_pts = pts_seconds
        self._last_frame_at = now
        stats.frames += 1
        if self.state is not PlayerState.LIVE:
            self._set_state(PlayerState.LIVE)
        if self.frame_wanted is None or self.frame_wanted() or stats.frames == 1:
            return True
        self.skipped += 1
        return False

    def _new_session(self) -> None:
        """A (re)connection starts: its timestamps have nothing to do with the last session's."""
        self._last_pts = self._last_key_pts = None
        self._session_frames = 0

    def _hand_over(self, image) -> None:
        if not image.flags.c_contiguous:  # scaled PyAV frames can carry row padding
            image = np.ascontiguousarray(image)
        frame = VideoFrame(image=image, index=self.stats.frames - 1, received_at=self._last_frame_at)
        with self._lock:
            self._latest = frame
        if self.on_frame:
            self.on_frame(frame)

    def _deliver(self, image, pts_seconds: float | None = None, fps: float | None = None) -> None:
        if self._count_frame(pts_seconds, fps):
            self._hand_over(image)

    def _mark_started(self) -> None:
        self._started_at = time.monotonic()
        self._last_pts = None
        self._last_frame_at = time.monotonic()
        threading.Thread(target=self._watchdog, name=f"{self.backend}-watchdog", daemon=True).start()

    def _watchdog(self) -> None:
        """Report a frozen stream within `stall_after` s, whatever the backend's blocking call is doing."""
        while not self._stopping.wait(0.2):
            if self.state is PlayerState.LIVE and time.monotonic() - self._last_frame_at > self.stall_after:
                self._set_stalled()
            if self.state in (PlayerState.ENDED, PlayerState.ERROR):
                return

    def _set_stalled(self) -> None:
        if self.state is PlayerState.LIVE:
            self._set_state(PlayerState.STALLED, StreamError(ErrorKind.TIMED_OUT, STALL_MESSAGE))

    def _backoff_wait(self, attempt: int) -> bool:
        """Sleep before reconnect `attempt` (0.5 s doubling up to max_backoff); False if stopped meanwhile."""
        delay = min(self.max_backoff, 0.5 * (2 ** attempt))
        return not self._stopping.wait(delay)


class ThreadedPlayer(Player):
    """A backend whose whole life (connect, decode, reconnect) runs in `_run` on one thread of its own."""

    def __init__(self, source: StreamSource, **kwargs):
        super().__init__(source, **kwargs)
        self._thread: threading.Thread | None = None

    @abstractmethod
    def _run(self) -> None:
        """Play until `_stopping` is set; runs on the player's thread."""

    def start(self) -> None:
        self._stopping.clear()
        self._mark_started()
        self._thread = threading.Thread(target=self._run, name=f"{self.backend}-player", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        # Returns at once: the thread's blocking read gives up within its timeout, then the thread exits.
        self._stopping.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True


class RateFromTimestamps:
    """A stream's frame rate from the timestamp steps of its first pictures, for an SDP without `a=framerate`."""

    def __init__(self, pictures: int = 8):
        self.pictures = pictures
        self._pts: list[float] = []

    def add(self, pts_seconds: float | None) -> float | None:
        """Take one picture's timestamp; the rate once enough pictures were seen, else None."""
        if pts_seconds is None or len(self._pts) > self.pictures:
            return None
        self._pts.append(pts_seconds)
        if len(self._pts) <= self.pictures:
            return None
        steps = sorted(b - a for a, b in zip(self._pts, self._pts[1:]) if b > a)
        if not steps:
            return None
        step = steps[len(steps) // 2]  # the median: a lost picture or a jitter spike does not move it
        return round(1.0 / step, 2) if step > 0 else None
