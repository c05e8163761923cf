"""Themes: one QSS template with $variables, filled from resources/themes/<name>.toml; SVG icons by name."""

from __future__ import annotations

import string
import tomllib
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from console.errors import UserError

THEMES = ("dark", "light")


FONT_PT = (8, 24)  # the font-size setting's range (setting font_size_pt)


def font_points(value) -> int:
    """The window's text size in points, held to FONT_PT (a settings file may say anything)."""
    try:
        points = int(value)
    except (TypeError, ValueError):
        points = 10
    return max(FONT_PT[0], min(FONT_PT[1], points))


def stylesheet(resources: Path, name: str, font_pt: int = 10) -> str:
    if name not in THEMES:
        raise UserError(f"there is no theme {name!r}: use one of {', '.join(THEMES)}")
    folder = resources / "themes"
    values = tomllib.loads((folder / f"{name}.toml").read_text(encoding="utf-8"))
    values["check_icon"] = (resources / "icons" / "check.svg").as_posix()  # the tick of a ticked check box
    points = font_points(font_pt)
    values["font_pt"], values["heading_pt"] = str(points), str(points + 1)
    # substitute() (not safe_substitute): a variable missing from a theme file is a bug to see at once.
    return string.Template((folder / "base.qss").read_text(encoding="utf-8")).substitute(values)


def apply_theme(app: QApplication, resources: Path, name: str, font_pt: int = 10) -> None:
    """The theme and the text size (setting font_size_pt) for the whole application."""
    app.setStyle("Fusion")  # the same look on every platform, so the QSS means the same everywhere
    font = app.font()
    font.setPointSize(font_points(font_pt))  # what widgets that paint their own text (tiles, tables) start from
    app.setFont(font)
    app.setStyleSheet(stylesheet(resources, name, font_pt))


class Icons:
    """SVG icons from resources/icons, loaded once each."""

    def __init__(self, resources: Path):
        self.folder = resources / "icons"
        self._cache: dict[str, QIcon] = {}

    def get(self, name: str) -> QIcon:
        icon = self._cache.get(name)
        if icon is None:
            icon = self._cache[name] = QIcon(str(self.folder / f"{name}.svg"))
        return icon
