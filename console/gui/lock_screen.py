"""The idle lock: a watcher that notices when nobody has touched the console, and the screen that hides it until
the same user types their password again (or logs out).

The watcher follows the IdlePolicy (default 30 minutes; 0 switches it off for a dispatch position in a secure
room). The unlock check and the IDLE_LOCK audit event run on a worker thread.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from console.domain.users import IdlePolicy
from console.gui.workers import Tasks
from console.local_time import clock_text
from console.services.auth import AuthService, Session
from console.gui.text import keep_plain


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


_INPUT_EVENTS = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
                 QEvent.Type.TouchBegin}


class IdleWatcher(QObject):
    sig_idle = Signal(object)
    """The time of the last input (a datetime), emitted once when the idle limit is reached."""

    def __init__(self, policy: IdlePolicy, parent: QObject | None = None, clock: Callable[[], datetime] = _utcnow,
                 check_ms: int = 15_000):
        super().__init__(parent)
        self.policy = policy
        self.clock = clock
        self.last_activity = clock()
        self._fired = False
        self._watched: list = []
        self.timer = QTimer(self)
        self.timer.setInterval(check_ms)
        self.timer.timeout.connect(self.check)

    def start(self, app: QApplication) -> None:
        if self.policy.enabled:
            self.watch_windows()
            self.timer.start()

    def watch_windows(self) -> None:
        """Watch the input of every shown top-level window (new ones are picked up at each check).

        Not an application-wide event filter: with QtWebEngine in the window, PySide recurses while wrapping
        QtQuick's internal objects for such a filter and the process crashes (seen with PySide6 6.11); and every
        event of the application would pass through Python. Real input reaches a window's QWindow first.
        """
        for widget in QApplication.topLevelWidgets():
            handle = widget.windowHandle() if widget.isVisible() else None
            if handle is not None and handle not in self._watched:
                handle.installEventFilter(self)
                self._watched.append(handle)

    def stop(self, app: QApplication) -> None:
        for handle in self._watched:
            try:
                handle.removeEventFilter(self)
            except RuntimeError:  # the window is gone already
                pass
        self._watched.clear()
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in _INPUT_EVENTS:
            self.touch()
        return False

    def touch(self) -> None:
        """Someone used the console: the idle clock starts again (and the next lock may fire)."""
        self.last_activity = self.clock()
        self._fired = False

    def check(self) -> None:
        self.watch_windows()
        if not self._fired and self.policy.lock_due(self.last_activity, self.clock()):
            self._fired = True
            self.sig_idle.emit(self.last_activity)


class LockScreen(QWidget):
    sig_unlocked = Signal(object)
    """The resumed Session, after the user's password (and code) were accepted."""
    sig_logout = Signal()
    """The user chose to log out instead (the console then shows the login dialog)."""

    def __init__(self, auth: AuthService, session: Session, last_activity: datetime, parent: QWidget | None = None,
                 tasks: Tasks | None = None, clock: Callable[[], datetime] = _utcnow, time_zone: tzinfo | None = None):
        """`time_zone`: the agency's (setting time_zone) for the time shown; None: the workstation's."""
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.auth, self.session, self.clock = auth, session, clock
        self._own_tasks = tasks is None
        self.tasks = tasks or Tasks(self)
        self.setWindowTitle("Community Connect Console — locked")
        self.setAutoFillBackground(True)
        locked_at = clock()
        minutes = max(int((locked_at - last_activity).total_seconds() // 60), 0)

        title = QLabel("Console locked")
        title.setProperty("role", "heading")
        title.setStyleSheet("font-size: 20pt;")
        who = QLabel(f"{session.user.display_name} ({session.user.username}, {session.user.role.value})")
        # Two short lines rather than one wrapped label: a wrapped QLabel in a form gets clipped at some sizes.
        when = QLabel(f"Locked at {clock_text(locked_at, time_zone, seconds=False)} after {minutes} minutes "
                      "without input.")
        hidden = QLabel("Nothing on this console is shown until you unlock it.")
        hidden.setObjectName("dim")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("your password")
        self.code = QLineEdit()
        self.code.setPlaceholderText("6-digit authenticator code")
        self.code.setVisible(session.user.totp_enabled)
        self.message = QLabel()
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setObjectName("primary")
        logout_button = QPushButton("Log out")
        buttons = QHBoxLayout()
        buttons.addWidget(logout_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unlock_button)

        column = QVBoxLayout()
        column.setSpacing(8)
        for widget in (title, who, when, hidden, self.password, self.code, self.message):
            column.addWidget(widget)
        column.addLayout(buttons)
        box = QWidget()
        box.setFixedWidth(480)  # wide enough that the wrapped notice is never clipped
        box.setLayout(column)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

        self.password.returnPressed.connect(self.submit)
        self.code.returnPressed.connect(self.submit)
        self.unlock_button.clicked.connect(self.submit)
        logout_button.clicked.connect(self.sig_logout)
        self._record_lock(last_activity, locked_at)

    def _record_lock(self, last_activity: datetime, locked_at: datetime) -> None:
        """The one audit event of this lock (SignedInConsole.lock leaves it to the screen that shows the lock)."""
        self.tasks.run("idle_lock", lambda: self.auth.idle_lock(self.session, last_activity, locked_at),
                       lambda _: None, self._failed)

    def submit(self) -> None:
        if not self.password.text():
            self.message.setText("Type your password to unlock.")
            return
        self.unlock_button.setEnabled(False)
        self.message.setText("Checking…")
        password, code, now = self.password.text(), self.code.text().strip() or None, self.clock()
        self.tasks.run("unlock", lambda: self.auth.unlock_screen(self.session, password, now, code),
                       self._done, self._failed)

    def _done(self, session: Session) -> None:
        self.session = session
        self.password.clear()
        self.code.clear()
        self.message.clear()
        self.unlock_button.setEnabled(True)
        self.sig_unlocked.emit(session)

    def _failed(self, error: str) -> None:
        self.password.clear()
        self.code.clear()
        self.message.setText(error[:1].upper() + error[1:] + ".")
        self.unlock_button.setEnabled(True)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._own_tasks:
            self.tasks.close()
        super().closeEvent(event)
