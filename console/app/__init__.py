"""The composition root: opens the database, builds the services and the window, runs Qt.

The only package besides console.gui that imports PySide6, and the only place the window's services are built:

- `qt`: the QApplication, the store preloaded beside it, a notice while slow work runs off the GUI thread;
- `window`: the registry opened (its contact key proven) and the main window built on it (`build_console`);
- `session`: one path for every signed-in console (`ConsoleStart`, `run_signed_in`) and every service it uses
  (`session_services`);
- `runners`: what runs beside the window (field copy keeper, registry feed, audit checkpoints, CAD intake);
- `online` and `field`: a start on the database and one in field mode (the database cannot be reached at start and a
  field copy is on this computer), which differ only in what they give `run_signed_in`;
- `checks`: what `rtic-console screenshot` and `self-test` build (console/gui/checks.py runs them).

The CLI reaches the GUI through `run_console`, `render_screenshot` and `run_self_test`; nothing else builds objects
for the window.
"""

from console.app.checks import render_screenshot, run_self_test
from console.app.field import field_mode_banner, run_field_mode
from console.app.online import run_console
from console.app.qt import qt_application
from console.app.runners import start_cad_intake
from console.app.session import (
           ConsoleStart,
           offline_limits,
           run_signed_in,
           session_services,
           signed_in_console,
)
from console.app.window import Console, build_console, open_registry_or_field

__all__ = ["Console", "ConsoleStart", "build_console", "field_mode_banner", "offline_limits",
           "open_registry_or_field", "qt_application", "render_screenshot", "run_console", "run_field_mode",
           "run_self_test", "run_signed_in", "session_services", "signed_in_console", "start_cad_intake"]
