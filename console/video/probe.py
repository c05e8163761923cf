"""Play a stream without a window for a few seconds and report what came through (for `stream probe`)."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

from console.video.factory import choose_backend, create_player
from console.video.player import FIRST_FRAME_TIMEOUT_S, PlayerState, StreamError, no_key_frame_error
from console.video.source import StreamSource

NO_PICTURE = "No picture arrived from the stream in time; check the camera and its stream settings."


@dataclass
class ProbeResult:
    ok: bool  # pictures arrived until the end of the probe (a stream that died early is not ok)
    url: str  # without credentials
    backend: str | None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None  # declared by the stream, else measured from its timestamps
    transport: str | None = None  # RTSP: tcp or udp as actually used (after any fallback); webrtc; http
    key_frame_interval_s: float | None = None  # between the last two key frames seen
    decoder: str | None = None  # FFmpeg: "software" or the hardware device in use
    decoder_note: str | None = None  # FFmpeg: hardware devices tried and why each was given up
    first_frame_ms: float | None = None
    frames: int = 0
    lost: int = 0
    reconnects: int = 0
    state: str | None = None  # the player's state when the probe ended
    seconds: float = 0.0
    error: str | None = None
    error_kind: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def probe(source: StreamSource, backend: str = "auto", seconds: float = 5.0, connect_timeout: float = 5.0,
          reconnect: bool = False, first_frame_timeout: float = FIRST_FRAME_TIMEOUT_S) -> ProbeResult:
    """Play `source` for `seconds` after the first picture (or until it fails); never raises for stream problems.

    With `reconnect` the player reconnects as a live view does and the result counts the reconnects; without it
    the first failure ends the probe.
    """
    try:
        name = choose_backend(source, backend)
    except StreamError as exc:
        return ProbeResult(ok=False, url=source.display_url, backend=None, error=str(exc), error_kind=exc.kind.value)
    done = threading.Event()
    first = threading.Event()

    def on_state(state, _error):
        if state in (PlayerState.ERROR, PlayerState.ENDED):
            done.set()

    stall_after = min(3.0, max(1.0, seconds))
    player = create_player(source, name, on_state=on_state, on_frame=lambda _f: first.set(), reconnect=reconnect,
                           connect_timeout=connect_timeout, stall_after=stall_after,
                           first_frame_timeout=first_frame_timeout)
    began = time.monotonic()
    player.start()
    try:
        # Wait for the first frame (a camera may take its whole key-frame interval), then watch it play.
        deadline = began + connect_timeout + max(first_frame_timeout, stall_after) + 1.0
        while not first.is_set() and not done.is_set() and time.monotonic() < deadline:
            first.wait(0.05)
        if first.is_set():
            done.wait(seconds)
        ended_at = time.monotonic()
        state, error = player.state, player.error
        latest = player.latest_frame()
    finally:
        player.stop()
        player.join(10)
    stats, info = player.stats, player.stats.info
    # "Until the end": still live, and the last picture no older than the stall timer allows.
    ok = (stats.frames > 0 and state is PlayerState.LIVE and latest is not None
          and ended_at - latest.received_at <= stall_after)
    if error is not None:
        error_text, kind = str(error), error.kind.value
    elif stats.frames == 0:
        error = no_key_frame_error(first_frame_timeout) if state is PlayerState.WAITING else None
        error_text, kind = (str(error), error.kind.value) if error else (NO_PICTURE, "timed_out")
    elif not ok:
        error_text, kind = "The stream stopped sending pictures before the probe ended.", "timed_out"
    else:
        error_text, kind = None, None
    return ProbeResult(ok=ok, url=source.display_url, backend=name, codec=info.codec, width=info.width,
                       height=info.height, fps=round(info.fps, 2) if info.fps else None, transport=info.transport,
                       key_frame_interval_s=info.key_frame_interval_s, decoder=info.decoder,
                       decoder_note=info.decoder_note,
                       first_frame_ms=round(stats.first_frame_ms, 1) if stats.first_frame_ms is not None else None,
                       frames=stats.frames, lost=stats.lost, reconnects=stats.reconnects, state=state.value,
                       seconds=round(time.monotonic() - began, 2), error=error_text if not ok else None,
                       error_kind=kind if not ok else None)
