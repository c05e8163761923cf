"""Ties the incident, the nearby list, the map and the camera detail together; all slow work goes to workers.

The controller owns no widgets: the window hands it the panels and the map, and it keeps them in step (one
selected camera everywhere, one incident, one radius). Results for a superseded incident are dropped by `Tasks`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox

from console.domain.incidents import Incident
from console.domain.sharing import SharingState
from console.gui.dialogs import CandidatesDialog
from console.gui.map.view import MapView
from console.gui.panels.camera_detail import CameraDetailPanel
from console.gui.panels.incident_panel import IncidentPanel
from console.gui.panels.nearby_panel import NearbyPanel
from console.gui.workers import Tasks
from console.services.incident_view import IncidentView, NearbyAnswer, ShownCamera

if TYPE_CHECKING:  # type hints only: geopy loads only when a geocoder is configured
    from console.geo.geocoder import Candidate, Geocoder

log = logging.getLogger(__name__)
_STATE_CODE = {SharingState.REGISTERED: 0, SharingState.LIVE_NOT_NOW: 1, SharingState.LIVE_NOW: 2}


@dataclass(frozen=True)
class IncidentPoint:
    lat: float
    lon: float
    label: str
    incident: Incident | None = None  # the console incident, when picked from the open incidents


def map_rows(cameras: list[ShownCamera]) -> list[list]:
    """The compact rows the page's setCameras()/setContext() take (see console_map.js)."""
    rows = []
    for shown in cameras:
        cam, fov = shown.camera, shown.camera.field_of_view
        rows.append([cam.id, round(cam.lat, 7), round(cam.lon, 7), _STATE_CODE[shown.state], int(shown.inside),
                     cam.label, round(cam.distance_m, 1), fov.bearing_deg if fov else None,
                     fov.angle_deg if fov else None, fov.range_m if fov else None])
    return rows


class IncidentController(QObject):
    sig_nearby_shown = Signal(object)
    """The list is filled and the map has painted the markers for this NearbyAnswer."""
    sig_context_shown = Signal(int)
    """The cameras around the radius are on the map too (how many), after sig_nearby_shown."""
    sig_camera_shown = Signal(int)
    """The detail panel shows this camera."""
    sig_status = Signal(str)
    """A short status-bar message."""
    sig_placing = Signal(bool)
    """Place-incident mode began (True: the next map click places the incident) or ended."""

    def __init__(self, view: IncidentView, geocoder: Geocoder | None, tasks: Tasks, incident: IncidentPanel,
                 nearby: NearbyPanel, detail: CameraDetailPanel, map_view: MapView, ui_dir: Path,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.view, self.geocoder, self.tasks = view, geocoder, tasks
        self.incident_panel, self.nearby, self.detail, self.map = incident, nearby, detail, map_view
        self.ui_dir = ui_dir
        self.point: IncidentPoint | None = None
        self.answer: NearbyAnswer | None = None
        self.selected: int | None = None
        self.context: dict[int, ShownCamera] = {}
        self.last_timing: dict[str, float] = {}
        self.map_click_sets_incident = True
        # Once there is an incident, a map click moves it only in "place incident" mode (Ctrl+M), never by accident.
        self.placing = False

        incident.sig_point_entered.connect(lambda lat, lon, label: self.set_incident(lat, lon, label))
        incident.sig_address_search.connect(self.look_up)
        incident.sig_incident_picked.connect(
            lambda inc: self.set_incident(inc.lat, inc.lon, f"{inc.cad_number or ''} {inc.type}, {inc.address}".strip(),
                                          inc))
        incident.sig_radius_changed.connect(self.set_radius)
        nearby.sig_camera_selected.connect(self.select)
        map_view.sig_marker_clicked.connect(self.select)
        map_view.sig_map_clicked.connect(self._map_clicked)
        detail.sig_grant_expired.connect(lambda _id: self.refresh())

    # --- the incident --------------------------------------------------------------------------

    def set_incident(self, lat: float, lon: float, label: str, incident: Incident | None = None) -> None:
        self.point = IncidentPoint(lat, lon, label, incident)
        self.incident_panel.show_incident(label, lat, lon, incident)
        self.map.set_incident(lat, lon, self.incident_panel.radius_m(), label, True)
        self.refresh(fit=True)

    def set_radius(self, radius_m: float) -> None:
        if self.incident_panel.radius_m() != radius_m:
            self.incident_panel.radius.blockSignals(True)
            self.incident_panel.radius.setValue(int(radius_m))
            self.incident_panel.radius.blockSignals(False)
        if self.point is not None:
            self.map.set_radius(radius_m)
            self.refresh()

    def refresh(self, fit: bool = False) -> None:
        """Search again around the current incident (new incident, new radius, a grant ran out)."""
        point = self.point
        if point is None:
            return
        radius = self.incident_panel.radius_m()
        started = time.perf_counter()
        self.sig_status.emit("Searching for cameras…")
        self.tasks.run("nearby", lambda: self.view.nearby(point.lat, point.lon, radius),
                       lambda answer: self._show(answer, started), self._failed)

    def _show(self, answer: NearbyAnswer, started: float) -> None:
        queried = time.perf_counter()
        self.answer = answer
        self.nearby.show_answer(answer)

        def painted(count) -> None:
            if self.answer is not answer:
                return  # a newer search replaced this one while the page painted
            done = time.perf_counter()
            self.last_timing = {"query_s": queried - started, "paint_s": done - queried, "total_s": done - started,
                                "markers": int(count or 0)}
            inside = len(answer.inside)
            self.sig_status.emit(f"{inside} camera{'' if inside == 1 else 's'} within {answer.radius_m:.0f} m")
            self.sig_nearby_shown.emit(answer)
            self._load_context(answer)

        self.map.set_cameras(map_rows(answer.cameras), painted)
        if self.selected is not None:
            if self.nearby.select_camera(self.selected) or any(c.camera.id == self.selected for c in answer.cameras):
                self.map.select(self.selected)
            else:
                self.selected = None
                self.detail.clear()

    def _load_context(self, answer: NearbyAnswer) -> None:
        """Second step, after the list and the highlighted markers: the cameras around them, for the clusters."""
        def shown(context: list[ShownCamera]) -> None:
            if self.answer is answer:
                self.context = {c.camera.id: c for c in context}
                self.map.set_context(map_rows(context), lambda count: self._context_painted(answer, count))

        self.tasks.run("context", lambda: self.view.context(answer.lat, answer.lon, answer.radius_m), shown,
                       self._failed)

    def _context_painted(self, answer: NearbyAnswer, count) -> None:
        if self.answer is answer:
            self.sig_context_shown.emit(int(count or 0))

    def _failed(self, message: str) -> None:
        self.incident_panel.show_message(message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."))
        self.sig_status.emit("Search failed")

    def start_placing(self) -> None:
        """The next map click puts the incident there (Incident menu, Ctrl+M); asked again, it is cancelled."""
        self.placing = not self.placing
        self.sig_placing.emit(self.placing)
        self.sig_status.emit("Click the map where the incident is (Ctrl+M again cancels)." if self.placing
                             else "Placing the incident cancelled.")

    def _map_clicked(self, lat: float, lon: float) -> None:
        if not self.map_click_sets_incident:
            return  # a form is using map clicks (the phone intake places its site)
        if self.point is not None and not self.placing:
            self.sig_status.emit("The incident stays where it is: to move it, choose Place incident on map "
                                 "(Ctrl+M), then click.")
            return
        if self.placing:
            self.placing = False
            self.sig_placing.emit(False)
        self.set_incident(lat, lon, f"Map point {lat:.5f}, {lon:.5f}")

    # --- geocoding -----------------------------------------------------------------------------

    def look_up(self, address: str) -> None:
        if self.geocoder is None or not self.geocoder.configured:
            self.incident_panel.show_message(
                "Addresses cannot be looked up here: type coordinates (42.1487, -72.6079) or pick an open incident.",
                "No geocoder is set up: an administrator sets geocoder_url (rtic-console config set).")
            return
        self.sig_status.emit(f"Looking up {address}…")
        geocoder = self.geocoder
        self.tasks.run("geocode", lambda: geocoder.lookup(address),
                       lambda found: self._geocoded(address, found), self._geocode_failed)

    def _geocoded(self, address: str, found: list[Candidate]) -> None:
        if not found:
            self.incident_panel.show_message(
                f"No place matches “{address}”: check the spelling, add the town, or type coordinates.")
            self.sig_status.emit("Address not found")
            return
        if len(found) == 1:
            self._take_candidate(found[0])
            return
        dialog = CandidatesDialog(self.ui_dir, address, found, self.nearby.window())
        dialog.setObjectName("candidatesDialog")
        dialog.sig_chosen.connect(self._take_candidate)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _take_candidate(self, candidate: Candidate) -> None:
        """A place outside the service area becomes the incident only when the user says so (default: No)."""
        if candidate.inside is not False:
            self.set_incident(candidate.lat, candidate.lon, candidate.label)
            return
        question = QMessageBox(QMessageBox.Icon.Warning, "Outside the service area",
                               f"The geocoder placed this address outside the service area:\n\n{candidate.label}\n"
                               f"({candidate.lat:.5f}, {candidate.lon:.5f})\n\nUse this place for the incident?",
                               QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.nearby.window())
        question.setTextFormat(Qt.TextFormat.PlainText)  # the label is the geocoder's text, never markup
        question.setDefaultButton(QMessageBox.StandardButton.No)
        question.setEscapeButton(QMessageBox.StandardButton.No)
        question.setObjectName("outsideServiceAreaQuestion")
        question.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button) -> None:
            if question.standardButton(button) == QMessageBox.StandardButton.Yes:
                self.set_incident(candidate.lat, candidate.lon, candidate.label)
            else:
                self.sig_status.emit("Place outside the service area not taken")

        question.buttonClicked.connect(answered)
        question.open()

    def _geocode_failed(self, message: str) -> None:
        self.incident_panel.show_message(message[:1].upper() + message[1:] + ".")
        self.sig_status.emit("Geocoder unavailable")

    # --- the selected camera -------------------------------------------------------------------

    def select(self, camera_id: int) -> None:
        if camera_id == self.selected:
            return
        self.selected = camera_id
        self.nearby.select_camera(camera_id)
        self.map.select(camera_id)
        shown = next((c for c in (self.answer.cameras if self.answer else []) if c.camera.id == camera_id),
                     self.context.get(camera_id))
        distance = (shown.camera.distance_m, shown.camera.bearing_deg) if shown else (None, None)
        self.tasks.run("detail", lambda: self.view.detail(camera_id),
                       lambda detail: self._detail(detail, *distance), self._failed)

    def _detail(self, detail, distance_m, bearing_deg) -> None:
        if detail.camera.id != self.selected:
            return
        self.detail.show_detail(detail, distance_m, bearing_deg)
        self.sig_camera_shown.emit(detail.camera.id)

    def live_now_selected(self) -> int | None:
        detail = self.detail.detail
        if detail is not None and detail.state is SharingState.LIVE_NOW:
            return detail.camera.id
        return None
