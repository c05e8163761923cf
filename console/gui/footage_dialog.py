"""Footage requests for the current incident: pick cameras and a window, then track each owner's request.

Left: the candidate cameras grouped by owner (owners masked): those within the incident's radius, or those inside an
area drawn on the map ("Draw area on map…", the area stays on the map while the dialog is open); the window,
"Create requests". Right: this
incident's requests; the selected one shows its contact attempts, a form to record one, the owner's contact on
an audited reveal, and the files received (hashed on a worker thread) with the evidence package export.
Every database call and file copy runs through `Tasks`, never on the GUI thread.

This module builds the dialog and shows what it holds; the area drawing (footage_area.py), the service calls
(footage_calls.py) and the files (footage_files.py) are its parts, mixed into the one dialog.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QDateTime, Qt, QThreadPool, QTimeZone, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateTimeEdit,
    QDialog,
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
from console.domain.footage import ContactChannel, ContactOutcome, FootageRequest, default_window
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact
from console.domain.users import Permission, User
from console.gui.footage_area import AreaDrawing
from console.gui.footage_calls import STATUS_WORDS, FootageCalls
from console.gui.footage_files import FootageFiles, size_text
from console.gui.workers import Tasks
from console.services.contacts import ContactService
from console.services.footage import FootageService
from console.gui.text import keep_plain, plain_label, plain_tooltip

if TYPE_CHECKING:
    from console.gui.map.view import MapView

_ROLE_CAMERA = Qt.ItemDataRole.UserRole


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _local(moment: datetime, zone: tzinfo | None = None) -> str:
    """A time as a person reads it: in the agency's zone (None: the workstation's), with the zone's name."""
    return moment.astimezone(zone).strftime("%d %b %H:%M %Z").strip()


def zone_name(zone: tzinfo | None, at: datetime) -> str:
    """The zone's abbreviation at `at` ("EST"), for labels that say which zone a time is in."""
    return at.astimezone(zone).strftime("%Z") or "local time"


def _qt_zone(zone: tzinfo | None) -> QTimeZone:
    key = getattr(zone, "key", None)  # a zoneinfo.ZoneInfo; anything else reads as the workstation's zone
    found = QTimeZone(key.encode()) if isinstance(key, str) else QTimeZone.systemTimeZone()
    return found if found.isValid() else QTimeZone.systemTimeZone()


def _words(value: str) -> str:
    return value.replace("_", " ").capitalize()


class FootageRequestDialog(AreaDrawing, FootageCalls, FootageFiles, QDialog):
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
                 choose_export: Callable[[], str | None] | None = None, area_map: MapView | None = None,
                 time_zone: tzinfo | None = None):
        """`area_map`: the window's map, to draw an area of candidate cameras on (no map: no drawing).
        `time_zone`: the agency's (setting time_zone) for every time shown and typed; None: the workstation's."""
        super().__init__(parent)
        self.zone = time_zone
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
        self._follow_area_map()
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
                              f"(opened {_local(incident.opened_at, time_zone)})")  # CAD text: shown as text
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
        area_row = self._build_area_row()
        self.camera_tree = QTreeWidget()
        self.camera_tree.setHeaderLabels(["Owner / camera", "From incident"])
        self.camera_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.camera_tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.camera_tree.itemChanged.connect(self._camera_checked)
        start, end = default_window(self.incident.opened_at, self.clock(), self.footage.max_window)
        self.window_start = self._time_edit(start, self.zone)
        self.window_end = self._time_edit(end, self.zone)
        zone = zone_name(self.zone, start)
        self.window_hint = QLabel(f"At most {self._hours()} h, ending no later than now; times in {zone}.")
        self.window_hint.setWordWrap(True)
        self.create_button = QPushButton("Create requests")
        self.create_button.setObjectName("primary")
        self.create_button.clicked.connect(self.create_requests)
        self.selection_label = QLabel("")
        form = QFormLayout()
        form.addRow(f"From ({zone})", self.window_start)
        form.addRow(f"To ({zone})", self.window_end)
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
    def _time_edit(moment: datetime, zone: tzinfo | None = None) -> QDateTimeEdit:
        qt_zone = _qt_zone(zone)
        edit = QDateTimeEdit()
        edit.setTimeZone(qt_zone)  # typed and shown in the agency's zone; read back as an instant (footage_calls)
        edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(moment.timestamp()), qt_zone))
        edit.setDisplayFormat("yyyy-MM-dd HH:mm t")
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
        file_row = self._build_file_row()

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
            self.load_masked_owners(owner_ids)

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

    def _set_cameras(self, cameras: list[NearbyCamera], source: str) -> None:
        self.cameras = {c.id: c for c in cameras}
        self.camera_labels.update((c.id, c.label) for c in cameras)
        self.source_label.setText(source)
        self._fill_cameras()

    # --- the requests shown ------------------------------------------------------------------------

    def _show_requests(self, requests: list[FootageRequest], keep: int | None) -> None:
        self.requests = requests
        self.request_list.blockSignals(True)
        self.request_list.clear()
        row = -1
        for i, request in enumerate(requests):
            cameras = ", ".join(self.camera_labels.get(c, f"camera {c}")
                                for c in request.camera_ids)
            text = (f"#{request.id}   {STATUS_WORDS[request.status.value]}   ·   {self._owner_text(request.owner_id)}"
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
            f"Request #{request.id}  ·  {STATUS_WORDS[request.status.value]}  ·  window "
            f"{_local(request.window_start, self.zone)}–{_local(request.window_end, self.zone)[7:]}  ·  "
            f"by {request.created_by}")
        for attempt in reversed(request.contacts):  # newest first
            self._add_row(self.attempts, [_local(attempt.at, self.zone), attempt.username, _words(attempt.channel.value),
                                          _words(attempt.outcome.value), attempt.note])
        for f in request.files:
            self._add_row(self.files, [f.file_name, size_text(f.size_bytes), f.sha256,
                                       f"{_local(f.received_at, self.zone)} by {f.received_by}"])

    @staticmethod
    def _add_row(table: QTableWidget, cells: list[str]) -> None:
        row = table.rowCount()
        table.insertRow(row)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(plain_tooltip(text))
            table.setItem(row, column, item)

    # --- asking the user ----------------------------------------------------------------------------

    def _ask_reason(self) -> str | None:
        reason, ok = QInputDialog.getText(self, "Reveal owner contact",
                                          "Why do you need the owner's contact? (recorded in the audit trail)",
                                          QLineEdit.EchoMode.Normal, "")
        return reason.strip() if ok else None

    def done(self, result: int) -> None:
        self._leave_area_map()
        if self._own_tasks:
            self.tasks.close()
        super().done(result)
