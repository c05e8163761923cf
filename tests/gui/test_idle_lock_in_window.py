"""The idle lock of a signed-in console, through the real window: the idle timer locks it, the lock is audited once,
the window is hidden behind the lock screen, and the password typed there brings it back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from console.domain.users import IdlePolicy, Role
from tests.gui.conftest import signed_in

pytestmark = pytest.mark.gui


def _actions(database, action: str) -> list:
    from console.store.audit import AuditLog

    return [r for r in AuditLog(database).query() if r.action == action]


def test_an_idle_console_locks_once_audited_once_and_unlocks_with_the_password(qtbot, make_console, known_registry,
                                                                                players, tmp_path):
    console = make_console(known_registry.url)
    signed = signed_in(console, "dana", Role.DISPATCHER, tmp_path, players, idle=IdlePolicy(1))
    window, database = console.window, console.database
    try:
        # The shortest policy (1 minute); the watcher's clock is moved on past it instead of the test waiting a
        # minute, and its check runs often: the timer, the signal, the lock and the lock screen are the real ones.
        later = datetime.now(timezone.utc) + timedelta(minutes=2)
        signed.idle.clock = lambda: later
        signed.idle.timer.setInterval(50)
        qtbot.waitUntil(lambda: signed.lock_screen is not None and signed.lock_screen.isVisible(), timeout=10_000)
        screen = signed.lock_screen
        assert not window.isVisible()  # nothing of the console shows while locked
        qtbot.waitUntil(lambda: bool(_actions(database, "idle_lock")), timeout=10_000)

        QTest.keyClicks(screen.password, "not the password")
        QTest.keyClick(screen.password, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: "Wrong username or password" in screen.message.text(), timeout=10_000)
        assert signed.lock_screen is screen and not window.isVisible()

        QTest.keyClicks(screen.password, "a long enough password")
        with qtbot.waitSignal(screen.sig_unlocked, timeout=10_000):
            QTest.keyClick(screen.password, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.isVisible() and signed.lock_screen is None, timeout=10_000)

        # Every task the lock started has finished by now (the unlock's own events come after them).
        locks = _actions(database, "idle_lock")
        assert len(locks) == 1, [r.details for r in locks]
        assert locks[0].username == "dana" and locks[0].details["policy_minutes"] == 1
        assert signed.session.user.username == "dana"
    finally:
        signed.close()
