"""The login dialog: the use notice to acknowledge, username, password, and the authenticator code when asked.

The check (argon2, the database, the audit write) runs on a worker thread through `Tasks`; the dialog only
shows the outcome. The code field appears when the service says the account needs it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.domain.users import MAX_USERNAME_LENGTH, USE_NOTIFICATION, USERNAME_PATTERN
from console.gui.workers import Tasks
from console.services.auth import AuthService, SecondFactorRequired, Session
from console.gui.text import keep_plain


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LoginDialog(QDialog):
    sig_logged_in = Signal(object)
    """The Session of the user who logged in (the dialog then closes with Accepted)."""

    def __init__(self, auth: AuthService, parent: QWidget | None = None, tasks: Tasks | None = None,
                 clock: Callable[[], datetime] = _utcnow):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.auth = auth
        self.clock = clock
        self._own_tasks = tasks is None
        self.tasks = tasks or Tasks(self)
        self.session: Session | None = None
        self.setWindowTitle("Community Connect Console — log in")
        self.setMinimumWidth(520)

        heading = QLabel("Use notice")
        heading.setProperty("role", "heading")
        notice = QLabel(USE_NOTIFICATION)
        notice.setWordWrap(True)
        notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        notice_box = QFrame()
        notice_box.setFrameShape(QFrame.Shape.StyledPanel)
        box_layout = QVBoxLayout(notice_box)
        box_layout.addWidget(heading)
        box_layout.addWidget(notice)
        self.acknowledge = QCheckBox("I have read this notice and accept it")

        self.username = QLineEdit()
        self.username.setPlaceholderText("your console user name")
        # Only what a user name may hold (console/domain/users.py check_username). A character no user name has
        # (most passwords have one) empties the field, so a password typed here by mistake is neither left on the
        # screen nor sent, where a failed sign-in would write it into the audit trail as a user name.
        pattern = QRegularExpression(USERNAME_PATTERN, QRegularExpression.PatternOption.UseUnicodePropertiesOption)
        self.username.setValidator(QRegularExpressionValidator(pattern, self.username))
        self.username.setMaxLength(MAX_USERNAME_LENGTH)
        self.username.inputRejected.connect(self._not_a_username)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.code = QLineEdit()
        self.code.setPlaceholderText("6-digit code from your authenticator app")
        self.code.setMaxLength(8)
        self.code_label = QLabel("Authenticator code")
        form = QFormLayout()
        form.addRow("User name", self.username)
        form.addRow("Password", self.password)
        form.addRow(self.code_label, self.code)
        self._show_code(False)
        # After a password reset the account must choose a new password before the console opens.
        self.new_password = QLineEdit()
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_password.setPlaceholderText("at least 12 characters")
        self.repeat_password = QLineEdit()
        self.repeat_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_label, self.repeat_label = QLabel("New password"), QLabel("New password again")
        form.addRow(self.new_label, self.new_password)
        form.addRow(self.repeat_label, self.repeat_password)
        self._show_new_password(False)
        self._pending: Session | None = None
        self._old_password = ""

        self.message = QLabel()
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self.login_button = QPushButton("Log in")
        self.login_button.setObjectName("primary")
        self.login_button.setDefault(True)
        quit_button = QPushButton("Quit")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(quit_button)
        buttons.addWidget(self.login_button)

        layout = QVBoxLayout(self)
        layout.addWidget(notice_box)
        layout.addWidget(self.acknowledge)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

        for field in (self.username, self.password, self.code, self.new_password, self.repeat_password):
            field.textChanged.connect(self._update_button)
            field.returnPressed.connect(self.submit)
        self.acknowledge.toggled.connect(self._update_button)
        self.login_button.clicked.connect(self.submit)
        quit_button.clicked.connect(self.reject)
        # Typing starts in the user name; Tab goes name, password, (code,) the notice box, then Log in.
        order = [self.username, self.password, self.code, self.new_password, self.repeat_password,
                 self.acknowledge, self.login_button, quit_button]
        for first, second in zip(order, order[1:]):
            self.setTabOrder(first, second)
        self.username.setFocus()
        self._busy = False
        self._update_button()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._pending is None and not self.username.text():
            self.username.setFocus()

    # --- behaviour ------------------------------------------------------------------------------

    def _not_a_username(self) -> None:
        self.username.clear()
        self.message.setText("That is not a user name (user names hold only letters, digits and . _ - @): the field "
                             "was emptied in case it was your password. Type your user name.")

    def _show_code(self, visible: bool) -> None:
        self.code_label.setVisible(visible)
        self.code.setVisible(visible)

    def _show_new_password(self, visible: bool) -> None:
        for widget in (self.new_label, self.new_password, self.repeat_label, self.repeat_password):
            widget.setVisible(visible)

    def _update_button(self) -> None:
        if self._pending is not None:
            ready = bool(self.new_password.text()) and bool(self.repeat_password.text())
        else:
            ready = self.acknowledge.isChecked() and bool(self.username.text().strip()) and bool(self.password.text())
        self.login_button.setEnabled(ready and not self._busy)

    def submit(self) -> None:
        if self._pending is not None:
            self._change_password()
            return
        if not self.login_button.isEnabled():
            if not self.acknowledge.isChecked():
                self.message.setText("Tick the box to acknowledge the use notice first.")
            return
        self._busy = True
        self._update_button()
        self.message.setText("Checking…")
        username, password = self.username.text(), self.password.text()
        code = self.code.text().strip() or None
        now = self.clock()

        def attempt():
            try:
                return self.auth.login(username, password, now, totp_code=code, notice_acknowledged=True)
            except SecondFactorRequired as need:  # not an error: ask for the code
                return need

        self.tasks.run("login", attempt, self._done, self._failed)

    def _done(self, outcome) -> None:
        self._busy = False
        if isinstance(outcome, SecondFactorRequired):
            self._show_code(True)
            self.code.setFocus()
            self.message.setText(str(outcome).capitalize() + ".")
            self._update_button()
            return
        if outcome.user.must_change_password:
            self._pending, self._old_password = outcome, self.password.text()
            for field in (self.username, self.password, self.code):
                field.setEnabled(False)
            self.acknowledge.setEnabled(False)
            self._show_new_password(True)
            self.login_button.setText("Set new password")
            self.message.setText("Your password was reset: choose a new one to continue.")
            self.new_password.setFocus()
            self._update_button()
            return
        self._finish(outcome)

    def _finish(self, session: Session) -> None:
        self.session = session
        self.password.clear()
        self._old_password = ""
        self.message.clear()
        self.sig_logged_in.emit(session)
        self.accept()

    def _change_password(self) -> None:
        new, again = self.new_password.text(), self.repeat_password.text()
        if new != again:
            self.message.setText("The two new passwords differ: type them again.")
            self.new_password.clear()
            self.repeat_password.clear()
            return
        self._busy = True
        self._update_button()
        session, old, now = self._pending, self._old_password, self.clock()

        def change():
            self.auth.change_password(session, old, new, now)
            return replace(session, user=replace(session.user, must_change_password=False))

        self.tasks.run("password", change, self._finish, self._change_failed)

    def _change_failed(self, error: str) -> None:
        self._busy = False
        self.new_password.clear()
        self.repeat_password.clear()
        self.message.setText(error[:1].upper() + error[1:] + ".")
        self._update_button()

    def _failed(self, error: str) -> None:
        self._busy = False
        self.password.clear()
        self.code.clear()
        self.message.setText(error[:1].upper() + error[1:] + ".")
        self.password.setFocus()
        self._update_button()

    def done(self, result: int) -> None:
        if self._own_tasks:  # wait for a check still running, and drop its late result
            self.tasks.close()
        super().done(result)
