"""`rtic-console` on a field laptop with no connection: the database server does not answer, so the console starts
in FIELD MODE on the field copy, signs in against the account sealed in it, searches the copy, and keeps every audit
event in the local journal until the database answers. Without a field copy the clear error stands.

Runs in a process of its own, as the console does (quitting shuts QtWebEngine down for the process).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from console.domain.audit import Action
from console.domain.users import Role
from console.services.accounts import AccountService
from console.services.demo import generate_demo
from console.services.field_copy import FieldCopy
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.journal import AuditJournal
from console.store.secrets import ContactCipher, load_contact_key

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"

USER = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from console.app import qt_application, run_console
    from console.errors import UserError
    from console.gui.login_dialog import LoginDialog
    from console.gui.main_window import MainWindow

    app = qt_application()
    seen = {"steps": [], "errors": []}

    def act():
        modal = QApplication.activeModalWidget()
        if isinstance(modal, LoginDialog):
            seen["login_title"] = modal.windowTitle()
            if modal._busy:
                return
            if "wrong" not in seen["steps"]:
                seen["steps"].append("wrong")
                modal.acknowledge.setChecked(True)
                modal.username.setText("field-detective")
                modal.password.setText("not the password")
                modal.login_button.click()
            elif "right" not in seen["steps"] and modal.message.text() not in ("", "Checking…"):
                seen["errors"].append(modal.message.text())
                seen["steps"].append("right")
                modal.password.setText(sys.argv[2])
                modal.login_button.click()
        elif modal is None and "right" in seen["steps"]:
            shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            if shown and "window" not in seen["steps"]:
                window = shown[0]
                seen["steps"].append("window")
                seen["sync"] = window.sync_label.text()
                seen["notice"] = window.notice_label.text()
                seen["user"] = window.user_label.text()
                answer = window.parts.incident_view.nearby(42.1487, -72.6079, 3000)
                seen["found"] = len(answer.cameras)
                seen["data_as_of"] = answer.data_as_of.isoformat() if answer.data_as_of else None
                app.quit()

    driver = QTimer()
    driver.timeout.connect(act)
    driver.start(100)
    try:
        seen["exit"] = run_console(sys.argv[1])
    except UserError as exc:
        seen["refused"] = str(exc)
    print(json.dumps(seen), flush=True)
""")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(tmp_path, url: str) -> dict:
    script = tmp_path / "user.py"
    script.write_text(USER)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "RTIC_USER_SETTINGS": str(tmp_path / "none.toml"), "RTIC_MACHINE_SETTINGS": str(tmp_path / "none.toml")}
    done = subprocess.run([sys.executable, str(script), url, PASSWORD], capture_output=True, text=True, timeout=180,
                          cwd=str(ROOT), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_connection_and_a_field_copy_starts_in_field_mode(tmp_path):
    now = datetime.now(timezone.utc)
    office = open_database(f"sqlite:///{tmp_path / 'registry.db'}", create=True)  # stands in for the server
    try:
        cipher = ContactCipher(load_contact_key())
        generate_demo(office, cipher, cameras=200)
        accounts = AccountService(office, AuditLog(office), cipher, PasswordHasher(time_cost=1, memory_cost=8,
                                                                                  parallelism=1))
        detective = accounts.add_user("os:test", "field-detective", Role.DETECTIVE, PASSWORD,
                                      now - timedelta(days=2))
        accounts.add_user("os:test", "other-detective", Role.DETECTIVE, PASSWORD, now - timedelta(days=2))
        copy = FieldCopy()  # sealed to the detective's password, as the sign-in or `field sync` makes it
        copy.refresh(office, detective, now - timedelta(hours=2), "field-laptop-7", seal=copy.seal_for(PASSWORD))

        unreachable = f"postgresql+psycopg://console:secret@127.0.0.1:{_closed_port()}/rtic"
        seen = _run(tmp_path, unreachable)
        assert seen.get("exit") == 0, seen
        assert seen["steps"] == ["wrong", "right", "window"]
        assert "FIELD MODE" in seen["login_title"]
        assert seen["errors"] == ["Wrong username or password."]
        assert seen["sync"].startswith("FIELD MODE: registry copy made ") and "no connection" in seen["sync"]
        assert seen["notice"].startswith("FIELD MODE")
        assert "field-detective" in seen["user"]
        assert seen["found"] > 0 and seen["data_as_of"] is not None  # the search answered from the copy

        # Everything the laptop did waits in the journal; when the database answers it joins the chain.
        journal = AuditJournal()
        pending = [(p.entry.action, p.entry.username) for p in journal.pending()]
        assert pending[:2] == [(Action.LOGIN_FAILED, "field-detective"), (Action.LOGIN, "field-detective")]
        assert (Action.SEARCH_NEAR, "field-detective") in pending and pending[-1] == (Action.LOGOUT, "field-detective")
        assert journal.flush(AuditLog(office)).appended == len(pending)
        logins = [e for e in AuditLog(office).query() if e.action == Action.LOGIN]
        assert [(e.username, e.details["offline"]) for e in logins] == [("field-detective", True)]
        assert AuditLog(office).verify().ok
    finally:
        office.close()


def test_no_connection_and_no_field_copy_is_the_clear_error(tmp_path):
    seen = _run(tmp_path, f"postgresql+psycopg://console:secret@127.0.0.1:{_closed_port()}/rtic")
    assert "exit" not in seen and seen["refused"].startswith("cannot open the database postgresql")
    assert "secret" not in seen["refused"]
