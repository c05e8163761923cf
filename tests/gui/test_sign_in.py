"""The start-up dialogs: the first administrator of a new installation, and the demo accounts notice."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from PySide6.QtWidgets import QDialog, QTableWidget

from console.gui.sign_in import DemoAccountsDialog, FirstAdminDialog
from console.services.accounts import AccountService
from console.store.audit import AuditLog
from console.store.db import open_database

pytestmark = pytest.mark.gui


@pytest.fixture
def accounts(sqlite_url):
    database = open_database(sqlite_url, create=True)
    yield AccountService(database, AuditLog(database), hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    database.close()


def test_first_admin_is_created_once_with_matching_passwords(qtbot, accounts):
    assert accounts.needs_first_admin()
    dialog = FirstAdminDialog(accounts)
    qtbot.addWidget(dialog)
    dialog.username.setText("chief.admin")
    dialog.password.setText("a long enough password")
    dialog.repeat.setText("a long enough passwort")
    dialog.create()
    assert "differ" in dialog.message.text() and accounts.needs_first_admin()
    dialog.repeat.setText("a long enough password")
    dialog.create()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=10_000)
    assert [(u.username, u.role.value) for u in accounts.list_users()] == [("chief.admin", "admin")]
    second = FirstAdminDialog(accounts)
    qtbot.addWidget(second)
    second.password.setText("another long password")
    second.repeat.setText("another long password")
    second.create()
    qtbot.waitUntil(lambda: "exists already" in second.message.text(), timeout=10_000)


def test_demo_accounts_are_listed_once_read_only(qtbot):
    dialog = DemoAccountsDialog({"demo-dispatcher": "pw-1", "demo-auditor": "pw-2"})
    qtbot.addWidget(dialog)
    table = dialog.findChild(QTableWidget)
    rows = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    assert rows == [("demo-dispatcher", "pw-1"), ("demo-auditor", "pw-2")]
    assert not table.item(0, 1).flags() & table.item(0, 1).flags().ItemIsEditable


def test_demo_passwords_are_copied_all_at_once_and_have_no_look_alike_characters(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    from console.services.accounts import PASSWORD_ALPHABET, generate_password

    passwords = [generate_password() for _ in range(200)]
    used = set("".join(passwords).replace("-", ""))
    assert used <= set(PASSWORD_ALPHABET) and not used & set("0Oo1lI5S2Z8Buv")
    assert all(len(p) == 23 and p.count("-") == 3 for p in passwords) and len(set(passwords)) == 200

    accounts = {"demo-dispatcher": passwords[0], "demo-auditor": passwords[1]}
    dialog = DemoAccountsDialog(accounts)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: dialog.copy_button.hasFocus(), timeout=5_000)
    qtbot.keyClick(dialog.copy_button, Qt.Key.Key_Space)  # the focused button, by keyboard
    assert QGuiApplication.clipboard().text() == (f"demo-dispatcher  {passwords[0]}\n"
                                                  f"demo-auditor  {passwords[1]}\n")
    assert "Copied 2" in dialog.copied.text()
    from pathlib import Path

    output = Path(__file__).resolve().parents[1] / "output"
    output.mkdir(exist_ok=True)
    dialog.grab().save(str(output / "demo-accounts.png"))
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
