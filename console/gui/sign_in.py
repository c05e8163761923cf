"""Before the window opens: the first administrator of a new installation, the demo accounts, the login dialog."""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.gui.login_dialog import LoginDialog
from console.gui.workers import Tasks
from console.services.accounts import AccountService
from console.services.auth import AuthService, Session
from console.gui.text import keep_plain


class FirstAdminDialog(QDialog):
    """A new installation has no accounts: whoever installs it creates the first administrator."""

    def __init__(self, accounts: AccountService, parent: QWidget | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.accounts = accounts
        self.tasks = Tasks(self)
        self.setWindowTitle("Community Connect Console — first administrator")
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        intro = QLabel("This registry has no accounts yet. Create the administrator account; the administrator then "
                       "adds the dispatchers, detectives and other users.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.username = QLineEdit("admin")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("User name", self.username)
        form.addRow("Password", self.password)
        form.addRow("Repeat password", self.repeat)
        layout.addLayout(form)
        self.message = QLabel()
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.create)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def create(self) -> None:
        """Create the account off the GUI thread (hashing the password takes about half a second)."""
        if self.password.text() != self.repeat.text():
            self.message.setText("The two passwords differ: type the same password twice.")
            return
        name, password, now = self.username.text().strip(), self.password.text(), datetime.now(timezone.utc)
        self.buttons.setEnabled(False)
        self.message.setText("Creating the account…")
        self.tasks.run("first-admin", lambda: self.accounts.create_first_admin(name, password, now),
                       lambda _user: self.accept(), self._refused)

    def _refused(self, error: str) -> None:
        self.buttons.setEnabled(True)
        self.message.setText(error[:1].upper() + error[1:] + ".")

    def done(self, result: int) -> None:
        self.tasks.close()  # wait for a creation still running, and drop its late result
        super().done(result)


class DemoAccountsDialog(QDialog):
    """Shown once, right after the demo registry was made: the demo accounts and their passwords, with a button that
    copies them all at once."""

    def __init__(self, accounts: dict[str, str], parent: QWidget | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.accounts = dict(accounts)
        self.setWindowTitle("Demo camera registry ready")
        self.setMinimumSize(560, 400)
        layout = QVBoxLayout(self)
        intro = QLabel("This console now holds a practice registry: made-up cameras, owners and incidents around "
                       "Chicopee, MA. Nothing in it is real.\n\n"
                       "There is one practice account for each job. To work as a dispatcher, sign in as "
                       "demo\u2011dispatcher.\n\n"  # a hyphen the line never breaks at
                       "Keep these passwords now: this is the only time they are shown. Copy all puts every "
                       "user name and password on the clipboard; an administrator can set new ones later.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        table = self.table = QTableWidget(len(accounts), 2)
        table.setHorizontalHeaderLabels(["User name", "Password"])
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for row, (name, password) in enumerate(accounts.items()):
            for column, text in enumerate((name, password)):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if column == 1:
                    item.setFont(mono)  # every character distinct, and the groups line up
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().hide()
        layout.addWidget(table)
        self.copied = QLabel("")
        layout.addWidget(self.copied)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        self.copy_button = buttons.addButton("Copy all", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_all)
        buttons.accepted.connect(self.accept)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("I have kept them")
        layout.addWidget(buttons)
        self.copy_button.setFocus()

    def copy_all(self) -> None:
        """Every user name and password on the clipboard, one account a line."""
        text = "\n".join(f"{name}  {password}" for name, password in self.accounts.items())
        QGuiApplication.clipboard().setText(text + "\n")
        self.copied.setText(f"Copied {len(self.accounts)} user names and passwords. Paste them somewhere safe.")


def sign_in(accounts: AccountService | None, auth: AuthService, demo_accounts: dict[str, str] | None = None,
            field_mode: str | None = None) -> Session | None:
    """Run the start-up dialogs; the Session of the user who logged in, or None when they gave up. Without
    `accounts` (field mode: the offline sign-in on the field copy) only the login dialog is shown."""
    if demo_accounts:
        DemoAccountsDialog(demo_accounts).exec()
    if accounts is not None and accounts.needs_first_admin() \
            and FirstAdminDialog(accounts).exec() != QDialog.DialogCode.Accepted:
        return None
    login = LoginDialog(auth)
    if field_mode:
        login.setWindowTitle(f"Community Connect Console — log in — {field_mode}")
    return login.session if login.exec() == QDialog.DialogCode.Accepted else None
