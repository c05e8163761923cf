"""Send to responders: the snapshot of a live tile (marked up in place), a short text, optionally the last seconds
of the view as a clip, to addresses and saved groups. The send runs off the GUI thread through BulletinService,
which checks everything again; a refusal is one sentence in the dialog, and nothing is sent.

Keyboard: 1/2/3 choose circle/arrow/text, arrow keys move the cross on the picture and Enter places the mark,
Ctrl+Z undoes, Ctrl+Enter sends, Esc closes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.domain.bulletins import MAX_TEXT_CHARS
from console.domain.incidents import Incident
from console.gui.bulletin_markup import MAX_MARK_TEXT, MarkupCanvas
from console.gui.text import keep_plain, plain_label
from console.gui.video.snapshot import burn_caption
from console.services.bulletins import BulletinService, Sent


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def split_targets(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").replace("\n", ",").split(",") if part.strip()]


class SendBulletinDialog(QDialog):
    sig_sent = Signal(object)
    """The bulletin was recorded and its e-mail copies queued (a services.bulletins.Sent)."""

    def __init__(self, service: BulletinService, user: Callable[[], object], incident: Incident, tasks,
                 image: QImage | None = None, caption: str = "", camera_id: int | None = None,
                 clip: Callable[[], bytes | None] | None = None, clip_seconds: float = 0.0,
                 groups: list[str] | None = None, parent: QWidget | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        super().__init__(parent)
        keep_plain(self)
        self.setObjectName("sendBulletinDialog")
        self.setWindowTitle("Send to responders")
        self.service, self.user, self.incident, self.tasks = service, user, incident, tasks
        self.caption, self.camera_id, self.clip_source, self.clock = caption, camera_id, clip, clock
        self.sending = False
        layout = QHBoxLayout(self)

        self.canvas: MarkupCanvas | None = None
        if image is not None and not image.isNull():
            left = QVBoxLayout()
            self.canvas = MarkupCanvas(image)
            left.addWidget(self.canvas, 1)
            tools = QHBoxLayout()
            self.tool_buttons = {}
            for key, (tool, text) in enumerate((("circle", "Circle"), ("arrow", "Arrow"), ("text", "Text")), 1):
                button = QPushButton(f"{key} {text}")
                button.setObjectName(f"tool_{tool}")
                button.setCheckable(True)
                button.setAutoExclusive(True)
                button.setAutoDefault(False)
                button.setStyleSheet("QPushButton:checked { background: #ffd400; color: #101010; font-weight: bold; }")
                button.clicked.connect(lambda _=False, t=tool: self._tool(t))
                tools.addWidget(button)
                self.tool_buttons[tool] = button
            self.canvas.sig_tool_key.connect(self._tool)  # 1/2/3 on the picture only: fields take digits
            self.mark_text = QLineEdit()
            self.mark_text.setObjectName("markText")
            self.mark_text.setMaxLength(MAX_MARK_TEXT)
            self.mark_text.setPlaceholderText("mark text, e.g. red hoodie")
            self.mark_text.textChanged.connect(lambda t: setattr(self.canvas, "mark_text", t))
            self.mark_text.returnPressed.connect(self.canvas.setFocus)  # typed the words: back to place them
            tools.addWidget(self.mark_text, 1)
            undo = QPushButton("Undo")
            undo.setAutoDefault(False)
            undo.setObjectName("undoMark")
            undo.clicked.connect(self.canvas.undo)
            tools.addWidget(undo)
            QShortcut(QKeySequence.StandardKey.Undo, self, activated=self.canvas.undo)
            left.addLayout(tools)
            hint = QLabel("Arrow keys move the cross, Enter places (circle and arrow: Enter at each end). "
                          "Or drag with the mouse.")
            hint.setObjectName("hint")
            hint.setWordWrap(True)
            left.addWidget(hint)
            layout.addLayout(left, 3)
            self.tool_buttons["circle"].setChecked(True)

        right = QVBoxLayout()
        form = QFormLayout()
        form.addRow("Incident", plain_label(f"{incident.cad_number or incident.id} — {incident.type}, "
                                            f"{incident.address}"))
        self.to = QLineEdit()
        self.to.setObjectName("bulletinTo")
        self.to.setPlaceholderText("unit12@police.example.gov, Patrol sector 2")
        form.addRow("Send &to", self.to)
        self.units_hint = QLabel("")
        self.units_hint.setObjectName("hint")
        self.units_hint.setTextFormat(Qt.TextFormat.PlainText)  # unit ids come from CAD: text, never mark-up
        self.units_hint.setWordWrap(True)
        self.units_hint.setVisible(False)
        form.addRow("", self.units_hint)
        self.save_group_button = QPushButton("Save these addresses as a group…")
        self.save_group_button.setObjectName("saveGroup")
        self.save_group_button.setAutoDefault(False)
        self.save_group_button.setToolTip("Keep the addresses in To as a group (e.g. Patrol sector 2) for the next bulletin")
        self.save_group_button.clicked.connect(self.save_group)
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        save_row.addWidget(self.save_group_button)
        form.addRow("", save_row)
        self.group_list = QListWidget()
        self.group_list.setObjectName("bulletinGroups")
        self.group_list.setMaximumHeight(110)
        self.groups_label = QLabel("&Groups")
        self.groups_label.setBuddy(self.group_list)
        form.addRow(self.groups_label, self.group_list)
        self.set_groups(groups or [])
        self.text = QPlainTextEdit()
        self.text.setObjectName("bulletinText")
        self.text.setPlaceholderText("What the officers should know: who, what, which way")
        self.text.setTabChangesFocus(True)
        self.text.textChanged.connect(self._count)
        form.addRow("Te&xt", self.text)
        self.counter = QLabel(f"0 / {MAX_TEXT_CHARS}")
        self.counter.setObjectName("hint")
        form.addRow("", self.counter)
        self.reason = QLineEdit()
        self.reason.setObjectName("bulletinReason")
        self.reason.setMaxLength(200)
        self.reason.setPlaceholderText("why (recorded in the audit trail)")
        form.addRow("&Reason", self.reason)
        self.with_clip = QCheckBox(f"Attach the last {clip_seconds:g} s of this view as a clip" if clip_seconds
                                   else "No clip (clips are off in this agency's settings)")
        self.with_clip.setObjectName("bulletinClip")
        self.with_clip.setEnabled(bool(clip and clip_seconds > 0))
        form.addRow("", self.with_clip)
        right.addLayout(form)
        self.error = QLabel("")
        self.error.setObjectName("warning")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        right.addWidget(self.error)
        right.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel = QPushButton("Cancel")
        self.cancel.setAutoDefault(False)
        self.cancel.clicked.connect(self.reject)
        self.send_button = QPushButton("Send  (Ctrl+Enter)")
        self.send_button.setObjectName("primary")  # the theme's accent: the one button that acts
        self.send_button.setDefault(False)
        self.send_button.setAutoDefault(False)
        self.send_button.clicked.connect(self.send)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.send_button)
        right.addLayout(buttons)
        for field in (self.to, self.text, self.reason, self.with_clip, self.group_list, self.canvas):
            if field is not None:
                field.installEventFilter(self)  # Ctrl+Enter sends from wherever the keyboard is
        layout.addLayout(right, 2)
        self.resize(1180, 640) if self.canvas is not None else self.resize(560, 480)
        self.to.setFocus()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if (event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.send()
            return True
        return super().eventFilter(watched, event)

    def save_group(self) -> None:
        """The addresses typed in To, saved as a named group (audited as bulletin_group) off the GUI thread."""
        addresses = [t for t in split_targets(self.to.text()) if "@" in t]
        if not addresses:
            self.show_error("Type the group's e-mail addresses in To first, then save them as a group.")
            return
        name, ok = QInputDialog.getText(self, "Save as group", f"Name for these {len(addresses)} address(es):")
        if not ok or not name.strip():
            return
        user, now = self.user(), self.clock()

        def work() -> list[str]:
            self.service.save_group(user, name, addresses, now)
            return sorted(self.service.groups())

        def done(names: list[str]) -> None:
            self.set_groups(names)
            self.show_error(f"Group {name.strip()!r} saved with {len(addresses)} address(es).")

        self.tasks.run("save-bulletin-group", work, done, lambda message: self.show_error(f"Group not saved: {message}"))

    def load_units(self) -> None:
        """Pre-fill To with the incident's CAD units that have a recipient group, read off the GUI thread."""
        incident_id = self.incident.id
        self.tasks.run("bulletin-units", lambda: self.service.unit_targets(incident_id),
                       lambda found: self.set_units(*found),
                       lambda message: self.units_hint.setText(f"The incident's CAD units could not be read: {message}")
                       or self.units_hint.setVisible(True))

    def set_units(self, with_group: list[str], without: list[str]) -> None:
        """The units CAD names: those with a group go into To (when the dispatcher has typed nothing there yet),
        the others are named under it so the dispatcher can type their addresses or save a group for them."""
        lines = []
        if with_group:
            if not self.to.text().strip():
                self.to.setText(", ".join(with_group))
                self.to.setModified(False)
            else:
                typed = split_targets(self.to.text())
                missing = [u for u in with_group if u not in typed]
                if missing:
                    lines.append("CAD units with a group, not added (you had typed in To): " + ", ".join(missing))
        if without:
            lines.append("CAD units without a recipient group (type their addresses, or save them as a group named "
                         "like the unit): " + ", ".join(without))
        self.units_hint.setText("\n".join(lines))
        self.units_hint.setVisible(bool(lines))

    def set_groups(self, names: list[str]) -> None:
        """The saved recipient groups to tick (loaded off the GUI thread after the dialog opened)."""
        self.group_list.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.group_list.addItem(item)
        self.group_list.setVisible(bool(names))
        self.groups_label.setVisible(bool(names))

    def set_full_picture(self, image: QImage | None) -> None:
        """The same moment at the stream's full resolution, decoded off the GUI thread: the marks keep their places."""
        if image is not None and not image.isNull() and self.canvas is not None and not self.sending:
            if image.width() >= self.canvas.image.width():
                self.canvas.set_image(image)

    def _tool(self, tool: str) -> None:
        if self.canvas is None:
            return
        self.canvas.set_tool(tool)
        self.tool_buttons[tool].setChecked(True)
        (self.mark_text if tool == "text" and not self.mark_text.text() else self.canvas).setFocus()

    def _count(self) -> None:
        n = len(self.text.toPlainText())
        self.counter.setText(f"{n} / {MAX_TEXT_CHARS}")
        self.counter.setObjectName("warning" if n > MAX_TEXT_CHARS else "hint")
        self.counter.style().unpolish(self.counter)
        self.counter.style().polish(self.counter)

    def targets(self) -> list[str]:
        checked = [self.group_list.item(i).text() for i in range(self.group_list.count())
                   if self.group_list.item(i).checkState() == Qt.CheckState.Checked]
        return split_targets(self.to.text()) + checked

    def final_image(self) -> QImage | None:
        """The picture as sent: the marks burned in, then the caption band under it."""
        if self.canvas is None:
            return None
        marked = self.canvas.marked_image()
        return burn_caption(marked, self.caption) if self.caption else marked

    def send(self) -> None:
        if self.sending:
            return
        targets = self.targets()
        if not targets:
            self.show_error("Give at least one address or group to send to.")
            self.to.setFocus()
            return
        image = self.final_image()
        image_bytes = png_bytes(image) if image is not None else None
        clip_source = self.clip_source if self.with_clip.isChecked() else None
        text, reason, user, now = self.text.toPlainText(), self.reason.text(), self.user(), self.clock()
        incident_id, camera_id = self.incident.id, self.camera_id

        def work() -> Sent:
            clip = clip_source() if clip_source is not None else None
            if clip_source is not None and clip is None:
                from console.errors import UserError

                raise UserError("no clip is ready yet (the view has not sent a key frame): send without the clip")
            return self.service.send(user, incident_id, text, targets, now, image=image_bytes, clip=clip,
                                     reason=reason, camera_id=camera_id)

        self.sending = True
        self.send_button.setEnabled(False)
        self.error.setText("Sending…")
        self.tasks.run("send-bulletin", work, self._sent, self._failed)

    def _sent(self, sent: Sent) -> None:
        self.sending = False
        self.sig_sent.emit(sent)
        self.accept()

    def _failed(self, message: str) -> None:
        self.sending = False
        self.send_button.setEnabled(True)
        self.show_error(f"Not sent: {message}")

    def show_error(self, text: str) -> None:
        self.error.setText(text)
