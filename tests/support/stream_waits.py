"""Waiting on player conditions with a deadline (never a blind sleep), shared by the video tests and the bench."""

from __future__ import annotations

import threading
import time


def wait_until(condition, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


class Recorder:
    """Collects a player's states and frames from its threads."""

    def __init__(self):
        self.states: list = []
        self.frames: list = []
        self._lock = threading.Lock()

    def on_state(self, state, error):
        with self._lock:
            self.states.append((state, error, time.monotonic()))

    def on_frame(self, frame):
        with self._lock:
            self.frames.append(frame)
            if len(self.frames) > 200:
                del self.frames[:100]

    def seen(self, state) -> bool:
        with self._lock:
            return any(s is state for s, _e, _t in self.states)

    def when(self, state) -> float | None:
        with self._lock:
            return next((t for s, _e, t in self.states if s is state), None)

    def kw(self) -> dict:
        return {"on_state": self.on_state, "on_frame": self.on_frame}


PLAYER_THREADS = ("ffmpeg-player", "vlc-player", "whep-player")


def leftover_player_threads(timeout: float = 10.0) -> list[str]:
    """Names of player threads still alive after `timeout` (a test that forgot to stop a player)."""
    alive = lambda: [t.name for t in threading.enumerate() if t.name in PLAYER_THREADS and t.is_alive()]  # noqa: E731
    wait_until(lambda: not alive(), timeout, 0.05)
    return alive()
