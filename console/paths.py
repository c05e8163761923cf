"""Where the console finds the files it ships (ui/ forms, resources/) and keeps its own data.

Installed from a wheel, ui/ and resources/ live inside the package (console/ui, console/resources);
in a source checkout they are the top-level folders beside console/. In the packaged one-folder app
(PyInstaller, installer/rtic-console.spec) they are console/ui and console/resources under its _internal folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
    _PACKAGE = Path(sys._MEIPASS) / "console"
else:
    _PACKAGE = Path(__file__).resolve().parent

APP_NAME = "rtic-console"
APP_AUTHOR = "CommunityConnect"


def _shipped(name: str) -> Path:
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _PACKAGE.parent / name


def resources_dir() -> Path:
    """The shipped resources/ folder (map page assets, icons, themes, OpenAPI files)."""
    return _shipped("resources")


def ui_dir() -> Path:
    """The shipped Qt Designer forms."""
    return _shipped("ui")


def user_data_dir() -> Path:
    """The per-user data folder (default database, contact key, caches); created on demand."""
    path = Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))
    path.mkdir(parents=True, exist_ok=True)
    return path
