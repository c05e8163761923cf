"""The registry and footage tools of a signed-in console, each shown only to the roles that may use it.

Incident → Footage request… (who works incidents); Registry → Phone intake…, Outreach calls, Import a portal
export…, Owner alert for the selected camera… (outreach staff and administrators). Each tool is its own dialog or
panel; this module only builds them with the session's services and puts them in the menus.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog

from console.domain.changes import ChangeKind
from console.domain.users import Permission
from console.gui.footage_dialog import FootageRequestDialog
from console.gui.import_dialog import ImportProgressDialog
from console.gui.intake_dialog import IntakeDialog
from console.gui.panels.outreach import OutreachPanel
from console.services.footage import FootageService
from console.services.intake import IntakeService
from console.services.outreach import OutreachService
from console.services.owner_alerts import DEFAULT_MINUTES, OwnerAlertService
from console.services.registry_import import import_file


class ActionIds:
    FOOTAGE_REQUEST = "footage_request"
    PHONE_INTAKE = "phone_intake"
    IMPORT_PORTAL = "import_portal"
    RAISE_ALERT = "raise_alert"


class RegistryTools(QObject):
    def __init__(self, window, signed, services, cipher=None):
        """`signed`: the SignedInConsole (its `session` changes when the lock screen signs someone in again)."""
        super().__init__(window)
        self.window, self.signed, self.services = window, signed, services
        database, audit = services.registry.database, services.audit
        session = signed.session
        user = session.user
        self.footage_dialog: FootageRequestDialog | None = None
        self.outreach: OutreachPanel | None = None
        if user.may(Permission.FOOTAGE_REQUEST):
            self.footage = FootageService.from_settings(database, audit, window.parts.settings, session.workstation)
            window.add_action(ActionIds.FOOTAGE_REQUEST, "Footage request…", "Ctrl+Shift+F", self.open_footage,
                              window.incident_menu)
        if user.may(Permission.REGISTRY_EDIT):
            menu = window.menuBar().addMenu("&Registry")
            self.intake = IntakeService(database, audit, cipher, session.workstation)
            self.alerts = OwnerAlertService(database, audit, session.workstation)
            window.add_action(ActionIds.PHONE_INTAKE, "Phone intake…", "Ctrl+Shift+N", self.open_intake, menu)
            window.add_action(ActionIds.RAISE_ALERT, "Owner alert for the selected camera…", None, self.raise_alert,
                              menu)
            window.add_action(ActionIds.IMPORT_PORTAL, "Import a portal export…", None, self.import_portal, menu)
            self.outreach = OutreachPanel(OutreachService(database, audit, cipher, session.workstation), user,
                                          window.tasks)
            dock = window.add_panel("outreach", "Outreach calls", self.outreach,
                                    Qt.DockWidgetArea.LeftDockWidgetArea)
            if "nearby" in window.docks:
                window.tabifyDockWidget(window.docks["nearby"], dock)
                window.docks["nearby"].raise_()
            menu.addAction(dock.toggleViewAction())
            self.outreach.refresh()

    def changed(self, changes) -> None:
        """Other consoles' changes: the outreach list follows its calls."""
        if self.outreach is not None and any(c.kind is ChangeKind.OUTREACH for c in changes):
            self.outreach.refresh()

    # --- footage ----------------------------------------------------------------------------------

    def open_footage(self) -> None:
        point = self.window.controller.point
        if point is None or point.incident is None:
            self.window.statusBar().showMessage(
                "Footage requests belong to a registered incident: pick one from the open incidents first.", 10000)
            return
        answer = self.window.controller.answer
        cameras = [shown.camera for shown in answer.inside] if answer is not None else []
        if self.footage_dialog is not None:
            self.footage_dialog.close()
        self.footage_dialog = FootageRequestDialog(self.footage, self.services.contacts, lambda: self.signed.session.user,
                                                   point.incident, cameras, self.window.tasks, self.window)
        self.footage_dialog.sig_message.connect(lambda text: self.window.statusBar().showMessage(text, 10000))
        self.footage_dialog.open()

    # --- registry ---------------------------------------------------------------------------------

    def open_intake(self) -> None:
        dialog = IntakeDialog(self.intake, self.signed.session.user, self.window.parts.geocoder, self.window.tasks,
                              self.window)
        dialog.sig_registered.connect(lambda _r: self.window.statusBar().showMessage("Registration saved", 10000))
        dialog.open()

    def raise_alert(self) -> None:
        """Staff enter an owner's alert taken by phone: the selected camera is shareable for the minutes given."""
        camera_id = self.window.controller.selected
        if camera_id is None:
            self.window.statusBar().showMessage("Select the owner's camera first, then enter the alert.", 8000)
            return
        minutes, ok = QInputDialog.getInt(self.window, "Owner alert",
                                          f"The owner allows live view of camera {camera_id} for (minutes):",
                                          DEFAULT_MINUTES, 1, self.alerts.max_minutes)
        if not ok:
            return
        user, now = self.signed.session.user, datetime.now(timezone.utc)
        self.window.tasks.run("raise-alert", lambda: self.alerts.raise_alert_as(user, now, camera_id=camera_id,
                                                                                minutes=minutes),
                              lambda grant: self.window.statusBar().showMessage(
                                  f"Owner alert entered: camera {camera_id} until "
                                  f"{grant.expires_at.astimezone():%H:%M}", 10000),
                              lambda error: self.window.statusBar().showMessage(f"Alert not entered: {error}", 10000))

    def import_portal(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import a portal export", str(Path.home()),
                                              "Portal exports (*.csv *.geojson *.json)")
        if not path:
            return
        database, cipher, user = self.services.registry.database, self.intake.cipher, self.signed.session.user
        dialog = ImportProgressDialog(
            self.window.tasks,
            lambda progress: import_file(database, cipher, Path(path), username=user.username,
                                         workstation=self.signed.session.workstation, progress=progress),
            Path(path).name, self.window)
        dialog.sig_finished.connect(lambda summary: self.window.statusBar().showMessage(
            f"Imported {Path(path).name}: {summary}", 15000))
        dialog.sig_failed.connect(lambda error: self.window.statusBar().showMessage(f"Import failed: {error}", 15000))
        dialog.start()
