"""The idle lock: the watcher fires once after the policy's minutes; the lock screen unlocks only with the password."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from console.domain.users import IdlePolicy, Role
from console.gui.lock_screen import IdleWatcher, LockScreen
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


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def auth_session(sqlite_url):
    database = open_database(sqlite_url, create=True)
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    audit = AuditLog(database)
    AccountService(database, audit, hasher=hasher).add_user("os:test", "dana", Role.DISPATCHER, PASSWORD,
                                                            NOW - timedelta(days=1), "Dana Cruz")
    auth = AuthService(database, audit, hasher=hasher, workstation="rtic-ws-1")
    yield auth, auth.login("dana", PASSWORD, NOW, notice_acknowledged=True), audit
    database.close()


def test_watcher_fires_once_after_the_idle_minutes(qtbot):
    clock = Clock()
    watcher = IdleWatcher(IdlePolicy(30), clock=clock)
    fired = []
    watcher.sig_idle.connect(fired.append)
    clock.now = NOW + timedelta(minutes=29)
    watcher.check()
    assert fired == []
    clock.now = NOW + timedelta(minutes=30)
    watcher.check()
    watcher.check()
    assert fired == [NOW]
    watcher.touch()  # input again: the clock restarts
    clock.now = NOW + timedelta(minutes=59)
    watcher.check()
    assert fired == [NOW]


def test_watcher_counts_real_input_and_zero_minutes_is_off(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QLineEdit

    clock = Clock()
    watcher = IdleWatcher(IdlePolicy(30), clock=clock)
    app = QApplication.instance()
    field = QLineEdit()
    qtbot.addWidget(field)
    field.show()
    qtbot.waitExposed(field)
    watcher.start(app)
    try:
        clock.now = NOW + timedelta(minutes=20)
        qtbot.keyClick(field.windowHandle(), Qt.Key.Key_A)  # through the window, as a real key press comes
        assert watcher.last_activity == NOW + timedelta(minutes=20)
    finally:
        watcher.stop(app)
    off = IdleWatcher(IdlePolicy(0), clock=clock)
    off.start(app)
    assert not off.timer.isActive()
    clock.now = NOW + timedelta(days=1)
    off.check()  # never fires


def test_lock_screen_records_the_lock_and_needs_the_password(qtbot, auth_session):
    auth, session, audit = auth_session
    clock = Clock()
    clock.now = NOW + timedelta(minutes=31)
    screen = LockScreen(auth, session, NOW + timedelta(minutes=1), clock=clock)
    screen.setStyleSheet(stylesheet(resources_dir(), "dark"))
    qtbot.addWidget(screen)
    screen.resize(1000, 600)
    screen.show()
    qtbot.waitUntil(lambda: any(r.action == "idle_lock" for r in audit.query()), timeout=10_000)
    screen.password.setText("not the password")
    screen.submit()
    qtbot.waitUntil(lambda: "Wrong username or password" in screen.message.text(), timeout=10_000)
    OUTPUT.mkdir(exist_ok=True)
    assert screen.grab().save(str(OUTPUT / "lock_screen.png"))
    screen.password.setText(PASSWORD)
    with qtbot.waitSignal(screen.sig_unlocked, timeout=10_000) as unlocked:
        screen.submit()
    assert unlocked.args[0].user.username == "dana"
    assert [r.action for r in audit.query()][-3:] == ["idle_lock", "login_failed", "login"]
    with qtbot.waitSignal(screen.sig_logout, timeout=1000):
        screen.findChildren(type(screen.unlock_button))[0].click()


def test_the_lock_time_is_in_the_agency_zone_with_its_name(qtbot, auth_session):
    from zoneinfo import ZoneInfo

    from PySide6.QtWidgets import QLabel

    auth, session, _audit = auth_session
    clock = Clock()
    clock.now = NOW + timedelta(minutes=31)
    zone = ZoneInfo("America/Chicago")
    screen = LockScreen(auth, session, NOW + timedelta(minutes=1), clock=clock, time_zone=zone)
    qtbot.addWidget(screen)
    expected = f"Locked at {clock.now.astimezone(zone):%H:%M %Z} after 30 minutes without input."
    assert expected in [label.text() for label in screen.findChildren(QLabel)]
