"""Play a stream without a window for a few seconds and report what came through (for `stream probe`)."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

from console.video.factory import choose_backend, create_player
from console.video.player import PlayerState, StreamError
from console.video.source import StreamSource


@dataclass
class ProbeResult:
    ok: bool
    url: str  # without credentials
    backend: str | None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    first_frame_ms: float | None = None
    frames: int = 0
    lost: int = 0
    seconds: float = 0.0
    error: str | None = None
    error_kind: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def probe(source: StreamSource, backend: str = "auto", seconds: float = 5.0, connect_timeout: float = 5.0) -> ProbeResult:
    """Play `source` for `seconds` after connecting (or until it fails); never raises for stream problems."""
    try:
        name = choose_backend(source, backend)
    except StreamError as exc:
        return ProbeResult(ok=False, url=source.display_url, backend=None, error=str(exc), error_kind=exc.kind.value)
    done = threading.Event()
    first = threading.Event()

    def on_state(state, _error):
        if state in (PlayerState.ERROR, PlayerState.ENDED):
            done.set()

    player = create_player(source, name, on_state=on_state, on_frame=lambda _f: first.set(), reconnect=False,
                           connect_timeout=connect_timeout, stall_after=min(3.0, max(1.0, seconds)))
    began = time.monotonic()
    player.start()
    try:
        # Wait for the first frame (or a failure), then watch it play for the requested time.
        deadline = began + connect_timeout + 3.0
        while not first.is_set() and not done.is_set() and time.monotonic() < deadline:
            first.wait(0.05)
        if first.is_set():
            done.wait(seconds)
    finally:
        player.stop()
        player.join(10)
    stats, info = player.stats, player.stats.info
    error = player.error
    if stats.frames == 0 and error is None:
        error_text, kind = "No picture arrived from the stream in time; check the camera and its stream settings.", "timed_out"
    else:
        error_text, kind = (str(error), error.kind.value) if error else (None, None)
    return ProbeResult(ok=stats.frames > 0, url=source.display_url, backend=name, codec=info.codec, width=info.width,
                       height=info.height, fps=round(info.fps, 2) if info.fps else None,
                       first_frame_ms=round(stats.first_frame_ms, 1) if stats.first_frame_ms is not None else None,
                       frames=stats.frames, lost=stats.lost, seconds=round(time.monotonic() - began, 2),
                       error=error_text, error_kind=kind)
