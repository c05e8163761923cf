"""Carries a player's callbacks (from its own threads) to the GUI thread as signals; keeps only the latest frame."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from console.video.player import PlayerState, StreamError, VideoFrame


def to_qimage(array) -> QImage:
    """An RGB888 QImage owning a copy of `array` (h x w x 3); QImage may be built on any thread."""
    h, w = array.shape[:2]
    image = QImage(w, h, QImage.Format.Format_RGB888)
    stride = image.bytesPerLine()
    np.frombuffer(image.bits(), np.uint8, count=stride * h).reshape(h, stride)[:, : w * 3] = array.reshape(h, w * 3)
    return image


def emit(signal, *args) -> None:
    """Emit from a player's thread. The tile may have been closed and its bridge deleted by the GUI thread between the
    generation check and this call (a player stopping late): Qt then refuses with "Signal source has been deleted",
    and there is nobody left to tell, so the callback is dropped instead of crashing the player's thread."""
    try:
        signal.emit(*args)
    except RuntimeError:
        pass


class PlayerBridge(QObject):
    sig_state = Signal(str, str)
    """(state value, message a person can act on or ''), queued to the GUI thread."""
    sig_frame = Signal()
    """A newer frame is waiting in `take_frame()`; at most one such signal is in flight, so stale frames drop."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._frame: tuple[VideoFrame, QImage] | None = None
        self._pending = False
        self.dropped = 0  # converted frames replaced before the GUI painted them
        self.generation = 0  # bumped per player, so a stopped player's late callbacks are ignored

    def callbacks(self) -> dict:
        generation = self.generation = self.generation + 1

        def on_frame(frame: VideoFrame) -> None:
            if generation != self.generation:
                return
            image = to_qimage(frame.image)  # here, on the decode thread, not on the GUI thread
            with self._lock:
                if self._frame is not None:
                    self.dropped += 1
                self._frame = (frame, image)
                if self._pending:
                    return
                self._pending = True
            emit(self.sig_frame)

        def on_state(state: PlayerState, error: StreamError | None) -> None:
            if generation == self.generation:
                emit(self.sig_state, state.value, str(error) if error else "")

        def frame_wanted() -> bool:
            return not self._pending  # the GUI has not painted the last one yet: skip converting this one

        return {"on_frame": on_frame, "on_state": on_state, "frame_wanted": frame_wanted}

    def forget(self) -> None:
        """Ignore whatever the current player still sends (it is being stopped)."""
        self.generation += 1
        with self._lock:
            self._frame = None

    def take_frame(self) -> tuple[VideoFrame, QImage] | None:
        with self._lock:
            frame, self._frame, self._pending = self._frame, None, False
            return frame
