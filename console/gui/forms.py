"""Qt Designer forms from ui/*.ui, loaded at run time (nothing generated is committed)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFile, QIODevice
from PySide6.QtUiTools import QUiLoader
from PySide6.QtWidgets import QWidget


def load_form(ui_dir: Path, name: str, parent: QWidget | None = None) -> QWidget:
    """The widget tree of ui/<name>.ui; its children are found by their Designer object names."""
    path = ui_dir / f"{name}.ui"
    file = QFile(str(path))
    if not file.open(QIODevice.OpenModeFlag.ReadOnly):
        raise FileNotFoundError(f"the form {path} is missing from this installation")
    try:
        widget = QUiLoader().load(file, parent)
    finally:
        file.close()
    if widget is None:
        raise RuntimeError(f"the form {path} cannot be loaded")
    return widget
