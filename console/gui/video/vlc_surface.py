"""The one small adapter that lets libVLC draw straight into a Qt widget's native window (set_xwindow/set_hwnd)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from console.video.factory import PlayerFactory
from console.video.player import Player
from console.video.source import StreamSource


class VlcSurface(QWidget):
    """A native child window for a libVLC player; the player is created with this widget's window handle."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        self.setAttribute(Qt.WidgetAttribute.WA_PaintOnScreen)  # libVLC paints it, not Qt
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setStyleSheet("background: black")

    def paintEngine(self):
        return None

    def create_player(self, factory: PlayerFactory, source: StreamSource, **kwargs) -> Player:
        return factory.create(source, "vlc", window_handle=int(self.winId()), **kwargs)
