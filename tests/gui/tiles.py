"""Generated MBTiles for tests and screenshots: a plain street-map-like pattern, drawn with QPainter."""

from __future__ import annotations

import math
import random

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from console.geo.mbtiles import write_mbtiles


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _tile_png(z: int, x: int, y: int) -> bytes:
    rng = random.Random(z * 1_000_003 + x * 1009 + y)
    image = QImage(256, 256, QImage.Format.Format_RGB32)
    image.fill(QColor("#ece7dc"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for _ in range(3):  # blocks of buildings
        painter.fillRect(rng.randint(0, 200), rng.randint(0, 200), rng.randint(20, 60), rng.randint(20, 60),
                         QColor("#d9d0c1"))
    painter.setPen(QPen(QColor("#ffffff"), 7))
    for i in (64, 192):
        painter.drawLine(i, 0, i, 256)
        painter.drawLine(0, i, 256, i)
    painter.setPen(QPen(QColor("#f6cf65"), 9))
    painter.drawLine(0, 128, 256, 128)
    painter.setPen(QColor("#8a8276"))
    painter.drawText(6, 16, f"{z}/{x}/{y}")
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data)


def make_mbtiles(path, lat: float, lon: float, zooms=range(13, 18), reach: int = 4) -> int:
    """Tiles around (lat, lon) for each zoom, `reach` tiles each way; returns how many were written."""
    tiles = {}
    for z in zooms:
        cx, cy = tile_xy(lat, lon, z)
        for x in range(cx - reach, cx + reach + 1):
            for y in range(cy - reach, cy + reach + 1):
                tiles[(z, x, y)] = _tile_png(z, x, y)
    write_mbtiles(path, tiles, name="test town", image_format="png")
    return len(tiles)
