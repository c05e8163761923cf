"""The camera detail panel (ui/camera_detail.ui): address, field of view, streams, sharing and the grant countdown.

Stream credentials never reach this panel (the Camera only says whether a stream has them); the owner's contact
stays masked behind the reveal action, which another service performs and audits.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from console.domain.cameras import SharingMode
from console.domain.geo import compass_point
from console.domain.sharing import SharingState
from console.gui.forms import load_form
from console.gui.text import show_text
from console.gui.panels.nearby_panel import MODE_TEXT, STATE_TEXT, format_distance
from console.services.incident_view import CameraDetail


def format_countdown(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class CameraDetailPanel(QWidget):
    sig_open_feed = Signal(int)
    """Open this camera's live feed (camera id); the viewing service decides and audits."""
    sig_reveal_contact = Signal(int)
    """Reveal the owner's contact for this camera (camera id); the contact service asks why and audits."""
    sig_grant_expired = Signal(int)
    """The owner alert shown for this camera has just run out (camera id): the sharing state must be re-read."""

    def __init__(self, ui_dir: Path, clock: Callable[[], datetime] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("cameraDetailPanel")
        self.form = load_form(ui_dir, "camera_detail", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form)
        self.ui = self.form  # children by Designer name: self.ui.findChild(QLabel, "address") ...
        for label in self.form.findChildren(QLabel):  # labels, addresses, owner text: never markup
            label.setTextFormat(Qt.TextFormat.PlainText)
            if not label.objectName().endswith("Caption"):
                # A registrant's very long text must not widen the dock (and squeeze the map): it is clipped or
                # wrapped to the panel's width; show_text puts the whole of a cut text in the tooltip.
                label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
                label.setMinimumWidth(1)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self.detail: CameraDetail | None = None
        self.distance_m: float | None = None
        self._timer = QTimer(self, interval=1000)
        self._timer.timeout.connect(self._tick)
        self._w("openFeed").clicked.connect(self._open_feed)
        self._w("revealContact").clicked.connect(self._reveal)

    def _w(self, name: str):
        return getattr(self.form, name)

    def show_detail(self, detail: CameraDetail, distance_m: float | None = None,
                    bearing_deg: float | None = None) -> None:
        self.detail, self.distance_m = detail, distance_m
        cam = detail.camera
        show_text(self._w("title"), cam.label)
        self._w("state").setText(STATE_TEXT[detail.state])
        show_text(self._w("address"), cam.address, 400)
        if distance_m is not None and bearing_deg is not None:
            self._w("distance").setText(f"{format_distance(distance_m)} {compass_point(bearing_deg)} "
                                        f"({bearing_deg:.0f}°)")
        else:
            self._w("distance").setText("—")
        fov = cam.field_of_view
        self._w("fov").setText(
            f"looks {compass_point(fov.bearing_deg)} ({fov.bearing_deg:.0f}°), {fov.angle_deg:.0f}° wide, "
            f"about {fov.range_m:.0f} m" if fov else "not recorded")
        self._w("sharing").setText(MODE_TEXT[cam.sharing_mode] if cam.is_live_capable
                                   else "registration only: no live access, call the owner for footage")
        # Protocol and role only: the URL's host and path are kept for the player, credentials never shown.
        streams = [f"{s.role.value}: {s.protocol.value.upper()}{' (with credentials)' if s.has_credentials else ''}"
                   for s in cam.streams]
        self._w("streams").setText("\n".join(streams) if streams else "none")
        consent = cam.consent
        self._w("consent").setText(
            f"{consent.at.date().isoformat()} by {consent.channel.value.replace('_', ' ')}, taken by {consent.taken_by}"
            if consent else "not recorded")
        show_text(self._w("owner"), detail.owner_masked or "—")
        self._w("openFeed").setEnabled(detail.state is SharingState.LIVE_NOW)
        self._w("openFeed").setToolTip("Open the live feed (Ctrl+O)" if detail.state is SharingState.LIVE_NOW
                                       else "The owner's consent does not allow live viewing now")
        self._w("revealContact").setEnabled(True)
        self._tick()
        if detail.grant is not None:
            self._timer.start()
        else:
            self._timer.stop()

    def clear(self) -> None:
        self.detail = None
        self._timer.stop()
        self._w("title").setText("No camera selected")
        for name in ("state", "address", "distance", "fov", "sharing", "grant", "streams", "consent", "owner"):
            self._w(name).setText("")
        self._w("openFeed").setEnabled(False)
        self._w("revealContact").setEnabled(False)

    def grant_text(self) -> str:
        return self._w("grant").text()

    def _tick(self) -> None:
        detail = self.detail
        if detail is None:
            return
        grant = detail.grant
        if grant is None:
            cam = detail.camera
            if not cam.is_live_capable:
                text = "—"
            elif cam.sharing_mode is SharingMode.ALWAYS:
                text = "not needed (always shared)"
            else:
                text = "none in force"
            self._w("grant").setText(text)
            return
        left = (grant.expires_at - self._clock()).total_seconds()
        if left <= 0:
            self._timer.stop()
            self._w("grant").setText("expired")
            self._w("openFeed").setEnabled(False)
            self.sig_grant_expired.emit(detail.camera.id)
            return
        self._w("grant").setText(f"{grant.source.value.replace('_', ' ')}: ends in {format_countdown(left)}")

    def _open_feed(self) -> None:
        if self.detail is not None:
            self.sig_open_feed.emit(self.detail.camera.id)

    def _reveal(self) -> None:
        if self.detail is not None:
            self.sig_reveal_contact.emit(self.detail.camera.id)
