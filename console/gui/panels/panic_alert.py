"""The owner's panic alert as the emergency it is: a red bar that rings, names the place, and opens the feed.

A panic-button or app alert (console/services/owner_alerts.py `AlertBar`: it opened an "owner alert" incident) puts a
red row across the top of the window naming the camera's label, the site, its address and its distance and
direction from the incident on the map, with "Open live" (the default: Enter), "Show on map" and "Acknowledge".
"Open live" goes through the normal live-feed path (LiveFeedController.open_feeds, so the one access decision and
the durable view-start event) with the alert as the purpose: its incident and the owner's alert as the reason, so
the dispatcher types nothing. An on-alert camera opens only while the alert is in force (the decision's own rule).

The bar rings (a short two-tone WAV written at run time, played with QSoundEffect) when an alert it has not shown
before arrives; it stays until the alert ends or a dispatcher acknowledges it (audited; every console's bar for that
alert closes). It is rebuilt from the registry at sign-in, so a restarted console shows the alerts still in force
with their full text, never an empty bar. Outside text (labels, addresses) is shown as plain text.
"""

from __future__ import annotations

import logging
import math
import struct
import tempfile
import wave
from datetime import datetime, timezone, tzinfo
from io import BytesIO
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTemporaryDir, QTimer, QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolBar, QVBoxLayout, QWidget

from console.domain.access import Purpose
from console.domain.geo import compass_point, haversine_m, initial_bearing_deg
from console.domain.grants import GrantSource
from console.gui.panels.nearby_panel import format_distance
from console.local_time import clock_text
from console.services.owner_alerts import INCIDENT_SOURCE, AlertBar, OwnerAlertService

log = logging.getLogger(__name__)

CLOSE_ALERT_INCIDENT = "close_alert_incident"  # the Incident menu's action id
MAX_ROWS = 4  # more alerts at once: the last row says how many more
BAR_STYLE = ("QWidget#panicAlertBar { background: #c8102e; } QLabel { color: white; background: transparent; "
             "font-size: 16px; font-weight: bold; padding: 4px 8px; } QPushButton { font-size: 15px; "
             "font-weight: bold; padding: 4px 14px; } QPushButton#openLive { background: white; color: #c8102e; }")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- the sound ---------------------------------------------------------------------------------------------


def alert_wav(rate: int = 22_050, beeps: int = 3, tone_s: float = 0.16) -> bytes:
    """A short two-tone alarm (960 / 720 Hz, each beep with a soft edge so it does not click), as 16-bit mono WAV."""
    samples = bytearray()
    edge = int(rate * 0.01)
    for n in range(beeps * 2):
        freq = 960.0 if n % 2 == 0 else 720.0
        count = int(rate * tone_s)
        for i in range(count):
            envelope = min(1.0, i / edge, (count - i) / edge)
            samples += struct.pack("<h", int(0.6 * 32767 * envelope * math.sin(2 * math.pi * freq * i / rate)))
        samples += b"\x00\x00" * int(rate * 0.04)  # a short gap between tones
    out = BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(samples))
    return out.getvalue()


class AlertSound:
    """The bar's ring: the WAV is written once to a private temporary folder and played with QSoundEffect. Without
    an audio device the effect stays silent (logged once); the bar itself is what must not be missed."""

    def __init__(self, folder: Path | None = None):
        from PySide6.QtMultimedia import QSoundEffect

        self._folder = None if folder is not None else QTemporaryDir(str(Path(tempfile.gettempdir()) / "rtic-alert-XXXXXX"))
        base = folder if folder is not None else Path(self._folder.path())
        self.path = base / "owner-alert.wav"
        self.path.write_bytes(alert_wav())
        self.effect = QSoundEffect()
        self.effect.setSource(QUrl.fromLocalFile(str(self.path)))
        self.effect.setVolume(1.0)
        self.played = 0

    def play(self) -> None:
        self.played += 1
        self.effect.play()


# --- the bar -----------------------------------------------------------------------------------------------


class _Row(QWidget):
    def __init__(self, bar: AlertBar, text: str, on_open, on_map, on_ack, parent=None):
        super().__init__(parent)
        self.alert = bar
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(text)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # labels and addresses come from outside
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.open_live = QPushButton("Open live")
        self.open_live.setObjectName("openLive")
        self.open_live.setToolTip("Open this alert's camera now; the owner's alert is the recorded reason (Enter)")
        self.show_map = QPushButton("Show on map")
        self.acknowledge = QPushButton("Acknowledge")
        self.acknowledge.setToolTip("Take the alert: the bar closes on every console (recorded in the audit trail)")
        for button, slot in ((self.open_live, on_open), (self.show_map, on_map), (self.acknowledge, on_ack)):
            button.clicked.connect(lambda _checked=False, s=slot, b=bar: s(b))
            layout.addWidget(button)


class PanicAlertBar(QWidget):
    """Red rows, one per alert in force, newest first; hidden (never empty) when there is none."""

    sig_open_live = Signal(object)  # AlertBar
    sig_show_on_map = Signal(object)
    sig_acknowledge = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("panicAlertBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(BAR_STYLE)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.rows: list[_Row] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 4, 6, 4)
        self.more = QLabel("")
        self.more.setTextFormat(Qt.TextFormat.PlainText)
        self._layout.addWidget(self.more)
        self.more.hide()

    def show_alerts(self, alerts: list[tuple[AlertBar, str]]) -> None:
        for row in self.rows:
            self._layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for bar, text in alerts[:MAX_ROWS]:
            row = _Row(bar, text, self.sig_open_live.emit, self.sig_show_on_map.emit, self.sig_acknowledge.emit, self)
            self._layout.insertWidget(len(self.rows), row)
            self.rows.append(row)
        extra = len(alerts) - MAX_ROWS
        self.more.setText(f"+{extra} more owner alert{'s' if extra != 1 else ''} in force" if extra > 0 else "")
        self.more.setVisible(extra > 0)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.rows:
            self.sig_open_live.emit(self.rows[0].alert)
            return
        super().keyPressEvent(event)


AT_THE_INCIDENT_M = 5.0  # closer than this, the site is the incident on the map


def alert_text(bar: AlertBar, point, zone: tzinfo | None) -> str:
    """What the row says: who raised it, the camera's label, the site, its address, how far from the incident."""
    how = "PANIC BUTTON" if bar.source is GrantSource.PANIC_BUTTON else "OWNER APP ALERT"
    what = f"camera {bar.camera_label}" if bar.camera_id is not None and bar.camera_label else "every camera"
    parts = [what, bar.site_name, bar.address]
    if point is not None and bar.lat is not None and bar.lon is not None:
        distance = haversine_m(point.lat, point.lon, bar.lat, bar.lon)
        if distance < AT_THE_INCIDENT_M:  # the alert's own incident (Show on map): "0 m N" says nothing
            parts.append("at the incident on the map")
        else:
            direction = compass_point(initial_bearing_deg(point.lat, point.lon, bar.lat, bar.lon))
            parts.append(f"{format_distance(distance)} {direction} of the incident")
    shown = ", ".join(p for p in parts if p)
    return f"{how}: {shown} — live view allowed until {clock_text(bar.expires_at, zone, seconds=False)}"


class PanicAlertController(QObject):
    """Keeps the bar in step with the registry: at sign-in, on every owner-alert change, when an alert runs out."""

    sig_message = Signal(str)
    sig_shown = Signal(int)
    """The bar was brought in step with the registry: how many alerts it shows (0: hidden)."""

    def __init__(self, window, alerts: OwnerAlertService, feeds, user: Callable[[], object],
                 zone: tzinfo | None = None, sound: AlertSound | None = None,
                 clock: Callable[[], datetime] = _utcnow):
        super().__init__(window)
        self.window, self.alerts, self.feeds, self.user, self.zone, self.clock = window, alerts, feeds, user, zone, clock
        try:
            self.sound = sound or AlertSound()
        except Exception:  # noqa: BLE001 - no multimedia: the bar still shows
            log.warning("owner alert sound not available", exc_info=True)
            self.sound = None
        self.bar = PanicAlertBar()
        self.toolbar = QToolBar("Owner alerts", window)
        self.toolbar.setObjectName("panicAlertToolbar")
        self.toolbar.setMovable(False)
        self.toolbar.addWidget(self.bar)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        window.insertToolBarBreak(self.toolbar)
        self.toolbar.hide()
        self.shown: list[AlertBar] = []
        self.amber_grant_ids: set[int] = set()  # the alerts the amber notice names (the session sets it)
        self._rung: set[int] = set()  # alerts this console has rung for (a restart rings again: it is news here)
        self.bar.sig_open_live.connect(self.open_live)
        self.bar.sig_show_on_map.connect(self.show_on_map)
        self.bar.sig_acknowledge.connect(self.acknowledge)
        self._expiry = QTimer(self, singleShot=True)
        self._expiry.timeout.connect(self._expired)
        window.controller.sig_nearby_shown.connect(lambda _answer: self._render())  # distances follow the incident
        window.add_action(CLOSE_ALERT_INCIDENT, "Close owner alert incident…", None, self.close_incident)

    # --- reading -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the alerts in force (off the GUI thread) and show them."""
        now = self.clock()
        self.window.tasks.run("panic-alerts", lambda: self.alerts.alert_bars(now), self.show,
                              lambda error: log.warning("owner alerts not read: %s", error))

    def changed(self, _changes=None) -> None:
        """An owner alert was raised, ended or acknowledged somewhere: read them again."""
        self.refresh()

    def show(self, bars: list[AlertBar]) -> None:
        now = self.clock()
        self.shown = [b for b in bars if b.in_force and b.acknowledged_at is None and b.expires_at > now]
        fresh = [b for b in self.shown if b.grant_id not in self._rung]
        self._render()
        if fresh:
            self._rung.update(b.grant_id for b in fresh)
            if self.sound is not None:
                self.sound.play()
            self._hide_amber_duplicate({b.grant_id for b in self.shown})
            self.bar.setFocus(Qt.FocusReason.OtherFocusReason)  # Enter opens the newest alert's feed
        if self.shown:
            soonest = min(b.expires_at for b in self.shown)
            self._expiry.start(max(0, int((soonest - now).total_seconds() * 1000)) + 500)
        else:
            self._expiry.stop()
        self.sig_shown.emit(len(self.shown))

    def _render(self) -> None:
        point = self.window.controller.point
        self.bar.show_alerts([(b, alert_text(b, point, self.zone)) for b in self.shown])
        self.toolbar.setVisible(bool(self.shown))

    def _hide_amber_duplicate(self, on_red_bar: set[int]) -> None:
        """An older amber 'OWNER ALERT' notice about the alerts now on the red bar says less: one bar, not two. An
        amber notice that also names another alert (a staff-entered one) stays."""
        if self.window.notice_bar.isVisible() and self.window.notice_label.text().startswith("OWNER ALERT") \
                and self.amber_grant_ids <= on_red_bar:
            self.window.hide_notice()

    def _expired(self) -> None:
        """An alert ran out: its incident is closed (once, whichever console gets there first) and the bar reread."""
        now = self.clock()
        self.window.tasks.run("panic-alerts-ended", lambda: self.alerts.close_ended(now), lambda _n: self.refresh(),
                              lambda error: (log.warning("ended owner alerts not closed: %s", error), self.refresh()))

    # --- acting --------------------------------------------------------------------------------------------

    def open_live(self, bar: AlertBar) -> None:
        """The alert's camera (or every camera of a whole-site alert) on the wall, the alert as the purpose."""
        camera_ids = [bar.camera_id] if bar.camera_id is not None else list(bar.camera_ids)
        if not camera_ids:
            self.sig_message.emit(f"{bar.site_name}: no live camera to open for this alert.")
            return
        self.feeds.open_feeds(camera_ids, purpose=Purpose(reason=bar.reason, incident=bar.incident))

    def show_on_map(self, bar: AlertBar) -> None:
        label = f"Owner alert: {bar.where}" + (f", {bar.address}" if bar.address else "")
        self.window.controller.set_incident(bar.lat, bar.lon, label, bar.incident)

    def close_incident(self) -> None:
        """Incident menu: close the owner alert incident on the map (the owner's alert itself stays as the owner
        set it), with a note; audited as the dispatcher."""
        from PySide6.QtWidgets import QInputDialog, QLineEdit

        point = self.window.controller.point
        incident = point.incident if point is not None else None
        if incident is None or incident.source != INCIDENT_SOURCE:
            self.sig_message.emit("Put an owner alert's incident on the map first (Show on map on its bar).")
            return
        note, ok = QInputDialog.getText(self.window, "Close owner alert incident",
                                        "Why is it closed (e.g. owner called: false alarm)?", QLineEdit.EchoMode.Normal)
        if not ok:
            return
        user, now = self.user(), self.clock()
        self.window.tasks.run(f"close-incident-{incident.id}",
                              lambda: self.alerts.close_incident_as(user, incident.id, now, note=note[:500]),
                              lambda _closed: (self.sig_message.emit("Owner alert incident closed."), self.refresh()),
                              lambda error: self.sig_message.emit(f"Incident not closed: {error}"))

    def acknowledge(self, bar: AlertBar) -> None:
        user, now = self.user(), self.clock()
        self.shown = [b for b in self.shown if b.grant_id != bar.grant_id]
        self._render()
        self.window.tasks.run(f"ack-{bar.grant_id}", lambda: self.alerts.acknowledge_as(user, bar.grant_id, now),
                              lambda _done: self.sig_message.emit(f"Owner alert at {bar.where} acknowledged."),
                              lambda error: (self.sig_message.emit(f"Acknowledgement not recorded: {error}"),
                                             self.refresh()))
