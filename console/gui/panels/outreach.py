"""The outreach staff's "who to call next" panel, and a small form to log the call just made.

Built with the OutreachService and the signed-in user; reading the list and saving a call run on the thread
pool. Picking a row fills the log form with that business; "Show number" reads its phone number on demand.
"""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.intake import CallOutcome, DueCall
from console.domain.users import User
from console.gui.workers import Tasks
from console.services.outreach import DEFAULT_NO_ANSWER_DAYS, CallLog, OutreachService

_OUTCOME_TEXT = {CallOutcome.REGISTERED: "registered", CallOutcome.DECLINED: "declined",
                 CallOutcome.CALL_BACK: "call back on…", CallOutcome.NO_ANSWER: "no answer"}


class OutreachPanel(QWidget):
    sig_logged = Signal(int)
    """A call was logged (its id)."""

    def __init__(self, outreach: OutreachService, user: User, tasks: Tasks | None = None,
                 no_answer_days: int = DEFAULT_NO_ANSWER_DAYS, parent: QWidget | None = None):
        super().__init__(parent)
        self.outreach, self.user, self.no_answer_days = outreach, user, no_answer_days
        self.tasks = tasks or Tasks(self)
        self.due_calls: list[DueCall] = []
        layout = QVBoxLayout(self)
        heading = QHBoxLayout()
        title = QLabel("Who to call next")
        title.setProperty("role", "heading")
        self.refresh_button = QPushButton("Refresh")
        heading.addWidget(title, 1)
        heading.addWidget(self.refresh_button)
        layout.addLayout(heading)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(("Due", "Business", "Address", "Last outcome"))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table, 1)
        layout.addLayout(self._log_form())
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._picked)

    def _log_form(self) -> QFormLayout:
        form = QFormLayout()
        self.business, self.address, self.phone, self.notes = QLineEdit(), QLineEdit(), QLineEdit(), QLineEdit()
        self.outcome = QComboBox()
        self.outcomes = list(_OUTCOME_TEXT)
        self.outcome.addItems(list(_OUTCOME_TEXT.values()))
        self.call_back = QDateEdit(QDate.currentDate().addDays(1))
        self.call_back.setCalendarPopup(True)
        phone_row = QHBoxLayout()
        self.show_number = QPushButton("Show number")
        self.show_number.setEnabled(False)
        phone_row.addWidget(self.phone, 1)
        phone_row.addWidget(self.show_number)
        self.log_button = QPushButton("Log call")
        self.log_button.setObjectName("primary")
        for label, widget in (("Business", self.business), ("Address", self.address), ("Phone", phone_row),
                              ("Outcome", self.outcome), ("Call back on", self.call_back), ("Notes", self.notes)):
            form.addRow(label, widget)
        form.addRow("", self.log_button)
        self.outcome.currentIndexChanged.connect(
            lambda _i: self.call_back.setEnabled(self.outcomes[self.outcome.currentIndex()] is CallOutcome.CALL_BACK))
        self.call_back.setEnabled(False)
        self.show_number.clicked.connect(self._show_number)
        self.log_button.clicked.connect(self.log_call)
        return form

    def refresh(self) -> None:
        today = datetime.now(timezone.utc).date()
        self.tasks.run("outreach-due", lambda: self.outreach.due(self.user, today, self.no_answer_days),
                       self.show_due, self.message.setText)

    def show_due(self, due: list[DueCall]) -> None:
        self.due_calls = due
        self.table.setRowCount(len(due))
        for row, call in enumerate(due):
            cells = (call.due_at.astimezone().strftime("%Y-%m-%d"), call.business, call.address,
                     f"{_OUTCOME_TEXT[call.last_outcome].rstrip('…')} ({call.last_called_at.astimezone():%m-%d})")
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.message.setText(f"{len(due)} to call" if due else "Nobody is due a call.")

    def _picked(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        call = self.due_calls[min(rows)] if rows else None
        self.show_number.setEnabled(call is not None)
        if call is not None:
            self.business.setText(call.business)
            self.address.setText(call.address)
            self.phone.clear()

    def _show_number(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        if rows:
            call_id = self.due_calls[min(rows)].call_id
            self.tasks.run("outreach-phone", lambda: self.outreach.phone_of(self.user, call_id),
                           self.phone.setText, self.message.setText)

    def log_call(self) -> None:
        outcome = self.outcomes[self.outcome.currentIndex()]
        call_back = self.call_back.date().toPython() if outcome is CallOutcome.CALL_BACK else None
        call = CallLog(self.business.text(), self.address.text(), self.phone.text(), datetime.now(timezone.utc),
                       outcome, call_back, self.notes.text())
        self.log_button.setEnabled(False)
        self.tasks.run("outreach-log", lambda: self.outreach.log_call(self.user, call), self._logged, self._failed)

    def _logged(self, call_id: int) -> None:
        self.log_button.setEnabled(True)
        for field in (self.business, self.address, self.phone, self.notes):
            field.clear()
        self.message.setText("Call logged.")
        self.sig_logged.emit(call_id)
        self.refresh()

    def _failed(self, error: str) -> None:
        self.log_button.setEnabled(True)
        self.message.setText(error)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.tasks.parent() is self:
            self.tasks.close()
        super().closeEvent(event)
