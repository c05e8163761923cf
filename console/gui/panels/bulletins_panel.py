"""The Incident bulletins panel: what was sent to responders for the incident on screen (picture, text, who, when)
and how each e-mail copy fared, refreshed when any console sends one or a copy is delivered (ChangeKind.BULLETIN).

Everything shown came from outside or from a person, so it is shown as plain text; the picture is decoded by Qt
from the stored PNG/JPEG, never handed to a web page.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QSplitter, QVBoxLayout, QWidget

from console.domain.bulletins import Bulletin, DeliveryState
from console.gui.text import show_text

STATE_WORDS = {DeliveryState.QUEUED: "waiting", DeliveryState.SENDING: "sending", DeliveryState.SENT: "delivered",
               DeliveryState.FAILED: "FAILED"}


def delivery_line(b: Bulletin) -> str:
    if not b.recipients:
        return "consoles only"
    counts: dict[DeliveryState, int] = {}
    for r in b.recipients:
        counts[r.state] = counts.get(r.state, 0) + 1
    return ", ".join(f"{n} {STATE_WORDS[s]}" for s, n in sorted(counts.items(), key=lambda kv: kv[0].value))


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{max(1, round(n / 1000))} KB"


class BulletinsPanel(QWidget):
    sig_send_requested = Signal()
    """The dispatcher pressed "Send to responders…" here."""
    sig_arrived = Signal(object)
    """A bulletin for the incident shown that was not there at the last refresh (a Bulletin)."""

    def __init__(self, load: Callable[[int], list[Bulletin]], tasks, zone: tzinfo | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("bulletinsPanel")
        self.load, self.tasks, self.zone = load, tasks, zone
        self.incident_id: int | None = None
        self.bulletins: list[Bulletin] = []
        self._known: set[int] | None = None  # ids shown for this incident; None until its first load
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.heading = QLabel("No incident selected")
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setObjectName("panelHeading")
        layout.addWidget(self.heading)
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.list = QListWidget()
        self.list.setObjectName("bulletinList")
        self.list.setAccessibleName("Bulletins sent for this incident")
        self.list.currentRowChanged.connect(self._show)
        splitter.addWidget(self.list)
        detail = QWidget()
        inner = QVBoxLayout(detail)
        inner.setContentsMargins(0, 0, 0, 0)
        self.picture = QLabel()
        self.picture.setObjectName("bulletinPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumHeight(180)
        inner.addWidget(self.picture, 1)
        self.detail = QLabel("")
        self.detail.setObjectName("bulletinDetail")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        inner.addWidget(self.detail)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([120, 420])
        layout.addWidget(splitter, 1)
        self.send_button = QPushButton("Send to responders…  (Ctrl+Shift+B)")
        self.send_button.setObjectName("panelSendBulletin")
        self.send_button.clicked.connect(self.sig_send_requested)
        layout.addWidget(self.send_button)

    def _time(self, b: Bulletin) -> str:
        at = b.sent_at.astimezone(self.zone) if self.zone else b.sent_at.astimezone()
        return f"{at:%H:%M:%S}"

    def show_incident(self, incident_id: int | None, label: str = "") -> None:
        self.incident_id = incident_id
        self._known = None
        show_text(self.heading, f"Bulletins for {label}" if incident_id else "No incident selected")
        self.refresh()

    def refresh(self) -> None:
        incident_id = self.incident_id
        if incident_id is None:
            self.set_bulletins([])
            return
        self.tasks.run("bulletins-panel", lambda: self.load(incident_id),
                       lambda found: self.set_bulletins(found) if incident_id == self.incident_id else None,
                       lambda message: show_text(self.detail, f"Bulletins not shown: {message}"))

    def set_bulletins(self, bulletins: list[Bulletin]) -> None:
        if self._known is not None:
            for b in bulletins:
                if b.id not in self._known:
                    self.sig_arrived.emit(b)
        self._known = {b.id for b in bulletins}
        keep = self.list.currentRow()
        chosen = self.bulletins[keep].id if 0 <= keep < len(self.bulletins) else None
        self.bulletins = list(bulletins)
        self.list.blockSignals(True)
        self.list.clear()
        for b in self.bulletins:
            first = (b.text.splitlines() or ["(picture only)"])[0][:60]
            what = " + ".join(a.kind.extension.upper() for a in b.attachments)
            item = QListWidgetItem(f"{self._time(b)}  {delivery_line(b)}  ·  {b.sent_by}  ·  {what or 'text'}\n"
                                   f"      {first}")
            if any(r.state is DeliveryState.FAILED for r in b.recipients):
                item.setForeground(Qt.GlobalColor.red)
            self.list.addItem(item)
        self.list.blockSignals(False)
        row = next((i for i, b in enumerate(self.bulletins) if b.id == chosen), 0 if self.bulletins else -1)
        self.list.setCurrentRow(row)
        self._show(row)

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.bulletins):
            self.picture.clear()
            show_text(self.detail, "No bulletins sent for this incident yet." if self.incident_id else "")
            return
        b = self.bulletins[row]
        image = QImage.fromData(b.image.data) if b.image is not None and b.image.data else QImage()
        if image.isNull():
            self.picture.clear()
        else:
            width, height = max(160, self.picture.width() - 8), max(120, self.picture.height() - 8)
            # Small camera pictures are shown up to twice their size: a dispatcher reads them from a metre away.
            self.picture.setPixmap(QPixmap.fromImage(image).scaled(min(width, 2 * image.width()),
                                                                   min(height, 2 * image.height()),
                                                                   Qt.AspectRatioMode.KeepAspectRatio,
                                                                   Qt.TransformationMode.SmoothTransformation))
        copies = "\n".join(f"  {r.address}: {STATE_WORDS[r.state]}"
                           + (f" ({r.last_error[:120]})" if r.last_error else "") for r in b.recipients)
        show_text(self.detail, f"{b.text or '(no text)'}\n\nSent by {b.sent_by} at {self._time(b)} from "
                               f"{b.workstation}" + (f" — {b.reason}" if b.reason else "")
                  + (f"\nClip: {_size(b.clip.size)}" if b.clip is not None else "")
                  + (f"\nE-mail copies:\n{copies}" if copies else "\nNo e-mail copies (consoles only)")
                  + f"\nSHA-256 {b.content_sha256}", limit=4000)
