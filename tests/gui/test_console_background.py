"""`rtic-console` on a field laptop that also follows a registry feed: after sign-in the field copy is made for the
signed-in user and the portal's cameras arrive, both in the background, and quitting stops both.

Runs in a process of its own, as the console does (quitting shuts QtWebEngine down for the process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from console.domain.audit import Action
from console.services.field_copy import FieldCopy
from console.store.audit import AuditLog
from console.store.db import open_database
from tests.support.portal_server import PortalServer, camera

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "feed-token-console-3"

USER = textwrap.dedent("""
    import json, sys, threading
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QTableWidget
    from console.app import qt_application, run_console
    from console.gui.login_dialog import LoginDialog
    from console.gui.main_window import MainWindow
    from console.gui.sign_in import DemoAccountsDialog
    from console.services.field_copy import FieldCopy
    from console.store.alerts import camera_by_portal_id
    from console.store.db import open_database

    app = qt_application()
    seen = {"steps": [], "accounts": {}}

    def synced():
        database = open_database(sys.argv[1])
        try:
            with database.engine.connect() as conn:
                return camera_by_portal_id(conn, "P-1") is not None
        finally:
            database.close()

    def act():
        modal = QApplication.activeModalWidget()
        if isinstance(modal, DemoAccountsDialog):
            table = modal.findChild(QTableWidget)
            seen["accounts"] = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
            modal.accept()
        elif isinstance(modal, LoginDialog) and "login" not in seen["steps"]:
            seen["steps"].append("login")
            modal.acknowledge.setChecked(True)
            modal.username.setText("demo-detective")
            modal.password.setText(seen["accounts"]["demo-detective"])
            modal.login_button.click()
        elif modal is None and "login" in seen["steps"]:
            shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            if shown and FieldCopy().path.exists() and synced():
                seen["steps"].append("background work done")
                app.quit()

    driver = QTimer()
    driver.timeout.connect(act)
    driver.start(200)
    seen["exit"] = run_console(sys.argv[1])
    seen["threads"] = sorted(t.name for t in threading.enumerate()
                             if t.name in ("registry-feed", "field-copy-keeper") and t.is_alive())
    print(json.dumps({k: v for k, v in seen.items() if k != "accounts"}), flush=True)
""")


def test_the_field_copy_and_the_feed_are_kept_in_step_in_the_background(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    script = tmp_path / "user.py"
    script.write_text(USER)
    with PortalServer([camera("P-1")], token=TOKEN) as portal:
        settings = tmp_path / "settings.toml"
        settings.write_text(f'field_copy = "auto"\nfeed_url = "{portal.base_url}"\nfeed_interval_s = 5.0\n'
                            'feed_token_env = "TEST_PORTAL_TOKEN"\n')
        env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "RTIC_USER_SETTINGS":
               str(settings), "RTIC_MACHINE_SETTINGS": str(tmp_path / "none.toml"), "TEST_PORTAL_TOKEN": TOKEN}
        done = subprocess.run([sys.executable, str(script), url], capture_output=True, text=True, timeout=180,
                              cwd=str(ROOT), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["steps"] == ["login", "background work done"] and seen["exit"] == 0
    assert seen["threads"] == []  # both stopped on quit
    assert FieldCopy().header().username == "demo-detective"  # made with the key the sign-in derived
    database = open_database(url)
    try:
        events = AuditLog(database).query()
    finally:
        database.close()
    assert any(e.action == Action.FIELD_COPY and e.username == "demo-detective" for e in events)
