"""Revealing an owner's contact from the camera detail: ask why, reveal and audit off the GUI thread, show it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

from console.domain.owners import OwnerContact
from console.gui.workers import Tasks
from console.services.contacts import ContactService


class ContactRevealController(QObject):
    sig_message = Signal(str)
    """A sentence for the status bar (a refusal says why)."""
    sig_revealed = Signal(int, object)
    """(camera id, OwnerContact) once the reveal was audited."""

    def __init__(self, contacts: ContactService, user: Callable[[], object], tasks: Tasks, parent_widget: QWidget,
                 ask_reason: Callable[[], str | None] | None = None, show: Callable[[OwnerContact], None] | None = None):
        super().__init__(parent_widget)
        self.contacts, self.user, self.tasks, self.parent_widget = contacts, user, tasks, parent_widget
        self.ask_reason = ask_reason or self._ask
        self.show = show or self._show

    def _ask(self) -> str | None:
        reason, ok = QInputDialog.getText(self.parent_widget, "Reveal owner contact",
                                          "Why do you need the owner's contact? (recorded in the audit trail)",
                                          QLineEdit.EchoMode.Normal, "")
        return reason.strip() if ok else None

    def _show(self, contact: OwnerContact) -> None:
        lines = [contact.name, contact.organisation, contact.phone, contact.email, contact.address]
        box = QMessageBox(QMessageBox.Icon.Information, "Owner contact", "", QMessageBox.StandardButton.Close,
                          self.parent_widget)
        box.setTextFormat(Qt.TextFormat.PlainText)  # the owner typed these: text, never markup
        box.setText("\n".join(x for x in lines if x))
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.exec()

    def reveal(self, camera_id: int) -> None:
        reason = self.ask_reason()
        if not reason:
            self.sig_message.emit("Owner contact not shown: no reason given")
            return
        user, now = self.user(), datetime.now(timezone.utc)

        def work() -> OwnerContact:
            owner_id = self.contacts.owner_of_camera(camera_id)
            return self.contacts.reveal(user, owner_id, reason, now, camera_id=camera_id)

        def done(contact: OwnerContact) -> None:
            self.sig_revealed.emit(camera_id, contact)
            self.show(contact)

        self.tasks.run(f"reveal-{camera_id}", work, done, lambda error: self.sig_message.emit(error))
