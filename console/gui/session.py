"""A signed-in console: one user's live feeds, contact reveals, audited searches and idle lock, on one window.

Built by the composition root after the login dialog, with every service it uses (SessionServices) built there too;
the window itself knows nothing of who is signed in beyond the name in its status bar.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from console.domain.audit import Action, AuditEntry
from console.domain.geo import compass_point, haversine_m, initial_bearing_deg
from console.domain.users import IdlePolicy, Permission
from console.gui.audit_viewer import AuditViewer
from console.gui.contact_reveal import ContactRevealController
from console.gui.live_feeds import IncidentContext, LiveFeedController
from console.gui.live_updates import LiveUpdates
from console.gui.lock_screen import IdleWatcher, LockScreen
from console.gui.main_window import ActionId, MainWindow
from console.gui.panels.nearby_panel import format_distance
from console.gui.panels.panic_alert import PanicAlertController
from console.gui.registry_tools import RegistryTools, ToolServices
from console.gui.video.wall import VideoWall
# The audit log is built by the composition root; its type is named through the service that reads it.
from console.services.audit_checkpoints import CheckpointService
from console.services.audit_reports import AuditLog, AuditService
from console.services.auth import AuthService, Session
from console.local_time import clock_text, time_zone
from console.services.changes import ChangeFollower
from console.services.contacts import ContactService
from console.services.owner_alerts import INCIDENT_SOURCE
from console.services.registry import RegistryService
from console.services.resilience import ResilientAudit
from console.services.viewing import ViewingService

log = logging.getLogger(__name__)


URGENT_WINDOW = timedelta(minutes=30)  # an urgent incident older than this is not news any more


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _read_layouts(path: Path | None) -> dict:
    """The wall layouts saved by number (slot -> grid and camera ids); none when the file is missing or unreadable."""
    if path is None or not path.exists():
        return {}
    try:
        return {int(slot): entry for slot, entry in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        log.warning("ignoring unreadable wall layouts in %s", path)
        return {}


@dataclass
class SessionServices:
    """The services a signed-in console uses, built by the composition root."""

    auth: AuthService
    viewing: ViewingService
    contacts: ContactService
    registry: RegistryService
    audit: AuditLog
    sink: ResilientAudit | None = None  # the audit log with the local journal behind it (run_console sets it)
    changes: ChangeFollower = field(kw_only=True)  # the registry's change feed, not started (LiveUpdates follows it)
    audit_trail: AuditService = field(kw_only=True)  # the audit viewer's searches, chain check and exports
    checkpoints: CheckpointService = field(kw_only=True)  # the viewer's Verify: the trail held to signed checkpoints
    tools: ToolServices = field(kw_only=True)  # the registry and footage tools (console/gui/registry_tools.py)


class SignedInConsole(QObject):
    def __init__(self, app: QApplication, window: MainWindow, session: Session, services: SessionServices,
                 player_factory, idle_policy: IdlePolicy, snapshot_folder: Path, layouts_file: Path | None = None):
        super().__init__(window)
        self.app, self.window, self.session, self.services = app, window, session, services
        self.lock_screen: LockScreen | None = None
        self.handover = False  # logged out for the next user (the sign-in comes back), not quit
        user = session.user
        window.user_label.setText(f"User: {user.display_name or user.username} ({user.role.value})")
        # Searches answered from the field copy while the database is away are journaled like the views they lead to.
        window.parts.incident_view.record_searches(services.sink or services.audit, user.username,
                                                   session.workstation)

        self.layouts_file = layouts_file
        zone = self.zone = time_zone(window.parts.settings.time_zone)  # one zone wherever a person reads a time
        self.wall = VideoWall(player_factory, layouts=_read_layouts(layouts_file), snapshot_folder=snapshot_folder,
                              time_zone=zone)
        self.wall.set_grid(1, picked=False)  # fits itself to the feeds as they open (VideoWall.fit_feeds)
        dock = self.video_dock = window.add_panel("video", "Live video", self.wall,
                                                  Qt.DockWidgetArea.BottomDockWidgetArea)
        # The lists on the left keep the window's full height; the wall spans under the map and the camera panel.
        window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        window.resizeDocks([dock], [260], Qt.Orientation.Vertical)
        self.feeds = LiveFeedController(services.viewing, services.registry, lambda: self.session.user, self.wall,
                                        window.tasks, self._incident, window, time_zone=zone)
        window.sig_open_feed.connect(lambda camera_id: self.feeds.open_feeds([camera_id]))
        window.sig_open_nearest_live.connect(self.feeds.open_feeds)
        self.wall.sig_snapshot_saved.connect(self._snapshot_saved)
        self.contacts = ContactRevealController(services.contacts, lambda: self.session.user, window.tasks, window)
        window.sig_reveal_contact.connect(self.contacts.reveal)
        for source in (self.feeds, self.contacts):
            source.sig_message.connect(lambda text: window.statusBar().showMessage(text, 10000))

        self.feeds.sig_opened.connect(lambda _camera_id: self.give_wall_room())
        window.add_action(ActionId.WALL_EMPHASIS, "Map or live video first", "F9", self.switch_emphasis,
                          window.view_menu)
        for n, screen in enumerate(QGuiApplication.screens(), start=1):
            window.add_action(ActionId.WALL_TO_MONITOR.format(n=n), f"Live video to monitor {n} ({screen.name()})",
                              None, lambda index=n - 1: self.wall_to_monitor(index), window.view_menu)
        window.add_action(ActionId.WALL_IN_WINDOW, "Live video back in the window", None,
                          lambda: self.video_dock.setFloating(False), window.view_menu)
        window.add_action(ActionId.CHANGE_REASON, "Change live-view reason…", None, self.feeds.change_reason)
        window.add_action(ActionId.LOCK_NOW, "Lock now", "Ctrl+Shift+L", lambda: self.lock(_utcnow()))
        window.add_action(ActionId.LOG_OUT, "Log out", None, self.log_out)
        window.confirm_close = self.confirm_quit
        if user.may(Permission.AUDIT_VIEW):  # supervisors, auditors, administrators
            window.add_action(ActionId.AUDIT_TRAIL, "Audit trail…", "Ctrl+Shift+A", self.open_audit_trail,
                              window.view_menu)
        self.audit_viewer: AuditViewer | None = None

        self.feeds.sig_notice.connect(window.show_notice)
        self.updates = LiveUpdates(services.changes, window, self.feeds.check_sessions,
                                   connectivity=services.sink.connectivity if services.sink else None)
        self.updates.sig_owner_alerts.connect(self._owner_alerts)
        # Panic-button and app alerts: the red bar (console/gui/panels/panic_alert.py), read again at each change.
        self.panic = PanicAlertController(window, services.tools.alerts, self.feeds, lambda: self.session.user, zone)
        self.panic.sig_message.connect(lambda text: window.statusBar().showMessage(text, 10000))
        self.updates.sig_owner_alerts.connect(self.panic.changed)
        self.panic.refresh()  # alerts in force now, with their full text (a restarted console too)
        self.updates.sig_incidents.connect(self._incidents_changed)
        self.tools = RegistryTools(window, self, services)
        self.updates.sig_changes.connect(self.tools.changed)
        self.bulletins = None
        if services.tools.bulletins is not None:  # incident bulletins: the panel for all, sending for some roles
            from console.gui.bulletins import BulletinTools

            self.bulletins = BulletinTools(window, self.wall, lambda: self.session.user, services.tools.bulletins,
                                           zone, services.tools.wake_outbox)
            self.updates.sig_changes.connect(self.bulletins.changed)
        self.updates.start()
        self._offered: set[int] = set()  # urgent incidents this console has offered already

        self.idle = IdleWatcher(idle_policy, self)
        self.idle.sig_idle.connect(self.lock)
        self.idle.start(app)
        # auth = "ldap": the directory account is looked at again now and then; one that left locks the console.
        minutes = getattr(services.auth, "recheck_minutes", None)
        self.directory_check = QTimer(self)
        self.directory_check.timeout.connect(self._directory_recheck)
        if isinstance(minutes, int) and minutes > 0:
            self.directory_check.start(minutes * 60_000)

    WALL_SHARE = 0.55  # of the window's height, while feeds play (the map and lists shrink)

    def give_wall_room(self) -> None:
        """A feed opened: the wall gets at least half the window's height, unless it has that already."""
        if self.video_dock.isHidden() or self.video_dock.isFloating():
            self.video_dock.show()
            return
        if self.video_dock.height() < self.window.height() // 2:
            self.window.resizeDocks([self.video_dock], [int(self.window.height() * self.WALL_SHARE)],
                                    Qt.Orientation.Vertical)

    def wall_to_monitor(self, index: int) -> None:
        """The Live video panel on a monitor of its own, filling it (View menu); 'back in the window' docks it."""
        screens = QGuiApplication.screens()
        if not 0 <= index < len(screens):
            return
        self.video_dock.show()
        self.video_dock.setFloating(True)
        self.video_dock.setGeometry(screens[index].availableGeometry())

    def switch_emphasis(self) -> None:
        """One key (F9) between a big map with a strip of video and a big wall with a smaller map."""
        wall_first = self.video_dock.height() >= self.window.height() // 2
        height = 220 if wall_first else int(self.window.height() * self.WALL_SHARE)
        self.window.resizeDocks([self.video_dock], [height], Qt.Orientation.Vertical)

    def live_view_count(self) -> int:
        return sum(1 for tile in self.wall.tiles if tile.view is not None)

    def confirm_quit(self, what: str = "Quit") -> bool:
        """With live views open, ask first (a stray Ctrl+Q must not end five views on a live call)."""
        count = self.live_view_count()
        if count == 0:
            return True
        box = QMessageBox(QMessageBox.Icon.Question, f"{what} with live views open?",
                          f"{count} live view{'s are' if count != 1 else ' is'} open. {what} and end "
                          f"{'them' if count != 1 else 'it'}? Each end is recorded in the audit trail.",
                          QMessageBox.StandardButton.Cancel, self.window)
        end = box.addButton(f"{what} and end {'views' if count != 1 else 'view'}", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # Enter keeps the views
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is end

    def log_out(self) -> None:
        """End the shift at this console: views end, the logout is recorded, and the sign-in comes back for the next
        user (console/app.py run_signed_in)."""
        if self.confirm_quit("Log out"):
            self.window.confirm_close = None
            self.handover = True
            self.app.quit()

    def _log_out_locked(self) -> None:
        """The lock screen's Log out: the next user signs in (the views end as the console closes)."""
        self.handover = True
        self.app.quit()

    def open_audit_trail(self) -> None:
        """The audit viewer (filter, verify, export) for roles that may read the trail."""
        if self.audit_viewer is None:
            self.audit_viewer = AuditViewer(self.services.audit_trail, self.services.checkpoints,
                                            self.session.user.username, self.session.workstation, parent=self.window,
                                            public_key_file=self.window.parts.settings.audit_public_key,
                                            time_zone=self.zone)
        self.audit_viewer.show()
        self.audit_viewer.raise_()

    def _owner_alerts(self, changes) -> None:
        """An owner raised (or ended) an alert: the map and list are searched again; the notice says which camera."""
        ids = sorted({change.record_id for change in changes if change.record_id is not None})
        now = _utcnow()
        self.window.tasks.run("alert-notices", lambda: self.services.registry.alert_notices(ids, now),
                              self._show_alerts, lambda error: log.warning("owner alert not shown: %s", error))

    def _show_alerts(self, notices) -> None:
        """The bar names each alert's camera, site, address and distance from the incident, with its actions."""
        # Alerts on the red bar (self.panic: panic-button and app alerts with their incident) are not repeated here.
        on_red_bar = {b.grant_id for b in self.panic.shown}
        notices = [n for n in notices if n.grant_id not in on_red_bar]
        raised = [n for n in notices if n.in_force]
        self.panic.amber_grant_ids = {n.grant_id for n in raised}
        if raised:
            text = "; ".join(self._alert_text(n) for n in raised[:3])
            more = f" (+{len(raised) - 3} more)" if len(raised) > 3 else ""
            first = raised[0]
            openable = first.camera_id is not None
            self.window.show_notice(f"OWNER ALERT: live view allowed — {text}{more}",
                                    button="Show on map", slot=lambda n=first: self._show_alert_place(n),
                                    button2="Open live" if openable else None,
                                    slot2=(lambda n=first: self.feeds.open_feeds([n.camera_id])) if openable else None)
        elif notices:
            self.window.show_notice(f"Owner alert ended: {', '.join(n.where for n in notices[:3])}", urgent=False)

    def _alert_text(self, notice) -> str:
        parts = [notice.where]
        if notice.site_name and notice.site_name != notice.where:
            parts.append(notice.site_name)
        if notice.address:
            parts.append(notice.address)
        point = self.window.controller.point
        if point is not None and notice.lat is not None:
            distance = haversine_m(point.lat, point.lon, notice.lat, notice.lon)
            direction = compass_point(initial_bearing_deg(point.lat, point.lon, notice.lat, notice.lon))
            parts.append(f"{format_distance(distance)} {direction} of the incident")
        return f"{', '.join(parts)} until {clock_text(notice.expires_at, self.zone, seconds=False)}"

    def _show_alert_place(self, notice) -> None:
        """The alert's camera selected among the nearby ones, or (far away, or no incident) its place on the map."""
        controller = self.window.controller
        if notice.camera_id is not None and notice.camera_id in self.window.nearby_panel.camera_ids():
            controller.select(notice.camera_id)
            return
        if notice.lat is not None:
            label = f"Owner alert: {notice.where}" + (f", {notice.address}" if notice.address else "")
            controller.set_incident(notice.lat, notice.lon, label)

    # --- urgent incidents (from CAD: the composition root runs the intake where the settings name a source) ----

    def _incidents_changed(self, incident_ids: list[int]) -> None:
        """New or escalated incidents from any source: an urgent one is put on the map and offered (setting)."""
        settings = self.window.parts.settings
        fresh = [i for i in incident_ids if i not in self._offered]
        if not settings.cad_auto_offer or not fresh:
            return
        registry, threshold, now = self.services.registry, settings.cad_auto_offer_priority, _utcnow()

        def urgent():
            found = [registry.incident(i) for i in fresh]
            return [i for i in found if i.closed_at is None and i.priority <= threshold
                    and now - i.opened_at < URGENT_WINDOW
                    and i.source != INCIDENT_SOURCE]  # an owner alert's incident has the red bar instead

        self.window.tasks.run("urgent-incidents", urgent, self._offer,
                              lambda error: log.warning("urgent incident not offered: %s", error))

    def _offer(self, incidents) -> None:
        for incident in incidents:
            if incident.id in self._offered:
                continue
            self._offered.add(incident.id)
            label = f"{incident.cad_number or ''} {incident.type}, {incident.address}".strip()
            show = lambda inc=incident, text=label: self.window.controller.set_incident(inc.lat, inc.lon, text, inc)
            text = f"P{incident.priority} {label}"
            if self.window.controller.point is None:  # nothing on the map yet: show it at once
                show()
                self.window.show_notice(f"URGENT INCIDENT: {text}", button="Open nearest live cameras",
                                        slot=self.window.actions_by_id[ActionId.OPEN_NEAREST_LIVE].trigger)
            else:  # the dispatcher is working on something else: offer, never take the map away
                self.window.show_notice(f"URGENT INCIDENT: {text}", button="Show on map", slot=show)

    def _incident(self) -> IncidentContext | None:
        point = self.window.controller.point
        return None if point is None else IncidentContext(point.label, point.incident)

    def _snapshot_saved(self, session_id, path: str, sha256: str) -> None:
        entry = AuditEntry(Action.SNAPSHOT, self.session.user.username, self.session.workstation,
                           details={"session_id": session_id, "file": Path(path).name, "sha256": sha256})
        append = self.services.sink.append if self.services.sink else self.services.audit.append
        self.window.tasks.run(f"snapshot-{sha256}", lambda: append(entry), lambda _r: None,
                              lambda error: self.window.statusBar().showMessage(f"Snapshot not audited: {error}"))

    def lock(self, last_activity: datetime) -> None:
        """Idle too long: hide everything and ask for the password again (feeds keep their time limits).

        The lock screen records the lock it shows (one idle_lock event per lock, and a failure to record it is
        shown on that screen), so it is not recorded here as well."""
        if self.lock_screen is not None:  # already locked: one lock, one event
            return
        self.window.hide()
        self.lock_screen = LockScreen(self.services.auth, self.session, last_activity, time_zone=self.zone)
        self.lock_screen.sig_unlocked.connect(self._unlocked)
        self.lock_screen.sig_logout.connect(self._log_out_locked)
        self.lock_screen.showMaximized()

    def _directory_recheck(self) -> None:
        if self.lock_screen is not None:
            return
        session, now = self.session, _utcnow()
        self.window.tasks.run("directory_recheck", lambda: self.services.auth.directory_recheck(session, now),
                              self._directory_rechecked,
                              lambda error: log.warning("directory re-check failed: %s", error))

    def _directory_rechecked(self, sentence: str | None) -> None:
        if sentence and self.lock_screen is None:
            self.lock(_utcnow())
            self.lock_screen.message.setText(sentence)

    def _unlocked(self, session: Session) -> None:
        self.session = session
        if self.lock_screen is not None:
            self.lock_screen.close()
            self.lock_screen.deleteLater()
            self.lock_screen = None
        self.idle.touch()
        self.window.show()

    def close(self) -> None:
        """End every view and log out (both audited) before the window goes; keep the saved wall layouts."""
        self.idle.stop(self.app)
        self.directory_check.stop()
        if self.lock_screen is not None:
            self.lock_screen.close()
            self.lock_screen.deleteLater()
            self.lock_screen = None
        self.updates.stop()
        if self.layouts_file is not None:
            try:
                self.layouts_file.parent.mkdir(parents=True, exist_ok=True)
                self.layouts_file.write_text(json.dumps({str(k): v for k, v in self.wall.layouts.items()}))
            except OSError:
                log.exception("wall layouts not saved to %s", self.layouts_file)
        self.feeds.close_all()
        self.wall.shutdown()
        try:
            self.services.auth.logout(self.session, _utcnow())
        except Exception:  # noqa: BLE001 - the console is closing; the trail shows the session without its logout
            log.exception("logout not recorded")
