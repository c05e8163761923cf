"""The demo from a first start, driven like a newcomer: `rtic-console` on a new machine creates the demo registry,
its gateway starts, the demo dispatcher signs in, picks an open incident and presses "Open nearest live": demo feeds
play on the wall. Quitting stops the gateway (no gateway or feed thread outlives run_console).

Runs in a process of its own, as tests/gui/test_first_start.py does (quitting shuts QtWebEngine down).
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

NEWCOMER = textwrap.dedent("""
    import json, sys, threading, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox, QTableWidget
    from console.app import qt_application, run_console
    from console.gui.live_feeds import PurposeDialog
    from console.gui.login_dialog import LoginDialog
    from console.gui.main_window import ActionId, MainWindow
    from console.gui.sign_in import DemoAccountsDialog
    from console.gui.video.wall import VideoWall

    app = qt_application()
    seen = {"steps": [], "accounts": {}, "live_ms": {}}
    state = {}

    def act():  # what a newcomer does with whatever the console shows next
        modal = QApplication.activeModalWidget()
        steps = seen["steps"]
        if isinstance(modal, DemoAccountsDialog):
            table = modal.findChild(QTableWidget)
            seen["accounts"] = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
            steps.append("demo accounts")
            modal.accept()
        elif isinstance(modal, LoginDialog) and "login" not in steps:
            steps.append("login")
            modal.acknowledge.setChecked(True)
            modal.username.setText("demo-dispatcher")
            modal.password.setText(seen["accounts"]["demo-dispatcher"])
            modal.login_button.click()
        elif isinstance(modal, PurposeDialog):
            steps.append("reason")
            modal.reason.setText("training: armed robbery, suspect fled on foot")
            modal.ok.click()
            state["opened_at"] = time.monotonic()
        elif isinstance(modal, QMessageBox) and "shot" in steps:  # "Quit with live views open?": yes
            steps.append("quit")
            next(b for b in modal.buttons() if "end" in b.text()).click()
        elif modal is None:
            shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
            if not shown or not shown[0].map.ready:
                return
            window = shown[0]
            if "window" not in steps:
                steps.append("window")
                window.resize(1920, 1080)
            combo = window.incident_panel.open_incidents
            if "incident" not in steps and combo.count():
                steps.append("incident")
                combo.setCurrentIndex(0)
                combo.activated.emit(0)
                state["asked_at"] = time.monotonic()
            elif "incident" in steps and "open" not in steps and window.nearby_panel.model.rowCount() \\
                    and time.monotonic() - state["asked_at"] > 1.0:
                steps.append("open")
                # Later, from the event loop: the reason prompt's own loop must not run inside this timer's slot.
                QTimer.singleShot(0, window.actions_by_id[ActionId.OPEN_NEAREST_LIVE].trigger)
            elif "opened_at" in state:
                wall = window.findChild(VideoWall)
                for tile in wall.visible_tiles():
                    if tile.view is not None and tile.state == "live" and tile.view.camera_label not in seen["live_ms"]:
                        seen["live_ms"][tile.view.camera_label] = round((time.monotonic() - state["opened_at"]) * 1000)
                painting = [t for t in wall.visible_tiles() if t.view is not None and t.painted >= 10]
                if len(painting) >= 2 and "shot" not in steps:
                    steps.append("shot")
                    seen["backends"] = sorted(t.player.backend for t in painting)
                    window.grab().save(sys.argv[2])
                    QTimer.singleShot(0, window.close)  # as the user closes it (the console asks first)
                elif time.monotonic() - state["opened_at"] > 60:
                    seen["tiles"] = [(t.view.camera_label if t.view else None, t.state) for t in wall.visible_tiles()]
                    app.quit()

    driver = QTimer()
    driver.timeout.connect(act)
    driver.start(50)
    seen["exit"] = run_console(sys.argv[1])
    seen["left_running"] = [t.name for t in threading.enumerate() if t.name.startswith(("demo-", "webrtc-", "vlc-"))]
    print(json.dumps({k: v for k, v in seen.items() if k != "accounts"}), flush=True)
""")


def test_a_newcomer_sees_demo_feeds_play_and_quitting_stops_the_gateway(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    script = tmp_path / "newcomer.py"
    script.write_text(NEWCOMER)
    OUTPUT.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
           "RTIC_MACHINE_SETTINGS": str(tmp_path / "machine.toml"), "RTIC_USER_SETTINGS": str(tmp_path / "user.toml")}
    done = subprocess.run([sys.executable, str(script), url, str(OUTPUT / "demo-first-start.png")],
                          capture_output=True, text=True, timeout=300, cwd=str(ROOT), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    print("first live picture after the reason, per feed (ms):", seen["live_ms"], "players:", seen.get("backends"))
    assert seen["steps"] == ["demo accounts", "login", "window", "incident", "open", "reason", "shot", "quit"], seen
    assert seen["exit"] == 0 and len(seen["live_ms"]) >= 2
    assert seen["left_running"] == [], "the gateway and its feeds stop with the console"
    database = open_database(url)
    try:
        events = AuditLog(database).query()
    finally:
        database.close()
    starts = {e.details["session_id"] for e in events if e.action == "view_start"}
    ends = {e.details["session_id"] for e in events if e.action == "view_end"}
    assert len(starts) >= 2 and starts == ends, "each view that started has its one end"
