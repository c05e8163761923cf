"""Render the console's icon (resources/icons/rtic-console.svg) to the PNG and ICO files the packages need.

    python installer/make_icons.py OUT_DIR      -> OUT_DIR/rtic-console.png (256 px) and OUT_DIR/rtic-console.ico
"""

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent


def render(svg: Path, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    return image


def main(out: Path) -> int:
    app = QGuiApplication(["make_icons", "-platform", "offscreen"])  # noqa: F841 (QPainter needs an application)
    out.mkdir(parents=True, exist_ok=True)
    image = render(ROOT / "resources" / "icons" / "rtic-console.svg", 256)
    for name in ("rtic-console.png", "rtic-console.ico"):
        if not image.save(str(out / name)):
            print(f"make_icons: cannot write {out / name}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "icons"))
