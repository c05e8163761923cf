"""The one way services run work on a thread of their own: the change follower, the journal flusher, the CAD and
registry feed runners, the field copy keeper. Qt-free; a GUI hops callbacks to its own thread itself."""

from __future__ import annotations

import threading


class BackgroundLoop:
    """A daemon thread that runs `_run` until `stop()`.

    `_stop` is set by stop(); `_wake` wakes a loop that waits on it early (stop() sets it too), and `wait(s)` sleeps
    up to `s` seconds, returning True once stop() was called. Subclasses write `_run` and may extend start/stop.
    """

    thread_name = "background"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self):
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, seconds: float) -> bool:
        return self._stop.wait(seconds)

    def _run(self) -> None:
        raise NotImplementedError
