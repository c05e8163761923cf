"""The QApplication, the store layer preloaded beside it, and a notice while slow start-up work runs on a worker."""

from __future__ import annotations

import os
import sys
import threading
import time

from console.errors import UserError
from console.paths import APP_AUTHOR, APP_NAME


def _prepare_environment() -> None:
    """Headless hosts get the offscreen platform; root needs Chromium's sandbox off (it aborts otherwise)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


_preloading: list[threading.Thread] = []


def _preload_store() -> None:
    """Import the store layer (SQLAlchemy, cryptography: over half a second) on a thread while the main thread
    starts Qt and the map page; the two overlap instead of adding up at start-up. (Alembic is imported only when
    a migration is due: console/store/db.py.)"""

    def load() -> None:
        import console.services.incident_view  # noqa: F401
        import console.store.db  # noqa: F401
        import console.store.secrets  # noqa: F401

    if not _preloading:
        thread = threading.Thread(target=load, name="preload-store", daemon=True)
        thread.start()
        _preloading.append(thread)


def store_loaded() -> None:
    """Wait for the preload before the main thread imports any of it: two threads importing one package at once
    can see it half-initialised (seen here: "cannot import name ... partially initialized module")."""
    for thread in _preloading:
        thread.join()


def qt_application():
    """The QApplication, created once, with the map's URL schemes registered before it (QtWebEngine's rule)."""
    _prepare_environment()
    _preload_store()
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    from console.gui.map.schemes import register_schemes

    # QtWebEngine shares OpenGL contexts with the widgets; without this set before the application exists, a map
    # created after any other window has been shown (the login dialog) crashes the process on some GL stacks.
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    register_schemes()
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else APP_NAME])
        app.setApplicationName("Community Connect Console")
        app.setOrganizationName(APP_AUTHOR)
    return app


def drain(app, seconds: float = 0.2) -> None:
    """Let deferred deletes and the web engine's last events run (Python can crash at exit otherwise)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        time.sleep(0.01)


def with_notice(text: str, work):
    """Run `work` on a worker thread while a small window says what is happening; its result, or a UserError."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QLabel

    from console.gui.workers import Tasks

    notice = QLabel(text)
    notice.setWindowTitle("Community Connect Console")
    notice.setMargin(24)
    notice.show()
    loop, outcome = QEventLoop(), {}
    tasks = Tasks()
    tasks.run("start", work, lambda result: (outcome.update(result=result), loop.quit()),
              lambda error: (outcome.update(error=error), loop.quit()))
    if not outcome:
        loop.exec()
    tasks.close()
    notice.close()
    notice.deleteLater()
    if "error" in outcome:
        raise UserError(outcome["error"])
    return outcome["result"]
