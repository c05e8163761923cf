"""The video wall: 1, 2x2, 3x3 or 4x4 tiles; drop cameras on tiles, maximise, detach, saved layouts.

Until the user picks a grid, the wall follows the number of open feeds: one fills it, two sit side by side, three
or four make 2x2, and so on, and it is one tile again when the last feed ends; a picked grid stays.
"""

from __future__ import annotations

import logging
from datetime import tzinfo
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QGridLayout, QMenu, QMessageBox, QVBoxLayout, QWidget

from console.errors import UserError
from console.gui.video.snapshot import snapshot_tile
from console.gui.video.tile import VideoTile
from console.video.factory import PlayerFactory
from console.video.view import LiveView
from console.gui.text import keep_plain

log = logging.getLogger(__name__)

GRIDS = (1, 2, 3, 4)
# (at most this many feeds, (rows, columns)): what the wall shows until the user picks a grid.
_FITS = ((1, (1, 1)), (2, (1, 2)), (4, (2, 2)), (6, (2, 3)), (9, (3, 3)), (16, (4, 4)))


class WallActions:
    """Action ids of the tile menu (one place, as the rest of the console names its actions)."""

    SNAPSHOT = "video.snapshot"
    SEND_BULLETIN = "video.send_bulletin"
    OWN_WINDOW = "video.own_window"
    CLOSE_FEED = "video.close_feed"
    GRID = "video.grid.{n}"
    SAVE_LAYOUT = "video.layout.save.{n}"
    RECALL_LAYOUT = "video.layout.recall.{n}"

# Asked when a camera is dropped or a layout recalled: runs the access decision and audit, returns a view or None.
OpenCamera = Callable[[int], "LiveView | None"]


class TileWindow(QWidget):
    """A tile on its own (e.g. on another monitor); closing the window puts the tile back on the wall."""

    def __init__(self, wall: "VideoWall", tile: VideoTile):
        super().__init__(None, Qt.WindowType.Window)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.wall, self.tile = wall, tile
        self.setWindowTitle(tile.view.camera_label if tile.view else "Camera")
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)
        self.layout().addWidget(tile)
        self.resize(640, 400)

    def closeEvent(self, event) -> None:
        self.wall.attach_tile(self.tile)
        super().closeEvent(event)


class VideoWall(QWidget):
    sig_view_ended = Signal(object, str, object)
    """(view session id, how, summary) whenever a tile's view ends: wire it to ViewingService.end_view.

    summary: {"frames_shown": n, "problem": why no picture came or None, "camera_label": str}.
    """
    sig_grid_changed = Signal(int)
    """The wall now shows n x n tiles."""
    sig_snapshot_saved = Signal(object, str, str)
    """(view session id, PNG path, SHA-256) of a snapshot taken on any tile: write the audit event from it."""
    sig_send_bulletin = Signal(object)
    """The tile menu's "Send to responders…" (the VideoTile): open the bulletin dialog on its picture."""
    sends_bulletins = False  # set by the bulletin tools when this user may send bulletins

    def __init__(self, factory: PlayerFactory, open_camera: OpenCamera | None = None,
                 layouts: dict | None = None, snapshot_folder: Path | None = None, parent=None,
                 time_zone: tzinfo | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.snapshot_folder = Path(snapshot_folder) if snapshot_folder else Path.home() / "RTIC snapshots"
        self.factory = factory
        self.open_camera = open_camera
        self.request_camera: Callable[[int, VideoTile], None] | None = None
        self.layouts = layouts if layouts is not None else {}  # slot -> {"grid": n, "cameras": [...]}; persist it
        self.grid_size = 0
        self.shape = (0, 0)  # rows, columns shown (grid_size x grid_size, or fitted to the feeds)
        self.picked = False  # the user chose a grid: the wall no longer fits itself to the feeds
        self._fitted = False  # the shape was grown for the feeds (and goes back to one tile when they end)
        self.maximised: VideoTile | None = None
        self.windows: dict[VideoTile, TileWindow] = {}
        self.tiles: list[VideoTile] = []
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        for _ in range(16):
            tile = VideoTile(factory, self)
            tile.hide()
            tile.sig_camera_dropped.connect(lambda cid, t=tile: self.open_in(t, cid))
            tile.sig_double_clicked.connect(lambda t=tile: self.toggle_maximised(t))
            tile.sig_ended.connect(lambda _session, _how: QTimer.singleShot(0, self, self.feeds_ended))
            tile.sig_retry.connect(lambda cid, t=tile: self.open_in(t, cid))  # a new view: decided and audited anew
            tile.sig_snapshot_saved.connect(
                lambda path, digest, t=tile: self.sig_snapshot_saved.emit(
                    t.view.session_id if t.view else None, path, digest))
            tile.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            tile.customContextMenuRequested.connect(lambda pos, t=tile: self.tile_menu(t).exec(t.mapToGlobal(pos)))
            self.tiles.append(tile)
        self.set_time_zone(time_zone)
        self.set_grid(2, picked=False)

    def set_time_zone(self, zone: tzinfo | None) -> None:
        """The zone the tile clocks read (setting time_zone; None: the workstation's own)."""
        for tile in self.tiles:
            tile.zone = zone
            tile.update()

    # -- layout
    def visible_tiles(self) -> list[VideoTile]:
        return self.tiles[: self.shape[0] * self.shape[1]]

    def set_grid(self, n: int, picked: bool = True) -> None:
        """Show n x n tiles; views on tiles that no longer fit are closed (their sessions end). `picked`: the
        user's choice, kept while feeds open (otherwise the wall fits itself to them)."""
        if n not in GRIDS:
            raise ValueError(f"grid must be one of {GRIDS}")
        self.picked = picked
        self._set_shape(n, n)

    def _set_shape(self, rows: int, columns: int) -> None:
        self.maximised = None
        for i, tile in enumerate(self.tiles):
            if i >= rows * columns and tile.view is not None:
                tile.close_view("closed")
        self.grid_size, self.shape = max(rows, columns), (rows, columns)
        self._relayout()
        self.sig_grid_changed.emit(self.grid_size)

    def fit_feeds(self, count: int) -> None:
        """Room for `count` feeds: 1 fills the wall, 2 side by side, 3-4 in 2x2, 5-6 in 2x3, then 3x3 and 4x4.
        It only grows (no view is moved or closed for it); a grid the user picked grows only when too small."""
        if self.picked:
            if count > self.grid_size * self.grid_size:
                self.set_grid(next((n for n in GRIDS if n * n >= count), GRIDS[-1]), picked=True)
            return
        rows, columns = next((shape for limit, shape in _FITS if count <= limit), _FITS[-1][1])
        if rows * columns > self.shape[0] * self.shape[1]:
            self._set_shape(rows, columns)
            self._fitted = True

    def feeds_ended(self) -> None:
        """A view ended: a wall that fitted itself to the feeds, with none left (and no tile showing why one never
        played), is one tile again for the next ones. A grid the user picked stays."""
        if self._fitted and not self.picked and not any(t.view is not None or t.failed is not None
                                                        for t in self.tiles):
            self._fitted = False
            self._set_shape(1, 1)

    def _relayout(self) -> None:
        rows, columns = self.shape
        for i, tile in enumerate(self.tiles):
            if tile in self.windows:
                continue
            self._grid.removeWidget(tile)
            if i < rows * columns and (self.maximised is None or tile is self.maximised):
                self._grid.addWidget(tile, 0 if self.maximised else i // columns, 0 if self.maximised else i % columns)
                tile.set_maximised(tile is self.maximised or rows * columns == 1)
                tile.show()
            else:
                tile.hide()  # hidden tiles stop decoding (VideoTile.hideEvent)

    def toggle_maximised(self, tile: VideoTile) -> None:
        self.maximised = None if self.maximised is tile else tile
        self._relayout()

    # -- cameras
    def open_in(self, tile: VideoTile, camera_id: int) -> bool:
        """Ask for access to `camera_id` for `tile` (a drop, a recalled layout).

        With `request_camera` set (the console), the request is asynchronous: access is decided and audited off
        the GUI thread and the view arrives later through `show_view`. Otherwise `open_camera` answers at once
        with a LiveView, or None when access was refused.
        """
        if self.request_camera is not None:
            self.request_camera(camera_id, tile)
            return True
        view = self.open_camera(camera_id) if self.open_camera else None
        if view is None:
            return False
        self.show_view(tile, view)
        return True

    def show_view(self, tile: VideoTile, view: LiveView) -> None:
        tile.open_view(view, on_ended=lambda session, how, summary: self.sig_view_ended.emit(session, how, summary))

    def close_all(self, how: str = "closed") -> None:
        for tile in self.tiles:
            tile.close_view(how)

    # -- the tile menu
    def tile_menu(self, tile: VideoTile) -> QMenu:
        menu = QMenu(tile)

        def add(text, action_id, slot, enabled=True):
            action = menu.addAction(text)
            action.setObjectName(action_id)
            action.setEnabled(enabled)
            action.triggered.connect(slot)

        live = tile.view is not None
        add("Snapshot", WallActions.SNAPSHOT, lambda: self.snapshot(tile), live and tile.current_image() is not None)
        if self.sends_bulletins:
            add("Send to responders…", WallActions.SEND_BULLETIN, lambda: self.sig_send_bulletin.emit(tile),
                live and tile.current_image() is not None)
        add("Open in its own window", WallActions.OWN_WINDOW, lambda: self.detach_tile(tile),
            live and tile not in self.windows)
        add("Close feed", WallActions.CLOSE_FEED, lambda: tile.close_view("closed"), live or tile.failed is not None)
        menu.addSeparator()
        for n in GRIDS:
            add(f"{n} x {n}", WallActions.GRID.format(n=n), lambda _=False, n=n: self.set_grid(n))
        menu.addSeparator()
        for n in (1, 2, 3):
            add(f"Save layout {n}", WallActions.SAVE_LAYOUT.format(n=n), lambda _=False, n=n: self.save_layout(n))
            add(f"Recall layout {n}", WallActions.RECALL_LAYOUT.format(n=n), lambda _=False, n=n: self.recall_layout(n),
                n in self.layouts)
        return menu

    def snapshot(self, tile: VideoTile) -> None:
        """Save a captioned PNG of the tile's next frame at the stream's own resolution (sig_snapshot_saved says
        where); says why in one sentence when it cannot."""
        view = tile.view
        tile.full_frame(lambda image: self._save_snapshot(tile, view, image))

    def _save_snapshot(self, tile: VideoTile, view, image) -> None:
        if tile.view is not view:
            QMessageBox.warning(self, "Snapshot", "The view ended before its picture could be taken.")
            return
        try:
            snapshot_tile(tile, self.snapshot_folder, image=image)
        except UserError as exc:
            QMessageBox.warning(self, "Snapshot", str(exc))

    # -- saved layouts
    def save_layout(self, slot: int) -> dict:
        entry = {"grid": self.grid_size,
                 "cameras": [t.view.camera_id if t.view else None for t in self.visible_tiles()]}
        self.layouts[slot] = entry
        return entry

    def recall_layout(self, slot: int) -> bool:
        entry = self.layouts.get(slot)
        if entry is None:
            return False
        self.close_all("replaced")
        self.set_grid(int(entry["grid"]), picked=True)
        for tile, camera_id in zip(self.visible_tiles(), entry["cameras"]):
            if camera_id is not None:
                self.open_in(tile, int(camera_id))
        return True

    # -- other monitors
    def detach_tile(self, tile: VideoTile, screen_index: int | None = None) -> TileWindow:
        self._grid.removeWidget(tile)
        window = TileWindow(self, tile)
        self.windows[tile] = window
        _place_on_screen(window, screen_index)
        window.show()
        tile.show()
        tile.set_maximised(True)
        return window

    def attach_tile(self, tile: VideoTile) -> None:
        if self.windows.pop(tile, None) is not None:
            tile.setParent(self)
            self._relayout()

    def detach_wall(self, screen_index: int | None = None) -> None:
        """Move the whole wall to a window of its own (another monitor)."""
        self.setParent(None)
        self.setWindowFlag(Qt.WindowType.Window, True)
        _place_on_screen(self, screen_index)
        self.show()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """End every view and wait for the players to let go (app exit, tests)."""
        self.close_all("closed")
        for window in list(self.windows.values()):
            window.close()
        return all(tile.wait_stopped(timeout) for tile in self.tiles)


def _place_on_screen(widget: QWidget, screen_index: int | None) -> None:
    screens = QGuiApplication.screens()
    if screen_index is not None and 0 <= screen_index < len(screens):
        geometry = screens[screen_index].availableGeometry()
        widget.move(geometry.topLeft())
        widget.resize(min(widget.width(), geometry.width()), min(widget.height(), geometry.height()))
