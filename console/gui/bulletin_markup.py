"""Mark-up on a bulletin's snapshot: circles, arrows and short texts drawn where the dispatcher points, with the
mouse or the keyboard (arrow keys move a cross, Enter places; Shift moves it faster), burned into the picture sent.

Marks are kept in picture coordinates, so what is drawn on the screen (scaled) lands on the same spot of the
full-resolution image. Colours are the ones that read on both night and day pictures: yellow with a dark outline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

TOOLS = ("circle", "arrow", "text")
MAX_MARKS = 20
MAX_MARK_TEXT = 40
MARK = QColor("#ffd400")
OUTLINE = QColor("#101010")


@dataclass(frozen=True)
class Mark:
    tool: str
    start: QPointF
    end: QPointF
    text: str = ""


def draw_marks(painter: QPainter, marks: list[Mark], scale: float = 1.0, picture_width: float = 0.0) -> None:
    """Draw `marks` (picture coordinates) with `painter`, whose picture is `scale` times the image; a text that
    would run past the picture's right edge (`picture_width`) is moved left so all of it shows."""
    for mark in marks:
        width = max(3.0, 4.0 * scale * _picture_scale(painter, scale))
        a, b = mark.start * scale, mark.end * scale
        for colour, w in ((OUTLINE, width + 3), (MARK, width)):
            pen = QPen(colour, w)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            if mark.tool == "circle":
                r = max(12.0 * scale, math.dist((a.x(), a.y()), (b.x(), b.y())))
                painter.drawEllipse(a, r, r)
            elif mark.tool == "arrow":
                painter.drawLine(a, b)
                painter.setBrush(colour)
                painter.drawPolygon(_arrow_head(a, b, 6 * width))
        if mark.tool == "text" and mark.text:
            font = QFont()
            font.setBold(True)
            font.setPixelSize(max(12, int(22 * scale * _picture_scale(painter, scale))))
            path = QPainterPath()
            path.addText(a, font, mark.text)
            right = picture_width * scale if picture_width else float(painter.device().width())
            overflow = path.boundingRect().right() - right + 6
            if overflow > 0:
                path.translate(-min(overflow, path.boundingRect().left()), 0)
            painter.setPen(QPen(OUTLINE, max(3.0, font.pixelSize() / 6)))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            painter.fillPath(path, MARK)


def _picture_scale(painter: QPainter, scale: float) -> float:
    """Marks grow with big pictures: a 1080p snapshot needs thicker lines than a 360p one to read the same."""
    device = painter.device()
    return max(1.0, (device.width() / scale) / 640) if device is not None and scale else 1.0


def _arrow_head(a: QPointF, b: QPointF, size: float) -> QPolygonF:
    angle = math.atan2(b.y() - a.y(), b.x() - a.x())
    left = QPointF(b.x() - size * math.cos(angle - 0.45), b.y() - size * math.sin(angle - 0.45))
    right = QPointF(b.x() - size * math.cos(angle + 0.45), b.y() - size * math.sin(angle + 0.45))
    return QPolygonF([b, left, right])


def burn_marks(image: QImage, marks: list[Mark]) -> QImage:
    out = image.convertToFormat(QImage.Format.Format_RGB32)
    if marks:
        painter = QPainter(out)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        draw_marks(painter, marks)
        painter.end()
    return out


class MarkupCanvas(QWidget):
    """The snapshot, scaled to fit, with the marks on it. Click-drag (or Enter twice) places a circle or arrow;
    a text mark takes `mark_text` at one point."""

    sig_changed = Signal()
    """The marks changed (added, undone, cleared)."""
    sig_tool_key = Signal(str)
    """1, 2 or 3 pressed on the picture: the dispatcher picks circle, arrow or text."""

    def __init__(self, image: QImage, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("markupCanvas")
        self.image = image
        self.marks: list[Mark] = []
        self.tool = "circle"
        self.mark_text = ""
        self.cursor = QPointF(image.width() / 2, image.height() / 2)
        self._anchor: QPointF | None = None  # first Enter / mouse press of a two-point mark
        self._drag: QPointF | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Snapshot mark-up: arrow keys move the cross, Enter places the mark")

    def sizeHint(self) -> QSize:
        return QSize(640, 400)

    # --- geometry ---------------------------------------------------------------------------------------------

    def _scale(self) -> float:
        if self.image.isNull():
            return 1.0
        return min(self.width() / self.image.width(), self.height() / self.image.height())

    def _offset(self) -> QPointF:
        s = self._scale()
        return QPointF((self.width() - self.image.width() * s) / 2, (self.height() - self.image.height() * s) / 2)

    def _to_picture(self, pos: QPointF) -> QPointF:
        s = self._scale()
        p = (pos - self._offset()) / s
        return QPointF(min(max(p.x(), 0), self.image.width()), min(max(p.y(), 0), self.image.height()))

    # --- marks ------------------------------------------------------------------------------------------------

    def set_image(self, image: QImage) -> None:
        """A sharper picture of the same moment (the stream's full resolution): the marks keep their places."""
        if image.isNull() or self.image.isNull():
            return
        fx, fy = image.width() / self.image.width(), image.height() / self.image.height()

        def moved(p: QPointF) -> QPointF:
            return QPointF(p.x() * fx, p.y() * fy)

        self.marks = [Mark(m.tool, moved(m.start), moved(m.end), m.text) for m in self.marks]
        self.cursor = moved(self.cursor)
        self._anchor = moved(self._anchor) if self._anchor is not None else None
        self.image = image
        self.update()

    def set_tool(self, tool: str) -> None:
        if tool in TOOLS:
            self.tool = tool
            self._anchor = None
            self.update()

    def add(self, mark: Mark) -> bool:
        if len(self.marks) >= MAX_MARKS or (mark.tool == "text" and not mark.text.strip()):
            return False
        self.marks.append(Mark(mark.tool, mark.start, mark.end, mark.text.strip()[:MAX_MARK_TEXT]))
        self.sig_changed.emit()
        self.update()
        return True

    def undo(self) -> None:
        if self.marks:
            self.marks.pop()
            self.sig_changed.emit()
            self.update()

    def place_at_cursor(self) -> None:
        """Enter: a text mark at the cross; a circle or arrow from the first Enter's point to the second's."""
        if self.tool == "text":
            self.add(Mark("text", self.cursor, self.cursor, self.mark_text))
        elif self._anchor is None:
            self._anchor = QPointF(self.cursor)
        else:
            self.add(Mark(self.tool, self._anchor, QPointF(self.cursor)))
            self._anchor = None
        self.update()

    def marked_image(self) -> QImage:
        return burn_marks(self.image, self.marks)

    # --- input ------------------------------------------------------------------------------------------------

    def keyPressEvent(self, event) -> None:  # noqa: N802
        step = max(4.0, self.image.width() / 20) if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else \
            max(2.0, self.image.width() / 100)
        moves = {Qt.Key.Key_Left: (-step, 0), Qt.Key.Key_Right: (step, 0), Qt.Key.Key_Up: (0, -step),
                 Qt.Key.Key_Down: (0, step)}
        tools = {Qt.Key.Key_1: "circle", Qt.Key.Key_2: "arrow", Qt.Key.Key_3: "text"}
        if event.key() in tools and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.sig_tool_key.emit(tools[event.key()])
        elif event.key() in moves:
            dx, dy = moves[event.key()]
            self.cursor = QPointF(min(max(self.cursor.x() + dx, 0), self.image.width()),
                                  min(max(self.cursor.y() + dy, 0), self.image.height()))
            self.update()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.place_at_cursor()
        elif event.key() == Qt.Key.Key_Escape and self._anchor is not None:
            self._anchor = None
            self.update()
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.setFocus()
        point = self._to_picture(event.position())
        self.cursor = point
        if self.tool == "text":
            self.add(Mark("text", point, point, self.mark_text))
        else:
            self._drag = point
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is not None:
            self.cursor = self._to_picture(event.position())
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag is not None:
            end = self._to_picture(event.position())
            if math.dist((end.x(), end.y()), (self._drag.x(), self._drag.y())) > 3:
                self.add(Mark(self.tool, self._drag, end))
            self._drag = None
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#000000"))
        s, offset = self._scale(), self._offset()
        painter.translate(offset)
        painter.drawImage(QRectF(0, 0, self.image.width() * s, self.image.height() * s), self.image)
        draw_marks(painter, self.marks, s, self.image.width())
        pending = self._drag or self._anchor
        if pending is not None and self.tool != "text":
            draw_marks(painter, [Mark(self.tool, pending, self.cursor)], s, self.image.width())
        if self.hasFocus():  # the keyboard's cross
            c = self.cursor * s
            painter.setPen(QPen(QColor("#00e5ff"), 2))
            painter.drawLine(QPointF(c.x() - 12, c.y()), QPointF(c.x() + 12, c.y()))
            painter.drawLine(QPointF(c.x(), c.y() - 12), QPointF(c.x(), c.y() + 12))
        painter.end()
