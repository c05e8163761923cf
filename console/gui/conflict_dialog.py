"""When a save is refused because someone else saved the record first: yours and what is stored now, side by side.

"Keep theirs" closes without saving. "Overwrite with mine" re-saves the user's values against the version now
stored (on the thread pool); if the record changed yet again meanwhile, the dialog shows the newer conflict.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.gui.workers import Tasks
from console.services.registry_edits import ConcurrentEdit
from console.gui.text import keep_plain

_NAMES = {"label": "Label", "lat": "Latitude", "lon": "Longitude", "capability": "Capability",
          "sharing_mode": "Sharing", "status": "Status", "placement": "Placement", "fov_bearing_deg": "Direction °",
          "fov_angle_deg": "Field of view °", "fov_range_m": "Range m", "contact": "Contact",
          "tls_pin_sha256": "Certificate pin"}


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if hasattr(value, "value"):
        return str(value.value)
    if hasattr(value, "masked"):  # an OwnerContact: never shown in full here
        return "changed (masked)"
    return str(value)


class ConflictDialog(QDialog):
    """Shows a ConcurrentEdit. `save(version, values)` re-saves the user's values over `version`."""

    sig_overwritten = Signal(object)
    """The user's values were saved over the newer version (the save function's result)."""

    def __init__(self, conflict: ConcurrentEdit, save: Callable[[int, dict], Any] | None = None,
                 tasks: Tasks | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.save = save
        self.tasks = tasks or Tasks(self)
        self.setWindowTitle("Someone else changed this record")
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setObjectName("warning")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(("Field", "Yours (not saved)", "Now stored"))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addStretch(1)
        self.keep_button = QPushButton("Keep theirs")
        self.overwrite_button = QPushButton("Overwrite with mine")
        self.overwrite_button.setEnabled(save is not None)
        row.addWidget(self.keep_button)
        row.addWidget(self.overwrite_button)
        layout.addLayout(row)
        self.keep_button.clicked.connect(self.reject)
        self.overwrite_button.clicked.connect(self.overwrite)
        self.show_conflict(conflict)
        self.resize(620, 360)

    def show_conflict(self, conflict: ConcurrentEdit) -> None:
        self.conflict = conflict
        self.summary.setText(f"{conflict.entity.capitalize()} {conflict.record_id} was saved by someone else after "
                             f"you opened it (you started from version {conflict.seen_version}; it is now version "
                             f"{conflict.stored_version}). Nothing of yours was saved yet.")
        fields = list(conflict.attempted) + [f for f in conflict.stored if f not in conflict.attempted]
        self.table.setRowCount(len(fields))
        differs = QBrush(QColor("#f5a524"))
        for row, name in enumerate(fields):
            mine = _shown(conflict.attempted.get(name)) if name in conflict.attempted else "(unchanged)"
            theirs = _shown(conflict.stored.get(name))
            cells = (_NAMES.get(name, name), mine, theirs)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if name in conflict.attempted and mine != theirs:
                    item.setForeground(differs)
                self.table.setItem(row, column, item)

    def overwrite(self) -> None:
        if self.save is None:
            return
        version, values = self.conflict.stored_version, dict(self.conflict.attempted)
        self.overwrite_button.setEnabled(False)
        self.message.setText("Saving your values over the stored version…")

        def run():
            try:
                return self.save(version, values)
            except ConcurrentEdit as again:
                return again

        self.tasks.run("conflict-overwrite", run, self._saved, self._failed)

    def _saved(self, result) -> None:
        self.overwrite_button.setEnabled(True)
        if isinstance(result, ConcurrentEdit):
            self.show_conflict(result)
            self.message.setText("It changed again while you decided: check the newest values.")
            return
        self.sig_overwritten.emit(result)
        self.accept()

    def _failed(self, error: str) -> None:
        self.overwrite_button.setEnabled(True)
        self.message.setText(error)

    def done(self, result: int) -> None:
        if self.tasks.parent() is self:
            self.tasks.close()
        super().done(result)
