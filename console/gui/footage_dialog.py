"""Footage requests for the current incident: pick cameras and a window, then track each owner's request.

Left: the candidate cameras grouped by owner (owners masked): those within the incident's radius, or those inside an
area drawn on the map ("Draw area on map…", the area stays on the map while the dialog is open); the window,
"Create requests". Right: this
incident's requests; the selected one shows its contact attempts, a form to record one, the owner's contact on
an audited reveal, and the files received (hashed on a worker thread) with the evidence package export.
Every database call and file copy runs through `Tasks`, never on the GUI thread.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QDateTime, Qt, QThreadPool, QTimeZone, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.cameras import NearbyCamera
from console.domain.footage import ContactChannel, ContactOutcome, FootageRequest, Polygon, default_window
from console.domain.geo import haversine_m
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact
from console.domain.users import Permission, User
from console.gui.workers import Tasks
from console.services.contacts import ContactService
from console.services.footage import FootageService
from console.gui.text import keep_plain, plain_label, plain_tooltip

if TYPE_CHECKING:
    from console.gui.map.view import MapView

_STATUS_WORDS = {"open": "Open", "agreed": "Agreed", "declined": "Declined", "no_answer": "No answer",
                 "overwritten": "Overwritten", "received": "Files received"}
_ROLE_CAMERA = Qt.ItemDataRole.UserRole


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%d %b %H:%M")


def _words(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class FootageRequestDialog(QDialog):
    """Footage requests of one incident; open it with `open()` (never blocks the event loop)."""

    sig_message = Signal(str)
    """A sentence for the main window's status bar (what was done, or why not)."""
    sig_drawing = Signal(bool)
    """An area is being drawn on the map (True) or no longer (False): meanwhile map clicks are its corners."""

    def __init__(self, footage: FootageService, contacts: ContactService, user: User | Callable[[], User],
                 incident: Incident, cameras: list[NearbyCamera], tasks: Tasks | None = None,
                 parent: QWidget | None = None, clock: Callable[[], datetime] = _utc_now,
                 ask_reason: Callable[[], str | None] | None = None,
                 choose_files: Callable[[], list[str]] | None = None,
                 choose_export: Callable[[], str | None] | None = None, area_map: MapView | None = None):
        """`area_map`: the window's map, to draw an area of candidate cameras on (no map: no drawing)."""
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.footage, self.contacts, self.incident, self.clock = footage, contacts, incident, clock
        self._user = user if callable(user) else (lambda: user)
        # Its own pool when it has no Tasks of the window's: closing it then waits only for its own jobs.
        self.tasks = tasks or Tasks(self, QThreadPool(self))
        self._own_tasks = tasks is None
        self.ask_reason = ask_reason or self._ask_reason
        self.choose_files = choose_files or self._choose_files
        self.choose_export = choose_export or self._choose_export
        self.cameras = {c.id: c for c in cameras}
        self.radius_cameras = list(cameras)
        self.camera_labels = {c.id: c.label for c in cameras}  # every camera shown so far, for the request list
        self.area_map = area_map
        self.area: list[list[float]] | None = None  # the drawn area's corners, while its cameras are listed
        self.drawing = False
        if area_map is not None:
            area_map.sig_area_drawn.connect(self._area_drawn)
            area_map.sig_area_cancelled.connect(self._area_cancelled)
        self.requests: list[FootageRequest] = []
        self.current: FootageRequest | None = None
        self.owner_names: dict[int, str] = {}  # owner id -> masked name or business name
        self.setWindowTitle(f"Footage requests — {incident.cad_number or f'incident {incident.id}'}")
        self.resize(1280, 760)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self._build_new_request())
        splitter.addWidget(self._build_requests())
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([470, 810])  # owners and camera names readable without widening the column
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        heading = plain_label(f"{incident.cad_number or ''}  {incident.type} — {incident.address}  "
                              f"(opened {_local(incident.opened_at)})")  # CAD text: shown as text
        heading.setProperty("role", "heading")
        layout.addWidget(heading)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        self.sig_message.connect(self.status.setText)
        self.may_act = self._user().may(Permission.FOOTAGE_REQUEST)
        if not self.may_act:  # the service refuses too; this only saves a pointless click
            self.create_button.setEnabled(False)
            self.status.setText(f"The {self._user().role.value} role can read footage requests but not make "
                                "or change them")
        self._fill_cameras()
        self.reload()

    # --- building -----------------------------------------------------------------------------------

    def _build_new_request(self) -> QWidget:
        box = QGroupBox("New request: cameras and time window")
        self.source_label = QLabel(f"Cameras within the incident's radius ({len(self.cameras)})")
        self.source_label.setWordWrap(True)
        self.draw_button = QPushButton("Draw area on map…")
        self.draw_button.setToolTip("Click the map corner by corner; double-click or Finish area to close it")
        self.draw_button.clicked.connect(self.start_drawing)
        self.draw_button.setEnabled(self.area_map is not None)
        self.finish_button = QPushButton("Finish area")
        self.finish_button.setObjectName("primary")
        self.finish_button.clicked.connect(self.finish_drawing)
        self.cancel_draw_button = QPushButton("Cancel")
        self.cancel_draw_button.clicked.connect(self.cancel_drawing)
        self.radius_button = QPushButton("Back to the radius")
        self.radius_button.setToolTip("Remove the area and list the cameras within the incident's radius again")
        self.radius_button.clicked.connect(self.back_to_radius)
        area_row = QHBoxLayout()
        for button in (self.draw_button, self.finish_button, self.cancel_draw_button, self.radius_button):
            button.setAutoDefault(False)  # Enter in the dialog is not a reason to start or end a drawing
            area_row.addWidget(button)
        area_row.addStretch(1)
        self._show_area_buttons()
        self.camera_tree = QTreeWidget()
        self.camera_tree.setHeaderLabels(["Owner / camera", "From incident"])
        self.camera_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.camera_tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.camera_tree.itemChanged.connect(self._camera_checked)
        start, end = default_window(self.incident.opened_at, self.clock(), self.footage.max_window)
        self.window_start = self._time_edit(start)
        self.window_end = self._time_edit(end)
        self.window_hint = QLabel(f"At most {self._hours()} h, ending no later than now (local time).")
        self.window_hint.setWordWrap(True)
        self.create_button = QPushButton("Create requests")
        self.create_button.setObjectName("primary")
        self.create_button.clicked.connect(self.create_requests)
        self.selection_label = QLabel("")
        form = QFormLayout()
        form.addRow("From", self.window_start)
        form.addRow("To", self.window_end)
        layout = QVBoxLayout(box)
        layout.addWidget(self.source_label)
        layout.addLayout(area_row)
        layout.addWidget(self.camera_tree, 1)
        layout.addWidget(self.selection_label)
        layout.addLayout(form)
        layout.addWidget(self.window_hint)
        layout.addWidget(self.create_button)
        return box

    def _hours(self) -> str:
        return f"{self.footage.max_window.total_seconds() / 3600:g}"

    @staticmethod
    def _time_edit(moment: datetime) -> QDateTimeEdit:
        edit = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(moment.timestamp()), QTimeZone.systemTimeZone()))
        edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        edit.setCalendarPopup(True)
        return edit

    def _build_requests(self) -> QWidget:
        panel = QWidget()
        self.request_list = QListWidget()
        self.request_list.setMaximumHeight(120)
        self.request_list.currentRowChanged.connect(self._request_chosen)
        self.detail_title = QLabel("Select a request")
        self.detail_title.setProperty("role", "heading")
        self.contact_label = QLabel("")
        self.contact_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reveal_button = QPushButton("Reveal contact…")
        self.reveal_button.clicked.connect(self.reveal_contact)
        contact_row = QHBoxLayout()
        contact_row.addWidget(self.contact_label, 1)
        contact_row.addWidget(self.reveal_button)

        self.attempts = self._table(["When", "Who", "Channel", "Outcome", "Note"], stretch=4)
        self.channel = QComboBox()
        for channel in ContactChannel:
            self.channel.addItem(_words(channel.value), channel)
        self.outcome = QComboBox()
        for outcome in ContactOutcome:
            self.outcome.addItem(_words(outcome.value), outcome)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note (not in the audit trail)")
        self.record_button = QPushButton("Record attempt")
        self.record_button.clicked.connect(self.record_attempt)
        attempt_row = QHBoxLayout()
        for widget in (self.channel, self.outcome):
            attempt_row.addWidget(widget)
        attempt_row.addWidget(self.note, 1)
        attempt_row.addWidget(self.record_button)

        self.files = self._table(["File", "Size", "SHA-256", "Received"], stretch=2)
        self.attach_button = QPushButton("Attach files…")
        self.attach_button.clicked.connect(self.attach_files)
        self.export_button = QPushButton("Export evidence package…")
        self.export_button.clicked.connect(self.export_package)
        file_row = QHBoxLayout()
        file_row.addStretch(1)
        file_row.addWidget(self.attach_button)
        file_row.addWidget(self.export_button)

        layout = QVBoxLayout(panel)
        layout.addWidget(self._heading("Requests for this incident"))
        layout.addWidget(self.request_list)
        layout.addWidget(self.detail_title)
        layout.addLayout(contact_row)
        layout.addWidget(self._heading("Contact attempts"))
        layout.addWidget(self.attempts, 1)
        layout.addLayout(attempt_row)
        layout.addWidget(self._heading("Files received"))
        layout.addWidget(self.files, 1)
        layout.addLayout(file_row)
        self._show_request(None)
        return panel

    @staticmethod
    def _heading(text: str) -> QLabel:
        label = QLabel(text)
        label.setProperty("role", "heading")
        return label

    @staticmethod
    def _table(headers: list[str], stretch: int) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setAlternatingRowColors(True)
        header = table.horizontalHeader()
        for column in range(len(headers)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        return table

    # --- candidate cameras --------------------------------------------------------------------------

    def _fill_cameras(self) -> None:
        self.camera_tree.blockSignals(True)
        self.camera_tree.clear()
        self.owner_items: dict[int, QTreeWidgetItem] = {}
        for camera in sorted(self.cameras.values(), key=lambda c: c.distance_m):
            owner = self.owner_items.get(camera.owner_id)
            if owner is None:
                owner = QTreeWidgetItem(self.camera_tree, [f"Owner {camera.owner_id}", ""])
                owner.setFlags(owner.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsAutoTristate)
                owner.setCheckState(0, Qt.CheckState.Checked)
                owner.setExpanded(True)
                self.owner_items[camera.owner_id] = owner
            item = QTreeWidgetItem(owner, [camera.label, f"{camera.distance_m:.0f} m"])
            item.setToolTip(0, plain_tooltip(camera.address))
            item.setData(0, _ROLE_CAMERA, camera.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked)
        self.camera_tree.blockSignals(False)
        self._camera_checked()
        owner_ids = list(self.owner_items)
        if owner_ids:
            self.tasks.run("footage-owners", lambda: {i: self.contacts.masked(i) for i in owner_ids},
                           self._show_masked_owners, self.sig_message.emit)

    def _show_masked_owners(self, masked: dict[int, OwnerContact]) -> None:
        for owner_id, contact in masked.items():
            item = self.owner_items.get(owner_id)
            self.owner_names[owner_id] = contact.organisation or contact.name or "erased owner"
            if item is not None:
                item.setText(0, self._owner_text(owner_id))
        self._show_requests(self.requests, self.current.id if self.current else None)

    def _owner_text(self, owner_id: int) -> str:
        name = self.owner_names.get(owner_id)
        return f"Owner {owner_id}  ·  {name}" if name else f"Owner {owner_id}"

    def checked_cameras(self) -> list[int]:
        ids = []
        for owner in self.owner_items.values():
            for i in range(owner.childCount()):
                child = owner.child(i)
                if child.checkState(0) == Qt.CheckState.Checked:
                    ids.append(child.data(0, _ROLE_CAMERA))
        return ids

    def _camera_checked(self, *_args) -> None:
        ids = self.checked_cameras()
        owners = {self.cameras[i].owner_id for i in ids}
        self.selection_label.setText(f"{len(ids)} camera(s) of {len(owners)} owner(s): one request per owner")

    # --- an area drawn on the map -------------------------------------------------------------------

    def _show_area_buttons(self) -> None:
        self.draw_button.setVisible(not self.drawing)
        self.finish_button.setVisible(self.drawing)
        self.cancel_draw_button.setVisible(self.drawing)
        self.radius_button.setVisible(not self.drawing and self.area is not None)

    def start_drawing(self) -> None:
        if self.area_map is None or self.drawing:
            return
        if self.windowModality() != Qt.WindowModality.NonModal:
            # The map must take clicks while the dialog stays open (modality changes only while hidden).
            self.hide()
            self.setWindowModality(Qt.WindowModality.NonModal)
            self.show()
        self.drawing = True
        self._show_area_buttons()
        self.sig_drawing.emit(True)
        self.area_map.start_area()
        self.sig_message.emit("Click the map at each corner of the area; double-click or Finish area to close it, "
                              "Esc or Cancel to stop")

    def finish_drawing(self) -> None:
        if self.area_map is not None and self.drawing:
            self.area_map.finish_area()  # the map answers with sig_area_drawn (or keeps drawing under 3 corners)

    def cancel_drawing(self) -> None:
        if self.area_map is not None and self.drawing:
            self.area_map.cancel_area()  # the map answers with sig_area_cancelled

    def _drawing_ended(self) -> None:
        if self.drawing:
            self.drawing = False
            self._show_area_buttons()
            self.sig_drawing.emit(False)

    def _area_cancelled(self) -> None:
        if not self.drawing:
            return
        self._drawing_ended()
        self.sig_message.emit("Area drawing cancelled")
        if self.area is not None:  # the earlier area is still what the list shows: put it back on the map
            self.area_map.show_area(self.area)

    def _area_drawn(self, points: list[list[float]]) -> None:
        if not self.drawing:
            return  # not ours (the map was drawn on for something else)
        self._drawing_ended()
        self.sig_message.emit(f"Finding the cameras inside the area of {len(points)} corners…")
        incident = self.incident

        def find() -> list[NearbyCamera]:
            found = self.footage.cameras_in_area(Polygon(tuple((lat, lon) for lat, lon in points)))
            # Shown like the radius list: metres from the incident, not from the area's centre.
            return [c._replace(distance_m=haversine_m(incident.lat, incident.lon, c.lat, c.lon)) for c in found]

        self.tasks.run("footage-area", find, lambda cameras: self._show_area_cameras(points, cameras),
                       self.sig_message.emit)

    def _show_area_cameras(self, points: list[list[float]], cameras: list[NearbyCamera]) -> None:
        self.area = points
        self._set_cameras(cameras, f"Cameras inside the area drawn on the map ({len(cameras)})")
        self._show_area_buttons()
        self.sig_message.emit(f"{len(cameras)} camera(s) inside the drawn area" if cameras else
                              "No registered camera inside the drawn area: draw a larger one, or go back to the radius")

    def back_to_radius(self) -> None:
        self.area = None
        if self.area_map is not None:
            self.area_map.show_area([])
        self._set_cameras(self.radius_cameras, f"Cameras within the incident's radius ({len(self.radius_cameras)})")
        self._show_area_buttons()

    def _set_cameras(self, cameras: list[NearbyCamera], source: str) -> None:
        self.cameras = {c.id: c for c in cameras}
        self.camera_labels.update((c.id, c.label) for c in cameras)
        self.source_label.setText(source)
        self._fill_cameras()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if self.drawing and event.key() == Qt.Key.Key_Escape:  # Esc stops the drawing, not the dialog
            self.cancel_drawing()
            return
        super().keyPressEvent(event)

    # --- actions ------------------------------------------------------------------------------------

    def _window(self) -> tuple[datetime, datetime]:
        def utc(edit: QDateTimeEdit) -> datetime:
            return datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), timezone.utc)

        return utc(self.window_start), utc(self.window_end)

    def _failed(self, message: str) -> None:
        self.sig_message.emit(message)
        self.reload()  # e.g. someone else changed the request: show what is stored now

    def create_requests(self) -> None:
        camera_ids, (start, end) = self.checked_cameras(), self._window()
        user, now, incident_id = self._user(), self.clock(), self.incident.id
        self.sig_message.emit("Creating requests…")

        def done(created) -> None:
            self.sig_message.emit(created.summary())
            self.reload(select=created.request_ids[0] if created.request_ids else None)

        self.tasks.run("footage-create", lambda: self.footage.create(user, incident_id, start, end, now, camera_ids),
                       done, self.sig_message.emit)

    def reload(self, select: int | None = None) -> None:
        keep = select if select is not None else (self.current.id if self.current else None)
        self.tasks.run("footage-list", lambda: [self.footage.get(r.id) for r in self.footage.list(self.incident.id)],
                       lambda requests: self._show_requests(requests, keep), self.sig_message.emit)

    def _show_requests(self, requests: list[FootageRequest], keep: int | None) -> None:
        self.requests = requests
        self.request_list.blockSignals(True)
        self.request_list.clear()
        row = -1
        for i, request in enumerate(requests):
            cameras = ", ".join(self.camera_labels.get(c, f"camera {c}")
                                for c in request.camera_ids)
            text = (f"#{request.id}   {_STATUS_WORDS[request.status.value]}   ·   {self._owner_text(request.owner_id)}"
                    f"   ·   {cameras}")
            item = QListWidgetItem(text)
            self.request_list.addItem(item)
            if request.id == keep:
                row = i
        self.request_list.blockSignals(False)
        if row < 0 and requests:
            row = 0
        self.request_list.setCurrentRow(row)
        self._show_request(requests[row] if row >= 0 else None)

    def _request_chosen(self, row: int) -> None:
        self._show_request(self.requests[row] if 0 <= row < len(self.requests) else None)

    def _show_request(self, request: FootageRequest | None) -> None:
        if request is None or self.current is None or request.owner_id != self.current.owner_id:
            self.contact_label.setText("Owner contact hidden: reveal it to call (your reason is recorded).")
        self.current = request
        acting = request is not None and getattr(self, "may_act", True)
        for widget in (self.reveal_button, self.record_button, self.attach_button, self.export_button,
                       self.channel, self.outcome, self.note):
            widget.setEnabled(acting)
        self.attempts.setRowCount(0)
        self.files.setRowCount(0)
        if request is None:
            self.detail_title.setText("No request selected")
            return
        self.export_button.setEnabled(acting and bool(request.files))
        self.detail_title.setText(
            f"Request #{request.id}  ·  {_STATUS_WORDS[request.status.value]}  ·  window "
            f"{_local(request.window_start)}–{request.window_end.astimezone():%H:%M}  ·  by {request.created_by}")
        for attempt in reversed(request.contacts):  # newest first
            self._add_row(self.attempts, [_local(attempt.at), attempt.username, _words(attempt.channel.value),
                                          _words(attempt.outcome.value), attempt.note])
        for f in request.files:
            self._add_row(self.files, [f.file_name, _size(f.size_bytes), f.sha256,
                                       f"{_local(f.received_at)} by {f.received_by}"])

    @staticmethod
    def _add_row(table: QTableWidget, cells: list[str]) -> None:
        row = table.rowCount()
        table.insertRow(row)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(plain_tooltip(text))
            table.setItem(row, column, item)

    def record_attempt(self) -> None:
        request = self.current
        if request is None:
            return
        channel, outcome, note = self.channel.currentData(), self.outcome.currentData(), self.note.text()
        user, now = self._user(), self.clock()

        def done(updated: FootageRequest) -> None:
            self.note.clear()
            self.sig_message.emit(f"Attempt recorded: request #{updated.id} is {_STATUS_WORDS[updated.status.value]}")
            self.reload(select=updated.id)

        self.tasks.run("footage-attempt", lambda: self.footage.record_attempt(
            user, request.id, request.version, channel, outcome, note, now), done, self._failed)

    def reveal_contact(self) -> None:
        request = self.current
        if request is None:
            return
        reason = self.ask_reason()
        if not reason:
            self.sig_message.emit("Owner contact not shown: no reason given")
            return
        user, now = self._user(), self.clock()

        def done(contact: OwnerContact) -> None:
            parts = [contact.organisation, contact.name, contact.phone, contact.email]
            self.contact_label.setText("   ".join(p for p in parts if p) or "No contact on record")
            self.sig_message.emit("Owner contact shown; the reveal is in the audit trail")

        self.tasks.run("footage-reveal", lambda: self.contacts.reveal(
            user, request.owner_id, reason, now, incident_id=request.incident_id), done, self.sig_message.emit)

    def attach_files(self) -> None:
        request = self.current
        if request is None:
            return
        paths = [Path(p) for p in self.choose_files() if p]
        if not paths:
            return
        user, now = self._user(), self.clock()
        self.attach_button.setEnabled(False)
        self.sig_message.emit(f"Copying and hashing {len(paths)} file(s)…")

        def done(updated: FootageRequest) -> None:
            self.sig_message.emit(f"{len(paths)} file(s) attached to request #{updated.id}, SHA-256 recorded")
            self.reload(select=updated.id)

        self.tasks.run("footage-attach", lambda: self.footage.attach_files(user, request.id, request.version, paths, now),
                       done, self._failed)

    def export_package(self) -> None:
        request = self.current
        if request is None:
            return
        target = self.choose_export()
        if not target:
            return
        user, now = self._user(), self.clock()
        self.sig_message.emit("Writing the evidence package…")
        self.tasks.run("footage-export", lambda: self.footage.export_package(user, [request.id], Path(target), now),
                       lambda manifest: self.sig_message.emit(
                           f"Evidence package written to {target}: {len(manifest['files'])} file(s), "
                           f"package {manifest['package_id']}"),
                       self.sig_message.emit)

    # --- asking the user ----------------------------------------------------------------------------

    def _ask_reason(self) -> str | None:
        reason, ok = QInputDialog.getText(self, "Reveal owner contact",
                                          "Why do you need the owner's contact? (recorded in the audit trail)",
                                          QLineEdit.EchoMode.Normal, "")
        return reason.strip() if ok else None

    def _choose_files(self) -> list[str]:
        return QFileDialog.getOpenFileNames(self, "Attach files received from the owner")[0]

    def _choose_export(self) -> str | None:
        name = f"evidence-{self.incident.cad_number or self.incident.id}-request-{self.current.id}.zip"
        return QFileDialog.getSaveFileName(self, "Export evidence package", name, "Evidence package (*.zip)")[0] or None

    def done(self, result: int) -> None:
        if self.area_map is not None:  # the area belongs to this dialog: it leaves the map with it
            self.area_map.sig_area_drawn.disconnect(self._area_drawn)
            self.area_map.sig_area_cancelled.disconnect(self._area_cancelled)
            self.area_map.cancel_area()
            self.area_map = None
            self._drawing_ended()
        if self._own_tasks:
            self.tasks.close()
        super().done(result)
