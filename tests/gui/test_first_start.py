"""`rtic-console` on a new machine, driven like a user: demo registry, demo accounts shown, login, the window, quit.

Runs in a process of its own, as the console does: quitting the application also shuts QtWebEngine down for the
process, which would leave the other tests without a map.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from console.store.audit import AuditLog
from console.store.db import open_database

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output"

USER = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QTableWidget
    from console.app import qt_application, run_console
    from console.gui.login_dialog import LoginDialog
    from console.gui.main_window import MainWindow
    from console.gui.sign_in import DemoAccountsDialog

    app = qt_application()
    seen = {"steps": [], "accounts": {}}

    def act():  # what a user does with whatever the console shows next
        modal = QApplication.activeModalWidget()
        if isinstance(modal, DemoAccountsDialog):
            table = modal.findChild(QTableWidget)
            seen["accounts"] = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
            seen["steps"].append("demo accounts")
            modal.accept()
        elif isinstance(modal, LoginDialog) and "login" not in seen["steps"]:
            seen["steps"].append("login")
            modal.acknowledge.setChecked(True)
            modal.username.setText("demo-dispatcher")
            modal.password.setText(seen["accounts"]["demo-dispatcher"])
            modal.login_button.click()
        elif modal is None:
            shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            if shown and shown[0].map.ready and "window" not in seen["steps"]:
                seen["steps"].append("window")
                seen["user"] = shown[0].user_label.text()
                shown[0].grab().save(sys.argv[2])
                app.quit()

    driver = QTimer()
    driver.timeout.connect(act)
    driver.start(100)
    seen["exit"] = run_console(sys.argv[1])
    print(json.dumps({k: v for k, v in seen.items() if k != "accounts"}), flush=True)
""")


def test_first_start_creates_the_demo_and_signs_in(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    script = tmp_path / "user.py"
    script.write_text(USER)
    OUTPUT.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(script), url, str(OUTPUT / "first-start.png")], capture_output=True,
                          text=True, timeout=180, cwd=str(ROOT), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["steps"] == ["demo accounts", "login", "window"] and seen["exit"] == 0
    assert seen["user"] == "User: Demo dispatcher (dispatcher)"
    database = open_database(url)
    try:
        actions = [e.action for e in AuditLog(database).query()]
    finally:
        database.close()
    assert actions[0] == "demo_created" and "login" in actions and actions[-1] == "logout"
