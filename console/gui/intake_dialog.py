"""The phone intake form: owner, site, cameras and the consent read aloud, filled in while the owner is on the line.

Built with the IntakeService (and optionally a geocoder for "Look up"); every database call and the geocoding run
on the thread pool (Tasks). Saving first asks for duplicates; when there are any the dialog shows them and the
staffer chooses "Merge into selected" or "Create new anyway".
"""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.domain.intake import PHONE_CONSENT_WORDING, Duplicates, IntakeForm, check_form
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import User
from console.gui.choice_box import ChoiceBox
from console.gui.intake_cameras import (BEARING, CAPABILITY, FOV, LABEL, LAT, LON, PLACEMENT, RANGE, SHARING, URL,
                                        CameraTable)
from console.gui.text import keep_plain
from console.gui.workers import Tasks
from console.services.intake import DuplicatesFound, IntakeService

# The camera table and the choice box live in their own modules; their names stay importable from here.
__all__ = ["BEARING", "CAPABILITY", "FOV", "LABEL", "LAT", "LON", "PLACEMENT", "RANGE", "SHARING", "URL",
           "CameraTable", "ChoiceBox", "IntakeDialog"]


class IntakeDialog(QDialog):
    """Register an owner's cameras during a phone call. `geocoder` needs `lookup(address) -> [Candidate]`."""

    sig_registered = Signal(object)
    """A registration was saved (console.services.intake.Registered)."""

    def __init__(self, intake: IntakeService, user: User, geocoder=None, tasks: Tasks | None = None,
                 parent: QWidget | None = None, started_at: datetime | None = None):
        super().__init__(parent)
        keep_plain(self)  # registry/CAD text in its labels shows as text (text.py)
        self.intake, self.user, self.geocoder = intake, user, geocoder
        self.started_at = started_at or datetime.now(timezone.utc)  # when the call began, shown with the consent
        self.tasks = tasks or Tasks(self)
        self.setWindowTitle("Register cameras by phone")
        self.placing = None  # the label cell of the camera the next map click places (None: the click places the site)
        self.duplicates = Duplicates()
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self._owner_box(), 1)
        top.addWidget(self._site_box(), 1)
        layout.addLayout(top)
        layout.addWidget(self._cameras_box(), 1)
        layout.addWidget(self._consent_box())
        layout.addWidget(self._duplicates_box())
        self.message = QLabel()
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.save_button = QPushButton("Check and save")
        self.save_button.setObjectName("primary")
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.save_button.clicked.connect(self.check_and_save)
        self.resize(1040, 820)

    # --- sections ---------------------------------------------------------------------------------

    def _owner_box(self) -> QGroupBox:
        box = QGroupBox("Owner")
        form = QFormLayout(box)
        self.kind = ChoiceBox([("Business", OwnerKind.BUSINESS), ("Resident", OwnerKind.RESIDENT)])
        self.owner_name, self.organisation = QLineEdit(), QLineEdit()
        self.phone, self.email = QLineEdit(), QLineEdit()
        self.phone.setPlaceholderText("413-555-0100")
        self.email.setPlaceholderText("name@example.org")
        for label, widget in (("Kind", self.kind), ("Contact name", self.owner_name), ("Business", self.organisation),
                              ("Phone", self.phone), ("E-mail", self.email)):
            form.addRow(label, widget)
        return box

    def _site_box(self) -> QGroupBox:
        box = QGroupBox("Site")
        grid = QGridLayout(box)
        self.site_name, self.address = QLineEdit(), QLineEdit()
        self.address.setPlaceholderText("number, street, town")
        self.lookup_button = QPushButton("Look up")
        self.lookup_button.setEnabled(self.geocoder is not None)
        self.lat, self.lon = QDoubleSpinBox(), QDoubleSpinBox()
        for spin, limit in ((self.lat, 90), (self.lon, 180)):
            spin.setRange(-limit, limit)
            spin.setDecimals(6)
        self.place_note = QLabel("Look up the address, or type the point (or place it on the map).")
        self.place_note.setWordWrap(True)
        grid.addWidget(QLabel("Site name"), 0, 0)
        grid.addWidget(self.site_name, 0, 1, 1, 2)
        grid.addWidget(QLabel("Address"), 1, 0)
        grid.addWidget(self.address, 1, 1)
        grid.addWidget(self.lookup_button, 1, 2)
        grid.addWidget(QLabel("Latitude"), 2, 0)
        grid.addWidget(self.lat, 2, 1, 1, 2)
        grid.addWidget(QLabel("Longitude"), 3, 0)
        grid.addWidget(self.lon, 3, 1, 1, 2)
        grid.addWidget(self.place_note, 4, 0, 1, 3)
        self.lookup_button.clicked.connect(self.look_up)
        self.address.returnPressed.connect(self.look_up)
        return box

    def _cameras_box(self) -> QGroupBox:
        box = QGroupBox("Cameras (direction: compass degrees the camera faces, 0 = north; latitude and longitude "
                        "empty: at the site's point)")
        layout = QVBoxLayout(box)
        self.camera_table = CameraTable()
        layout.addWidget(self.camera_table)
        row = QHBoxLayout()
        add, remove = QPushButton("Add camera"), QPushButton("Remove selected")
        add.clicked.connect(lambda: self.camera_table.add_camera())
        remove.clicked.connect(self.camera_table.remove_selected)
        self.place_camera_button = QPushButton("Place selected camera on map")
        self.place_camera_button.setToolTip("The next click on the map sets this camera's own point; the site keeps "
                                            "its point")
        self.place_camera_button.setCheckable(True)
        self.place_camera_button.toggled.connect(self._place_camera_toggled)
        self.camera_note = QLabel("")
        row.addWidget(add)
        row.addWidget(remove)
        row.addWidget(self.place_camera_button)
        row.addWidget(self.camera_note, 1)
        layout.addLayout(row)
        return box

    def _place_camera_toggled(self, on: bool) -> None:
        self.placing = None
        if not on:
            self.camera_note.setText("")
            return
        row = self.camera_table.currentRow()
        if row < 0:
            self.place_camera_button.setChecked(False)
            self.camera_note.setText("Select a camera row first.")
            return
        self.placing = self.camera_table.item(row, LABEL)
        name = self.placing.text().strip() or f"camera {row + 1}"
        self.camera_note.setText(f"Click the map where “{name}” is.")

    def _consent_box(self) -> QGroupBox:
        box = QGroupBox("Consent: read this to the owner, word for word")
        layout = QVBoxLayout(box)
        self.wording = QPlainTextEdit(PHONE_CONSENT_WORDING)
        self.wording.setReadOnly(True)
        self.wording.setStyleSheet("font-size: 11.5pt")  # read aloud from the screen, often in a dim room
        self.wording.setMaximumHeight(130)
        self.agreed = QCheckBox("The owner agreed to the wording read above")
        taken = self.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
        self.taken = QLabel(f"Channel: phone · taken by {self.user.display_name or self.user.username} · {taken}")
        layout.addWidget(self.wording)
        layout.addWidget(self.agreed)
        layout.addWidget(self.taken)
        return box

    def _duplicates_box(self) -> QGroupBox:
        self.dup_box = QGroupBox("Possible duplicates")
        layout = QVBoxLayout(self.dup_box)
        self.dup_warning = QLabel("This may already be registered. Ask the caller, then merge into the selected "
                                  "record or create a new one anyway.")
        self.dup_warning.setObjectName("warning")
        self.dup_warning.setWordWrap(True)
        self.dup_warning.setStyleSheet("font-weight: bold")
        self.dup_list = QListWidget()
        self.dup_list.setMaximumHeight(64)
        row = QHBoxLayout()
        self.merge_button, self.new_button = QPushButton("Merge into selected"), QPushButton("Create new anyway")
        self.merge_button.clicked.connect(self.merge_selected)
        self.new_button.clicked.connect(lambda: self._register(create_new=True))
        row.addStretch(1)
        row.addWidget(self.merge_button)
        row.addWidget(self.new_button)
        layout.addWidget(self.dup_warning)
        layout.addWidget(self.dup_list)
        layout.addLayout(row)
        self.dup_box.setVisible(False)
        return self.dup_box

    # --- actions ----------------------------------------------------------------------------------

    def form(self) -> IntakeForm:
        """The form as filled; ValueError with the first problem (checked here, before any database work)."""
        contact = OwnerContact(self.owner_name.text().strip(), self.organisation.text().strip(),
                               self.phone.text().strip(), self.email.text().strip(), self.address.text().strip())
        lat, lon = self.lat.value(), self.lon.value()
        form = IntakeForm(self.kind.choice(), contact, self.site_name.text(), self.address.text(), lat, lon,
                          self.camera_table.cameras(lat, lon), self.agreed.isChecked(), self.wording.toPlainText())
        if lat == 0 and lon == 0:
            raise ValueError("the site has no location: look up the address or type its latitude and longitude")
        check_form(form)
        return form

    def look_up(self) -> None:
        address = self.address.text().strip()
        if self.geocoder is None or not address:
            self.place_note.setText("Type an address to look up." if address == "" else "No geocoder is configured.")
            return
        self.place_note.setText(f"Looking up “{address}”…")
        self.tasks.run("intake-geocode", lambda: self.geocoder.lookup(address, 1), self._found_place,
                       lambda error: self.place_note.setText(error))

    def _found_place(self, candidates) -> None:
        if not candidates:
            self.place_note.setText("No place found for that address: type the point, or place it on the map.")
            return
        best = candidates[0]
        self.lat.setValue(best.lat)
        self.lon.setValue(best.lon)
        self.place_note.setText(f"Found: {best.label}")

    def place_at(self, lat: float, lon: float) -> str:
        """A map click: the point of the camera being placed, else the site's (when the address does not look up).
        Says what was placed ("site" or "camera “label”")."""
        try:
            row = self.camera_table.row(self.placing) if self.placing is not None else -1
        except RuntimeError:  # the row was removed meanwhile (its cell is gone): the click places the site
            row = -1
        if row >= 0:
            self.camera_table.set_point(row, lat, lon)
            name = self.placing.text().strip() or f"camera {row + 1}"
            self.place_camera_button.setChecked(False)  # one click, one camera
            self.camera_note.setText(f"“{name}” placed at {lat:.6f}, {lon:.6f}")
            return f"camera “{name}”"
        self.lat.setValue(lat)
        self.lon.setValue(lon)
        self.place_note.setText(f"Placed on the map: {lat:.6f}, {lon:.6f}")
        return "site"

    def check_and_save(self) -> None:
        try:
            form = self.form()
        except ValueError as exc:
            self.show_message(str(exc))
            return
        self.show_message("Checking for an existing registration…")
        self.save_button.setEnabled(False)
        self.tasks.run("intake-duplicates", lambda: self.intake.duplicates(form), self._checked, self._failed)

    def _checked(self, duplicates: Duplicates) -> None:
        if duplicates:
            self.show_duplicates(duplicates)
        else:
            self._register()

    def show_duplicates(self, duplicates: Duplicates) -> None:
        self.duplicates = duplicates
        self.dup_list.clear()
        for owner in duplicates.owners:
            item = QListWidgetItem(f"Owner #{owner.owner_id} · {owner.name} · same {' and '.join(owner.matched_on)}"
                                   f" · {owner.sites} site(s)")
            item.setData(Qt.ItemDataRole.UserRole, ("owner", owner.owner_id))
            self.dup_list.addItem(item)
        for site in duplicates.sites:
            item = QListWidgetItem(f"Site #{site.site_id} · {site.name} · {site.address} · {site.why}")
            item.setData(Qt.ItemDataRole.UserRole, ("site", site.site_id))
            self.dup_list.addItem(item)
        self.dup_list.setCurrentRow(0)
        self.dup_box.setVisible(True)
        self.save_button.setEnabled(True)
        self.show_message("")

    def merge_selected(self) -> None:
        item = self.dup_list.currentItem()
        if item is None:
            self.show_message("Select the record to merge into.")
            return
        kind, record_id = item.data(Qt.ItemDataRole.UserRole)
        self._register(**({"merge_owner_id": record_id} if kind == "owner" else {"merge_site_id": record_id}))

    def _register(self, **choice) -> None:
        try:
            form = self.form()
        except ValueError as exc:
            self.show_message(str(exc))
            return
        self.save_button.setEnabled(False)
        self.show_message("Saving…")

        def save():
            try:
                return self.intake.register(self.user, form, **choice)
            except DuplicatesFound as found:  # registered elsewhere meanwhile: show it, do not save
                return found.duplicates

        self.tasks.run("intake-save", save, self._saved, self._failed)

    def _saved(self, result) -> None:
        if isinstance(result, Duplicates):
            self.show_duplicates(result)
            return
        self.sig_registered.emit(result)
        self.accept()

    def _failed(self, error: str) -> None:
        self.save_button.setEnabled(True)
        self.show_message(error)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def done(self, result: int) -> None:
        if self.tasks.parent() is self:  # our own pool user: let no late result reach a closed dialog
            self.tasks.close()
        super().done(result)
