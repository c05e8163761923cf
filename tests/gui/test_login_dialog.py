"""The login dialog on a real AuthService (SQLite): notice first, wrong password, second factor, success; screenshot."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher

from console.domain.users import Role
from console.gui.login_dialog import LoginDialog
from console.gui.theme import stylesheet
from console.paths import resources_dir
from console.services.accounts import AccountService
from console.services.auth import AuthService
from console.store.audit import AuditLog
from console.store.db import open_database

pytestmark = pytest.mark.gui
NOW = datetime(2026, 11, 23, 22, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery staple"
OUTPUT = Path(__file__).resolve().parents[1] / "output"


@pytest.fixture
def services(sqlite_url):
    database = open_database(sqlite_url, create=True)
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    audit = AuditLog(database)
    accounts = AccountService(database, audit, hasher=hasher, workstation="rtic-ws-1")
    accounts.add_user("os:test", "dana", Role.DISPATCHER, PASSWORD, NOW - timedelta(days=1), "Dana Cruz")
    yield accounts, AuthService(database, audit, hasher=hasher, workstation="rtic-ws-1"), audit
    database.close()


@pytest.fixture
def dialog(qtbot, services):
    made = LoginDialog(services[1], clock=lambda: NOW)
    made.setStyleSheet(stylesheet(resources_dir(), "dark"))
    qtbot.addWidget(made)
    made.show()
    return made


def test_notice_must_be_acknowledged_before_logging_in(qtbot, dialog):
    dialog.username.setText("dana")
    dialog.password.setText(PASSWORD)
    assert not dialog.login_button.isEnabled()
    dialog.submit()
    assert "acknowledge the use notice" in dialog.message.text()
    assert "law-enforcement information system" in dialog.findChildren(type(dialog.message))[1].text()
    dialog.acknowledge.setChecked(True)
    assert dialog.login_button.isEnabled() and not dialog.code.isVisible()
    OUTPUT.mkdir(exist_ok=True)
    assert dialog.grab().save(str(OUTPUT / "login_dialog.png"))


def test_wrong_password_then_success(qtbot, dialog, services):
    dialog.acknowledge.setChecked(True)
    dialog.username.setText("dana")
    dialog.password.setText("not the password")
    dialog.submit()
    qtbot.waitUntil(lambda: "Wrong username or password" in dialog.message.text(), timeout=10_000)
    assert dialog.password.text() == "" and dialog.login_button.isEnabled() is False  # password cleared
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.sig_logged_in, timeout=10_000) as logged_in:
        dialog.submit()
    assert logged_in.args[0].user.username == "dana" and dialog.session is logged_in.args[0]
    assert [r.action for r in services[2].query()][-2:] == ["login_failed", "login"]


def test_second_factor_field_appears_when_needed(qtbot, dialog, services):
    uri = services[0].enable_totp("os:test", "dana", NOW)
    dialog.acknowledge.setChecked(True)
    dialog.username.setText("dana")
    dialog.password.setText(PASSWORD)
    dialog.submit()
    qtbot.waitUntil(dialog.code.isVisible, timeout=10_000)
    assert "6-digit code" in dialog.message.text()
    dialog.code.setText(pyotp.parse_uri(uri).at(NOW))
    OUTPUT.mkdir(exist_ok=True)
    assert dialog.grab().save(str(OUTPUT / "login_dialog_code.png"))
    with qtbot.waitSignal(dialog.sig_logged_in, timeout=10_000) as logged_in:
        dialog.submit()
    assert logged_in.args[0].user.totp_enabled


def test_a_reset_password_must_be_changed_before_the_console_opens(qtbot, dialog, services):
    temporary = services[0].reset_password("os:test", "dana", NOW)
    dialog.acknowledge.setChecked(True)
    dialog.username.setText("dana")
    dialog.password.setText(temporary)
    dialog.submit()
    qtbot.waitUntil(dialog.new_password.isVisible, timeout=10_000)
    assert dialog.session is None and "choose a new one" in dialog.message.text()
    dialog.new_password.setText("a brand new passphrase")
    dialog.repeat_password.setText("a different passphrase")
    dialog.submit()
    assert "differ" in dialog.message.text()
    dialog.new_password.setText("short")
    dialog.repeat_password.setText("short")
    dialog.submit()
    qtbot.waitUntil(lambda: "too short" in dialog.message.text(), timeout=10_000)
    OUTPUT.mkdir(exist_ok=True)
    assert dialog.grab().save(str(OUTPUT / "login_dialog_new_password.png"))
    dialog.new_password.setText("a brand new passphrase")
    dialog.repeat_password.setText("a brand new passphrase")
    with qtbot.waitSignal(dialog.sig_logged_in, timeout=10_000) as logged_in:
        dialog.submit()
    assert not logged_in.args[0].user.must_change_password
    assert services[1].login("dana", "a brand new passphrase", NOW, notice_acknowledged=True)


def _type(qtbot, text: str) -> None:
    """Type into the focused widget key by key, as a keyboard would (also letters QTest's ASCII table lacks)."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    for ch in text:
        target = QApplication.focusWidget()
        key = Qt.Key(ord(ch.upper())) if ch.isascii() else Qt.Key.Key_unknown
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(target, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch))


def test_typing_name_tab_password_enter_signs_in_as_a_user_would(qtbot, services):
    """Issue 15: focus once started on the notice box, so name, Tab, password put the password in the name field."""
    from PySide6.QtCore import Qt

    made = LoginDialog(services[1], clock=lambda: NOW)
    made.setStyleSheet(stylesheet(resources_dir(), "dark"))
    qtbot.addWidget(made)
    made.show()
    qtbot.waitExposed(made)
    made.activateWindow()
    qtbot.waitUntil(lambda: made.username.hasFocus(), timeout=5_000)
    _type(qtbot, "dana")
    qtbot.keyClick(made.username, Qt.Key.Key_Tab)
    assert made.password.hasFocus()
    _type(qtbot, PASSWORD)
    assert made.username.text() == "dana" and made.password.text() == PASSWORD
    qtbot.keyClick(made.password, Qt.Key.Key_Tab)
    assert made.acknowledge.hasFocus()
    qtbot.keyClick(made.acknowledge, Qt.Key.Key_Space)
    assert made.acknowledge.isChecked()
    with qtbot.waitSignal(made.sig_logged_in, timeout=10_000) as logged_in:
        qtbot.keyClick(made.acknowledge, Qt.Key.Key_Return)
    assert logged_in.args[0].user.username == "dana"


def test_a_password_typed_into_the_name_field_does_not_stay_there(qtbot, dialog, services):
    from console.domain.users import check_username

    dialog.username.setFocus()
    _type(qtbot, "Tr0ub4dor&3 horse!")
    assert dialog.username.text() == ""
    assert "not a user name" in dialog.message.text() and "emptied" in dialog.message.text()
    # the field accepts exactly what check_username accepts, Unicode letters included
    for name in ("dana", "d.cruz@city.gov", "o'brien", "josé", "a b", "x/y", "ünal_2"):
        dialog.username.clear()
        _type(qtbot, name)
        try:
            check_username(name)
        except ValueError:
            assert dialog.username.text() != name, name
        else:
            assert dialog.username.text() == name, name


def test_the_notice_box_is_visible_in_both_themes(qtbot, services):
    """Its indicator must stand out from the window (it once differed by 7 lightness steps in the dark theme)."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QStyle, QStyleOptionButton

    for theme in ("dark", "light"):
        made = LoginDialog(services[1], clock=lambda: NOW)
        made.setStyleSheet(stylesheet(resources_dir(), theme))
        qtbot.addWidget(made)
        made.show()
        qtbot.waitExposed(made)
        box = made.acknowledge
        option = QStyleOptionButton()
        box.initStyleOption(option)
        indicator = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
        image = box.grab().toImage()
        background = QColor(image.pixel(image.width() - 2, image.height() // 2)).lightness()
        contrast = max(abs(QColor(image.pixel(x, y)).lightness() - background)
                       for x in range(indicator.left(), indicator.right() + 1)
                       for y in range(indicator.top(), indicator.bottom() + 1))
        assert contrast >= 60, (theme, contrast)
        assert image.save(str(OUTPUT / f"login_notice_box_{theme}.png"))
