"""The checks of `rtic-console self-test` that need Qt: the main window's map page, and a clip played to frames.

Each check returns one sentence on success and raises SelfTestFailed with the reason otherwise.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtGui import QImage

from console.errors import UserError
from console.video.factory import PlayerFactory
from console.video.player import PlayerState
from console.video.source import StreamSource


class SelfTestFailed(UserError):
    """A check did not pass; the message says why in one sentence."""


def _wait(app, done: Callable[[], bool], seconds: float) -> bool:
    """Run the event loop until done() or `seconds` have passed; whether done() came true."""
    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


def check_map(app, window, lat: float, lon: float, timeout: float) -> str:
    """Show the window, wait for its map page (Leaflet in QtWebEngine) and for the cameras near a point on it."""
    started = time.monotonic()
    window.resize(1280, 800)
    window.show()
    if not _wait(app, lambda: window.map.ready, timeout):
        raise SelfTestFailed(f"the map page did not load within {timeout:g} s (QtWebEngine did not start "
                             "or the page's resources are missing)")
    loaded = time.monotonic() - started
    shown: list[int] = []
    window.controller.sig_context_shown.connect(shown.append)
    window.controller.set_incident(lat, lon, "Self-test")
    if not _wait(app, lambda: bool(shown), timeout):
        raise SelfTestFailed(f"the cameras near the test point did not reach the map within {timeout:g} s")
    state: dict = {}
    window.map.state(lambda page: state.update(page=page))
    if not _wait(app, lambda: "page" in state, timeout):
        raise SelfTestFailed("the map page stopped answering")
    page = state["page"] or {}
    markers = int(page.get("cameras", 0)) + int(page.get("clustered", 0))
    if markers == 0:
        raise SelfTestFailed("the map page loaded but shows no camera markers")
    return (f"map page loaded in {loaded:.2f} s; {page.get('inside', 0)} cameras in the radius, "
            f"{markers} markers on the map")


def check_video(app, clip: Path, timeout: float, frames_wanted: int = 25) -> str:
    """Play `clip` through the console's FFmpeg (PyAV) player until `frames_wanted` real pictures are decoded."""
    if not clip.is_file():
        raise SelfTestFailed(f"the test clip {clip} is missing")
    factory = PlayerFactory()
    first: list = []
    done = threading.Event()

    def on_frame(frame) -> None:
        if not first:
            first.append(frame)

    def on_state(state, _error) -> None:
        if state in (PlayerState.ERROR, PlayerState.ENDED):
            done.set()

    player = factory.create(StreamSource.from_url(str(clip)), "ffmpeg", on_frame=on_frame, on_state=on_state,
                            reconnect=False, connect_timeout=5.0)
    player.start()
    try:
        _wait(app, lambda: player.stats.frames >= frames_wanted or done.is_set(), timeout)
    finally:
        player.stop()
        player.join(10)
        factory.close()
    stats = player.stats
    if stats.frames < frames_wanted:
        reason = str(player.error) if player.error else f"no picture within {timeout:g} s"
        raise SelfTestFailed(f"{stats.frames} of {frames_wanted} frames decoded from {clip.name}: {reason}")
    image = np.ascontiguousarray(first[0].image)
    height, width = image.shape[:2]
    picture = QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    if picture.isNull() or float(image.std()) < 1.0:
        raise SelfTestFailed(f"the frames decoded from {clip.name} are blank")
    return (f"{stats.frames} frames of {clip.name} decoded by the {player.backend} player "
            f"({stats.info.codec} {width}x{height}), first after {stats.first_frame_ms:.0f} ms")
