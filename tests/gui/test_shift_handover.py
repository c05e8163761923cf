"""Shift handover on one console, driven like users in a process of its own: the first start's demo registry (its
streets drawn with no tile server), sign in, Log out, the next user signs in on the same console, quit."""

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

USERS = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QTableWidget
    from console.app import qt_application, run_console
    from console.gui.login_dialog import LoginDialog
    from console.gui.main_window import ActionId, MainWindow
    from console.gui.sign_in import DemoAccountsDialog

    app = qt_application()
    seen = {"steps": [], "accounts": {}, "users": [], "streets": []}
    who = iter(["demo-dispatcher", "demo-supervisor"])

    def act():  # what the users do with whatever the console shows next
        modal = QApplication.activeModalWidget()
        if isinstance(modal, DemoAccountsDialog):
            table = modal.findChild(QTableWidget)
            seen["accounts"] = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
            seen["steps"].append("demo accounts")
            modal.accept()
        elif isinstance(modal, LoginDialog) and not modal.property("answered"):
            modal.setProperty("answered", True)
            name = next(who)
            seen["steps"].append(f"login {name}")
            modal.acknowledge.setChecked(True)
            modal.username.setText(name)
            modal.password.setText(seen["accounts"][name])
            modal.login_button.click()
        elif modal is None:
            shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            if not shown or not shown[0].map.ready or shown[0].property("seen"):
                return
            window = shown[0]
            window.map.streets_state(lambda state: seen["streets"].append(state.get("lines", 0)))
            if len(seen["streets"]) < len(seen["users"]) + 1 or not seen["streets"][-1]:
                return  # the streets are read off the GUI thread: wait until the page has them
            window.setProperty("seen", True)
            seen["users"].append(window.user_label.text())
            if len(seen["users"]) == 1:
                seen["steps"].append("log out")
                window.actions_by_id[ActionId.LOG_OUT].trigger()
            else:
                seen["steps"].append("quit")
                window.actions_by_id[ActionId.QUIT].trigger()

    driver = QTimer()
    driver.timeout.connect(act)
    driver.start(100)
    seen["exit"] = run_console(sys.argv[1])
    print(json.dumps({k: v for k, v in seen.items() if k != "accounts"}), flush=True)
""")


def test_log_out_hands_the_console_to_the_next_user(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    script = tmp_path / "users.py"
    script.write_text(USERS)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "RTIC_USER_SETTINGS": str(tmp_path / "user.toml"), "RTIC_MACHINE_SETTINGS": str(tmp_path / "machine.toml"),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, str(script), url], capture_output=True, text=True, timeout=240,
                          cwd=str(ROOT), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["steps"] == ["demo accounts", "login demo-dispatcher", "log out", "login demo-supervisor", "quit"]
    assert seen["users"] == ["User: Demo dispatcher (dispatcher)", "User: Demo supervisor (supervisor)"]
    assert seen["streets"][-1] == 56  # the demo town's streets, with no tile server, for both users
    assert "streets_geojson" in (tmp_path / "user.toml").read_text()
    database = open_database(url)
    try:
        trail = [(e.action, e.username) for e in AuditLog(database).query() if e.action in ("login", "logout")]
    finally:
        database.close()
    assert trail == [("login", "demo-dispatcher"), ("logout", "demo-dispatcher"), ("login", "demo-supervisor"),
                     ("logout", "demo-supervisor")]
