"""Other consoles' changes, shown within seconds: the change feed followed on a thread, applied on the GUI thread.

New or changed incidents refresh the open-incidents list; camera, consent, owner-alert and registry changes
search again around the current incident (markers, list, detail); a live view whose session was ended elsewhere
(the incident closed in CAD, a supervisor) leaves the wall. The status bar says whether updates are live or the
database is away, and since when.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from console.domain.changes import Change, ChangeKind
from console.services.changes import ChangeFollower
from console.local_time import clock_text, time_zone

log = logging.getLogger(__name__)

_REGISTRY_KINDS = {ChangeKind.CAMERA, ChangeKind.SITE, ChangeKind.OWNER, ChangeKind.GRANT, ChangeKind.REGISTRY}


class LiveUpdates(QObject):
    sig_changes = Signal(object)
    """A batch of committed changes (list[Change]), delivered on the GUI thread."""
    sig_state = Signal(bool, str)
    """(online, why): whether the database answers."""
    sig_owner_alerts = Signal(object)
    """Grant (owner alert) changes in a batch: list[Change]."""
    sig_incidents = Signal(object)
    """Ids of incidents created or changed in a batch (sorted list[int])."""

    sig_journal = Signal(object)
    """The audit sink's ConnectivityState: offline, or events still waiting in the local journal."""

    def __init__(self, follower: ChangeFollower, window, check_sessions: Callable[[], None] | None = None,
                 debounce_ms: int = 250, connectivity=None):
        """`follower`: the change feed to follow (not started); its batches and states are delivered here."""
        super().__init__(window)
        self.window = window
        self.check_sessions = check_sessions
        self.how = follower.how
        self.last_ok: datetime | None = None
        self.offline_since: datetime | None = None
        self._refresh = QTimer(self, singleShot=True, interval=debounce_ms)
        self._refresh.timeout.connect(self._refresh_now)
        self._incidents_changed = False
        self._registry_changed = False
        self.sig_changes.connect(self._apply)
        self.sig_state.connect(self._show_state)
        self.follower = follower
        follower.on_changes, follower.on_state = self.sig_changes.emit, self.sig_state.emit
        self.journal_note = ""
        self.field_mode = ""
        self.sig_journal.connect(self._show_journal)
        self._unsubscribe = connectivity.subscribe(self.sig_journal.emit) if connectivity is not None else None

    def start(self) -> "LiveUpdates":
        self.follower.start()
        return self

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.follower.stop()

    def _apply(self, batch: list[Change]) -> None:
        self.last_ok = datetime.now(timezone.utc)
        kinds = {change.kind for change in batch}
        point = self.window.controller.point
        current = point.incident.id if point is not None and point.incident is not None else None
        if ChangeKind.INCIDENT in kinds:
            self._incidents_changed = True
            self.sig_incidents.emit(sorted({c.record_id for c in batch
                                            if c.kind is ChangeKind.INCIDENT and c.record_id is not None}))
            if current is not None and any(c.kind is ChangeKind.INCIDENT and c.record_id == current for c in batch):
                self._registry_changed = True
        if kinds & _REGISTRY_KINDS:
            self._registry_changed = True
        grants = [change for change in batch if change.kind is ChangeKind.GRANT]
        if grants:
            self.sig_owner_alerts.emit(grants)
        self._refresh.start()  # many changes in a burst (an import, a feed page): one refresh

    def _refresh_now(self) -> None:
        if self._incidents_changed:
            self._incidents_changed = False
            self.window.load_open_incidents()
        if self._registry_changed:
            self._registry_changed = False
            self.window.controller.refresh()
            if self.check_sessions is not None:
                self.check_sessions()

    def show_field_mode(self, text: str, why: str) -> None:
        """The console started in field mode, on the field copy with no connection: the copy never changes under
        the window, so nothing is followed, and the sync label says FIELD MODE for the whole run."""
        self.field_mode = text
        self.follower.stop()
        self.window.sync_label.setStyleSheet("color: #ffb020; font-weight: bold;")
        self.window.sync_label.setToolTip(f"Started with no connection to the database ({why}). Searches and live "
                                          "views are decided on the field copy; audit events wait in the local "
                                          "journal and are written to the audit trail when the database answers. "
                                          "Restart the console when connected to work on the database again.")
        self._show_state(False, why)

    def _show_journal(self, state) -> None:
        """Audit events kept in the local journal while the database was away: say how many still wait."""
        self.journal_note = f" · {state.pending} audit events kept locally" if state.pending else ""
        if self.follower.online is not None or self.field_mode:
            self._show_state(bool(self.follower.online), "")

    def _show_state(self, online: bool, why: str) -> None:
        if self.field_mode:
            self.window.sync_label.setText(f"{self.field_mode}{self.journal_note}")
            return
        if online:
            self.offline_since = None
            self.last_ok = datetime.now(timezone.utc)
            server = f" · on {self.follower.server}" if self.follower.server else ""  # after a failover: the new one
            self.window.sync_label.setText(f"Sync: {self.how}{server}{self.journal_note}")
            self.window.sync_label.setStyleSheet("")
            self.window.sync_label.setToolTip("Changes made on other consoles appear here within seconds.")
            return
        if self.offline_since is None:
            self.offline_since = datetime.now().astimezone()
        since = self.offline_since
        zone = time_zone(self.window.parts.settings.time_zone)  # the agency's, as every time a person reads
        shown = clock_text(self.last_ok, zone, seconds=False) if self.last_ok else "start"
        self.window.sync_label.setText(f"OFFLINE since {clock_text(since, zone, seconds=False)}: registry as of "
                                       f"{shown}{self.journal_note}")
        self.window.sync_label.setStyleSheet("color: #ffb020; font-weight: bold;")
        self.window.sync_label.setToolTip(f"The database does not answer: {why}. Live feeds already open keep "
                                          "playing until their authorised time ends.")
