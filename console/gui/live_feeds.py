"""Opening live feeds from the window: ask why (once per incident), authorise and audit off the GUI thread, play.

Every open goes through ViewingService.start_view (the access decision, then the durable view-start event); only
its authorization reaches the video wall. Every end (tile closed, expiry, window closed) goes to end_view.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from console.domain.access import Purpose, purpose_problem
from console.domain.cameras import StreamRole
from console.domain.incidents import Incident
from console.gui.video.tile import NO_PICTURE
from console.gui.video.wall import VideoWall
from console.gui.workers import Tasks
from console.local_time import clock_text
from console.services.registry import RegistryService
from console.services.viewing import ViewingService
from console.video.view import LiveView
from console.gui.text import keep_plain, plain_label

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class IncidentContext:
    """The incident the window is working on: a console incident from the database, or a point with a label."""

    label: str
    incident: Incident | None = None

    @property
    def key(self) -> str:
        return f"incident:{self.incident.id}" if self.incident and self.incident.id else f"point:{self.label}"


class PurposeDialog(QDialog):
    """Why this live view: the CAD number (when the incident is not a console incident) and a reason."""

    def __init__(self, context: IncidentContext | None, camera_count: int, parent: QWidget | None = None,
                 reason: str = "", clock: Callable[[], datetime] = _utcnow):
        super().__init__(parent)
        self.clock = clock
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.setWindowTitle("Reason for live view")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        what = "this camera" if camera_count == 1 else f"these {camera_count} cameras"
        intro = QLabel(f"Live video of {what} is recorded in the audit trail with your name, the incident and your "
                       "reason. Give the call for service it is for.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.cad = QLineEdit()
        self.cad.setPlaceholderText("CAD number, e.g. CHI-2026-123456")
        incident = context.incident if context else None
        if incident is not None:
            form.addRow("Incident", plain_label(f"{incident.cad_number or 'console incident'} — {incident.type}, "
                                                f"{incident.address}"))
        else:
            form.addRow("CAD number", self.cad)
        self.reason = QLineEdit(reason)
        self.reason.setPlaceholderText("e.g. suspect fled north on foot, checking the street")
        self.reason.setMaxLength(500)
        form.addRow("Reason", self.reason)
        layout.addLayout(form)
        # The rule, in the access decision's own words, until the purpose would pass it.
        self.rule = QLabel()
        self.rule.setObjectName("warning")
        self.rule.setTextFormat(Qt.TextFormat.PlainText)
        self.rule.setWordWrap(True)
        layout.addWidget(self.rule)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Open live view")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._incident = incident
        for field in (self.cad, self.reason):
            field.textChanged.connect(self._check)
        self._check()
        # Typing starts where the first missing answer goes: the CAD number when there is no console incident.
        (self.cad if incident is None and not self.cad.text() else self.reason).setFocus()

    def problem(self) -> str | None:
        return purpose_problem(self.purpose(), self.clock())

    def _check(self) -> None:
        problem = self.problem()
        self.ok.setEnabled(problem is None)  # Enter on an empty or short reason does nothing
        self.rule.setText("" if problem is None else problem[:1].upper() + problem[1:] + ".")

    def accept(self) -> None:
        if self.problem() is None:
            super().accept()

    def purpose(self) -> Purpose:
        if self._incident is not None:
            return Purpose(reason=self.reason.text().strip(), incident=self._incident)
        return Purpose(reason=self.reason.text().strip(), cad_number=self.cad.text().strip() or None)


class LiveFeedController(QObject):
    sig_message = Signal(str)
    """A sentence for the status bar: why a feed did not open, or that it did."""
    sig_notice = Signal(str)
    """Something the dispatcher must not miss: a view taken off the wall by a change made elsewhere."""
    sig_opened = Signal(int)
    """A feed for this camera id is playing on the wall (its view-start event is stored)."""

    def __init__(self, viewing: ViewingService, registry: RegistryService, user: Callable[[], object],
                 wall: VideoWall, tasks: Tasks, incident: Callable[[], IncidentContext | None],
                 parent_widget: QWidget, ask_purpose: Callable[[IncidentContext | None, int], Purpose | None] | None
                 = None, clock: Callable[[], datetime] = _utcnow, time_zone: tzinfo | None = None):
        super().__init__(parent_widget)
        self.time_zone = time_zone  # the zone a person reads times in (setting time_zone; None: the workstation's)
        self.viewing, self.registry, self.user, self.wall, self.tasks = viewing, registry, user, wall, tasks
        self.incident, self.parent_widget, self.clock = incident, parent_widget, clock
        self.ask_purpose = ask_purpose or self._ask
        self._purposes: dict[str, Purpose] = {}  # asked once per incident
        self._closing = False
        self._ended_elsewhere: set[int] = set()  # sessions already closed in the database (CAD close, ...)
        wall.sig_view_ended.connect(self._ended)
        wall.request_camera = lambda camera_id, tile: self.open_feeds([camera_id], tile)  # drops, recalled layouts

    def _ask(self, context: IncidentContext | None, count: int, reason: str = "") -> Purpose | None:
        dialog = PurposeDialog(context, count, self.parent_widget, reason=reason, clock=self.clock)
        return dialog.purpose() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def purpose(self, count: int) -> Purpose | None:
        """The purpose for this incident: asked once, and remembered only once the access rule would accept it."""
        context = self.incident()
        key = context.key if context else "no-incident"
        if key not in self._purposes:
            chosen = self.ask_purpose(context, count)
            if chosen is None or purpose_problem(chosen, self.clock()) is not None:
                return None
            self._purposes[key] = chosen
        return self._purposes[key]

    def change_reason(self) -> None:
        """Incident menu: give this incident's views a new reason (the next opens use it; open views keep theirs)."""
        context = self.incident()
        if context is None:
            self.sig_message.emit("Put an incident on the map first: a reason belongs to an incident.")
            return
        old = self._purposes.get(context.key)
        asked = (self._ask(context, 1, old.reason if old else "") if self.ask_purpose == self._ask
                 else self.ask_purpose(context, 1))
        if asked is None or purpose_problem(asked, self.clock()) is not None:
            self.sig_message.emit("Reason unchanged.")
            return
        self._purposes[context.key] = asked
        self.sig_message.emit(f"New live-view reason for {context.label}: {asked.reason}")

    def forget_purpose(self) -> None:
        """A renewal, or a new incident: the next open asks again."""
        self._purposes.clear()

    def open_feeds(self, camera_ids: list[int], tile=None, purpose: Purpose | None = None) -> None:
        """Open each camera on a free tile (the wall grows to fit), or the one camera on `tile` (a drop).

        Each open is decided and audited on its own, off the GUI thread. `purpose`: the view's purpose given by the
        caller (an owner's panic alert: its incident and the alert as the reason), so nobody is asked; the access
        decision still judges it like any other.
        """
        if not camera_ids:
            return
        purpose = purpose if purpose is not None else self.purpose(len(camera_ids))
        if purpose is None:
            self.sig_message.emit("Live view cancelled: no valid reason given")
            return
        if tile is None:
            self.wall.fit_feeds(len(camera_ids) + sum(1 for t in self.wall.visible_tiles() if t.view is not None))
        user = self.user()
        for camera_id in camera_ids:
            self.tasks.run(f"view-{camera_id}", lambda cid=camera_id: self._authorise(user, cid, purpose),
                           lambda view: self._play(view, tile), lambda error, cid=camera_id: self._refused(cid, error))

    def _authorise(self, user, camera_id: int, purpose: Purpose):
        """Worker thread: the decision and the durable view-start event, then what the tile needs."""
        authorization = self.viewing.start_view(user, camera_id, purpose, self.clock(), stream_role=StreamRole.MAIN)
        camera = self._camera(camera_id)
        # Small tiles play the camera's sub-stream (same gateway, same credentials); maximised ones the main.
        sub = next((s.url for s in camera.streams if s.role is StreamRole.SUB), None) if camera else None
        label = camera.label if camera else f"camera {camera_id}"
        return LiveView.from_authorization(authorization, camera_id, label, user.username,
                                           purpose.incident_label or "", sub_url=sub)

    def _camera(self, camera_id: int):
        """The camera's label and streams: from the registry, or (database away) what the viewing path last read."""
        try:
            return self.registry.camera(camera_id)
        except Exception:  # noqa: BLE001 - the view is authorised and audited already; only its caption is at stake
            known = getattr(self.viewing, "last_known", None)
            found = known.camera(camera_id) if known is not None else None
            return found.camera if found is not None else None

    def _play(self, view: LiveView, tile=None) -> None:
        tile = tile or next((t for t in self.wall.visible_tiles() if t.view is None), None)
        if tile is None:  # every tile busy: the oldest view gives way (its session ends as "replaced")
            tile = self.wall.visible_tiles()[0]
        self.wall.show_view(tile, view)
        self.sig_message.emit(f"Live: {view.camera_label} until {clock_text(view.expires_at, self.time_zone, False)}")
        self.sig_opened.emit(view.camera_id)

    def _refused(self, camera_id: int, error: str) -> None:
        self.sig_message.emit(f"Camera {camera_id} not opened: {error}")

    def _ended(self, session_id, how: str, summary: dict | None = None) -> None:
        summary = summary or {}
        if how == "expired":  # the authorised time is up: watching on needs a new reason (a renewal)
            self.forget_purpose()
        if how == NO_PICTURE:
            self.sig_message.emit(f"No picture from {summary.get('camera_label') or 'the camera'}: "
                                  f"{summary.get('problem') or 'the stream could not be played.'} "
                                  "The view was ended; Retry on its tile opens it again.")
        if session_id is None or int(session_id) in self._ended_elsewhere:
            return
        now = self.clock()
        frames, problem = summary.get("frames_shown"), summary.get("problem")
        end = lambda: self.viewing.end_view(int(session_id), how, now, frames, problem)  # noqa: E731
        if self._closing:  # the console is going away: record the end now, before the process exits
            try:
                end()
            except Exception:  # noqa: BLE001 - the session stays open in the trail; the report counts it
                log.exception("could not record the end of view session %s", session_id)
            return
        self.tasks.run(f"end-{session_id}", end,
                       lambda _duration: None, lambda error: self.sig_message.emit(f"View end not recorded: {error}"))

    def check_sessions(self) -> None:
        """Take off the wall every view whose session was ended elsewhere (its incident closed in CAD, say)."""
        open_ids = [int(t.view.session_id) for t in self.wall.tiles if t.view is not None and t.view.session_id]
        if open_ids:
            self.tasks.run("check-sessions", lambda: self.viewing.ended_sessions(open_ids), self._close_ended,
                           lambda error: log.warning("could not check view sessions: %s", error))

    def _close_ended(self, ended: dict[int, str]) -> None:
        for tile in self.wall.tiles:
            session = tile.view.session_id if tile.view is not None else None
            if session is not None and int(session) in ended:
                self._ended_elsewhere.add(int(session))
                label = tile.view.camera_label
                tile.close_view(ended[int(session)])
                self.sig_notice.emit(f"Live view of {label} ended: {ended[int(session)].replace('_', ' ')}")

    def close_all(self) -> None:
        """Closing the console ends every view (each writes its view-end event before the window goes)."""
        self._closing = True
        self.wall.close_all("console_closed")
