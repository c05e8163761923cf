"""The registry and footage tools of a signed-in console, each shown only to the roles that may use it.

Incident → Footage request… (who works incidents); Registry → Phone intake…, Outreach calls, Import a portal
export…, Owner alert for the selected camera…, Edit camera…, Remove camera…, Erase owner of the selected camera…
(outreach staff and administrators). While the phone intake form is open, a click on the map places its site
(and does not move the incident), and so does drawing a footage request's area. Each tool is its own dialog or
panel; this module only builds them with the session's services (ToolServices, built by the composition root in
console/app.py) and puts them in the menus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog

from console.domain.changes import ChangeKind
from console.domain.users import Permission
from console.gui.camera_edit_dialog import CameraEditDialog, confirm
from console.gui.footage_dialog import FootageRequestDialog
from console.gui.import_dialog import PortalImport
from console.gui.intake_dialog import IntakeDialog
from console.gui.panels.outreach import OutreachPanel
from console.services.bulletins import BulletinService
from console.services.footage import FootageService
from console.services.intake import IntakeService
from console.services.outreach import OutreachService
from console.services.owner_alerts import DEFAULT_MINUTES, OwnerAlertService
from console.services.registry_edits import EditableCamera, RegistryEditService
from console.local_time import clock_text


@dataclass(frozen=True)
class ToolServices:
    """The services behind the registry and footage tools, built by the composition root for the signed-in
    workstation; each tool is shown only to the roles that may use it (the services check the role again)."""

    footage: FootageService
    intake: IntakeService
    alerts: OwnerAlertService
    edits: RegistryEditService
    outreach: OutreachService
    import_portal: Callable[..., dict]
    """(path, *, username, workstation, progress, dry_run, partial, rejects) -> summary: a portal export imported."""
    bulletins: BulletinService | None = None  # incident bulletins (console/gui/bulletins.py)
    wake_outbox: Callable[[], None] | None = None  # the bulletin outbox delivers at once (a bulletin was just sent)
    outbox: object | None = None  # the bulletin outbox's runner (services.bulletin_outbox.OutboxRunner), started by the root


class ActionIds:
    FOOTAGE_REQUEST = "footage_request"
    PHONE_INTAKE = "phone_intake"
    IMPORT_PORTAL = "import_portal"
    RAISE_ALERT = "raise_alert"
    EDIT_CAMERA = "edit_camera"
    REMOVE_CAMERA = "remove_camera"
    ERASE_OWNER = "erase_owner"


ERASE_TEXT = (
    "<p><b>Erased for good</b> (it cannot be undone): the owner's name, organisation, phone, e-mail and address; "
    "the names of their sites (and a resident's home address); business name, phone and notes of outreach calls "
    "with them; values in the change history that could name them.</p>"
    "<p><b>Every camera of this owner</b> (not only the selected one) is removed from the registry: no live view, "
    "stream credentials forgotten.</p>"
    "<p><b>Kept</b>: the owner's number (#{owner}) and the removed camera rows, so the audit trail and footage "
    "requests that name them still verify.</p>")


class RegistryTools(QObject):
    def __init__(self, window, signed, services):
        """`signed`: the SignedInConsole (its `session` changes when the lock screen signs someone in again);
        `services`: its SessionServices, whose `tools` these menus use."""
        super().__init__(window)
        self.window, self.signed, self.services = window, signed, services
        tools = services.tools
        user = signed.session.user
        self.footage_dialog: FootageRequestDialog | None = None
        self.outreach: OutreachPanel | None = None
        self.intake_dialog: IntakeDialog | None = None
        self.edit_dialog: CameraEditDialog | None = None
        if user.may(Permission.FOOTAGE_REQUEST):
            self.footage = tools.footage
            window.add_action(ActionIds.FOOTAGE_REQUEST, "Footage request…", "Ctrl+Shift+F", self.open_footage,
                              window.incident_menu)
        if user.may(Permission.REGISTRY_EDIT):
            menu = window.menuBar().addMenu("&Registry")
            self.intake, self.alerts = tools.intake, tools.alerts
            window.add_action(ActionIds.PHONE_INTAKE, "Phone intake…", "Ctrl+Shift+N", self.open_intake, menu)
            window.add_action(ActionIds.RAISE_ALERT, "Owner alert for the selected camera…", None, self.raise_alert,
                              menu)
            window.add_action(ActionIds.IMPORT_PORTAL, "Import a portal export…", None, self.import_portal, menu)
            menu.addSeparator()
            self.edits = tools.edits
            window.add_action(ActionIds.EDIT_CAMERA, "Edit camera…", "Ctrl+Shift+E", self.edit_camera, menu)
            window.add_action(ActionIds.REMOVE_CAMERA, "Remove camera…", None, self.remove_camera, menu)
            window.add_action(ActionIds.ERASE_OWNER, "Erase owner of the selected camera…", None, self.erase_owner,
                              menu)
            menu.addSeparator()
            self.outreach = OutreachPanel(tools.outreach, user, window.tasks)
            dock = window.add_panel("outreach", "Outreach calls", self.outreach,
                                    Qt.DockWidgetArea.LeftDockWidgetArea)
            if "nearby" in window.docks:
                window.tabifyDockWidget(window.docks["nearby"], dock)
                window.docks["nearby"].raise_()
            menu.addAction(dock.toggleViewAction())
            self.outreach.refresh()

    def changed(self, changes) -> None:
        """Other consoles' changes: the outreach list follows its calls, an open camera editor hears of its camera,
        open footage requests show others' calls and files."""
        if self.outreach is not None and any(c.kind is ChangeKind.OUTREACH for c in changes):
            self.outreach.refresh()
        editor = self.edit_dialog
        if editor is not None and editor.isVisible() and any(
                c.kind is ChangeKind.CAMERA and c.record_id == editor.camera_id for c in changes):
            editor.changed_elsewhere()
        footage = self.footage_dialog
        if footage is not None and footage.isVisible() and any(c.kind is ChangeKind.FOOTAGE for c in changes):
            footage.reload()  # another console recorded a call or a file: the list and the detail follow

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
                                                   point.incident, cameras, self.window.tasks, self.window,
                                                   area_map=self.window.map, time_zone=self.signed.zone)
        self.footage_dialog.sig_message.connect(lambda text: self.window.statusBar().showMessage(text, 10000))
        self.footage_dialog.sig_drawing.connect(self._footage_area_drawing)
        self.footage_dialog.open()

    def _footage_area_drawing(self, drawing: bool) -> None:
        """While an area is drawn, map clicks are its corners: they must not move the incident."""
        self.window.controller.map_click_sets_incident = not drawing and self.intake_dialog is None

    # --- registry ---------------------------------------------------------------------------------

    def open_intake(self) -> None:
        """The intake form, not modal: while it is open a click on the map places its site (or the camera being
        placed), not the incident."""
        if self.intake_dialog is not None:
            self.intake_dialog.raise_()
            self.intake_dialog.activateWindow()
            return
        dialog = IntakeDialog(self.intake, self.signed.session.user, self.window.parts.geocoder, self.window.tasks,
                              self.window)
        dialog.sig_registered.connect(lambda _r: self.window.statusBar().showMessage("Registration saved", 10000))
        map_view, controller = self.window.map, self.window.controller
        controller.map_click_sets_incident = False
        map_view.sig_map_clicked.connect(self._place_intake_site)

        def closed(_result: int) -> None:
            map_view.sig_map_clicked.disconnect(self._place_intake_site)
            controller.map_click_sets_incident = True
            self.intake_dialog = None

        dialog.finished.connect(closed)
        self.intake_dialog = dialog
        dialog.setModal(False)
        dialog.show()
        self.window.statusBar().showMessage("Phone intake: click the map to place the site when the address does not "
                                            "look up.", 10000)

    def _place_intake_site(self, lat: float, lon: float) -> None:
        if self.intake_dialog is None:
            return
        what = self.intake_dialog.place_at(lat, lon)
        self.window.statusBar().showMessage(f"Intake {what} placed at {lat:.6f}, {lon:.6f}", 10000)

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
                                  f"{clock_text(grant.expires_at, self.signed.zone, seconds=False)}", 10000),
                              lambda error: self.window.statusBar().showMessage(f"Alert not entered: {error}", 10000))

    def import_portal(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import a portal export", str(Path.home()),
                                              "Portal exports (*.csv *.geojson *.json)")
        if not path:
            return
        import_portal, user = self.services.tools.import_portal, self.signed.session.user
        workstation, bar = self.signed.session.workstation, self.window.statusBar()

        def run(progress, **options) -> dict:  # on the worker thread: the dry run, then the import
            return import_portal(Path(path), username=user.username, workstation=workstation, progress=progress,
                                 **options)

        self.portal_import = PortalImport(self.window.tasks, run, Path(path), self.window)
        self.portal_import.sig_finished.connect(lambda line: bar.showMessage(line, 30000))
        self.portal_import.sig_cancelled.connect(lambda line: bar.showMessage(line, 15000))
        self.portal_import.sig_failed.connect(
            lambda error: bar.showMessage(f"Import failed: {error.splitlines()[0] if error else ''}", 15000))
        self.portal_import.start()

    # --- camera edits, removal, erasure ------------------------------------------------------------

    def _selected_camera(self, what: str) -> int | None:
        camera_id = self.window.controller.selected
        if camera_id is None:
            self.window.statusBar().showMessage(f"Select a camera on the map or in the list first, then {what}.", 8000)
        return camera_id

    def _saved(self, text: str) -> None:
        """Say what was saved once the map and list show it (the new search's own status would hide it)."""
        controller, bar = self.window.controller, self.window.statusBar()
        if controller.point is None:
            bar.showMessage(text, 15000)
            return

        def shown(_answer) -> None:
            controller.sig_nearby_shown.disconnect(shown)
            bar.showMessage(text, 15000)

        controller.sig_nearby_shown.connect(shown)
        controller.refresh()

    def edit_camera(self) -> None:
        camera_id = self._selected_camera("edit it")
        if camera_id is None:
            return
        if self.edit_dialog is not None:
            self.edit_dialog.close()
        self.edit_dialog = CameraEditDialog(self.edits, lambda: self.signed.session.user, camera_id,
                                            parent=self.window)
        self.edit_dialog.sig_saved.connect(
            lambda version: self._saved(f"Camera {camera_id} saved (version {version})"))
        self.edit_dialog.open()
        self.edit_dialog.load()

    def remove_camera(self) -> None:
        camera_id = self._selected_camera("remove it")
        if camera_id is None:
            return
        self.window.tasks.run("registry-remove-load", lambda: self.edits.camera_for_edit(camera_id),
                              self._confirm_removal,
                              lambda error: self.window.statusBar().showMessage(f"Not removed: {error}", 10000))

    def _confirm_removal(self, camera: EditableCamera) -> None:
        label = camera.values.get("label")
        ok, reason = confirm(
            self.window, "Remove camera", f"Remove camera {camera.camera_id} “{label}” from the registry?",
            "<p>It will no longer appear near incidents and can never be watched live; its stream credentials are "
            "forgotten. The owner and their other cameras stay.</p><p><b>Kept</b>: the camera's record, history and "
            "audit events.</p>", "Remove camera", "Why (e.g. owner asked by phone on …)")
        if not ok:
            return
        user = self.signed.session.user
        self.window.tasks.run(
            "registry-remove", lambda: self.edits.remove_camera(user, camera.camera_id, camera.version, reason),
            lambda _r: self._saved(f"Camera {camera.camera_id} removed from the registry"),
            lambda error: self.window.statusBar().showMessage(f"Not removed: {error}", 10000))

    def erase_owner(self) -> None:
        camera_id = self._selected_camera("erase its owner")
        if camera_id is None:
            return
        self.window.tasks.run("registry-erase-load", lambda: self.edits.camera_for_edit(camera_id),
                              self._confirm_erasure,
                              lambda error: self.window.statusBar().showMessage(f"Not erased: {error}", 10000))

    def _confirm_erasure(self, camera: EditableCamera) -> None:
        owner = camera.owner_id
        ok, _ = confirm(self.window, "Erase owner", f"Erase owner #{owner} of camera {camera.camera_id}?",
                        ERASE_TEXT.format(owner=owner), "Erase owner for good")
        if not ok:
            return
        user = self.signed.session.user
        self.window.tasks.run(
            "registry-erase", lambda: self.edits.erase_owner(user, owner),
            lambda erasure: self._saved(f"Owner #{owner} erased; {len(erasure.cameras_removed)} camera(s) removed"),
            lambda error: self.window.statusBar().showMessage(f"Not erased: {error}", 10000))
