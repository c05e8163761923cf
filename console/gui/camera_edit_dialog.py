"""Edit one registered camera (label, sharing choice, status, placement, direction, pinned TLS certificate) against
the version it opened.

The pinned certificate (cameras.tls_pin_sha256) is for a self-signed RTSPS/HTTPS gateway: the SHA-256 fingerprint
pasted in any common form (`AB:CD:…`, `sha256 Fingerprint=…`); empty means no pin (the certificate must verify
against the system's authorities). A bad fingerprint is refused in the form with one sentence, nothing saved.

The camera and its version are loaded on the thread pool; Save sends only the fields the user changed, over
that version, through the RegistryEditService. When someone else saved the camera meanwhile, nothing is written
and the ConflictDialog shows both versions: "Keep theirs" leaves the stored record alone (the form keeps the
user's values, with "Reload stored values" to start again from what is stored), "Overwrite with mine" re-saves
the user's values over the version now stored. A change of sharing mode is a consent change: it needs how the
owner gave it (channel and a note), which the service keeps on the camera and in the audit event.

Also `ConfirmDialog`/`confirm`: the explicit confirmation for removing a camera or erasing an owner.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.domain.cameras import (
    CameraStatus,
    Capability,
    ConsentChannel,
    ConsentRecord,
    SharingMode,
    normalize_fingerprint,
)
from console.domain.intake import Placement
from console.domain.users import User
from console.gui.conflict_dialog import _NAMES, ConflictDialog
from console.gui.choice_box import ChoiceBox
from console.gui.workers import Tasks
from console.services.registry_edits import ConcurrentEdit, EditableCamera, RegistryEditService
from console.gui.text import fixed_rich_text, keep_plain, plain_label

SHARING_TEXT = {SharingMode.NEVER: "never", SharingMode.ON_ALERT: "only during an owner alert",
                SharingMode.ALWAYS: "always"}
CHANNEL_TEXT = {ConsentChannel.PHONE: "by phone", ConsentChannel.IN_PERSON: "in person",
                ConsentChannel.WEB: "on the registration portal", ConsentChannel.DEVICE: "in the owner's app or device"}
_NUMBERS = (("fov_bearing_deg", "Direction ° (0 = north)"), ("fov_angle_deg", "Field of view °"),
            ("fov_range_m", "Range m"))


def _number(text: str, title: str) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{title} must be a number, not {text!r}") from None


def _shown_number(value: Any) -> str:
    return "" if value is None else f"{float(value):g}"


def _pin_text(value: str | None) -> str:
    """A stored fingerprint as openssl prints it (AB:CD:...), easier to compare with the gateway's than 64 digits."""
    if not value:
        return ""
    return ":".join(value[i:i + 2] for i in range(0, len(value), 2)).upper()


def _pin(text: str) -> str | None:
    """The fingerprint typed or pasted, as stored; None for an empty field; ValueError with one sentence otherwise."""
    text = text.strip()
    if not text:
        return None
    try:
        return normalize_fingerprint(text)
    except ValueError as exc:
        message = str(exc)
        raise ValueError(f"Certificate pin: {message[:1].lower()}{message[1:]}. Nothing was saved.") from None


def _camera_text(name: str, value: Any) -> str:
    """A stored or attempted camera value as a dispatcher reads it."""
    if value is None:
        return "not known"
    if name == "sharing_mode":
        return SHARING_TEXT[SharingMode(value)]
    if name == "capability":
        return "live-capable" if value == Capability.LIVE.value else "registered only"
    if name in ("lat", "lon"):
        return f"{float(value):.6f}"
    if name in {n for n, _t in _NUMBERS}:
        return f"{float(value):g}"
    if name == "tls_pin_sha256":
        return _pin_text(value)
    return str(getattr(value, "value", value))


class CameraConflictDialog(ConflictDialog):
    """The conflict dialog for a camera: values in words, what differs first (amber, bold), every row in view."""

    def show_conflict(self, conflict: ConcurrentEdit) -> None:
        super().show_conflict(conflict)
        self.summary.setText(f"“{conflict.stored.get('label')}” (camera {conflict.record_id}) was saved by someone "
                             f"else after you opened it: you started from version {conflict.seen_version}; it is "
                             f"now version {conflict.stored_version}. Nothing of yours was saved yet.")
        table = self.table
        names = {v: k for k, v in _NAMES.items()}
        for row in range(table.rowCount()):
            name = names.get(table.item(row, 0).text(), table.item(row, 0).text())
            mine = conflict.attempted.get(name) if name in conflict.attempted else None
            theirs_text = _camera_text(name, conflict.stored.get(name))
            table.item(row, 2).setText(theirs_text)
            if name in conflict.attempted:
                mine_text = _camera_text(name, mine)
                table.item(row, 1).setText(mine_text)
                if mine_text != theirs_text:
                    for column in range(3):
                        font = QFont(table.item(row, column).font())
                        font.setBold(True)
                        table.item(row, column).setFont(font)
        table.setCurrentCell(-1, -1)
        table.resizeRowsToContents()
        height = table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(table.rowCount()))
        table.setFixedHeight(height + 2 * table.frameWidth() + 2)


class CameraEditDialog(QDialog):
    """Edit camera `camera_id` as `user()` (the signed-in user at the time of saving)."""

    sig_saved = Signal(int)
    """The camera was saved (by Save or by "Overwrite with mine"): its new version."""

    def __init__(self, service: RegistryEditService, user: Callable[[], User], camera_id: int,
                 tasks: Tasks | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.service, self.user, self.camera_id = service, user, camera_id
        self.tasks = tasks or Tasks(self)
        self.loaded: EditableCamera | None = None
        self.conflict_dialog: ConflictDialog | None = None
        self.setWindowTitle(f"Edit camera {camera_id}")
        layout = QVBoxLayout(self)
        self.heading = QLabel(f"Camera {camera_id}: loading…")
        self.heading.setProperty("role", "heading")
        layout.addWidget(self.heading)

        form = QFormLayout()
        self.label = QLineEdit()
        self.capability = QLabel()
        self.sharing = ChoiceBox([(text, mode) for mode, text in SHARING_TEXT.items()])
        self.status = ChoiceBox([("active", CameraStatus.ACTIVE), ("inactive (offline or paused by the owner)",
                                                                   CameraStatus.INACTIVE)])
        self.placement = ChoiceBox([(p.value, p) for p in Placement])
        self.numbers = {name: QLineEdit() for name, _title in _NUMBERS}
        form.addRow("Label", self.label)
        form.addRow("Capability", self.capability)
        form.addRow("Live sharing", self.sharing)
        form.addRow("Status", self.status)
        form.addRow("Placement", self.placement)
        for name, title in _NUMBERS:
            self.numbers[name].setPlaceholderText("not known")
            form.addRow(title, self.numbers[name])
        self.pin = QLineEdit()
        self.pin.setMaxLength(200)  # a pasted `openssl x509 -fingerprint` line fits; anything longer is not one
        self.pin.setPlaceholderText("none: the certificate must verify (paste a SHA-256 fingerprint for a "
                                    "self-signed gateway)")
        self.pin.setToolTip("The SHA-256 fingerprint of the one certificate this camera's RTSPS/HTTPS gateway may "
                            "show, as `openssl x509 -noout -fingerprint -sha256` prints it. Empty: no pin.")
        form.addRow("Certificate pin (SHA-256)", self.pin)
        layout.addLayout(form)

        self.consent_box = QGroupBox("Consent: the owner changed when police may watch")
        consent = QFormLayout(self.consent_box)
        self.channel = ChoiceBox([(text, channel) for channel, text in CHANNEL_TEXT.items()])
        self.note = QLineEdit()
        self.note.setPlaceholderText("what the owner asked for, in their words (e.g. “share only during alarms”)")
        consent.addRow("Given", self.channel)
        consent.addRow("Note", self.note)
        self.consent_box.setVisible(False)
        layout.addWidget(self.consent_box)

        self.message = QLabel()
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.reload_button = QPushButton("Reload stored values")
        self.reload_button.setVisible(False)
        buttons.addWidget(self.reload_button)
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primary")
        self.save_button.setEnabled(False)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.save_button.clicked.connect(self.save)
        self.reload_button.clicked.connect(self.load)
        self.sharing.currentIndexChanged.connect(self._sharing_changed)
        self.note.textChanged.connect(self._note_changed)
        self.resize(520, 0)

    # --- loading ----------------------------------------------------------------------------------

    def load(self) -> None:
        self.save_button.setEnabled(False)
        self.message.setText("Loading the camera…")
        self.tasks.run("camera-edit-load", lambda: self.service.camera_for_edit(self.camera_id), self.show_camera,
                       self._failed)

    def show_camera(self, camera: EditableCamera) -> None:
        self.loaded = camera
        values = camera.values
        if values.get("status") == CameraStatus.REMOVED.value:
            self.heading.setText(f"Camera {camera.camera_id} was removed from the registry: it cannot be edited.")
            self.message.setText("")
            return
        self.heading.setText(f"Camera {camera.camera_id} · {values.get('label')} · version {camera.version}")
        self.label.setText(values.get("label") or "")
        live = values.get("capability") == Capability.LIVE.value
        self.capability.setText("live-capable (through the owner's gateway)" if live
                                else "registered only: police cannot watch it live")
        self.sharing.select(SharingMode(values.get("sharing_mode")))
        self.sharing.setEnabled(live)
        self.status.select(CameraStatus(values.get("status")))
        self.placement.select(Placement(values.get("placement") or Placement.OUTSIDE.value))
        for name, edit in self.numbers.items():
            edit.setText(_shown_number(values.get(name)))
        self.pin.setText(_pin_text(values.get("tls_pin_sha256")))
        self.pin.setCursorPosition(0)
        self.note.clear()
        self._sharing_changed()
        self.reload_button.setVisible(False)
        self.message.setText("")
        self.save_button.setEnabled(True)

    def _sharing_changed(self, _index: int = 0) -> None:
        changed = self.loaded is not None and self.sharing.choice().value != self.loaded.values.get("sharing_mode")
        self.consent_box.setVisible(changed)

    def _note_changed(self, text: str) -> None:
        if text.strip() and "consent change" in self.message.text():
            self.message.setText("")

    # --- saving -----------------------------------------------------------------------------------

    def changes(self) -> dict[str, Any]:
        """The fields the user changed (stored values as the service gives them); ValueError for a bad number or
        certificate pin."""
        if self.loaded is None:
            return {}
        stored = self.loaded.values
        values: dict[str, Any] = {"label": self.label.text().strip(), "sharing_mode": self.sharing.choice().value,
                                  "status": self.status.choice().value, "placement": self.placement.choice().value}
        for name, title in _NUMBERS:
            values[name] = _number(self.numbers[name].text(), title)
        values["tls_pin_sha256"] = _pin(self.pin.text())
        out = {}
        for name, value in values.items():
            before = stored.get(name)
            if isinstance(value, float) and before is not None and abs(float(before) - value) < 1e-9:
                continue
            if value != before:
                out[name] = value
        return out

    def consent(self) -> ConsentRecord | None:
        """How the owner gave a new sharing choice; ValueError when it is needed and not given."""
        if self.loaded is None or self.sharing.choice().value == self.loaded.values.get("sharing_mode"):
            return None
        note = self.note.text().strip()
        if not note:
            raise ValueError("A new sharing choice is a consent change: say how the owner gave it (channel and a "
                             "note) before saving.")
        user = self.user()
        return ConsentRecord(datetime.now(timezone.utc), self.channel.choice(),
                             user.display_name or user.username, note)

    def save(self) -> None:
        if self.loaded is None:
            return
        try:
            changes = self.changes()
            consent = self.consent() if "sharing_mode" in changes else None
        except ValueError as exc:
            self.message.setText(str(exc))
            return
        if not changes:
            self.message.setText("Nothing changed: there is nothing to save.")
            return
        user, version = self.user(), self.loaded.version
        self.save_button.setEnabled(False)
        self.message.setText("Saving…")

        def work():
            try:
                return self.service.edit_camera(user, self.camera_id, version, changes, consent=consent)
            except ConcurrentEdit as conflict:
                return conflict

        self.tasks.run("camera-edit-save", work, lambda result: self._saved(result, consent), self._failed)

    def _saved(self, result, consent: ConsentRecord | None) -> None:
        self.save_button.setEnabled(True)
        if isinstance(result, ConcurrentEdit):
            self.show_conflict(result, consent)
            return
        self.message.setText("")
        self.sig_saved.emit(result)
        self.accept()

    def show_conflict(self, conflict: ConcurrentEdit, consent: ConsentRecord | None) -> None:
        self.message.setText("Someone else saved this camera after you opened it: nothing of yours was saved.")
        user = self.user()

        def overwrite(version: int, values: dict) -> int:
            return self.service.edit_camera(user, self.camera_id, version, values, consent=consent)

        self.conflict_dialog = CameraConflictDialog(conflict, overwrite, self.tasks, self)
        self.conflict_dialog.adjustSize()
        self.conflict_dialog.resize(max(self.conflict_dialog.width(), 680), self.conflict_dialog.height())
        self.conflict_dialog.sig_overwritten.connect(self._overwritten)
        self.conflict_dialog.rejected.connect(self._kept_theirs)
        self.conflict_dialog.open()

    def _overwritten(self, version: int) -> None:
        self.sig_saved.emit(version)
        self.accept()

    def _kept_theirs(self) -> None:
        self.message.setText("Kept what is stored; nothing of yours was saved. Your values are still in the form: "
                             "reload to start from the stored version, or close.")
        self.reload_button.setVisible(True)

    def changed_elsewhere(self) -> None:
        """The camera was saved somewhere else while this form is open (the change feed says so)."""
        if self.loaded is None or not self.save_button.isEnabled():
            return  # still loading, or our own save is under way
        self.message.setText("This camera was just saved on another console: if you save, you will see both "
                             "versions and choose.")

    def _failed(self, error: str) -> None:
        self.save_button.setEnabled(self.loaded is not None)
        self.message.setText(error)

    def done(self, result: int) -> None:
        if self.conflict_dialog is not None and self.conflict_dialog.isVisible():
            self.conflict_dialog.reject()
        if self.tasks.parent() is self:  # our own pool user: no late result reaches a closed dialog
            self.tasks.close()
        super().done(result)


class ConfirmDialog(QDialog):
    """An irreversible change, said plainly: what happens, what is kept, and (optionally) the reason to record."""

    def __init__(self, title: str, heading: str, body: str, action_text: str, reason_label: str | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        self.heading = plain_label(heading)  # names the camera: registry text
        self.heading.setObjectName("warning")
        self.heading.setProperty("role", "heading")
        self.heading.setWordWrap(True)
        self.body = QLabel()
        fixed_rich_text(self.body, body)  # the console's own wording; callers never put data in it
        self.body.setWordWrap(True)
        layout.addWidget(self.heading)
        layout.addWidget(self.body)
        self.reason: QLineEdit | None = None
        if reason_label is not None:
            self.reason = QLineEdit()
            self.reason.setPlaceholderText(reason_label)
            layout.addWidget(self.reason)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setDefault(True)
        self.action_button = QPushButton(action_text)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.action_button)
        layout.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.action_button.clicked.connect(self.accept)
        if self.reason is not None:
            self.action_button.setEnabled(False)
            self.reason.textChanged.connect(lambda text: self.action_button.setEnabled(bool(text.strip())))
        self.resize(520, 0)

    def reason_text(self) -> str:
        return self.reason.text().strip() if self.reason is not None else ""


def confirm(parent: QWidget, title: str, heading: str, body: str, action_text: str,
            reason_label: str | None = None) -> tuple[bool, str]:
    """Ask; (confirmed, reason)."""
    dialog = ConfirmDialog(title, heading, body, action_text, reason_label, parent)
    confirmed = dialog.exec() == QDialog.DialogCode.Accepted
    return confirmed, dialog.reason_text()
