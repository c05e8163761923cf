"""Snapshots of a tile: a PNG with a burned-in caption (camera, UTC time, user, incident), clipboard, SHA-256."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QImage, QPainter

from console.errors import UserError


def caption_for(camera: str, user: str, incident: str, at: datetime) -> str:
    return f"{camera} | {at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC | {user or '-'} | {incident or '-'}"


def burn_caption(image: QImage, caption: str) -> QImage:
    """A copy of `image` with a caption band under the picture (nothing of the picture is covered). The text wraps
    onto as many lines as it needs, so camera, time, user and incident are always all readable."""
    font = QFont()
    font.setPixelSize(max(14, min(28, image.width() // 55)))
    font.setBold(True)
    metrics = QFontMetrics(font)
    margin = max(6, font.pixelSize() // 2)
    flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap
    width = max(40, image.width()) - 2 * margin
    needed = metrics.boundingRect(QRect(0, 0, width, 100_000), int(flags), caption)
    band = needed.height() + 2 * margin
    out = QImage(max(40, image.width()), image.height() + band, QImage.Format.Format_RGB32)
    out.fill(QColor("black"))
    painter = QPainter(out)
    painter.drawImage(0, 0, image)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(QRect(margin, image.height() + margin, width, needed.height()), int(flags), caption)
    painter.end()
    return out


def save_snapshot(image: QImage, caption: str, folder: Path, stem: str, to_clipboard: bool = True) -> tuple[Path, str]:
    """Write the captioned PNG into `folder`; returns (path, sha256 of the file as written)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:80] or "snapshot"
    path = folder / f"{safe}.png"
    n = 1
    while path.exists():
        path = folder / f"{safe}-{n}.png"
        n += 1
    final = burn_caption(image, caption)
    if not final.save(str(path), "PNG"):
        raise UserError(f"The snapshot could not be saved in {folder}; check that the folder is writable.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if to_clipboard and QGuiApplication.instance() is not None:
        QGuiApplication.clipboard().setImage(final)
    return path, digest


def snapshot_tile(tile, folder: Path, user: str = "", incident: str = "", now: datetime | None = None,
                  image: QImage | None = None) -> tuple[Path, str]:
    """Snapshot what `tile` shows (or `image`, a frame it gave at the stream's resolution); emits
    tile.sig_snapshot_saved(path, sha256) for the audit."""
    image = image if image is not None else tile.current_image()
    if image is None or tile.view is None:
        raise UserError("There is no picture in this tile to take a snapshot of.")
    at = now or datetime.now(timezone.utc)
    view = tile.view
    caption = caption_for(view.camera_label, user or view.user, incident or view.incident, at)
    path, digest = save_snapshot(image, caption, folder, f"{view.camera_label}-{at:%Y%m%dT%H%M%SZ}")
    tile.sig_snapshot_saved.emit(str(path), digest)
    return path, digest
