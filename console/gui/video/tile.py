"""One video tile: plays an authorised view, paints the newest frame, shows label, state, time and time left."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable


from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QFrame, QPushButton, QSizePolicy

from console.gui.video.bridge import PlayerBridge
from console.local_time import clock_text
from console.video.clip_buffer import ClipBuffer
from console.video.factory import PlayerFactory
from console.video.player import WAITING_MESSAGE, Player, PlayerState, StreamError
from console.video.view import LiveView

log = logging.getLogger(__name__)

CAMERA_MIME = "application/x-rtic-camera-id"
STATE_COLOURS = {"live": "#3ddc84", "connecting": "#f0c040", "waiting": "#f0c040", "reconnecting": "#f0c040",
                 "stalled": "#ff9a3c",
                 "error": "#ff5a5a", "ended": "#b0b0b0", "idle": "#b0b0b0", "no picture": "#ff5a5a"}
EXPIRED_NOTICE = "The authorised viewing time has ended."
# A camera that has shown nothing after this many tries is not worth a whole authorised view: the tile stops.
GIVE_UP_AFTER_TRIES = 3
NO_PICTURE = "no_picture"  # how such a view ends (the view-end event's end_reason)


def no_picture_notice(reason: str) -> str:
    return (f"No picture from this camera. {reason or 'The stream could not be played.'}\n"
            "The view has ended and no time is counting down. Press Retry to try again.")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class VideoTile(QFrame):
    sig_ended = Signal(object, str)
    """(view session id, how it ended: closed | expired | replaced | no_picture ...), once per view."""
    sig_retry = Signal(int)
    """Retry was pressed on a tile whose camera showed no picture: open this camera id again (a new view)."""
    sig_double_clicked = Signal()
    """The user double-clicked the tile (the wall maximises it)."""
    sig_camera_dropped = Signal(int)
    """A camera id was dropped on the tile (the wall asks for access and opens it)."""
    sig_painted = Signal(int)
    """A frame with this index was painted."""
    sig_snapshot_saved = Signal(str, str)
    """(PNG path, SHA-256 hex) of a snapshot, for whoever writes the audit event."""

    def __init__(self, factory: PlayerFactory, parent=None, now: Callable[[], datetime] = utc_now):
        super().__init__(parent)
        self.factory = factory
        self.now = now
        self.zone = None  # the time zone its clock reads (setting time_zone); None: the workstation's own
        self.view: LiveView | None = None
        self.player: Player | None = None
        self.maximised = False
        self.state = "idle"
        self.message = ""
        self.notice = ""
        self.painted = 0
        self.last_painted_index = -1
        self.frames_shown = 0  # frames of the current view that reached the tile
        self.failed: tuple[int, str, str] | None = None  # (camera id, label, why) of a view that showed nothing
        self.clip_seconds = 0.0  # > 0: keep that many seconds of received packets for a bulletin's clip
        self.clip_buffer: ClipBuffer | None = None
        self._tries = 0
        self._on_ended: Callable[[object, str, dict], None] | None = None
        self._array = None  # the newest frame as delivered (RGB numpy array), for snapshots and measurements
        self._image: QImage | None = None
        self._old_players: list[Player] = []
        self._overlay: QImage | None = None
        self._full_wanted: tuple | None = None  # (deliver, scaled size, frames seen) while a whole frame is awaited
        self._overlay_key: tuple | None = None
        self._bridge = PlayerBridge(self)
        self._bridge.sig_frame.connect(self._on_frame)
        self._bridge.sig_state.connect(self._on_state)
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)
        self.setAcceptDrops(True)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.retry = QPushButton("Retry", self)
        self.retry.setObjectName("retry")
        self.retry.setMinimumSize(140, 40)
        # The tile is dark in both themes: a dark button with a clear edge, not a bright slab in a dim room.
        self.retry.setStyleSheet("QPushButton { background: #2a2f36; color: white; border: 2px solid #f0c040;"
                                 " border-radius: 6px; font-weight: bold; padding: 6px 18px; }"
                                 " QPushButton:hover, QPushButton:focus { background: #3a414b; }")
        self.retry.hide()
        self.retry.clicked.connect(self._retry)

    # -- opening and closing a view
    def open_view(self, view: LiveView, on_ended: Callable[[object, str, dict], None] | None = None) -> None:
        """Play `view` here; `on_ended(session_id, how, summary)` is called once when it stops for any reason.

        `summary` is {"frames_shown": n, "problem": why no picture came or None, "camera_label": ...}.
        """
        if self.view is not None:
            self.close_view("replaced")
        self._clear_failure()
        self.view, self._on_ended = view, on_ended
        self.notice, self.message = "", ""
        self.frames_shown, self._tries = 0, 0
        self._image = self._array = None
        self._clock.start()
        if not self._expired():
            self._start_player()
        self.update()

    def close_view(self, how: str = "closed", problem: str | None = None) -> None:
        """Stop the feed and end the view (the callback ends the audited session)."""
        if self.view is None:
            if self.failed is not None and how != NO_PICTURE:
                self._clear_failure()  # "Close feed" on a tile that showed nothing clears its notice
            return
        view, callback = self.view, self._on_ended
        summary = {"frames_shown": self.frames_shown, "problem": problem, "camera_label": view.camera_label}
        self._stop_player()
        self.view, self._on_ended = None, None
        self.state = {"expired": "ended", NO_PICTURE: "no picture"}.get(how, "idle")
        if how != "expired":
            self._image = self._array = None
            self.notice = ""
        self.update()
        self.sig_ended.emit(view.session_id, how)
        if callback is not None:
            callback(view.session_id, how, summary)

    def _give_up(self, reason: str) -> None:
        """No picture after the first tries: end the view now (not after its whole authorised time), say why."""
        camera_id, label = self.view.camera_id, self.view.camera_label
        self.close_view(NO_PICTURE, problem=reason)
        self.failed = (camera_id, label, reason)
        self.retry.show()
        self._place_retry()

    def _clear_failure(self) -> None:
        if self.failed is not None:
            self.failed = None
            self.retry.hide()
            self.state = "idle"
            self.update()

    def _retry(self) -> None:
        if self.failed is not None:
            camera_id = self.failed[0]
            self._clear_failure()
            self.sig_retry.emit(camera_id)

    def _place_retry(self) -> None:
        size = self.retry.sizeHint().expandedTo(self.retry.minimumSize())
        self.retry.setGeometry((self.width() - size.width()) // 2, self.height() - 20 - size.height() - 12,
                               size.width(), size.height())

    def set_maximised(self, maximised: bool) -> None:
        """Maximised tiles play the main stream; small ones the sub-stream when the camera has one."""
        if maximised == self.maximised:
            return
        self.maximised = maximised
        if self.view is not None and self.view.sub is not None and self.player is not None:
            self._start_player()

    def stop_decoding(self) -> None:
        self._stop_player()

    def wait_stopped(self, timeout: float = 10.0) -> bool:
        """Wait for stopped players to let go (tests, app exit); never called on a path the user waits for."""
        players, self._old_players = self._old_players, []
        return all(p.join(timeout) for p in players)

    # -- players
    def _start_player(self) -> None:
        self._stop_player()
        source = self.view.source_for(self.maximised)
        size = None if self.maximised else self._decode_size()
        try:
            self.player = self.factory.create(source, **self._bridge.callbacks(), output_size=size)
        except StreamError as exc:
            self._on_state(PlayerState.ERROR.value, str(exc))
            return
        if self.clip_seconds > 0 and hasattr(self.player, "clip_buffer"):  # players that hand over packets (PyAV)
            self.clip_buffer = ClipBuffer(self.clip_seconds)
            self.player.clip_buffer = self.clip_buffer
        self.player.start()  # returns at once; connecting happens on the player's thread

    def _decode_size(self) -> tuple[int, int]:
        # Frames come scaled to the tile so painting is a plain copy, not a second scale on the GUI thread.
        return max(self.width(), 160), max(self.height(), 120)

    def _stop_player(self) -> None:
        if self.player is not None:
            self._bridge.forget()
            self.player.stop()  # non-blocking; the player's own thread releases the stream
            self._old_players.append(self.player)
            self._old_players = [p for p in self._old_players if not p.join(0)]
            self.player = None

    def _expired(self) -> bool:
        if self.view is not None and self.view.remaining_seconds(self.now()) <= 0:
            self.notice = EXPIRED_NOTICE
            self.close_view("expired")
            return True
        return False

    # -- a frame at the stream's own resolution (snapshots)
    def full_frame(self, deliver: Callable[[QImage | None], None]) -> None:
        """Hand `deliver` the next picture at the stream's own resolution: the decoder stops scaling it to the tile
        for one frame. Where the player cannot change size mid-stream (libVLC), or already delivers whole frames,
        the current picture is handed over at once; if no new frame comes within 2 s, the current one too."""
        player = self.player
        scaled = player.output_size if player is not None else None
        if scaled is None or getattr(player, "backend", "") == "vlc" or self._image is None:
            deliver(self.current_image())
            return
        self._full_wanted = (deliver, scaled, 0)
        player.output_size = None
        QTimer.singleShot(2000, self, lambda: self._hand_full_frame(force=True))

    def _hand_full_frame(self, force: bool = False) -> None:
        if self._full_wanted is None:
            return
        deliver, scaled, seen = self._full_wanted
        image = self._image
        whole = image is not None and (image.width() > scaled[0] or image.height() > scaled[1])
        if not (whole or force or seen >= 2):  # a frame scaled before the request may still have been on its way
            self._full_wanted = (deliver, scaled, seen + 1)
            return
        self._full_wanted = None
        if self.player is not None and not self.maximised:
            self.player.output_size = self._decode_size()
        deliver(self.current_image())

    # -- slots
    def _on_frame(self) -> None:
        taken = self._bridge.take_frame()
        if taken is None or self.view is None:
            return
        frame, self._image = taken
        self._array = frame.image
        self.frames_shown += 1
        self.last_painted_index = frame.index
        if self._full_wanted is not None:
            self._hand_full_frame()
        self.update()

    def _on_state(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        if self.view is not None and self.frames_shown == 0:
            self._tries += state == "reconnecting"
            if state == "error" or self._tries >= GIVE_UP_AFTER_TRIES:
                self._give_up(message)
                return
        self.update()

    def _tick(self) -> None:
        # Runs while the tile is shown, with or without a view: an idle tile's clock ticks too.
        if not self._expired():
            self.update()

    # -- Qt events
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._clock.start()
        if self.view is not None and self.player is None and not self._expired():
            self._start_player()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._stop_player()  # a hidden tile decodes nothing
        self._clock.stop()  # and keeps no clock
        self.state = "paused" if self.view is not None else "no picture" if self.failed else "idle"

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.player is not None and not self.maximised:
            # Players read this per frame: decode threads scale to what the tile can show, no more.
            self.player.output_size = self._decode_size()
        self._place_retry()

    def mouseDoubleClickEvent(self, event) -> None:
        self.sig_double_clicked.emit()

    @staticmethod
    def accepts(mime) -> bool:
        """True for a drag that carries a camera id (from the camera list or the map)."""
        return mime.hasFormat(CAMERA_MIME)

    def dragEnterEvent(self, event) -> None:
        if self.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        try:
            camera_id = int(bytes(event.mimeData().data(CAMERA_MIME)).decode().strip())
        except ValueError:
            return
        event.acceptProposedAction()
        self.sig_camera_dropped.emit(camera_id)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#101214"))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.maximised)
            img = self._image
            scale = min(self.width() / img.width(), self.height() / img.height())
            if 0.95 < scale < 1.05:
                scale = 1.0  # a 1:1 copy is far cheaper than a scale, and the tile was sized for it
            w, h = int(img.width() * scale), int(img.height() * scale)
            painter.drawImage(QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h), img)
            self.painted += 1
        self._paint_overlay(painter)
        painter.end()
        if self._image is not None:
            self.sig_painted.emit(self.last_painted_index)

    def overlay(self) -> dict[str, str]:
        """What the tile writes over the picture: camera, state, time (with its zone), time left, any notice."""
        label = self.view.camera_label if self.view else self.failed[1] if self.failed else "Drop a camera here"
        texts = {"label": label, "state": self.state,
                 "time": clock_text(self.now(), self.zone), "left": "",
                 "notice": self.notice or (self.message if self.state in ("error", "stalled", "reconnecting") else
                                           WAITING_MESSAGE if self.state == "waiting" else "")}
        if self.failed is not None and self.view is None:
            texts["notice"] = no_picture_notice(self.failed[2])
        if self.view is not None:
            left_s = max(0, int(self.view.remaining_seconds(self.now())))
            texts["left"] = f"{left_s // 60:02d}:{left_s % 60:02d} left"
        return texts

    def _paint_overlay(self, target: QPainter) -> None:
        # Text layout is the dearest part of a paint; redraw the overlay only when its words or size change
        # (about once a second), and blend the cached image at frame rate.
        texts = self.overlay()
        key = (tuple(texts.values()), self.width(), self.height())
        if key != self._overlay_key:
            self._overlay_key = key
            self._overlay = QImage(self.size(), QImage.Format.Format_ARGB32_Premultiplied)
            self._overlay.fill(Qt.GlobalColor.transparent)
            painter = QPainter(self._overlay)
            self._draw_overlay(painter, texts)
            painter.end()
        target.drawImage(0, 0, self._overlay)

    def _draw_overlay(self, painter: QPainter, texts: dict[str, str]) -> None:
        font = QFont(self.font())
        font.setPointSize(9)
        painter.setFont(font)
        band = 20
        painter.fillRect(0, 0, self.width(), band, QColor(0, 0, 0, 150))
        painter.fillRect(0, self.height() - band, self.width(), band, QColor(0, 0, 0, 150))
        painter.setPen(QColor("white"))
        top, bottom = QRect(6, 0, self.width() - 12, band), QRect(6, self.height() - band, self.width() - 12, band)
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(top, left, texts["label"])
        painter.drawText(bottom, left, texts["time"])
        painter.drawText(bottom, right, texts["left"])
        painter.setPen(QColor(STATE_COLOURS.get(self.state, "#b0b0b0")))
        painter.drawText(top, right, texts["state"])
        if texts["notice"]:
            box = self.rect().adjusted(12, band + 8, -12, -band - 8)
            if self.failed is not None and self.view is None:  # larger, and clear of the Retry button
                box.setBottom(self.retry.y() - 6)
                font.setPointSize(11)
                painter.setFont(font)
            painter.setPen(QColor("white"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, texts["notice"])

    def current_image(self) -> QImage | None:
        """The last frame as a detached copy (for snapshots)."""
        return self._image.copy() if self._image is not None else None
